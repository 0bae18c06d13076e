"""Micro-benchmark: the annotate phase's per-document work, this checkout vs a base revision, same documents.

    python bench/micro_signals.py                     # vs BASE (the commit before issue #20's signal work)
    python bench/micro_signals.py --base main --runs 5

The documents are the bench input of ``bench/vs_datatrove.py --variant mix-zh-en`` (362 WARC records) after
extraction, normalisation and language ID with the default recipe (357 documents, 2.9 M characters), made once
and cached in ``bench/work/micro_signals-docs.jsonl.gz``. For normalisation the cached text before it is used;
"line keys" is ``normalize.simplified_key`` of every line (what select's boilerplate stage computes).

Each part runs the base revision's code (its modules loaded from ``git show BASE:<path>`` under the name
``_base.<module>``) and this checkout's on the same documents, interleaved, ``--runs`` times; the ratio is
base CPU / ours (higher: ours faster). Every part also checks that both give the same result for every document
(signals compared exactly, before rounding), and stops if not.
"""
from __future__ import annotations

import argparse
import gzip
import importlib.abc
import importlib.util
import json
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, ROOT)
from common import fmt  # noqa: E402

BASE = "d32a5dd"  # main when issue #20's signal work started (session 7)
DOCS = os.path.join(HERE, "work", "micro_signals-docs.jsonl.gz")
INPUT = os.path.join(HERE, "work", "inputs", "mix-zh-en", "*.warc.gz")
RESULTS = os.path.join(HERE, "work", "results", "micro_signals.jsonl")
# modules whose base version is loaded (and whose imports of each other are redirected to the base versions)
BASE_MODULES = ["transforms.quality.ngrams", "transforms.quality.rules", "transforms.quality.zh",
                "transforms.quality.badwords", "transforms.quality.model", "transforms.quality.order",
                "transforms.quality.decision", "transforms.quality.filter", "transforms.normalize"]


class BaseFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Serves ``_base.<module>`` from ``git show REV:<module path>.py`` (a module absent at REV is not found)."""

    def __init__(self, rev: str):
        self.rev = rev

    def find_spec(self, fullname, path=None, target=None):
        if fullname == "_base" or (fullname.startswith("_base.") and fullname[6:] not in BASE_MODULES):
            return importlib.util.spec_from_loader(fullname, self, is_package=True)
        if fullname.startswith("_base.") and self._source(fullname[6:]) is not None:
            return importlib.util.spec_from_loader(fullname, self, is_package=False)
        return None

    def _source(self, module: str):
        r = subprocess.run(["git", "-C", ROOT, "show", f"{self.rev}:{module.replace('.', '/')}.py"],
                           capture_output=True, text=True)
        return r.stdout if r.returncode == 0 else None

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        name = module.__name__
        if name == "_base" or name[6:] not in BASE_MODULES:
            module.__path__ = []
            return
        src = self._source(name[6:])
        for m in sorted(BASE_MODULES, key=len, reverse=True):
            src = re.sub(rf"(?<![\w.]){re.escape(m)}(?![\w])", "_base." + m, src)
            pkg, _, leaf = m.rpartition(".")
            src = re.sub(rf"from {re.escape(pkg)} import {leaf}\b", f"from _base.{pkg} import {leaf}", src)
        module.__file__ = os.path.join(ROOT, name[6:].replace(".", "/") + ".py")  # data files beside it
        exec(compile(src, f"<{self.rev}:{name[6:]}>", "exec"), module.__dict__)


def make_docs() -> list[dict]:
    """Documents after extract → normalize → langid (default recipe), and each one's text before normalize."""
    import glob

    from pipelines.build import annotate_stages
    from pipelines.recipe import Recipe
    from transforms.contract import Rejection, run_batch
    from transforms.sources.raw import RawPage
    from transforms.sources.read import InputFile, Split, read_unit
    from collections import Counter

    recipe = Recipe()
    extract, stages = annotate_stages(recipe)
    stages = stages[:-1]  # everything before signals
    extract.setup()
    for st in stages:
        st.setup()
    out = []
    for path in sorted(glob.glob(INPUT)):
        f = InputFile(path, "warc", os.path.getsize(path), os.path.dirname(path))
        recs = [r for r in read_unit(Split(f.path, f.kind, f.name, f.size), recipe, Counter())
                if isinstance(r, RawPage)]
        docs = [d for d in run_batch(extract, recs, Counter()) if not isinstance(d, Rejection)]
        raw = {d.id: d.text for d in docs}
        for st in stages:
            docs = [d for d in run_batch(st, docs, Counter()) if not isinstance(d, Rejection)]
        out += [{"id": d.id, "text": d.text, "raw": raw[d.id], "lang": d.lang, "script": d.script,
                 "source": d.source} for d in docs]
    os.makedirs(os.path.dirname(DOCS), exist_ok=True)
    with gzip.open(DOCS + ".tmp", "wt", encoding="utf-8") as fh:
        for d in out:
            fh.write(json.dumps(d, ensure_ascii=False) + "\n")
    os.replace(DOCS + ".tmp", DOCS)
    return out


