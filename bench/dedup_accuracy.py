"""Near-dedup accuracy: precision/recall of Yuliao's dedup stage vs datatrove's MinHash on one labelled set.

    .venv/bin/python bench/dedup_accuracy.py run [--n-base 600] [--seed 11]

The labelled set is built from real text in ../shared/data (never stored in the repo):

* **base documents**: consecutive-paragraph chunks of the Gutenberg books (English ~2,500 chars from
  ``books/gutenberg-en``; Chinese ~1,500 chars from the Traditional-script ``books/gutenberg-zh``), every chunk
  distinct; half English, half Chinese.
* **near-duplicates**: for every second base document, one copy with a controlled edit, round-robin over
  ``EDITS`` (substitutions at 1% and 3% of words/characters, sections moved, boilerplate header/footer
  added, last 10% truncated, script/punctuation change — zh: OpenCC s2twp→t2s-style conversion to
  Simplified, en: re-wrapped lines and typographic quotes — and a full paragraph shuffle, the hard case).
  The labelled positives are the (base, copy) pairs; every other pair is a negative (other chunks of the same
  book are same-topic negatives).

Predicted pairs are all pairs inside a predicted cluster. Precision = TP / predicted, recall = TP / positives,
also for positives whose true Jaccard (exact, on Yuliao's shingles) is ≥ 0.8 and per edit type. datatrove
(0.10.1, ``MinhashDedupSignature → Buckets → Cluster → Filter`` with 5-grams, 14 × 8, seed 1 — its FineWeb
settings) runs in ``bench/work/.venv-datatrove`` on the same documents, English with its ``en`` word
tokenizer and Chinese with its ``zh`` (spaCy + jieba) tokenizer. Results go to
``bench/work/results/dedup_accuracy.json`` with the recipe used.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DT_PY = REPO / "bench" / "work" / ".venv-datatrove" / "bin" / "python"
EDITS = ("subst_1pct", "subst_3pct", "sections_moved", "boilerplate", "truncate_10pct", "script_punct",
         "paragraph_shuffle")


# ------------------------------------------------------------------ the labelled set
def _chunks(text: str, target: int, sep: str) -> list[str]:
    paras = [p.strip() for p in re.split(r"\n\s*\n" if sep == "blank" else r"\n", text) if p.strip()]
    out, cur = [], []
    for p in paras:
        cur.append(p)
        if sum(map(len, cur)) >= target:
            out.append("\n\n".join(cur))
            cur = []
    return out


def base_documents(data: Path, n_base: int) -> list[dict]:
    en, zh = [], []
    for f in sorted((data / "books" / "gutenberg-en").glob("*.txt")):
        en += _chunks(f.read_text(encoding="utf-8-sig", errors="replace"), 2500, "blank")[5:-5]
    for f in sorted((data / "books" / "gutenberg-zh").glob("*.txt")):
        zh += _chunks(f.read_text(encoding="utf-8-sig", errors="replace"), 1500, "line")[5:-5]
    en, zh = sorted(set(en), key=en.index), sorted(set(zh), key=zh.index)
    half = n_base // 2
    pick = lambda xs: [xs[i * len(xs) // half] for i in range(half)]  # noqa: E731 - evenly spaced
    return ([{"id": f"en{i:04d}", "lang": "en", "text": t} for i, t in enumerate(pick(en))]
            + [{"id": f"zh{i:04d}", "lang": "zh", "text": t} for i, t in enumerate(pick(zh))])


def edit(text: str, lang: str, kind: str, rng: random.Random) -> str:
    paras = text.split("\n\n")
    if kind.startswith("subst"):
        rate = 0.01 if kind == "subst_1pct" else 0.03
        if lang == "en":
            words = text.split(" ")
            for i in rng.sample(range(len(words)), max(1, int(len(words) * rate))):
                words[i] = rng.choice(["the", "a", "very", "indeed", "quite", "much"])
            return " ".join(words)
        chars = list(text)
        for i in rng.sample(range(len(chars)), max(1, int(len(chars) * rate))):
            chars[i] = rng.choice("的一是在不了有和人這中大為上個國")
        return "".join(chars)
    if kind == "sections_moved":
        k = max(1, len(paras) // 3)
        blocks = [paras[i:i + k] for i in range(0, len(paras), k)]
        return "\n\n".join(p for b in blocks[1:] + blocks[:1] for p in b)
    if kind == "boilerplate":
        if lang == "en":
            return ("Home | News | About us | Contact | Privacy | Terms\nShare this page: Facebook Twitter Email\n\n"
                    + text + "\n\nCopyright 2024 Example Books Ltd. All rights reserved. Cookie settings")
        return ("首頁 | 新聞 | 關於我們 | 聯繫方式 | 隱私政策\n分享到：微博 微信 QQ空間\n\n" + text
                + "\n\n版權所有 © 2024 某某書局 京ICP備00000000號 免責聲明")
    if kind == "truncate_10pct":
        return text[: int(len(text) * 0.9)]
    if kind == "script_punct":
        if lang == "zh":
            from opencc import OpenCC

            return OpenCC("t2s").convert(text)
        return re.sub(r"\s+", " ", text).replace('"', "\u201c").replace("'", "\u2019")
    if kind == "paragraph_shuffle":
        ps = list(paras) if len(paras) > 2 else re.split(r"(?<=[.!?。！？])\s*", text)
        rng.shuffle(ps)
        return "\n\n".join(ps)
    raise ValueError(kind)


def labelled_set(data: Path, n_base: int, seed: int) -> tuple[list[dict], list[dict]]:
    rng = random.Random(seed)
    base = base_documents(data, n_base)
    docs, positives = list(base), []
    for i, d in enumerate(base):
        if i % 2:
            continue
        kind = EDITS[(i // 2) % len(EDITS)]
        copy = {"id": d["id"] + "-" + kind, "lang": d["lang"], "text": edit(d["text"], d["lang"], kind, rng)}
        docs.append(copy)
        positives.append({"a": d["id"], "b": copy["id"], "edit": kind, "lang": d["lang"]})
    return docs, positives


def true_jaccard(a: str, b: str, lang: str) -> float:
    from pipelines.recipe import DedupNearConfig
    from transforms.dedup import signer_from_recipe

    s = signer_from_recipe(DedupNearConfig())
    x, y = set(s.shingles(a, lang)[0].tolist()), set(s.shingles(b, lang)[0].tolist())
    return len(x & y) / max(1, len(x | y))


# ------------------------------------------------------------------ the two tools
def run_yuliao(docs: list[dict], overrides: list[str]) -> dict[str, str]:
    """{doc id: cluster id} from the dedup stage (DirectRunner, in-memory)."""
    import apache_beam as beam

    from pipelines.recipe import load_recipe
    from schemas.document import Document
    from transforms.dedup import stage

    recipe = load_recipe(None, overrides)
    with tempfile.TemporaryDirectory() as tmp:
        with beam.Pipeline("DirectRunner") as p:
            out = stage(p | beam.Create([Document(id=d["id"], text=d["text"], source="web", origin=d["id"],
                                                  lang=d["lang"]) for d in docs]), recipe)
            (out.main | "m" >> beam.Map(lambda d: json.dumps([d.id, d.dup_cluster]))
             | "wm" >> beam.io.WriteToText(os.path.join(tmp, "main")))
            (out.rejects | "r" >> beam.Map(lambda r: json.dumps([r.id, re.search(r"cluster=(\S+)", r.detail).group(1)]))
             | "wr" >> beam.io.WriteToText(os.path.join(tmp, "rejects")))
        rows = [json.loads(line) for f in sorted(Path(tmp).glob("*-of-*")) for line in f.read_text().splitlines()]
    return {i: c for i, c in rows}


def run_datatrove(docs: list[dict], work: Path) -> dict[str, str]:
    """{doc id: cluster id} from datatrove's MinHash pipeline (subprocess in its venv)."""
    work.mkdir(parents=True, exist_ok=True)
    for lang in ("en", "zh"):
        d = work / lang / "input"
        d.mkdir(parents=True, exist_ok=True)
        with open(d / "docs.jsonl", "w", encoding="utf-8") as f:
            for doc in docs:
                if doc["lang"] == lang:
                    f.write(json.dumps({"id": doc["id"], "text": doc["text"]}, ensure_ascii=False) + "\n")
        subprocess.run([str(DT_PY), __file__, "_datatrove", str(work / lang), lang], check=True)
    out = {}
    for lang in ("en", "zh"):
        for line in (work / lang / "clusters.jsonl").read_text().splitlines():
            i, c = json.loads(line)
            out[i] = f"{lang}:{c}" if c != -1 else i
    return out


