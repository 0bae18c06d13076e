"""Learned quality score: shipped models, reproducible training, and the rules + score decision."""
from __future__ import annotations

import gzip
import hashlib
import random
from pathlib import Path

import pytest

from pipelines.recipe import load_recipe
from schemas.document import Document
from transforms.contract import Count, Rejection
from transforms.quality.decision import LOW_SCORE, PARETO, WORD_ORDER, decide, pareto_keep
from transforms.quality.filter import Quality
from transforms.quality.model import QualityModel, shipped_model_path
from transforms.quality.order import OrderModel, count_table, shipped_order_path

REPO = Path(__file__).resolve().parent.parent


def _books_chunks(data: Path, folder: str, n: int) -> list[str]:
    from transforms.sources.books import chunk_book, strip_gutenberg

    p = sorted((data / "books" / folder).glob("*.txt"))[-1]
    return chunk_book(strip_gutenberg(p.read_text(encoding="utf-8")).text, 2000, 200)[-n:]


def _salad(text: str, seed: int, chunk: bool) -> str:
    rng = random.Random(seed)
    out = []
    for line in text.split("\n"):
        parts = [line[i:i + 3] for i in range(0, len(line), 3)] if chunk else line.split()
        rng.shuffle(parts)
        out.append(("" if chunk else " ").join(parts))
    return "\n".join(out)


# ---------------------------------------------------------------- shipped models

