"""Which input form and fastText options for the shipped quality models: train variants on the ``--default``
sources, report held-out AUC (training's own split) and the real-article/junk figures of bench/quality_model.py.

    PYTHONPATH=$PWD .venv/bin/python bench/quality_model_params.py --lang zh
    PYTHONPATH=$PWD .venv/bin/python bench/quality_model_params.py --lang en

Variants are fixed below (``VARIANTS``); each trains with thread=1 (~1 CPU-minute). Output: a table and
``bench/work/quality_model/params_<lang>.json``.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

VARIANTS = {
    "zh": {
        "chars_bigram": dict(tokenizer="zh_chars", word_ngrams=2),
        "chars_unigram": dict(tokenizer="zh_chars", word_ngrams=1),
        "jieba_bigram": dict(tokenizer="zh_jieba", word_ngrams=2),
        "chars_bigram_keep500": dict(tokenizer="zh_chars", word_ngrams=2, keep_top=500),
        "jieba_bigram_keep500": dict(tokenizer="zh_jieba", word_ngrams=2, keep_top=500),
        "chars_trigram_keep500": dict(tokenizer="zh_chars", word_ngrams=3, keep_top=500),
        "chars_bigram_nonl": dict(tokenizer="zh_chars", word_ngrams=2, newlines=False),
        "jieba_bigram_nonl": dict(tokenizer="zh_jieba", word_ngrams=2, newlines=False),
        "chars_bigram_keep500_nonl": dict(tokenizer="zh_chars", word_ngrams=2, keep_top=500, newlines=False,
                                          max_chars=1500),
        "chars_bigram_keep200_nonl": dict(tokenizer="zh_chars", word_ngrams=2, keep_top=200, newlines=False,
                                          max_chars=1500),
        "jieba_bigram_keep500_nonl": dict(tokenizer="zh_jieba", word_ngrams=2, keep_top=500, newlines=False,
                                          max_chars=1500),
        "chars_trigram_keep500_nonl_salad": dict(tokenizer="zh_chars", word_ngrams=3, keep_top=500, newlines=False,
                                                 max_chars=1500, extra_resampled=2000),
    },
    "en": {
        "words_bigram": dict(tokenizer="words", word_ngrams=2),
        "words_bigram_subword": dict(tokenizer="words", word_ngrams=2, minn=3, maxn=5),
        "words_bigram_keep300": dict(tokenizer="words", word_ngrams=2, keep_top=300),
        "words_trigram_keep300": dict(tokenizer="words", word_ngrams=3, keep_top=300),
        "words_bigram_keep1000": dict(tokenizer="words", word_ngrams=2, keep_top=1000),
        "words_bigram_keep300_moresalad": dict(tokenizer="words", word_ngrams=2, keep_top=300, extra_resampled=800),
        "words_bigram_moresalad": dict(tokenizer="words", word_ngrams=2, extra_resampled=800),
    },
}


def sweep(items: list[dict], res: dict, recipe, lang: str) -> list[dict]:
    """Real kept / junk dropped on the ``dev`` half for a grid of ``keep_threshold`` x ``max_odd_pairs``
    (``decide()`` on the stored signals; the per-language overrides are cleared so the grid applies to every
    language). The recipe defaults were read off this grid; the ``test`` half is reported apart."""
    from quality_model import half
    from transforms.quality.decision import decide

    grid = []
    dev = [d for d in items if half(d) == "dev"]
    for keep in (0.0, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 0.7, 0.9):
        for max_odd in (0.2, 0.22, 0.24, 0.26, 0.28, 0.3, 0.35):
            drop = recipe.quality.model.drop_threshold
            cfg = recipe.quality.model_copy(update={"model": recipe.quality.model.model_copy(
                update={"keep_threshold": keep, "max_odd_pairs": max_odd, "keep_threshold_by_lang": {},
                        "max_odd_pairs_by_lang": {}, "drop_threshold_by_lang": {}})})
            kept = {}
            for d in dev:
                _, _, score, fails, odd = res[d["id"]]
                sig = {"quality_score": score, **({} if odd is None else {"order_odd_pairs": odd})}
                kept[d["id"]] = not decide(sig, fails, "web", lang, d["id"], cfg).drop
            real = [kept[d["id"]] for d in dev if d["kind"] == "real"]
            junk = [not kept[d["id"]] for d in dev if d["kind"] == "junk"]
            grid.append({"keep": keep, "max_odd": max_odd, "drop": drop, "real_kept": round(sum(real) / len(real), 4),
                         "junk_dropped": round(sum(junk) / len(junk), 4)})
    return grid


def main() -> int:
    from pipelines.recipe import load_recipe
    from pipelines.train_quality import default_corpus, resampled, train
    from quality_model import WORK, labelled_set, run

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lang", required=True)
    ap.add_argument("--data", default=os.environ.get("YULIAO_TEST_DATA", str(REPO.parent / "shared" / "data")))
    ap.add_argument("--only", nargs="*", default=None, help="variant names")
    ap.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    args = ap.parse_args()
    data = Path(args.data)
    pos, neg = default_corpus(data, args.lang, WORK)
    items = labelled_set(data, args.lang, 1)
    out = {}
    for name, params in VARIANTS[args.lang].items():
        if args.only and name not in args.only:
            continue
        path = str(WORK / "variants" / f"{args.lang}_{name}.ftz")
        params = dict(params)
        extra = params.pop("extra_resampled", 0)  # more order-0 negatives: a push towards word-order features
        negs = neg + resampled(pos, params["tokenizer"], random.Random(7), extra) if extra else neg
        try:
            rep = train(pos, negs, path, log=lambda *a: None, **params)
        except RuntimeError as exc:  # fastText: "Encountered NaN" (learning rate too high for this input)
            print(f"{name:<24} {exc}", flush=True)
            continue
        recipe = load_recipe("default", args.overrides + [f"quality.model.models={json.dumps({args.lang: path})}"])
        res, _ = run(items, args.lang, recipe)
        real = [d for d in items if d["kind"] == "real"]
        junk = [d for d in items if d["kind"] == "junk"]
        med = {k: sorted(res[d["id"]][2] for d in items if (d["set"] if d["kind"] == "junk" else "real") == k)
               for k in ("real", "word_salad", "keyword_ads", "link_list")}
        out[name] = {"params": {**params, "extra_resampled": extra}, "auc": round(rep["auc"], 4), "bytes": rep["bytes"],
                     "real_kept": sum(res[d["id"]][0] for d in real) / len(real),
                     "junk_dropped": sum(not res[d["id"]][0] for d in junk) / len(junk),
                     "p10_median": {k: (round(v[len(v) // 10], 3), round(v[len(v) // 2], 3)) for k, v in med.items()}}
        out[name]["sweep"] = sweep(items, res, recipe, args.lang)
        r = out[name]
        print(f"{name:<24} AUC {r['auc']:.4f}  real kept {r['real_kept']:.1%}  junk dropped {r['junk_dropped']:.1%}  "
              f"score p10/median {r['p10_median']}", flush=True)
        best = sorted(r["sweep"], key=lambda g: -min(g["real_kept"], g["junk_dropped"]))[:3]
        print(f"{'':<24} best thresholds (keep, drop → real kept, junk dropped): "
              + "; ".join(f"{g['keep']}, {g['drop']} → {g['real_kept']:.1%}, {g['junk_dropped']:.1%}" for g in best))
    (WORK / f"params_{args.lang}.json").write_text(json.dumps(out, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
