"""Micro-benchmark: fastText lid.176.ftz language ID, batch sizes, ours vs datatrove's call.

- ``batch=N``: ``transforms.langid.LangIdModel.predict`` on lists of N texts (newlines folded,
  10,000-character cap, k=1) — what our stage does with ``langid.batch_size``;
- ``datatrove_k-1``: datatrove's ``FT176LID.predict`` per document: full text with newlines replaced,
  ``k=-1`` (all 176 labels), one call per document.

Reports documents per CPU-second, median (min–max) of ``--runs`` round-robin runs.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, ROOT)
from common import fmt, load_texts  # noqa: E402
from pipelines.recipe import LangIdConfig

RESULTS = os.path.join(HERE, "work", "results", "micro_lid.jsonl")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--batches", type=int, nargs="+", default=[1, 16, 64, 256, 1024])
    args = ap.parse_args(argv)
    from transforms.langid import LangIdModel

    texts = [t for _, t in load_texts()]
    model = LangIdModel.from_recipe(LangIdConfig())

    def batched(n):
        def run():
            for i in range(0, len(texts), n):
                model.predict(texts[i:i + n])
        return run

    def datatrove_style():
        for t in texts:
            # the C++ call fastText's single-string predict makes (its NumPy-2-broken wrapper skipped)
            model.model.f.predict(t.replace("\n", " ") + "\n", -1, 0.0, "strict")

    methods = {f"batch={n}": batched(n) for n in args.batches}
    methods["datatrove_k-1"] = datatrove_style
    secs: dict[str, list[float]] = {k: [] for k in methods}
    model.predict(texts[:8])
    for _ in range(args.runs):
        for name, fn in methods.items():
            t0 = time.process_time()
            fn()
            secs[name].append(time.process_time() - t0)
    mb = sum(len(t.encode("utf-8")) for t in texts) / 1e6
    print(f"{len(texts)} texts, {mb:.1f} MB; CPU time, median (min–max) of {args.runs}")
    print("| method | docs/CPU-s | MB/CPU-s |")
    print("|---|---|---|")
    os.makedirs(os.path.dirname(RESULTS), exist_ok=True)
    for name, s in secs.items():
        with open(RESULTS, "a") as f:
            f.write(json.dumps({"time": time.strftime("%Y-%m-%dT%H:%M:%S"), "method": name, "docs": len(texts),
                                "cpu_s": s}) + "\n")
        print(f"| {name} | {fmt([len(texts) / x for x in s])} | {fmt([mb / x for x in s], 2)} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
