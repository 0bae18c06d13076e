"""Extraction quality and speed per page group: today's extractor vs new settings (issue #20, item 2).

Gold (all from ../shared/data/web, nothing else):
  * ``text`` gold — the full main text: mozilla-readability's ``expected.html`` (real pages only: source over
    10 KB; the small synthetic unit pages are left out) and our hand labels
    (tests/fixtures/extract_gold/zh.jsonl, see bench/extract_gold_zh.py). Score: bag-of-tokens precision/recall/F1
    per page (tokens: each Han/kana/hangul character, otherwise lower-cased word runs), averaged over pages.
  * ``snippets`` gold — trafilatura's evaldata.json (per page, snippets a good extractor keeps / drops). Score as
    trafilatura's own evaluation does: a kept ``with`` snippet is a true positive, a lost one a false negative, a
    kept ``without`` snippet a false positive; precision/recall/F1 summed over the group's pages.
Groups: ``zh`` (Chinese pages), ``en`` (English articles), ``forum`` (threads, comments, Q&A: a URL/name rule,
listed in FORUM), ``other`` (every other language). Split: pages whose sha1(path) starts with 0-7 are ``dev``
(where thresholds were chosen), the rest ``holdout`` (reported separately; nothing was fitted on it).
Speed: CPU time (process_time) of ``Extractor.extract_html`` per page, methods interleaved page by page
(each page runs every method in turn, order rotated), ``--runs`` passes, median per method.
``--same new:new_slow`` (default) counts the pages where ``extract.fast_paths`` changes the text or the title
(should be 0 and 0).

    PYTHONPATH=$PWD .venv/bin/python bench/extract_eval.py --runs 3
"""
from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import re
import statistics
import sys
import time
from collections import Counter
from typing import Callable, Optional

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)
from pipelines.recipe import ExtractConfig  # noqa: E402
from transforms.extract import Extractor, decode_html  # noqa: E402

DATA = os.environ.get("YULIAO_TEST_DATA", os.path.join(ROOT, "..", "shared", "data"))
GOLD_ZH = os.path.join(ROOT, "tests", "fixtures", "extract_gold", "zh.jsonl")
RESULTS = os.path.join(HERE, "work", "results", "extract_eval.jsonl")
FORUM = re.compile(r"forum|foren|thread|reddit\.com|stackexchange|viewtopic|news_comments|spiceworks|tieba", re.I)
# method name -> ExtractConfig overrides (the recipe keys a build would set)
METHODS: dict[str, dict] = {
    # the extractor before issue #20 (with the readability gate's off-by-one fixed)
    "today": {"prune": "off", "zh_trim": False, "fast_paths": False},
    "today_fast": {"prune": "off", "zh_trim": False, "fast": True, "fast_paths": False},
    "new": {},  # the recipe defaults
    "new_slow": {"fast_paths": False},  # the defaults on plain trafilatura: the same text as `new`, for --same
    "new_links": {"prune": "links"},  # + link-block pruning
    "new_route": {"prune": "links", "main_share": 0.97, "fast_route_share": 0.6},  # + main-element cut, fast router
}
_CJK = r"\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
_TOKEN = re.compile(rf"[{_CJK}]|[^\W{_CJK}]+")


def tokens(text: str) -> Counter:
    return Counter(_TOKEN.findall(text.lower()))


def prf(out: str, gold: str) -> tuple[float, float, float]:
    o, g = tokens(out), tokens(gold)
    common = sum((o & g).values())
    p = common / sum(o.values()) if o else (1.0 if not g else 0.0)
    r = common / sum(g.values()) if g else 1.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def _html(path: str) -> str:
    with open(os.path.join(DATA, path), "rb") as f:
        return decode_html(gzip.decompress(f.read()), None)


def _split(path: str) -> str:
    return "dev" if hashlib.sha1(path.encode()).hexdigest()[0] in "01234567" else "holdout"


def _group(lang: Optional[str], key: str) -> str:
    if FORUM.search(key):
        return "forum"
    return {"zh": "zh", "en": "en"}.get((lang or "").split("-")[0], "other")


