"""Boilerplate line removal on real articles with real boilerplate inserted (figures in bench/DECONTAM.md).

Boilerplate: the whole-page lines of the 62 gne-zh article pages (``corpora.page_lines``) that are not in the
page's trafilatura main text — per site (163, sina, ifeng, …) the first 10 (header, navigation, breadcrumbs)
and last 8 (footer: copyright, ICP, links), plus every 责任编辑 / 来源 / ICP / 版权 / Copyright line. A line
needs a letter or Han character (a bare "|" is not a line anyone would count).
Articles: real text — trafilatura main text of the zh and en web pages, enwiki articles, Gutenberg chunks
(zh Traditional and en), hotel reviews (10 per document). Each article is given to one site (hosts of 5 to
150 articles, seeded) and gets each of the site's header lines at the top and footer lines at the bottom with
probability 0.85, a 责任编辑 line naming one of the site's editors, and a date + 来源 line with a random date.

Measured: share of inserted boilerplate line occurrences removed (all; and only lines that occur in more than
``max_docs`` articles of their host, the ones removal can see), share of the articles' own non-empty lines
kept, documents rejected, and the cost. ``--sweep`` varies ``max_docs``, ``min_chars`` and the scope with the
Beam-free core; the default run executes the real Beam stage (DirectRunner) on the set and times it against
the same pipeline without the stage.

    PYTHONPATH=. python bench/boilerplate.py [--sweep] [--seed 1]
"""
from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import corpora  # noqa: E402

from pipelines.recipe import load_recipe  # noqa: E402
from schemas.document import Document  # noqa: E402
from transforms.boilerplate.lines import Boilerplate  # noqa: E402

_SPECIAL = re.compile(r"责任编辑|编辑[:：]|来源[:：]|ICP|版权|Copyright|©", re.I)
_HAS_LETTER = re.compile(r"[^\W\d_]")


def site_of(path: str) -> str:
    return Path(path).name.split("__")[1]


def boilerplate_pool() -> dict[str, dict[str, list[str]]]:
    """Per gne-zh site: header lines, footer lines, special lines (责任编辑, 来源, ICP, copyright)."""
    pages = corpora.web_pages(("zh",), ("gne-zh",))
    arts = {a["path"]: a["text"] for a in corpora.web_articles(("zh",))}
    pool: dict[str, dict[str, list[str]]] = {}
    for page in pages:
        art = arts.get(page["path"]) or ""
        if len(art) < 200:
            continue
        lines = [ln for ln in corpora.page_lines(page["html"]) if _HAS_LETTER.search(ln) and len(ln) <= 300]
        non = [ln for ln in lines if ln not in art]
        site = pool.setdefault(site_of(page["path"]), {"header": [], "footer": [], "special": []})
        for name, part in (("header", non[:10]), ("footer", non[-8:]), ("special", [x for x in non if _SPECIAL.search(x)])):
            for ln in part:
                if ln not in site[name]:
                    site[name].append(ln)
    return pool


def articles(seed: int) -> list[tuple[str, str]]:
    """(kind, text) of real articles."""
    hotel = corpora.reviews("hotel")
    out = ([("zh_web", a["text"]) for a in corpora.web_articles(("zh",)) if len(a["text"]) >= 200]
           + [("en_web", a["text"]) for a in corpora.web_articles(("en",)) if len(a["text"]) >= 200]
           + [("enwiki", a["text"]) for a in corpora.wiki_articles()]
           + [("book_zh", c) for _, c in corpora.book_chunks("zh")]
           + [("book_en", c) for _, c in corpora.book_chunks("en")]
           + [("reviews_zh", "\n".join(hotel[i:i + 10])) for i in range(0, 3000, 10)])
    random.Random(seed).shuffle(out)
    return out


