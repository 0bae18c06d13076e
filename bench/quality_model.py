"""Rules alone vs rules + learned score, on real articles and generated junk, per language.

    PYTHONPATH=$PWD .venv/bin/python bench/quality_model.py                 # shipped models, report
    PYTHONPATH=$PWD .venv/bin/python bench/quality_model.py --set quality.model.keep_threshold=0.8
    PYTHONPATH=$PWD .venv/bin/python bench/quality_model.py --models zh=/tmp/q_zh.ftz en=/tmp/q_en.ftz

Real articles (never in training): the main text (``transforms.extract.Extractor`` + ``normalize_text``) of
the ``eval`` half of the shared web pages (``pipelines.train_quality.page_half``; the ``train`` half and
books/wiki/MSRA/reviews train the shipped models) — zh: gne-zh news, readability/trafilatura zh pages, plus
both debian-reference-zh guides (never in training); en: trafilatura + mozilla-readability English pages.
Texts under 200 characters (failed extractions) are left out.

Junk, generated here from the *next* real article's text (so no junk shares a document with the real one
it is compared to), by code that training never runs (training's only generated negatives are order-0
token resamples, ``train_quality.resampled``; like word salad they have no word order, so the salad
figure is not independent of that choice — see QUALITY_MODEL.md):

* ``word_salad``: words (en) or 2–4 character chunks (zh) shuffled within each line;
* ``keyword_ads``: 4–8 keywords of the text stuffed into ad lines (price, contact, "best … cheap …");
* ``link_list``: 15–40 short fragments of the text as link lines with separators, dates and "more".

Each document goes through ``Quality.signals`` + ``decision.decide`` exactly as in a build, once with
``quality.model.enabled=false`` (rules alone) and once with the recipe's model settings. CPU (best of 3, the
box is shared): the rule signals of ``Quality`` and the model scoring, each over all documents, and the
extraction + normalisation of the eval-half web pages (a build's dominant per-page cost), so the model's share
of quality and of extract + quality per document is reported.
Output: a table on stdout and ``bench/work/quality_model/report.json``.
"""
from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import random
import sys
import time
from collections import Counter
from pathlib import Path

import regex

REPO = Path(__file__).resolve().parent.parent
WORK = REPO / "bench" / "work" / "quality_model"
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

_ZH_AD = ["【{k}】{k}价格_{k}厂家直销_{k}哪家好", "{k}{k}{k} 专业{k} 正品{k} 包邮", "热门{k}推荐：{k}、{k}、{k}",
          "{k}批发 {k}供应商 {k}多少钱 咨询电话：0755-8888{n}", "最新{k} {k}排行榜 {k}大全 {k}图片",
          "{k}招商加盟 {k}代理 微信同号 13{n}{n}", "【官方】{k}网 - {k}_{k}_{k}"]
_EN_AD = ["{k} {k} best {k} cheap {k} buy {k} online", "Top 10 {k} | {k} reviews | {k} deals | {k} near me",
          "cheap {k} free shipping {k} discount {k} sale", "{k} {k} {k} call now 1-800-{n}-{n}",
          "best {k} 2024 - {k} price - {k} coupon - {k} store", "buy {k} | {k} wholesale | {k} for sale"]
_ZH_LINK_EXTRA = ["更多>>", "首页", "下一页", "查看详情", "[{d}]", "({d})"]
_EN_LINK_EXTRA = ["More »", "Home", "Next page", "Read more", "[{d}]", "({d})"]
_WORD = regex.compile(r"\p{L}[\p{L}\p{M}'-]*")


def real_articles(data: Path, lang: str, cache: Path) -> list[dict]:
    from pipelines.train_quality import web_corpus

    docs = [{"id": d["path"], "text": d["main"], "set": d["collection"]}
            for d in web_corpus(data, lang, cache / f"web_{lang}.jsonl.gz")
            if d["half"] == "eval" and d["collection"] != "gne-zh-listpage"]
    if lang == "zh":
        docs += debian_zh(data, cache)
    return [d for d in docs if len(d["text"]) >= 200]


