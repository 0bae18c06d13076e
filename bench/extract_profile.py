"""Where the default extractor's time goes: CPU time of each step of ``Extractor.extract_html`` over the bench pages
(bench/extract_eval.py's 1,129), by timing wrappers around the steps (inclusive times: a step's row includes the
steps it calls, e.g. ``extract_content`` includes ``prune_unwanted_sections``). One pass, no interleaving: read
the shares, not the milliseconds, on a loaded machine.

    PYTHONPATH=$PWD .venv/bin/python bench/extract_profile.py          # ≈ 20 CPU-seconds
    PYTHONPATH=$PWD .venv/bin/python bench/extract_profile.py --cprofile 40   # + cProfile's top 40 by own time
"""
from __future__ import annotations

import argparse
import collections
import functools
import importlib
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
from bench.extract_eval import load_pages  # noqa: E402
from pipelines.recipe import ExtractConfig  # noqa: E402
import transforms.extract as E  # noqa: E402
import transforms.extract_fast as F  # noqa: E402

# (module, attribute, label): the steps of the cascade, as transforms/extract.py and trafilatura call them
STEPS = [
    ("transforms.extract_fast", "load_html", "parse (load_html)"),
    ("transforms.extract_fast", "page_title", "title"),
    ("transforms.extract", "prune_tree", "prune_tree (ours)"),
    ("trafilatura.core", "_prepare_tree", "trafilatura: copy + tree_cleaning + convert_tags"),
    ("trafilatura.core", "extract_content", "trafilatura: extract_content"),
    ("trafilatura.main_extractor", "prune_unwanted_sections", "  of which prune_unwanted_sections"),
    ("trafilatura.main_extractor", "recover_wild_text", "  of which recover_wild_text"),
    ("transforms.extract", "_readability_cannot_win", "readability gate"),
    ("trafilatura.external", "try_readability", "readability (runs)"),
    ("trafilatura.external", "justext_rescue", "justext (comparison)"),
    ("trafilatura.core", "baseline", "baseline rescue"),
    ("trafilatura.core", "html2txt", "escalation test (html2txt)"),
    ("trafilatura.core", "_recall_retry", "escalation: recall retry"),
    ("trafilatura.core", "justext_rescue", "escalation: justext"),
    ("trafilatura.core", "xmltotxt", "xmltotxt"),
    ("transforms.extract", "zh_trim", "zh_trim"),
]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cprofile", type=int, default=0, help="also print cProfile's top N functions by own time")
    args = ap.parse_args(argv)
    pages = [p["html"] for p in load_pages()]
    ex = E.Extractor.from_recipe(ExtractConfig())
    ex.setup()
    for html in pages[:5]:
        ex.extract_html(html)  # install() wires the fast paths before the wrappers go on
    cpu: collections.Counter = collections.Counter()
    calls: collections.Counter = collections.Counter()

    def timed(fn, label):
        @functools.wraps(fn)
        def wrapper(*a, **kw):
            t0 = time.process_time()
            try:
                return fn(*a, **kw)
            finally:
                cpu[label] += time.process_time() - t0
                calls[label] += 1
        return wrapper

    for module, attr, label in STEPS:
        owner = importlib.import_module(module)
        setattr(owner, attr, timed(getattr(owner, attr), label))
    profiler = None
    if args.cprofile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    total = 0.0
    for html in pages:
        t0 = time.process_time()
        ex.extract_html(html)
        total += time.process_time() - t0
    if profiler is not None:
        profiler.disable()
    n = len(pages)
    print(f"{n} pages, {total * 1000 / n:.2f} CPU ms/page (default recipe, fast_paths {F.install()})")
    print("| step | ms/page | share | calls |")
    print("|---|---|---|---|")
    for _, _, label in STEPS:
        print(f"| {label} | {cpu[label] * 1000 / n:.2f} | {100 * cpu[label] / total:.1f}% | {calls[label]} |")
    if profiler is not None:
        import pstats

        pstats.Stats(profiler).sort_stats("tottime").print_stats(args.cprofile)
    return 0


if __name__ == "__main__":
    sys.exit(main())
