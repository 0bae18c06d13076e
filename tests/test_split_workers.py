"""One large input file is read by more than one worker of the multi-process DirectRunner (#15)."""
from __future__ import annotations

import importlib.util
import json
import os
from collections import Counter
from pathlib import Path

import apache_beam as beam
import pytest
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


# ------------------------------------------------------------------ local multi-process runs start lean workers (#20)
# what `import apache_beam` loads from its optional extras when they are installed (transforms/memory.py)
HEAVY = ("pandas", "boto3", "botocore", "pymongo", "google.cloud.storage", "apitools")


class ReportWorker(beam.DoFn):
    """Reports the worker process: its pid, which of Beam's optional libraries it loaded, whether finished bundles
    release their output buffers there, which allocator pyarrow uses."""

    def process(self, i):
        import sys

        from apache_beam.runners.worker import bundle_processor

        import pyarrow

        loaded = [m for m in HEAVY if m in sys.modules]
        releases = bool(getattr(bundle_processor.DataOutputOperation.finish, "releases_stream", False))
        from transforms import worker_memory

        yield json.dumps({"i": i, "pid": os.getpid(), "heavy": loaded, "releases": releases,
                          "arrow_pool": pyarrow.default_memory_pool().backend_name,
                          "queues": worker_memory.channel_queue_bytes()})


def _worker_reports(tmp_path, monkeypatch, runner) -> list[dict]:
    here = str(Path(__file__).parent)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in (here, os.environ.get("PYTHONPATH")) if p))
    out = tmp_path / type(runner).__name__ if runner is not None else tmp_path / "beam"
    options = PipelineOptions(["--runner=DirectRunner", "--direct_running_mode=multi_processing",
                               "--direct_num_workers=2"])
    with beam.Pipeline(runner=runner, options=options) as p:
        (p | beam.Create(range(8)) | beam.Reshuffle() | beam.ParDo(ReportWorker())
         | beam.io.WriteToText(str(out / "rec"), shard_name_template="-SS-of-NN"))
    return [json.loads(line) for shard in sorted(out.glob("rec-*")) for line in shard.read_text().splitlines()]


@pytest.mark.skipif(any(importlib.util.find_spec(m) is None for m in ("pandas", "boto3")),
                    reason="Beam's optional extras are not installed: there is nothing to leave out")
def test_lean_workers_runner_starts_workers_without_beams_optional_libraries(tmp_path, monkeypatch):
    from transforms.local_runner import LeanWorkersRunner

    lean = _worker_reports(tmp_path, monkeypatch, LeanWorkersRunner())
    assert sorted(r["i"] for r in lean) == list(range(8))
    pids = {r["pid"] for r in lean}
    assert os.getpid() not in pids and len(pids) == 2, pids  # both worker processes, not the launcher
    assert all(r["heavy"] == [] for r in lean), lean
    assert all(r["releases"] for r in lean)
    assert {r["arrow_pool"] for r in lean} == {"system"}
    # worker_memory was in place before the data channel was built, without --beam_plugins
    from transforms.worker_memory import QUEUE_BYTES

    assert all(r["queues"] and set(r["queues"]) == {QUEUE_BYTES} for r in lean), lean
    # the same pipeline on the DirectRunner's own workers (Beam's entry point) loads them: the check can fail
    full = _worker_reports(tmp_path, monkeypatch, None)
    assert sorted(r["i"] for r in full) == list(range(8))
    assert all(set(r["heavy"]) >= {"pandas", "boto3"} for r in full), full
    assert "system" not in {r["arrow_pool"] for r in full}
    assert all(QUEUE_BYTES not in r["queues"] for r in full)


def test_only_local_multi_process_direct_runs_get_the_lean_workers_runner(monkeypatch):
    from pipelines.options import local_runner
    from transforms import memory
    from transforms.local_runner import LeanWorkersRunner

    def runner(local, *args):
        monkeypatch.setattr(memory, "LOCAL_RUN", local)
        return local_runner(PipelineOptions(list(args)))

    mp = ["--direct_running_mode", "multi_processing", "--direct_num_workers", "2"]
    assert isinstance(runner(True, *mp), LeanWorkersRunner)
    assert isinstance(runner(True, "--runner", "DirectRunner", *mp), LeanWorkersRunner)
    assert runner(True, "--direct_running_mode", "in_memory") is None  # one process: nothing to start
    assert runner(True, "--direct_running_mode", "multi_threading") is None
    assert runner(True) is None
    assert runner(True, "--runner", "DataflowRunner", *mp) is None
    assert runner(True, "--runner", "PortableRunner", *mp) is None
    assert runner(False, *mp) is None  # a run that names a gs://, s3:// or azfs:// path: Beam's own workers
    assert runner(None, *mp) is None  # no CLI verdict (a pipeline built by a library user)


_RUN_CLI = ("import json, sys\n"
            "from transforms import local_runner\n"
            "used = []\n"
            "run = local_runner.LeanWorkersRunner.run_pipeline\n"
            "def recorded(self, pipeline, options):\n"
            "    used.append(local_runner.worker_command())\n"
            "    return run(self, pipeline, options)\n"
            "local_runner.LeanWorkersRunner.run_pipeline = recorded\n"
            "from pipelines.cli import main\n"
            "rc = main(sys.argv[1:])\n"
            "print(json.dumps({'rc': rc, 'used': used}))\n")


def test_cli_multi_process_build_uses_lean_workers_and_matches_one_process(data_dir, tmp_path):
    import subprocess
    import sys

    from tests.runners import output_digest

    inputs = [str(data_dir / "web" / "warc" / w) for w in
              ("resiliparse-cc-main-2020-34-excerpt.warc.gz", "dolma-wget-sample-0000.warc.gz")]
    root = Path(__file__).resolve().parents[1]
    used = {}
    for name, mode in (("one", ["--direct_running_mode", "in_memory"]),
                       ("two", ["--direct_running_mode", "multi_processing", "--direct_num_workers", "2"])):
        r = subprocess.run([sys.executable, "-c", _RUN_CLI, "build", "--input", *inputs, "--output",
                            str(tmp_path / name), "-q", "--no-progress", "--no-card", *mode],
                           capture_output=True, text=True, cwd=root, timeout=600)
        assert r.returncode == 0, r.stderr[-3000:]
        report = json.loads(r.stdout.strip().splitlines()[-1])
        assert report["rc"] == 0
        used[name] = report["used"]
        # the workers log through the launcher only, as with Beam's own entry point: no console handler of their
        # own (its INFO lines) and no notice about the libraries left out
        lines = r.stderr.splitlines()
        assert not [x for x in lines if x.startswith("INFO:") or "bson" in x or "apitools" in x], r.stderr[-3000:]
    assert used["one"] == [] and len(used["two"]) == 1 and used["two"][0].endswith("-m transforms.worker_main")
    digest = output_digest(tmp_path / "one")
    assert any(k.startswith("data") for k in digest)
    assert output_digest(tmp_path / "two") == digest