def debian_zh(data: Path, cache: Path) -> list[dict]:
    path = cache / "debian_zh.jsonl.gz"
    if path.exists():
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            return [json.loads(line) for line in fh]
    from pipelines.recipe import load_recipe
    from transforms.extract import Extractor, decode_html
    from transforms.normalize import normalize_text

    ex = Extractor.from_recipe(load_recipe().extract)
    ex.setup()
    out = []
    for p in sorted((data / "web" / "debian-reference-zh").glob("zh-*/*.html*")):
        raw = gzip.open(p).read() if p.suffix == ".gz" else p.read_bytes()
        text, _ = ex.extract_html(decode_html(raw, None))
        out.append({"id": str(p.relative_to(data)), "text": normalize_text(text or ""), "set": p.parent.name})
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        fh.write("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in out))
    return out


def _zh_chunks(line: str, rng: random.Random) -> list[str]:
    out, i = [], 0
    while i < len(line):
        n = rng.randint(2, 4)
        out.append(line[i:i + n])
        i += n
    return out


def word_salad(text: str, lang: str, rng: random.Random) -> str:
    lines = []
    for line in text.split("\n"):
        parts = _zh_chunks(line, rng) if lang == "zh" else line.split()
        rng.shuffle(parts)
        lines.append(("" if lang == "zh" else " ").join(parts))
    return "\n".join(lines)


def keywords(text: str, lang: str, rng: random.Random, k: int) -> list[str]:
    if lang == "zh":
        grams = Counter(text[i:i + n] for n in (2, 3) for i in range(len(text) - n)
                        if regex.fullmatch(r"\p{Han}+", text[i:i + n]))
    else:
        grams = Counter(w.lower() for w in _WORD.findall(text) if len(w) > 4)
    top = [w for w, _ in grams.most_common(40)] or ["content"]
    return rng.sample(top, min(k, len(top)))


def keyword_ads(text: str, lang: str, rng: random.Random) -> str:
    kws = keywords(text, lang, rng, rng.randint(4, 8))
    tpl = _ZH_AD if lang == "zh" else _EN_AD
    lines = []
    for _ in range(rng.randint(8, 25)):
        t = rng.choice(tpl)
        while "{k}" in t or "{n}" in t:
            t = t.replace("{k}", rng.choice(kws), 1).replace("{n}", str(rng.randint(100, 9999)), 1)
        lines.append(t)
    return "\n".join(lines)


def link_list(text: str, lang: str, rng: random.Random) -> str:
    if lang == "zh":
        pieces = [p for p in regex.split(r"[，。！？；、\n：“”]", text) if 4 <= len(p) <= 30]
    else:
        words = text.split()
        pieces = [" ".join(words[i:i + rng.randint(3, 9)]).strip(".,;:") for i in range(0, len(words), 9)]
    pieces = pieces or [text[:20]]
    extra = _ZH_LINK_EXTRA if lang == "zh" else _EN_LINK_EXTRA
    lines = []
    for _ in range(rng.randint(15, 40)):
        p = rng.choice(pieces)
        r = rng.random()
        if r < 0.2:
            p = p + " " + rng.choice(extra).replace("{d}", f"{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}")
        elif r < 0.35:
            p = f"{p} | {rng.choice(pieces)}"
        lines.append(p)
    return "\n".join(lines)


JUNK = {"word_salad": word_salad, "keyword_ads": keyword_ads, "link_list": link_list}


def half(item: dict) -> str:
    """``dev`` or ``test``: a stable split by the real article's id (a junk item goes with the article it is
    paired with). Thresholds are chosen on ``dev``; ``test`` is reported apart."""
    key = item["id"].split("/", 1)[1] if item["kind"] == "junk" else item["id"]
    # salted: the unsalted hash of the path is what put the page in the eval half (train_quality.page_half)
    return "dev" if hashlib.sha256(f"dev-test\x1f{key}".encode()).digest()[0] % 2 == 0 else "test"


def labelled_set(data: Path, lang: str, seed: int) -> list[dict]:
    rng = random.Random(seed)
    real = real_articles(data, lang, WORK)
    out = [{**d, "kind": "real"} for d in real]
    for i, d in enumerate(real):
        other = real[(i + 1) % len(real)]["text"]
        for kind, gen in JUNK.items():
            out.append({"id": f"{kind}/{d['id']}", "text": gen(other, lang, rng), "set": kind, "kind": "junk"})
    return out


def run(items: list[dict], lang: str, recipe) -> tuple[dict, float]:
    """{id: (kept, reason, score, failing rules, order_odd_pairs)} under ``recipe`` and the Quality stage's seconds on these docs."""
    from schemas.document import Document
    from transforms.quality.decision import decide
    from transforms.quality.filter import Quality

    q = Quality(recipe.quality)
    q.setup()
    docs = [Document(id=d["id"], text=d["text"], source="web", origin="bench", lang=lang, script=None)
            for d in items]
    if q.scorer is not None:  # load outside the timer (setup, once per worker)
        q.scorer.get(q.scorer.model_key(lang, lang == "zh"))
    q.signals(docs[0])  # jieba's dictionary loads on first use, not timed either
    out = {}
    t0 = time.process_time()
    for doc in docs:
        sig, fails = q.signals(doc)
        v = decide(sig, fails, doc.source, doc.lang, doc.id, recipe.quality)
        out[doc.id] = (not v.drop, v.reason, sig.get("quality_score"), fails, sig.get("order_odd_pairs"))
    return out, time.process_time() - t0


def model_seconds(items: list[dict], lang: str, recipe, repeat: int = 3) -> tuple[float, float]:
    """(rules-only Quality.signals seconds, model + order-table scoring seconds) on the same texts, best of ``repeat``
    (the box is shared: the minimum is the least disturbed run)."""
    from schemas.document import Document
    from transforms.quality.filter import Quality
    from transforms.quality.model import QualityScorer

    off = recipe.quality.model_copy(update={"model": recipe.quality.model.model_copy(update={"enabled": False})})
    q = Quality(off)
    q.setup()
    docs = [Document(id=d["id"], text=d["text"], source="web", origin="bench", lang=lang) for d in items]
    q.signals(docs[0])
    from transforms.quality.order import OrderScorer

    scorer = QualityScorer(recipe.quality.model.models, recipe.quality.zh_languages)
    model = scorer.get(scorer.model_key(lang, lang == "zh"))
    order = OrderScorer(recipe.quality.model.order_models, recipe.quality.zh_languages)
    table = order.get(order.model_key(lang, lang == "zh"))
    rules, scoring = [], []
    for _ in range(repeat):
        t0 = time.process_time()
        for doc in docs:
            q.signals(doc)
        rules.append(time.process_time() - t0)
        t0 = time.process_time()
        for doc in docs:
            model.score([doc.text])
            table.odd_pairs(doc.text)
        scoring.append(time.process_time() - t0)
    return min(rules), min(scoring)


def extract_seconds(data: Path, lang: str) -> tuple[float, int]:
    """(CPU seconds, pages) to extract + normalise the eval-half web pages of ``lang``."""
    from pipelines.train_quality import web_rows
    from pipelines.recipe import load_recipe
    from transforms.extract import Extractor, decode_html
    from transforms.normalize import normalize_text

    ex = Extractor.from_recipe(load_recipe().extract)
    ex.setup()
    from pipelines.train_quality import page_half

    rows = [r for r in web_rows(data, lang) if page_half(r["path"]) == "eval"]
    bodies = [(gzip.open(data / r["path"]).read(), r.get("detected_encoding")) for r in rows]
    t0 = time.process_time()
    for body, enc in bodies:
        text, _ = ex.extract_html(decode_html(body, enc))
        normalize_text(text or "")
    return time.process_time() - t0, len(bodies)


def main() -> int:
    import os

    from pipelines.recipe import load_recipe

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=os.environ.get("YULIAO_TEST_DATA", str(REPO.parent / "shared" / "data")))
    ap.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--models", nargs="*", default=[], metavar="LANG=PATH", help="score with these models")
    ap.add_argument("--langs", nargs="*", default=["zh", "en"])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--no-cpu", dest="cpu", action="store_false", help="skip the extraction timing")
    args = ap.parse_args()
    data = Path(args.data)
    overrides = list(args.overrides)
    if args.models:
        models = {k: v for k, v in (m.split("=", 1) for m in args.models)}
        overrides.append("quality.model.models=" + json.dumps(models))
    with_model = load_recipe("default", overrides)
    rules_only = load_recipe("default", overrides + ["quality.model.enabled=false"])
    report = {}
    for lang in args.langs:
        items = labelled_set(data, lang, args.seed)
        base, _ = run(items, lang, rules_only)
        full, _ = run(items, lang, with_model)
        rows = {}
        for name, res, part in (("rules", base, "all"), ("rules+model", full, "all"), ("rules/dev", base, "dev"),
                                ("rules+model/dev", full, "dev"), ("rules/test", base, "test"),
                                ("rules+model/test", full, "test")):
            real = [d for d in items if d["kind"] == "real" and part in ("all", half(d))]
            junk = [d for d in items if d["kind"] == "junk" and part in ("all", half(d))]
            row = {"n_real": len(real), "n_junk": len(junk), "real_kept": sum(res[d["id"]][0] for d in real) / len(real),
                   "junk_dropped": sum(not res[d["id"]][0] for d in junk) / len(junk)}
            for kind in JUNK:
                ks = [d for d in junk if d["set"] == kind]
                row[f"{kind}_dropped"] = sum(not res[d["id"]][0] for d in ks) / len(ks)
            row["real_drop_reasons"] = dict(Counter(res[d["id"]][1] for d in real if not res[d["id"]][0]))
            row["junk_kept"] = [d["id"] for d in junk if res[d["id"]][0]][:10]
            rows[name] = row
        scores = {k: sorted(full[d["id"]][2] for d in items if (d["set"] if d["kind"] == "junk" else "real") == k)
                  for k in ("real", *JUNK)}
        odd = {k: sorted(full[d["id"]][4] for d in items if (d["set"] if d["kind"] == "junk" else "real") == k)
               for k in ("real", *JUNK)}
        from quality_model_params import sweep

        grid = sweep(items, full, with_model, lang)
        t_extract, n_pages = extract_seconds(data, lang) if args.cpu else (None, 0)
        t_rules_only, t_model = model_seconds(items, lang, with_model) if args.cpu else (None, None)
        n_real = sum(d["kind"] == "real" for d in items)
        report[lang] = {"n_real": n_real, "n_junk": len(items) - n_real, **rows, "threshold_sweep": grid,
                        "score_quantiles": {k: [round(v[int(q * (len(v) - 1))], 3) for q in (0, .05, .25, .5, .75, .95, 1)]
                                            for k, v in scores.items()},
                        "order_odd_pairs_quantiles": {k: [round(v[int(q * (len(v) - 1))], 3) for q in (0, .05, .25, .5, .75, .95, 1)]
                                                      for k, v in odd.items()},
                        "cpu": None if not args.cpu else {
                            "docs": len(items), "quality_rules_s": round(t_rules_only, 3),
                            "model_scoring_s": round(t_model, 3),
                            "model_share_of_quality": round(t_model / (t_rules_only + t_model), 4),
                            "extract_s": round(t_extract, 3), "extract_pages": n_pages,
                            # per real page: extract + quality rules + model; the model's share of that
                            "model_share_of_extract_plus_quality": round(
                                (t_model / len(items)) / (t_extract / n_pages + (t_rules_only + t_model) / len(items)), 4)}}
    WORK.mkdir(parents=True, exist_ok=True)
    (WORK / "report.json").write_text(json.dumps(report, indent=1, ensure_ascii=False), encoding="utf-8")
    print(f"{'lang':<5}{'decision':<17}{'real kept':>10}{'junk drop':>10}{'salad':>8}{'ads':>8}{'links':>8}")
    for lang, r in report.items():
        for name in ("rules", "rules+model", "rules/dev", "rules+model/dev", "rules/test", "rules+model/test"):
            x = r[name]
            print(f"{lang:<5}{name:<17}{x['real_kept']:>10.1%}{x['junk_dropped']:>10.1%}{x['word_salad_dropped']:>8.1%}"
                  f"{x['keyword_ads_dropped']:>8.1%}{x['link_list_dropped']:>8.1%}")
        print(f"     n: {r['n_real']} real, {r['n_junk']} junk; real dropped by: {r['rules+model']['real_drop_reasons']}")
        print(f"     score quantiles (0 5 25 50 75 95 100%): {r['score_quantiles']}")
        print(f"     order_odd_pairs quantiles: {r['order_odd_pairs_quantiles']}")
        print(f"     cpu: {r['cpu']}")
        print("     sweep on dev (keep, max_odd → real kept, junk dropped): " + "; ".join(
            f"{g['keep']},{g['max_odd']}→{g['real_kept']:.1%},{g['junk_dropped']:.1%}" for g in r["threshold_sweep"]
            if g["max_odd"] in (0.26, 0.28)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