@pytest.mark.parametrize("lang", ["zh", "en"])
def test_shipped_model_loads_offline_and_scores_real_above_junk(lang, data_dir, monkeypatch):
    """A real article from the shared data scores above word salad and above a link list made of it."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    path = shipped_model_path(lang)
    assert Path(path).stat().st_size < 8_000_000  # "a few MB"
    m = QualityModel(path)
    real = _books_chunks(data_dir, "gutenberg-zh" if lang == "zh" else "gutenberg-en", 3)
    salad = [_salad(t, i, lang == "zh") for i, t in enumerate(real)]
    links = ["\n".join(t.replace("。", "\n").replace(". ", "\n").split("\n")[:30][::-1]) for t in real]
    s_real, s_salad, s_links = m.score(real), m.score(salad), m.score(links)
    for r, s, k in zip(s_real, s_salad, s_links):
        assert 0.0 <= min(r, s, k) and max(r, s, k) <= 1.0
        assert r > s and r > k, (r, s, k)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_shipped_order_table_separates_real_text_from_its_shuffles(lang, data_dir):
    """Real book text has fewer odd word pairs than the same text with words (en) or 3-character chunks (zh)
    shuffled within lines. The books are in the table's reference text, so this checks that the shipped table
    loads offline and reads word order, not that it generalises (bench/quality_model.py measures that)."""
    path = shipped_order_path(lang)
    assert Path(path).stat().st_size < 4_000_000
    m = OrderModel(path)
    real = _books_chunks(data_dir, "gutenberg-zh" if lang == "zh" else "gutenberg-en", 3)
    for i, t in enumerate(real):
        odd_real, odd_salad = m.odd_pairs(t), m.odd_pairs(_salad(t, i, lang == "zh"))
        assert 0.0 <= odd_real < odd_salad <= 1.0, (odd_real, odd_salad)
        assert odd_real == m.odd_pairs(t)  # deterministic


def test_order_table_counts_are_a_function_of_the_texts():
    texts = ["the cat sat on the mat.\nthe dog sat on the log.", "a cat and a dog."] * 3
    a, b = count_table(texts, "words", 3000, 50, 1), count_table(list(texts), "words", 3000, 50, 1)
    assert all((a[k] == b[k]).all() for k in a)
    words = [str(w) for w in a["words"]]
    assert words[:2] == ["the", "."] and words[-4:] == ["HAN", "LAT", "NUM", "SYM"]
    V = len(words)
    pairs = dict(zip(a["pair_keys"].tolist(), a["pair_counts"].tolist()))
    assert pairs[words.index("the") * V + words.index("cat")] == 3
    # no pair spans a line break
    assert (words.index(".") * V + words.index("the")) not in pairs


# ---------------------------------------------------------------- training

def test_training_input_is_reproducible(data_dir):
    """Same input + seed → the same fastText training file and input spec; another seed → another file.
    (fastText 0.9.3 itself is not byte-reproducible here even with thread=1: see bench/QUALITY_MODEL.md.)"""
    from pipelines.train_quality import training_rows

    with gzip.open(data_dir / "misc" / "zh-ugc" / "dh_msra.txt.gz", "rt", encoding="utf-8") as fh:
        chars = [line.split("\t")[0] if line.strip() else "\n" for line in fh.read(400_000).splitlines()]
    pos = [s for s in "".join(chars).split("\n") if len(s) > 20][:300]
    import csv

    with open(data_dir / "misc" / "zh-ugc" / "waimai_10k.csv", encoding="utf-8") as fh:
        neg = [r["review"] for r in csv.DictReader(fh)][:300]
    a = training_rows(pos, neg, "zh_chars", 3, 0.1, 1500, 100, False)
    b = training_rows(list(pos), list(neg), "zh_chars", 3, 0.1, 1500, 100, False)
    c = training_rows(pos, neg, "zh_chars", 4, 0.1, 1500, 100, False)
    assert a == b
    assert a[0] != c[0] and sorted(a[0]) != sorted(c[0])  # another held-out split, not only another order
    rows, spec, pos_test, neg_test = a
    assert len(rows) == 540 and len(pos_test) == len(neg_test) == 30
    assert len(spec.keep) == 100 and not spec.newlines
    assert all(r.startswith(("__label__hq ", "__label__lq ")) and "\n" not in r for r in rows)


def test_train_quality_cli_reads_txt_and_jsonl(tmp_path, data_dir):
    import json
    import subprocess
    import sys

    pos = _books_chunks(data_dir, "gutenberg-en", 60)
    neg = [_salad(t, i, False) for i, t in enumerate(pos)]
    (tmp_path / "pos.txt").write_text("\n\n".join(t.replace("\n\n", "\n") for t in pos), encoding="utf-8")
    (tmp_path / "neg.jsonl").write_text("".join(json.dumps({"text": t}) + "\n" for t in neg), encoding="utf-8")
    out = tmp_path / "q.ftz"
    r = subprocess.run([sys.executable, "-m", "pipelines.cli", "train-quality", "--lang", "en",
                        "--positive", str(tmp_path / "pos.txt"), "--negative", str(tmp_path / "neg.jsonl"),
                        "--output", str(out), "--epoch", "3", "--dim", "8"],
                       capture_output=True, text=True, cwd=REPO)
    assert r.returncode == 0, r.stderr
    assert "AUC" in r.stdout and out.exists() and (tmp_path / "q.json").exists()
    report = json.loads(r.stdout[r.stdout.index("{"):])
    assert report["train"]["positive"] == 54 and report["heldout"]["negative"] == 6
    # --order-table: the word-order table of the positives, usable as quality.model.order_models.en
    table = tmp_path / "order_en.npz"
    r = subprocess.run([sys.executable, "-m", "pipelines.cli", "train-quality", "--lang", "en", "--order-table",
                        "--positive", str(tmp_path / "pos.txt"), "--output", str(table)],
                       capture_output=True, text=True, cwd=REPO)
    assert r.returncode == 0, r.stderr
    m = OrderModel(str(table))
    assert m.tokenizer == "words" and m.odd_pairs(pos[0]) < m.odd_pairs(neg[0])
    cfg = load_recipe("default", [f"quality.model.order_models={{en: {table}}}"]).quality
    doc = Document(id="d", text=pos[0], source="web", origin="t", lang="en")
    assert Quality(cfg).text_signals(doc)["order_odd_pairs"] == round(m.odd_pairs(pos[0]), 6)


def test_annotation_store_key_covers_the_order_tables(tmp_path):
    """A different order table (path, or the shipped file's size) must re-annotate: it changes a stored signal."""
    from transforms.store import annotate_settings

    base = annotate_settings(load_recipe("default"))
    assert base["quality"]["model"]["order_models"]["zh"][1] == [Path(shipped_order_path("zh")).stat().st_size]
    other = tmp_path / "o.npz"
    other.write_bytes(Path(shipped_order_path("en")).read_bytes())
    moved = annotate_settings(load_recipe("default", [f"quality.model.order_models={{en: {other}}}"]))
    assert moved != base and moved["quality"]["model"]["order_models"]["en"][0] == str(other)
    # thresholds are select's: no re-annotation
    assert annotate_settings(load_recipe("default", ["quality.model.max_odd_pairs=0.1"])) == base


# ---------------------------------------------------------------- decision

def _cfg(*overrides):
    return load_recipe("default", list(overrides)).quality


def test_soft_failure_with_good_score_and_word_order_is_kept():
    cfg = _cfg()
    soft = cfg.model.soft_rules[0]
    good = {"quality_score": 0.99, "order_odd_pairs": 0.1}
    v = decide(good, [soft], "web", "en", "d1", cfg)
    assert not v.drop and v.reason is None and v.counts == (f"rescued/{soft}",)
    # a low score (ads, link lists) or shuffled word order (salad) is not rescued
    v = decide({**good, "quality_score": cfg.model.keep_threshold / 2}, [soft], "web", "en", "d1", cfg)
    assert v.drop and v.reason == soft
    v = decide({**good, "order_odd_pairs": cfg.model.max_odd_pairs + 0.01}, [soft], "web", "en", "d1", cfg)
    assert v.drop and v.reason == soft
    # no order signal (no table for the language): nothing is rescued
    assert decide({"quality_score": 1.0}, [soft], "web", "en", "d1", cfg).drop
    # a hard failure is never rescued
    v = decide({"quality_score": 1.0, "order_odd_pairs": 0.0}, [soft, "badwords"], "web", "en", "d1", cfg)
    assert v.drop and v.reason == soft and "badwords" in v.detail
    # per-language override
    zh_max = cfg.model.max_odd_pairs_by_lang["zh"]
    assert decide({"quality_score": 1.0, "order_odd_pairs": zh_max + 0.005}, ["zh_too_many_bullets"], "web", "zh", "d", cfg).drop
    assert not decide({"quality_score": 1.0, "order_odd_pairs": zh_max}, ["zh_too_many_bullets"], "web", "zh", "d", cfg).drop


def test_passing_document_with_shuffled_word_order_is_dropped():
    cfg = _cfg()
    v = decide({"quality_score": 0.9, "order_odd_pairs": cfg.model.drop_odd_pairs + 0.01}, [], "web", "en", "d", cfg)
    assert v.drop and v.reason == WORD_ORDER
    assert not decide({"quality_score": 0.9, "order_odd_pairs": cfg.model.drop_odd_pairs}, [], "web", "en", "d", cfg).drop


def test_passing_document_with_very_low_score_is_dropped():
    cfg = _cfg()
    v = decide({"quality_score": cfg.model.drop_threshold / 2}, [], "web", "zh", "d1", cfg)
    assert v.drop and v.reason == LOW_SCORE
    assert not decide({"quality_score": 0.5}, [], "web", "zh", "d1", cfg).drop
    # model off: the score is ignored
    off = _cfg("quality.model.enabled=false")
    assert not decide({"quality_score": 0.0}, [], "web", "zh", "d1", off).drop
    # per-language threshold
    per = _cfg("quality.model.drop_threshold_by_lang={zh: 0.6}")
    assert decide({"quality_score": 0.5}, [], "web", "zh", "d1", per).drop
    assert not decide({"quality_score": 0.5}, [], "web", "en", "d1", per).drop


def test_annotate_only_drops_nothing():
    cfg = _cfg("quality.annotate_only=true")
    v = decide({"quality_score": 0.0}, [], "web", "zh", "d1", cfg)
    assert not v.drop and v.counts == (f"would_reject/{LOW_SCORE}",)
    v = decide({"quality_score": 0.0}, ["zh_short"], "web", "zh", "d1", cfg)
    assert not v.drop and v.counts == ("would_reject/zh_short",)


def test_pareto_is_deterministic_and_follows_the_score():
    ids = [f"doc{i}" for i in range(4000)]
    for score in (0.05, 0.5, 0.95):
        a = [pareto_keep(i, score, 9.0, 0) for i in ids]
        assert a == [pareto_keep(i, score, 9.0, 0) for i in ids]
        # P(Lomax(9) > 1 - s) = (2 - s) ** -9
        expected = (2 - score) ** -9
        assert abs(sum(a) / len(a) - expected) < 0.03, (score, sum(a) / len(a), expected)
    assert [pareto_keep(i, 0.5, 9.0, 0) for i in ids] != [pareto_keep(i, 0.5, 9.0, 1) for i in ids]
    cfg = _cfg("quality.model.pareto.enabled=true")
    dropped = [i for i in ids[:200] if decide({"quality_score": 0.5}, [], "web", "en", i, cfg).reason == PARETO]
    assert dropped == [i for i in ids[:200] if not pareto_keep(i, 0.5, 9.0, 0)]


# ---------------------------------------------------------------- wired into the stage

def test_quality_stage_stores_score_and_counts_model_drops(data_dir):
    """Quality.apply: score and model signals on every document; low_quality_score is a rejection reason."""
    cfg = _cfg("quality.model.drop_threshold=0.5")
    q = Quality(cfg)
    q.setup()
    real = _books_chunks(data_dir, "gutenberg-en", 2)
    docs = [Document(id=f"r{i}", text=t, source="web", origin="t", lang="en") for i, t in enumerate(real)]
    docs.append(Document(id="salad", text=_salad(real[0], 1, False), source="web", origin="t", lang="en"))
    out = list(q.apply(docs))
    kept = [d for d in out if isinstance(d, Document)]
    rejected = [r for r in out if isinstance(r, Rejection)]
    assert all(0 <= d.signals["quality_score"] <= 1 and d.signals["quality_model_crc32"] > 0 for d in kept)
    assert all(0 <= d.signals["order_odd_pairs"] <= 1 for d in kept)
    reasons = {r.doc.id: r.reason for r in rejected}
    assert "salad" in reasons  # by a rule, or by the score when it fails none
    assert LOW_SCORE not in (reasons.get("r0"), reasons.get("r1"))
    assert any(d.id.startswith("r") for d in kept)
    counts = [c for c in out if not isinstance(c, (Document, Rejection))]
    assert all(isinstance(c, Count) for c in counts)
    # the card's score histogram: one score/<lang>/<tenth> count per scored document
    assert sum(c.value for c in counts if c.name.startswith("score/en/")) == len(docs)
