"""One large input file is read by more than one worker of the multi-process DirectRunner (#15)."""
from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions

from pipelines.recipe import load_recipe
from schemas.document import Document
from transforms.sources.read import expand_inputs, plan_splits, read_unit


class ReadAndRecord(beam.DoFn):
    """Reads one split and reports which worker process did it."""

    def __init__(self, recipe):
        self.recipe = recipe

    def process(self, split):
        counts: Counter = Counter()
        docs = sum(isinstance(r, Document) for r in read_unit(split, self.recipe, counts))
        yield json.dumps({"index": split.index, "name": split.name, "pid": os.getpid(), "docs": docs})


def test_one_large_file_is_read_by_several_workers(data_dir, tmp_path, monkeypatch):
    # worker processes unpickle ReadAndRecord by reference to this module: let them import it
    here = str(Path(__file__).parent)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in (here, os.environ.get("PYTHONPATH")) if p))
    texts = (data_dir / "books/gutenberg-en").glob("*.txt")
    paragraphs = [p.strip() for f in sorted(texts) for p in f.read_text(encoding="utf-8").split("\n\n") if p.strip()]
    with open(tmp_path / "big.jsonl", "w") as f:
        for i, p in enumerate(paragraphs):
            f.write(json.dumps({"text": p, "url": f"https://book.test/{i}"}, ensure_ascii=False) + "\n")
    size = (tmp_path / "big.jsonl").stat().st_size
    recipe = load_recipe(overrides=[f"sources.split_bytes={size // 8 + 1}"])
    [f] = expand_inputs([str(tmp_path / "big.jsonl")])
    splits = plan_splits(f, recipe)
    assert len(splits) == 8
    out = tmp_path / "out"
    options = PipelineOptions(["--runner=DirectRunner", "--direct_running_mode=multi_processing",
                               "--direct_num_workers=2"])
    with beam.Pipeline(options=options) as p:
        (p | beam.Create(splits) | beam.Reshuffle() | beam.ParDo(ReadAndRecord(recipe))
         | beam.io.WriteToText(str(out / "rec"), shard_name_template="-SS-of-NN"))
    rows = [json.loads(line) for shard in sorted(Path(out).glob("rec-*")) for line in shard.read_text().splitlines()]
    assert sorted(r["index"] for r in rows) == list(range(8))
    assert {r["name"] for r in rows} == {"big.jsonl"}
    assert sum(r["docs"] for r in rows) == len(paragraphs)
    pids = {r["pid"] for r in rows}
    assert os.getpid() not in pids  # read in worker processes, not the launcher
    assert len(pids) > 1, f"all 8 splits of one file were read by one worker: {rows}"
