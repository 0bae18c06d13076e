"""What each of session 6's ``extract.fast_paths`` shortcuts saves: the default extractor with one shortcut put back
to trafilatura's own function, against the default, pages interleaved in one process (order alternated page by
page), CPU time of ``Extractor.extract_html``; and whether the texts and titles are the same (they must be).

Shortcuts (transforms/extract_fast.py, each a wrapper keeping trafilatura's function as ``__wrapped__``):
  discard   — both OVERALL_DISCARD_XPATH walks in one pass (``main_extractor.prune_unwanted_nodes``)
  lengths   — delete_by_link_density reading each element's text once per call
  stoplist  — justext's classify_paragraphs with the stoplist as a frozenset

    PYTHONPATH=$PWD .venv/bin/python bench/extract_shortcuts.py            # ≈ 4 CPU-minutes
    PYTHONPATH=$PWD .venv/bin/python bench/extract_shortcuts.py --every 3  # every 3rd page
    PYTHONPATH=$PWD .venv/bin/python bench/extract_shortcuts.py --walks    # the discard walk alone, fused vs two

A single shortcut saves a few percent at most, about the run-to-run noise of a whole-extraction A/B on a loaded
machine; ``--walks`` times the fused OVERALL_DISCARD walk against the two walks it replaces on the parsed pages.
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
from bench.extract_eval import load_pages  # noqa: E402
from pipelines.recipe import ExtractConfig  # noqa: E402
from transforms.extract import Extractor  # noqa: E402


def _switches() -> dict[str, tuple[object, str]]:
    """name → (owner, attribute) of the wrapper standing in for trafilatura's function."""
    me = importlib.import_module("trafilatura.main_extractor")
    external = importlib.import_module("trafilatura.external")
    return {"discard": (me, "prune_unwanted_nodes"), "lengths": (me, "delete_by_link_density"),
            "stoplist": (external, "classify_paragraphs")}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--every", type=int, default=1, help="take every N-th page")
    ap.add_argument("--only", nargs="*", help="shortcut names (default: all)")
    ap.add_argument("--walks", action="store_true", help="time the fused discard walk against the two walks")
    args = ap.parse_args(argv)
    pages = [p["html"] for p in load_pages()][::args.every]
    if args.walks:
        return walks(pages)
    ex = Extractor.from_recipe(ExtractConfig())
    ex.setup()
    for html in pages[:5]:  # imports, install(), lazy initialisation
        ex.extract_html(html)
    switches = _switches()
    print(f"{len(pages)} pages; CPU ms/page, default vs the shortcut put back, interleaved")
    print("| shortcut | with | without | saving | same text+title |")
    print("|---|---|---|---|---|")
    for name in args.only or list(switches):
        owner, attr = switches[name]
        on = getattr(owner, attr)
        off = on.__wrapped__
        cpu = {True: 0.0, False: 0.0}
        out: dict[bool, list] = {True: [], False: []}
        try:
            for i, html in enumerate(pages):
                for state in ((True, False) if i % 2 else (False, True)):
                    setattr(owner, attr, on if state else off)
                    t0 = time.process_time()
                    result = ex.extract_html(html)
                    cpu[state] += time.process_time() - t0
                    out[state].append(result)
        finally:
            setattr(owner, attr, on)
        with_, without = (cpu[s] * 1000 / len(pages) for s in (True, False))
        print(f"| {name} | {with_:.2f} | {without:.2f} | {100 * (1 - with_ / without):.1f}% | "
              f"{'yes' if out[True] == out[False] else 'NO'} |")
    return 0


def walks(pages: list[str], rounds: int = 3) -> int:
    """OVERALL_DISCARD_XPATH's two tree walks against the fused one, on every parsed page, alternating."""
    import transforms.extract_fast as F

    trees = [t for t in map(F.load_html, pages) if t is not None]
    tokens = F._discard_tokens()
    first, second = F._overall_discard_0(tokens[0], tokens[1]), F._overall_discard_1(tokens[2])
    fused = F._overall_discard_both(*tokens)
    cpu = {"two walks": 0.0, "fused": 0.0}
    same = True
    for r in range(rounds):
        for name in (("two walks", "fused") if r % 2 else ("fused", "two walks")):
            t0 = time.process_time()
            got = [fused(t) for t in trees] if name == "fused" else [(first(t), second(t)) for t in trees]
            cpu[name] += time.process_time() - t0
            if name == "fused":
                fused_out = got
            else:
                two_out = got
        same = same and all(tuple(a) == tuple(b) for a, b in zip(two_out, fused_out))
    n = len(trees) * rounds
    print(f"{len(trees)} parsed pages × {rounds}: two walks {cpu['two walks'] * 1000 / n:.2f} ms/page, fused "
          f"{cpu['fused'] * 1000 / n:.2f} ms/page, same nodes: {'yes' if same else 'NO'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