def _datatrove_main(work: str, lang: str) -> None:  # runs under the datatrove venv
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.dedup import (MinhashDedupBuckets, MinhashDedupCluster, MinhashDedupFilter,
                                          MinhashDedupSignature)
    from datatrove.pipeline.dedup.minhash import MinhashConfig
    from datatrove.pipeline.readers import JsonlReader
    from datatrove.pipeline.writers import JsonlWriter

    cfg = MinhashConfig(n_grams=5, num_buckets=14, hashes_per_bucket=8, seed=1)
    w = Path(work)
    inp = JsonlReader(str(w / "input"), id_key="id")
    steps = [
        [inp, MinhashDedupSignature(str(w / "sigs"), config=cfg, language=lang)],
        [MinhashDedupBuckets(str(w / "sigs"), str(w / "buckets"), config=cfg)],
        [MinhashDedupCluster(str(w / "buckets"), str(w / "remove"), config=cfg, save_cluster_id=True)],
        [JsonlReader(str(w / "input"), id_key="id"),
         MinhashDedupFilter(str(w / "remove"), load_cluster_ids=True,
                            exclusion_writer=JsonlWriter(str(w / "removed"), compression=None)),
         JsonlWriter(str(w / "kept"), compression=None)],
    ]
    tasks = [1, cfg.num_buckets, 1, 1]
    for i, (pipe, t) in enumerate(zip(steps, tasks)):
        LocalPipelineExecutor(pipeline=pipe, tasks=t, workers=1, logging_dir=str(w / f"logs{i}")).run()
    with open(w / "clusters.jsonl", "w") as out:
        for sub in ("kept", "removed"):
            for f in sorted((w / sub).glob("*.jsonl")):
                for line in f.read_text().splitlines():
                    d = json.loads(line)
                    out.write(json.dumps([d["id"], d["metadata"].get("minhash_cluster_id", -1)]) + "\n")