def load_docs() -> list[dict]:
    if not os.path.exists(DOCS):
        return make_docs()
    with gzip.open(DOCS, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def parts(base_rev: str, rows: list[dict]) -> dict:
    """name → (base function, our function, input list): each function maps the input list to comparable results."""
    sys.meta_path.insert(0, BaseFinder(base_rev))
    from pipelines.recipe import Recipe
    from schemas.document import Document
    import _base.transforms.normalize as bnorm
    import _base.transforms.quality.filter as bfilter
    from transforms import normalize as norm
    from transforms.quality import filter as qfilter

    recipe = Recipe()
    docs = [Document(id=r["id"], text=r["text"], source=r["source"], origin="bench", lang=r["lang"],
                     script=r["script"]) for r in rows]
    raws = [Document(id=r["id"], text=r["raw"], source=r["source"], origin="bench") for r in rows]
    bq, q = bfilter.Quality(recipe.quality), qfilter.Quality(recipe.quality)
    bq.setup(), q.setup()
    zh = [d for d in docs if q.is_zh(d)]
    space = [d for d in docs if not q.is_zh(d)]
    bn, n = bnorm.Normalize.from_recipe(recipe.normalize), norm.Normalize.from_recipe(recipe.normalize)

    def sig(qq):
        def run(ds):
            for mod in (bfilter, qfilter):  # per-process caches start empty in every run, as in a fresh worker
                for leaf, cache in (("rules", "_CHUNKS"), ("zh", "_TOKENS")):
                    getattr(sys.modules[mod.__name__.replace("filter", leaf)], cache, {}).clear()
            return [qq.text_signals(d, all_words=True) for d in ds]
        return run

    def normalized(stage):
        return lambda ds: [stage.normalize(d) for d in ds]

    return {
        "signals zh": (sig(bq), sig(q), zh),
        "signals space": (sig(bq), sig(q), space),
        "badword terms": (lambda ds: [bq.badword_terms(d) for d in ds], lambda ds: [q.badword_terms(d) for d in ds],
                          docs),
        "normalize": (normalized(bn), normalized(n), raws),
        # select's boilerplate stage keys every line of every document (dedup keys whole texts the same way)
        "line keys": (lambda ls: [bnorm.simplified_key(x) for x in ls], lambda ls: [norm.simplified_key(x) for x in ls],
                      [ln for d in docs for ln in d.text.split("\n")]),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base", default=BASE, help="git revision whose code is the baseline")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--parts", nargs="+", default=None, help="only these parts")
    args = ap.parse_args(argv)
    rows = load_docs()
    table = parts(args.base, rows)
    if args.parts:
        table = {k: v for k, v in table.items() if k in args.parts}
    print(f"{len(rows)} documents, {sum(len(r['text']) for r in rows) / 1e6:.2f} M characters; base {args.base}; "
          f"CPU seconds, median (min–max) of {args.runs} interleaved runs")
    print("| part | docs | base CPU s | ours CPU s | base / ours |")
    print("|---|---|---|---|---|")
    os.makedirs(os.path.dirname(RESULTS), exist_ok=True)
    for name, (old, new, items) in table.items():
        a, b = old(items), new(items)  # warm-up (models, dictionaries) and the equality check
        if a != b:
            bad = next(i for i, (x, y) in enumerate(zip(a, b)) if x != y)
            print(f"DIFFERENT RESULT: {name}, item {bad}: base {a[bad]!r:.300} vs ours {b[bad]!r:.300}",
                  file=sys.stderr)
            return 1
        secs: dict[str, list[float]] = {"base": [], "ours": []}
        for rep in range(args.runs):
            for which in (("base", "ours") if rep % 2 == 0 else ("ours", "base")):
                fn = old if which == "base" else new
                t0 = time.process_time()
                fn(items)
                secs[which].append(time.process_time() - t0)
        ratios = [x / y for x, y in zip(secs["base"], secs["ours"])]
        with open(RESULTS, "a") as f:
            f.write(json.dumps({"time": time.strftime("%Y-%m-%dT%H:%M:%S"), "base": args.base, "part": name,
                                "docs": len(items), **secs}) + "\n")
        print(f"| {name} | {len(items)} | {fmt(secs['base'], 3)} | {fmt(secs['ours'], 3)} | {fmt(ratios, 2)} |",
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
