"""Tokenize stage: counts equal the tokenizer's own (+1 EOS), batching-independent, count-only, EOS lookup."""
from __future__ import annotations

import gzip
import json
import pickle
import shutil

import apache_beam as beam
import pytest
from apache_beam.testing.test_pipeline import TestPipeline as BeamTestPipeline
from tokenizers import Tokenizer

from pipelines.recipe import TokenizeConfig, load_recipe
from schemas.document import Document
from transforms.stage import Count, apply_stage, run_batch
from transforms.tokenize import DEFAULT_EOS, Tokenize, TokenizerModel, default_tokenizer_path, eos_from_config


@pytest.fixture(scope="module")
def texts(data_dir) -> list[str]:
    """Real text: Chinese and English sentences, a traditional-script novel chapter, an English book page."""
    zh = gzip.open(data_dir / "misc/langid/lingua-sentences/zh.txt.gz", "rt", encoding="utf-8").read().splitlines()
    en = gzip.open(data_dir / "misc/langid/lingua-sentences/en.txt.gz", "rt", encoding="utf-8").read().splitlines()
    novel = (data_dir / "books/gutenberg-zh/pg23950-0.txt").read_text(encoding="utf-8")
    book = (data_dir / "books/gutenberg-en/pg1342.txt").read_text(encoding="utf-8")
    return zh[:150] + en[:150] + [novel[:20_000], book[:20_000], "", " ", "😀 emoji ＆ 全角"]


@pytest.fixture(scope="module")
def reference() -> Tokenizer:
    return Tokenizer.from_file(default_tokenizer_path())


def docs_of(texts):
    return [Document(id=f"d{i}", text=t, source="web", origin=f"t:{i}", lang="zh") for i, t in enumerate(texts)]


def test_default_eos_comes_from_the_shipped_config(reference):
    assert eos_from_config(default_tokenizer_path()) == DEFAULT_EOS == "<｜end▁of▁sentence｜>"
    m = TokenizerModel()
    assert m.eos_id == reference.token_to_id(DEFAULT_EOS) == 1


def test_counts_equal_the_tokenizers_own_plus_eos(texts, reference):
    stage = Tokenize.from_recipe(TokenizeConfig(batch_size=64))
    counts: dict = {}
    from collections import Counter

    c = Counter()
    out = list(run_batch(stage, docs_of(texts), c))
    assert len(out) == len(texts)
    for doc, text in zip(out, texts):
        own = reference.encode(text, add_special_tokens=False).ids
        assert doc.n_tokens == len(own) + 1
        assert list(doc.token_ids) == own + [1]
        counts[doc.id] = doc.n_tokens
    assert c["tokens"] == sum(counts.values()) and c["in"] == c["out"] == len(texts)
    # Chinese is ~1–1.5 characters per token with this tokenizer; a sanity bound on the novel chapter
    novel = out[len(texts) - 5]
    assert 5_000 < novel.n_tokens < 20_000


def test_batching_does_not_change_results(texts):
    one = Tokenize.from_recipe(TokenizeConfig(batch_size=1))
    many = Tokenize.from_recipe(TokenizeConfig(batch_size=1000))
    a = [d for d in one.apply(docs_of(texts)) if isinstance(d, Document)]
    b = []
    for i in range(0, len(texts), 7):
        b += [d for d in many.apply(docs_of(texts)[i:i + 7]) if isinstance(d, Document)]
    assert a == b


def test_count_only_and_no_eos(texts, reference):
    docs = docs_of(texts[:20])
    counted = [d for d in Tokenize.from_recipe(TokenizeConfig(count_only=True)).apply(docs) if isinstance(d, Document)]
    assert all(d.token_ids is None for d in counted)
    assert [d.n_tokens for d in counted] == [len(reference.encode(t, add_special_tokens=False).ids) + 1
                                             for t in texts[:20]]
    bare = [d for d in Tokenize.from_recipe(TokenizeConfig(add_eos=False)).apply(docs) if isinstance(d, Document)]
    assert [d.n_tokens for d in bare] == [d.n_tokens - 1 for d in counted]
    assert isinstance(list(Tokenize.from_recipe(TokenizeConfig()).apply(docs))[-1], Count)


def test_named_tokenizer_file_and_eos(tmp_path):
    # a copy without a config falls back to DeepSeek's EOS; a config naming another token is honoured
    shutil.copy(default_tokenizer_path(), tmp_path / "tokenizer.json")
    assert TokenizerModel(str(tmp_path / "tokenizer.json")).eos_id == 1
    (tmp_path / "tokenizer_config.json").write_text(json.dumps({"eos_token": "<｜begin▁of▁sentence｜>"}))
    assert TokenizerModel(f"file://{tmp_path}/tokenizer.json").eos_id == 0
    assert TokenizerModel(str(tmp_path / "tokenizer.json"), eos_token="<｜end▁of▁sentence｜>").eos_id == 1
    with pytest.raises(ValueError, match="not in the vocabulary"):
        TokenizerModel(str(tmp_path / "tokenizer.json"), eos_token="<no-such-token>")
    with pytest.raises(FileNotFoundError):
        TokenizerModel(str(tmp_path / "missing.json"))


def test_stage_pickles_without_the_model():
    st = Tokenize.from_recipe(TokenizeConfig())
    st._load()
    clone = pickle.loads(pickle.dumps(st))
    assert clone._model is None and len(pickle.dumps(st)) < 2000


def test_stored_ids_need_no_tokenizer_load():
    """Select reuses the annotate phase's ids: a batch that has them all never loads the tokenizer; one without
    ids loads it."""
    st = Tokenize.from_recipe(TokenizeConfig())
    st.setup()
    stored = [d._replace(n_tokens=2, token_ids=[5, 6]) for d in docs_of(["已有词元的文档", "stored"])]
    assert st.encode_all(stored) == stored and st._model is None
    fresh = st.encode_all(docs_of(["新的文档"]))
    assert st._model is not None and fresh[0].n_tokens == len(fresh[0].token_ids) > 1


def _texts_in_worker(_, texts):
    return docs_of(texts)


def _dump(items, path):
    with open(path, "w") as f:
        json.dump(sorted(items), f)


def test_beam_stage_from_recipe(tmp_path, texts, reference):
    recipe = load_recipe(None, ["tokenize.count_only=true"])
    sample = texts[:40]
    with BeamTestPipeline(runner="DirectRunner") as p:
        docs = p | beam.Create([0]) | beam.FlatMap(_texts_in_worker, sample)
        out = apply_stage(docs, Tokenize.from_recipe(recipe.tokenize))
        (out.main | beam.Map(lambda d: (d.id, d.n_tokens, d.token_ids is None)) | beam.combiners.ToList()
         | beam.Map(_dump, str(tmp_path / "docs.json")))
        (out.stats | beam.CombinePerKey(sum) | "l" >> beam.combiners.ToList()
         | "w" >> beam.Map(_dump, str(tmp_path / "stats.json")))
    got = {i: (n, none) for i, n, none in json.loads((tmp_path / "docs.json").read_text())}
    for i, t in enumerate(sample):
        assert got[f"d{i}"] == (len(reference.encode(t, add_special_tokens=False).ids) + 1, True)
    stats = dict(json.loads((tmp_path / "stats.json").read_text()))
    assert stats["tokenize\x1ftokens"] == sum(n for n, _ in got.values())