def load_pages() -> list[dict]:
    """Every gold page: path, group, split, kind (text/snippets), gold, html."""
    manifest = {}
    with gzip.open(os.path.join(DATA, "web", "manifest.jsonl.gz"), "rt", encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            manifest[row["path"]] = row
    pages = []
    with open(GOLD_ZH, encoding="utf-8") as f:
        for line in f:
            g = json.loads(line)
            pages.append({"path": g["path"], "group": _group("zh", g["path"]), "kind": "text", "gold": g["text"]})
    from lxml import html as lxml_html

    from bench.extract_gold_zh import block_lines

    base = os.path.join("web", "mozilla-readability")
    for name in sorted(os.listdir(os.path.join(DATA, base))):
        src = os.path.join(base, name, "source.html.gz")
        if src not in manifest or manifest[src]["bytes"] < 10_000:
            continue
        expected = lxml_html.fromstring(_html(os.path.join(base, name, "expected.html.gz")))
        pages.append({"path": src, "group": _group(manifest[src].get("lang"), name), "kind": "text",
                      "gold": "\n".join(block_lines(expected))})
    with open(os.path.join(DATA, "web", "trafilatura", "evaldata.json"), encoding="utf-8") as f:
        evaldata = json.load(f)
    by_file = {os.path.basename(p)[:-3]: p for p in manifest if p.startswith("web/trafilatura/")}
    for url, item in sorted(evaldata.items()):
        path = by_file.get(item["file"])
        if path is None:
            continue
        pages.append({"path": path, "group": _group(manifest[path].get("lang"), url), "kind": "snippets",
                      "gold": (item.get("with", []), item.get("without", []))})
    for p in pages:
        p["split"] = _split(p["path"])
        p["html"] = _html(p["path"])
    return pages


def summarise(pages: list[dict], texts: dict[str, str], kind: str) -> dict:
    """Precision/recall/F1 of one method over ``pages`` (all of one gold kind)."""
    if kind == "text":
        scores = [prf(texts[p["path"]], p["gold"]) for p in pages]
        if not scores:
            return {}
        return {k: statistics.fmean(s[i] for s in scores) for i, k in enumerate("prf")} | {"n": len(scores)}
    tp = fn = fp = 0
    for p in pages:
        out = texts[p["path"]]
        with_, without = p["gold"]
        kept = sum(s in out for s in with_)
        tp, fn, fp = tp + kept, fn + len(with_) - kept, fp + sum(s in out for s in without)
    if not pages:
        return {}
    pr, rc = tp / max(tp + fp, 1), tp / max(tp + fn, 1)
    return {"p": pr, "r": rc, "f": 2 * pr * rc / max(pr + rc, 1e-9), "n": len(pages)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--methods", nargs="+", default=list(METHODS))
    ap.add_argument("--set", nargs="*", default=[], metavar="NAME:KEY=VALUE",
                    help="extra method: NAME with ExtractConfig overrides, e.g. x:fast=true (repeat KEY=VALUE with ,)")
    ap.add_argument("--split", choices=["dev", "holdout", "all"], default="all")
    ap.add_argument("--dump", help="write each method's texts to this folder (for reading the differences)")
    ap.add_argument("--same", nargs="*", default=["new:new_slow"], metavar="A:B",
                    help="print how many pages methods A and B extract differently (default new:new_slow, "
                         "when both run)")
    args = ap.parse_args(argv)
    methods = {m: METHODS[m] for m in args.methods}
    for spec in args.set:
        name, _, kv = spec.partition(":")
        methods[name] = {k: json.loads(v) if v[:1] in "0123456789tf[{-" else v
                         for k, v in (item.split("=", 1) for item in kv.split(",") if item)}
    extractors: dict[str, Callable[[str], tuple]] = {}
    for name, over in methods.items():
        ex = Extractor.from_recipe(ExtractConfig(**over))
        ex.setup()
        extractors[name] = ex.extract_html
    pages = [p for p in load_pages() if args.split == "all" or p["split"] == args.split]
    for fn in extractors.values():  # warm-up: imports and lazy initialisation are not extraction time
        for p in pages[:5]:
            fn(p["html"])
    names = list(extractors)
    cpu = {n: [0.0] * args.runs for n in names}
    texts: dict[str, dict[str, str]] = {n: {} for n in names}
    titles: dict[str, dict[str, Optional[str]]] = {n: {} for n in names}
    for run in range(args.runs):
        for i, p in enumerate(pages):
            k = (i + run) % len(names)
            for n in names[k:] + names[:k]:  # interleaved, order rotated
                t0 = time.process_time()
                text, title = extractors[n](p["html"])
                cpu[n][run] += time.process_time() - t0
                texts[n][p["path"]], titles[n][p["path"]] = text or "", title
    if args.dump:
        for n in names:
            os.makedirs(os.path.join(args.dump, n), exist_ok=True)
            for path, t in texts[n].items():
                with open(os.path.join(args.dump, n, path.replace("/", "__") + ".txt"), "w", encoding="utf-8") as f:
                    f.write(t)
    groups = ["en", "zh", "forum", "other"]
    splits = ["dev", "holdout"] if args.split == "all" else [args.split]
    rows = []
    counts = ", ".join(f"{g} {sum(p['group'] == g for p in pages)}" for g in groups)
    print(f"{len(pages)} pages ({counts}); CPU ms/page: median of {args.runs} interleaved runs")
    print("| method | split | " + " | ".join(f"{g} text F1 (P/R) | {g} snip F1" for g in groups)
          + " | ms/page | speed-up |")
    print("|---|---|" + "---|---|" * len(groups) + "---|---|")
    base_ms = statistics.median(cpu[names[0]]) * 1000 / len(pages)
    for n in names:
        ms = statistics.median(cpu[n]) * 1000 / len(pages)
        for split in splits:
            cells = []
            row = {"method": n, "config": methods[n], "split": split, "ms_per_page": ms, "cpu_s": cpu[n]}
            for g in groups:
                sel = [p for p in pages if p["group"] == g and p["split"] == split]
                t = summarise([p for p in sel if p["kind"] == "text"], texts[n], "text")
                s = summarise([p for p in sel if p["kind"] == "snippets"], texts[n], "snippets")
                row[g] = {"text": t, "snippets": s}
                cells.append(f"{t['f']:.3f} ({t['p']:.2f}/{t['r']:.2f}) n={t['n']}" if t else "-")
                cells.append(f"{s['f']:.3f} n={s['n']}" if s else "-")
            rows.append(row)
            print(f"| {n} | {split} | " + " | ".join(cells) + f" | {ms:.1f} | {base_ms / ms:.2f} |")
    for pair in args.same:
        a, b = pair.split(":")
        if a not in texts or b not in texts:
            continue
        diff = sorted(p["path"] for p in pages if texts[a][p["path"]] != texts[b][p["path"]])
        tdiff = sorted(p["path"] for p in pages if titles[a][p["path"]] != titles[b][p["path"]])
        print(f"{a} vs {b}: {len(diff)} of {len(pages)} pages differ in text" + (f" (e.g. {diff[:3]})" if diff else "")
              + f", {len(tdiff)} in title" + (f" (e.g. {tdiff[:3]})" if tdiff else ""))
    os.makedirs(os.path.dirname(RESULTS), exist_ok=True)
    with open(RESULTS, "a", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row | {"time": time.strftime("%Y-%m-%dT%H:%M:%S")}) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