def build_set(seed: int) -> tuple[list[Document], dict]:
    """Documents with inserted boilerplate, and the truth: per doc id, its own lines and inserted lines."""
    rng = random.Random(seed)
    pool = boilerplate_pool()
    sites = sorted(pool)
    arts = articles(seed)
    sizes = [rng.choice((5, 8, 12, 20, 40, 80, 150)) for _ in sites]
    scale = len(arts) / sum(sizes)
    sizes = [max(3, round(s * scale)) for s in sizes]
    docs, truth = [], {}
    i = 0
    for site, size in zip(sites, sizes):
        p = pool[site]
        editors = [x for x in p["special"] if "编辑" in x] or [f"责任编辑：{n}" for n in ("王晓", "李娜", "张伟")]
        for _ in range(size):
            if i >= len(arts):
                break
            kind, text = arts[i]
            i += 1
            header = [ln for ln in p["header"] if rng.random() < 0.85]
            footer = [ln for ln in p["footer"] + [x for x in p["special"] if "编辑" not in x] if rng.random() < 0.85]
            date = f"{rng.randint(2015, 2024)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d} " \
                   f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d} 来源：{site}"
            inserted = header + [date] + footer + [rng.choice(editors)]
            body = header + [date, text, rng.choice(editors)] + footer
            doc_id = f"{site}-{i:05d}"
            docs.append(Document(id=doc_id, text="\n".join(body), source="web", origin=kind,
                                 url=f"https://{site}.example.com/a/{i}.html"))
            own = [ln for ln in text.split("\n") if ln.strip()]
            truth[doc_id] = {"kind": kind, "own": own, "inserted": inserted, "site": site}
    return docs, truth


def score(kept_texts: dict[str, str], truth: dict, max_docs: int) -> dict:
    """Removal and retention shares from the output texts (doc id → text; rejected documents absent)."""
    per_host_line = Counter()
    for t in truth.values():
        for ln in set(t["inserted"]):
            per_host_line[(t["site"], ln)] += 1
    ins = ins_removed = vis = vis_removed = own = own_kept = 0
    own_by_kind: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    lost_examples = Counter()
    articles_98 = 0
    for doc_id, t in truth.items():
        text = kept_texts.get(doc_id)
        lines = Counter(text.split("\n")) if text is not None else Counter()
        own_counts = Counter(t["own"])
        for ln in t["inserted"]:
            gone = lines[ln] <= own_counts[ln] - 0  # present no more than the article's own copies
            ins += 1
            ins_removed += gone
            if per_host_line[(t["site"], ln)] > max_docs:
                vis += 1
                vis_removed += gone
        doc_kept = 0
        for ln in t["own"]:
            ok = text is not None and ln.strip() in text
            doc_kept += ok
            own += 1
            own_kept += ok
            own_by_kind[t["kind"]][0] += ok
            own_by_kind[t["kind"]][1] += 1
            if not ok:
                lost_examples[ln[:60]] += 1
        articles_98 += doc_kept >= 0.98 * len(t["own"])
    return {"inserted_removed_pct": round(100 * ins_removed / ins, 2),
            "repeated_inserted_removed_pct": round(100 * vis_removed / max(1, vis), 2),
            "own_lines_kept_pct": round(100 * own_kept / own, 3),
            "articles_keeping_98pct_of_own_lines_pct": round(100 * articles_98 / len(truth), 2),
            "own_kept_by_kind_pct": {k: round(100 * a / b, 2) for k, (a, b) in sorted(own_by_kind.items())},
            "docs_out": len(kept_texts), "docs_in": len(truth),
            "own_lost_top": lost_examples.most_common(8)}


def run_core(docs: list[Document], cfg) -> dict[str, str]:
    """The stage's logic without Beam (same functions): count keys per distinct text, remove, reject."""
    bp = Boilerplate(cfg)
    texts_per_key: dict[int, set[int]] = defaultdict(set)
    for d in docs:
        for k, (h, _) in bp.pairs(d):
            texts_per_key[k].add(h)
    drop = {k for k, hs in texts_per_key.items() if len(hs) > cfg.max_docs}
    out = {}
    for d in docs:
        text, n, _ = bp.remove(d, drop)
        if n and bp.too_short(text):
            continue
        out[d.id] = text
    return out


