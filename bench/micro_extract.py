"""Micro-benchmark: HTML → main text, speed and quality, trafilatura settings vs resiliparse.

Pages: every HTML page of ../shared/data/web (manifest), decoded once up front (declared charset,
then UTF-8 with replacement) so only extraction is timed. Quality: trafilatura's own evaluation
set (``evaldata.json``: per page, snippets a good extractor keeps — ``with`` — and drops —
``without``); we report the share of ``with`` snippets found and of ``without`` snippets absent,
over the pages that have gold.

    .venv/bin/python bench/micro_extract.py --runs 3            # trafilatura 2.x (ours) + resiliparse
    bench/work/.venv-datatrove/bin/python bench/micro_extract.py --runs 3 --methods traf_datatrove
                                                                 # trafilatura 1.11, as datatrove pins it

resiliparse is not a project dependency: ``pip install --target bench/work/micro-libs resiliparse rensa``
(the scripts append that folder to ``sys.path``). Options run round-robin, ``--runs`` times.
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import statistics
import sys
import time
from typing import Callable

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.append(os.path.join(HERE, "work", "micro-libs"))
from common import fmt, manifest_pages  # noqa: E402
from pipelines.recipe import ExtractConfig

DATA = os.environ.get("YULIAO_TEST_DATA", os.path.join(ROOT, "..", "shared", "data"))
RESULTS = os.path.join(HERE, "work", "results", "micro_extract.jsonl")


def load(limit: int = 0) -> tuple[list[tuple[str, str]], dict[str, dict]]:
    """[(url-or-path, html)] for every manifest page, and url → gold snippets."""
    with open(os.path.join(DATA, "web", "trafilatura", "evaldata.json"), encoding="utf-8") as f:
        gold = json.load(f)
    pages = sorted((row.get("url") or row["path"], html) for row, html in manifest_pages(DATA))
    return (pages[:limit] if limit else pages), gold


def methods() -> dict[str, Callable[[str], str]]:
    out: dict[str, Callable[[str], str]] = {}
    try:
        import trafilatura

        def ours(html: str) -> str:  # what transforms/extract.py does (text + title)
            doc = trafilatura.bare_extraction(html, output_format="python", with_metadata=True, include_comments=False,
                                              include_tables=True, favor_precision=False, favor_recall=False,
                                              deduplicate=False)
            if doc is None:
                return ""
            doc = doc if isinstance(doc, dict) else doc.as_dict()
            return doc.get("text") or ""

        out["traf_meta_extensive_date"] = ours  # our extractor before the date fix (trafilatura defaults)
        try:
            sys.path.insert(0, ROOT)
            from transforms.extract import Extractor

            ex = Extractor.from_recipe(ExtractConfig())
            out["traf_ours"] = lambda h: ex.extract_html(h)[0] or ""  # the stage's call, as committed
            ungated = Extractor.from_recipe(ExtractConfig(readability_gate=False))
            out["traf_ours_nogate"] = lambda h: ungated.extract_html(h)[0] or ""  # without extract.readability_gate
        except ImportError:
            pass
        from trafilatura.metadata import extract_title
        from trafilatura.utils import load_html

        def lite(fast: bool):
            def run(html: str) -> str:  # proposed: parse once, cheap title, no htmldate/author/sitename search
                tree = load_html(html)
                if tree is None:
                    return ""
                extract_title(tree)
                doc = trafilatura.bare_extraction(tree, output_format="python", with_metadata=False,
                                                  include_comments=False, include_tables=True, favor_precision=False,
                                                  favor_recall=False, deduplicate=False, fast=fast)
                if doc is None:
                    return ""
                doc = doc if isinstance(doc, dict) else doc.as_dict()
                return doc.get("text") or ""
            return run

        out["traf_lite"] = lite(False)
        out["traf_lite_fast"] = lite(True)
        out["traf_nometa"] = lambda h: trafilatura.extract(h, include_comments=False, include_tables=True) or ""
        out["traf_fast"] = lambda h: trafilatura.extract(h, include_comments=False, include_tables=True,
                                                         fast=True) or ""
        out["traf_precision"] = lambda h: trafilatura.extract(h, include_comments=False, include_tables=True,
                                                              favor_precision=True) or ""
        # datatrove's call (Trafilatura block, our equivalent settings)
        out["traf_datatrove"] = lambda h: trafilatura.extract(h, favor_precision=False, include_comments=False,
                                                              deduplicate=False, include_tables=True) or ""
    except ImportError:
        pass
    try:
        from resiliparse.extract.html2text import extract_plain_text
        from resiliparse.parse.html import HTMLTree

        out["resiliparse_main"] = lambda h: extract_plain_text(HTMLTree.parse(h), main_content=True)
        out["resiliparse_all"] = lambda h: extract_plain_text(HTMLTree.parse(h), main_content=False)
    except ImportError:
        pass
    return out


def quality(texts: dict[str, str], gold: dict[str, dict]) -> tuple[float, float, int]:
    kept = kept_n = dropped = dropped_n = pages = 0
    for url, g in gold.items():
        if url not in texts:
            continue
        pages += 1
        t = texts[url]
        for s in g.get("with", []):
            kept_n += 1
            kept += s in t
        for s in g.get("without", []):
            dropped_n += 1
            dropped += s not in t
    return kept / max(kept_n, 1), dropped / max(dropped_n, 1), pages


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--limit", type=int, default=0, help="first N pages only")
    ap.add_argument("--methods", nargs="+", default=None)
    args = ap.parse_args(argv)
    pages, gold = load(args.limit)
    mb = sum(len(h.encode("utf-8")) for _, h in pages) / 1e6
    all_methods = methods()
    chosen = {k: v for k, v in all_methods.items() if not args.methods or k in args.methods}
    try:
        import trafilatura
        tv = trafilatura.__version__
    except ImportError:
        tv = None
    secs: dict[str, list[float]] = {k: [] for k in chosen}
    texts: dict[str, dict[str, str]] = {}
    for fn in chosen.values():  # warm-up: imports and lazy initialisation are not extraction time
        for _, html in pages[:5]:
            try:
                fn(html)
            except Exception:  # noqa: BLE001
                pass
    for _ in range(args.runs):
        for name, fn in chosen.items():
            out = {}
            t0 = time.process_time()
            for url, html in pages:
                try:
                    out[url] = fn(html)
                except Exception:  # noqa: BLE001 - a failing page counts as empty
                    out[url] = ""
            secs[name].append(time.process_time() - t0)
            texts[name] = out
    os.makedirs(os.path.dirname(RESULTS), exist_ok=True)
    print(f"{len(pages)} pages, {mb:.1f} MB HTML; CPU time (process_time), median (min–max) of {args.runs}")
    print("| method | trafilatura | pages/CPU-s | MB/CPU-s | `with` kept | `without` dropped | empty |")
    print("|---|---|---|---|---|---|---|")
    for name in chosen:
        w, wo, n = quality(texts[name], gold)
        empty = sum(1 for t in texts[name].values() if not t.strip())
        row = {"time": time.strftime("%Y-%m-%dT%H:%M:%S"), "method": name, "trafilatura": tv, "pages": len(pages),
               "mb": mb, "cpu_s": secs[name], "with_kept": w, "without_dropped": wo, "gold_pages": n, "empty": empty}
        with open(RESULTS, "a") as f:
            f.write(json.dumps(row) + "\n")
        print(f"| {name} | {tv if name.startswith('traf') else '-'} | {fmt([len(pages) / s for s in secs[name]])} | "
              f"{fmt([mb / s for s in secs[name]], 2)} | {w:.3f} | {wo:.3f} | {empty} |")
    print(f"(quality over {n} gold pages; median CPU s: "
          + ", ".join(f"{k} {statistics.median(v):.1f}" for k, v in secs.items()) + ")")
    return 0


if __name__ == "__main__":
    sys.exit(main())
