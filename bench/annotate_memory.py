"""Where an annotate worker's memory goes: RSS after each library/model load, then the peak while annotating the
splits of a benchmark input in-process (no runner).

    python bench/inputs.py --variant mix --shards 4     # once: bench/work/inputs/mix-zh-en
    python bench/annotate_memory.py [--input 'bench/work/inputs/mix-zh-en/*.warc.gz']

RSS is sampled every 50 ms by a thread (psutil); figures in bench/RESULTS.md ("Session 4") come from this script.
"""
from __future__ import annotations

import argparse
import glob
import os
import sys
import tempfile
import threading
import time

import psutil

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
PROC = psutil.Process()


def mb() -> int:
    return PROC.memory_info().rss >> 20


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--input", default=os.path.join(ROOT, "bench", "work", "inputs", "mix-zh-en", "*.warc.gz"))
    args = ap.parse_args()
    peak = [0]

    def sample() -> None:
        while True:
            peak[0] = max(peak[0], PROC.memory_info().rss)
            time.sleep(0.05)

    threading.Thread(target=sample, daemon=True).start()
    print(f"{mb():5d} MB  start")
    import apache_beam  # noqa: F401

    print(f"{mb():5d} MB  import apache_beam")
    from pipelines.build import annotate_stages
    from pipelines.recipe import load_recipe
    from schemas.document import Document
    from transforms.annotate import SplitAnnotator
    from transforms.sources.read import expand_inputs, plan_splits
    from transforms.store import SplitWriter

    recipe = load_recipe("default", [])
    extract, stages = annotate_stages(recipe)
    extract.setup()
    for st in stages:
        st.setup()
    print(f"{mb():5d} MB  annotate stages set up")
    signals = stages[-1]
    docs = [Document(id="zh", text="这是一个中文测试文档。" * 50, source="web", origin="x", lang="zh"),
            Document(id="en", text="This is an English test document, with words. " * 50, source="web", origin="x",
                     lang="en")]
    for d in docs:
        signals.quality.text_signals(d, all_words=True)
        print(f"{mb():5d} MB  quality signals of a {d.lang} document (segmenter, models)")
        signals.signer.sign(d.text, d.lang)
        print(f"{mb():5d} MB  MinHash signature of a {d.lang} document")
    if signals.tokenize is not None:
        signals.tokenize.encode_all(docs)
        print(f"{mb():5d} MB  tokenizer")
    annotator = SplitAnnotator(recipe, extract, stages)
    files = expand_inputs(sorted(glob.glob(args.input)), None)
    if not files:
        sys.exit(f"no input matches {args.input}")
    with tempfile.TemporaryDirectory() as tmp:
        for f in files:
            for split in plan_splits(f, recipe):
                annotator.annotate(split, 1, SplitWriter(os.path.join(tmp, f"{f.name}-{split.index}"), split.index),
                                   {})
                print(f"{mb():5d} MB  after annotating {f.name} split {split.index} (peak so far {peak[0] >> 20} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