# ------------------------------------------------------------------ scoring
def score(clusters: dict[str, str], positives: list[dict], jac: dict) -> dict:
    members: dict[str, list[str]] = {}
    for i, c in clusters.items():
        members.setdefault(c, []).append(i)
    predicted = {tuple(sorted((a, b))) for ms in members.values() for a in ms for b in ms if a < b}
    pos = {tuple(sorted((p["a"], p["b"]))): p for p in positives}
    tp = predicted & set(pos)
    hi = {k for k in pos if jac[k] >= 0.8}
    res = {"predicted_pairs": len(predicted), "positives": len(pos), "true_positives": len(tp),
           "precision": round(len(tp) / len(predicted), 4) if predicted else 1.0,
           "recall": round(len(tp) / len(pos), 4),
           "positives_j08": len(hi), "recall_j08": round(len(tp & hi) / len(hi), 4) if hi else None,
           "precision_vs_j08_labels": round(len(tp & hi) / len(predicted), 4) if predicted else 1.0,
           "recall_by_edit": {}}
    for kind in EDITS:
        ks = [k for k, p in pos.items() if p["edit"] == kind]
        res["recall_by_edit"][kind] = round(sum(k in tp for k in ks) / len(ks), 3) if ks else None
    return res


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "_datatrove":
        _datatrove_main(argv[1], argv[2])
        return 0
    ap = argparse.ArgumentParser()
    ap.add_argument("cmd", choices=["run"])
    ap.add_argument("--data", default=os.environ.get("YULIAO_TEST_DATA", str(REPO.parent / "shared" / "data")))
    ap.add_argument("--n-base", type=int, default=600)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--set", dest="overrides", action="append", default=[], help="recipe override key=value")
    ap.add_argument("--no-datatrove", action="store_true")
    ap.add_argument("--out", default=str(REPO / "bench" / "work" / "results" / "dedup_accuracy.json"))
    args = ap.parse_args(argv)
    sys.path.insert(0, str(REPO))
    from pipelines.recipe import load_recipe

    docs, positives = labelled_set(Path(args.data), args.n_base, args.seed)
    text = {d["id"]: d for d in docs}
    jac = {tuple(sorted((p["a"], p["b"]))): true_jaccard(text[p["a"]]["text"], text[p["b"]]["text"], p["lang"])
           for p in positives}
    result = {"n_docs": len(docs), "n_base": args.n_base, "seed": args.seed,
              "recipe_dedup": load_recipe(None, args.overrides).dedup.model_dump(mode="json"),
              "true_jaccard_by_edit": {k: round(sum(jac[tuple(sorted((p["a"], p["b"])))] for p in positives
                                                    if p["edit"] == k) / max(1, sum(p["edit"] == k for p in positives)), 3)
                                       for k in EDITS}}
    t0 = time.perf_counter()
    result["yuliao"] = score(run_yuliao(docs, args.overrides), positives, jac)
    result["yuliao"]["seconds"] = round(time.perf_counter() - t0, 1)
    if not args.no_datatrove and DT_PY.exists():
        t0 = time.perf_counter()
        with tempfile.TemporaryDirectory() as tmp:
            result["datatrove"] = score(run_datatrove(docs, Path(tmp)), positives, jac)
        result["datatrove"]["seconds"] = round(time.perf_counter() - t0, 1)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1, ensure_ascii=False))
    print(json.dumps({k: v for k, v in result.items() if k != "recipe_dedup"}, indent=1, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