def sweep(docs, truth) -> list[dict]:
    rows = []
    for scope in ("host", "global"):
        for max_docs in (2, 3, 6, 10):
            for min_chars in (2, 3, 5, 8):
                cfg = load_recipe(None, [f"boilerplate.scope={scope}", f"boilerplate.max_docs={max_docs}",
                                         f"boilerplate.min_chars={min_chars}", "boilerplate.exempt_sources=[]"]).boilerplate
                r = score(run_core(docs, cfg), truth, max_docs)
                r.pop("own_lost_top")
                rows.append({"scope": scope, "max_docs": max_docs, "min_chars": min_chars} | r)
                print(json.dumps(rows[-1], ensure_ascii=False), flush=True)
    return rows


def run_beam(docs, truth, recipe_overrides: list[str]) -> dict:
    import apache_beam as beam

    from transforms.boilerplate import stage

    recipe = load_recipe(None, recipe_overrides)
    out = corpora.WORK.parent / "boilerplate-run"
    times, cpu = {}, {}
    for with_stage in (False, True, False, True):
        for f in out.glob("*"):
            f.unlink()
        t0, c0 = time.perf_counter(), time.process_time()
        with beam.Pipeline() as p:
            pc = p | beam.Create(docs)
            if with_stage:
                pc = stage(pc, recipe).main
            pc | beam.Map(lambda d: json.dumps([d.id, d.text], ensure_ascii=False)) | beam.io.WriteToText(str(out / "main"))
        times.setdefault(with_stage, []).append(time.perf_counter() - t0)
        cpu.setdefault(with_stage, []).append(time.process_time() - c0)
    kept = dict(json.loads(line) for f in sorted(out.glob("main*")) for line in f.read_text(encoding="utf-8").splitlines())
    r = score(kept, truth, recipe.boilerplate.max_docs)
    base, staged = min(times[False]), min(times[True])
    cbase, cstaged = min(cpu[False]), min(cpu[True])
    c0 = time.process_time()
    run_core(docs, recipe.boilerplate)
    core = time.process_time() - c0
    r["cost"] = {"docs": len(docs), "chars": sum(len(d.text) for d in docs),
                 "pipeline_wall_s_without": round(base, 2), "pipeline_wall_s_with": round(staged, 2),
                 "pipeline_cpu_s_without": round(cbase, 2), "pipeline_cpu_s_with": round(cstaged, 2),
                 "stage_cpu_us_per_doc_directrunner": round(1e6 * (cstaged - cbase) / len(docs), 1),
                 "line_logic_cpu_us_per_doc": round(1e6 * core / len(docs), 1)}
    return r


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sweep", action="store_true")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", default=str(corpora.ROOT / "bench" / "work" / "results" / "boilerplate.jsonl"))
    args = ap.parse_args()
    docs, truth = build_set(args.seed)
    kinds = Counter(t["kind"] for t in truth.values())
    hosts = Counter(t["site"] for t in truth.values())
    info = {"docs": len(docs), "kinds": kinds, "hosts": len(hosts),
            "host_sizes": sorted(hosts.values()), "inserted_lines": sum(len(t["inserted"]) for t in truth.values()),
            "own_lines": sum(len(t["own"]) for t in truth.values())}
    print(json.dumps(info, ensure_ascii=False), flush=True)
    if args.sweep:
        result = {"sweep": sweep(docs, truth)}
    else:
        # books are exempt by default; here every article is a web page, so the default recipe applies to all
        result = {"default_recipe": run_beam(docs, truth, [])}
    result |= {"set": info, "args": vars(args)}
    print(json.dumps(result, ensure_ascii=False, indent=1))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "a", encoding="utf-8") as f:
        f.write(json.dumps(result, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
