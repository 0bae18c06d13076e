"""Word-order signal: how many of a document's adjacent tokens are an unlikely pair under a bigram table of
reference text (a CCNet-style n-gram language model reduced to what separates text from word salad).

``order_odd_pairs`` = the share of adjacent token pairs (within a line) whose pointwise mutual information
``log P(b | a) - log P(b)`` under the table is below ``-1`` (``P(b | a) < P(b) / e``: the first token makes the
second *less* likely than chance). Real prose, and code-heavy technical posts too, have few such pairs (words
follow each other as usual); text whose words or character chunks were shuffled has many, whatever its topic
and vocabulary, because the unigram term cancels topic. That is why it is the signal that lets soft rules
(layout, symbol ratios, repetition) be overridden safely: a fastText bag of n-grams scored real code-heavy posts
and word salad alike (bench/QUALITY_MODEL.md). Chinese is read as dictionary words (``zh_words``: jieba-rs without
its HMM, which would glue shuffled chunks into "new words"): chunk-shuffled Chinese keeps most character bigrams but breaks words, which a word
table sees.

The table (``order_<lang>.npz`` beside the fastText models) is built by ``pipelines/train_quality.py``
(``build_order_table``) from the same reference text as the fastText positives: the ``vocab`` most frequent
tokens (words and symbols, lowercased), other tokens as their class
(HAN/LAT/NUM/SYM), pair counts with ``min_pair`` or more occurrences, Dirichlet-smoothed at scoring time
(``P(b|a) = (c(ab) + k P(b)) / (c(a) + k)``). Counting is exact integer arithmetic on a sorted token list, so
the same inputs give the same file. Plain functions and NumPy; no Beam here.
"""
from __future__ import annotations

import zlib
from collections import Counter
from typing import Iterable, Optional, Sequence

import numpy as np

from transforms.quality.model import NEWLINE, ModelsByLanguage, token_class, tokens
from transforms.resources import local_copy, packaged_file

ODD_PMI = -1.0  # a pair below this PMI is "odd"
SMOOTHING = 50.0  # Dirichlet k: an unseen pair after a frequent token costs log(k / (c(a) + k))


def shipped_order_path(lang: str) -> str:
    return packaged_file("transforms", "quality", "models", f"order_{lang}.npz")


def _text(text: str, tokenizer: str) -> str:
    """Chinese is read with Traditional characters folded to Simplified (character-level OpenCC, as dedup's key):
    the table is mostly Simplified text, and a page must not score otherwise for being written in Traditional."""
    if tokenizer.startswith("zh"):
        from transforms.normalize import to_simplified_chars

        return to_simplified_chars(text)
    return text


def _mapped(toks: Sequence[str], keep: dict[str, int], classes: dict[str, int]) -> list[int]:
    """Token ids; ``-1`` at line breaks (no pair spans a line)."""
    ids = {}
    for t in set(toks):  # each distinct token looked up once
        if t == NEWLINE:
            ids[t] = -1
        else:
            i = keep.get(t)
            ids[t] = i if i is not None else classes[token_class(t)]
    return list(map(ids.__getitem__, toks))


CLASSES = ("HAN", "LAT", "NUM", "SYM")


def count_table(texts: Iterable[str], tokenizer: str, max_chars: int, vocab: int, min_pair: int,
                score_chars: Optional[int] = None) -> dict:
    """Counts of the reference ``texts`` (each one's first ``max_chars``) as arrays: ``vocab`` tokens (the most
    frequent, ties by token, then the four classes), unigram counts, and pair keys ``a * V + b`` with ``min_pair``
    or more occurrences. ``score_chars`` (default ``max_chars``): the prefix of a document that is scored."""
    docs = [tokens(_text(t[:max_chars], tokenizer), tokenizer, max_chars, True) for t in texts]  # type: ignore[arg-type]
    freq = Counter(t for ts in docs for t in ts if t != NEWLINE)
    top = [t for t, _ in sorted(freq.items(), key=lambda kv: (-kv[1], kv[0]))[:vocab]]
    words = top + list(CLASSES)
    keep = {t: i for i, t in enumerate(top)}
    classes = {c: len(top) + j for j, c in enumerate(CLASSES)}
    V = len(words)
    uni = np.zeros(V, dtype=np.int64)
    pairs: Counter = Counter()
    for ts in docs:
        ids = _mapped(ts, keep, classes)
        for a, b in zip(ids, ids[1:]):
            if a >= 0 and b >= 0:
                pairs[a * V + b] += 1
        for i in ids:
            if i >= 0:
                uni[i] += 1
    keys = np.array(sorted(k for k, n in pairs.items() if n >= min_pair), dtype=np.int64)
    counts = np.array([pairs[int(k)] for k in keys], dtype=np.int64)
    return {"words": np.array(words), "unigram": uni, "pair_keys": keys, "pair_counts": counts,
            "tokenizer": np.array(tokenizer), "max_chars": np.array(score_chars or max_chars)}


def save_table(table: dict, path: str) -> None:
    with open(path, "wb") as fh:
        np.savez_compressed(fh, **table)


class OrderModel:
    """A loaded bigram table; ``odd_pairs(text)`` → share of unlikely adjacent pairs (``order_odd_pairs``)."""

    def __init__(self, path: str):
        self.path = path
        local = local_copy(path)
        with open(local, "rb") as fh:
            raw = fh.read()
        self.crc32 = zlib.crc32(raw)
        with np.load(local, allow_pickle=False) as z:
            words = [str(w) for w in z["words"]]
            uni = z["unigram"].astype(np.float64)
            self.keys = z["pair_keys"]
            pair_counts = z["pair_counts"].astype(np.float64)
            self.tokenizer = str(z["tokenizer"])
            self.max_chars = int(z["max_chars"])
        n_class = len(CLASSES)
        self.keep = {w: i for i, w in enumerate(words[:-n_class])}
        self.classes = {c: len(words) - n_class + j for j, c in enumerate(CLASSES)}
        self.V = len(words)
        p = (uni + 1.0) / (uni.sum() + self.V)  # add-one unigram: every id has a probability
        self.uni_count = uni
        self.p = p
        a = self.keys // self.V
        b = self.keys % self.V
        # seen pairs: log((c(ab) + k p(b)) / ((c(a) + k) p(b)))
        self.seen = np.log((pair_counts + SMOOTHING * p[b]) / ((uni[a] + SMOOTHING) * p[b]))
        # unseen pair after a: log(k / (c(a) + k))
        self.unseen = np.log(SMOOTHING / (uni + SMOOTHING))

    def odd_pairs(self, text: str) -> float:
        """Share of in-line adjacent pairs with PMI < ``ODD_PMI``; 0 for a text of fewer than two tokens."""
        vals = self.pair_values(text)
        return float((vals < ODD_PMI).mean()) if len(vals) else 0.0

    def gain(self, text: str) -> float:
        """Mean PMI of adjacent pairs (a diagnostic; not stored)."""
        vals = self.pair_values(text)
        return float(vals.mean()) if len(vals) else 0.0

    def pair_values(self, text: str) -> np.ndarray:
        """PMI of each adjacent in-line token pair of the scored prefix."""
        toks = tokens(_text(text[:self.max_chars], self.tokenizer), self.tokenizer, self.max_chars, True)  # type: ignore[arg-type]
        ids = np.array(_mapped(toks, self.keep, self.classes), dtype=np.int64)
        if len(ids) < 2:
            return np.zeros(0)
        a, b = ids[:-1], ids[1:]
        ok = (a >= 0) & (b >= 0)
        a, b = a[ok], b[ok]
        keys = a * self.V + b
        if not len(keys):
            return np.zeros(0)
        pos = np.searchsorted(self.keys, keys)
        pos[pos >= len(self.keys)] = 0
        hit = self.keys[pos] == keys
        return np.where(hit, self.seen[pos], self.unseen[a])


class OrderScorer(ModelsByLanguage):
    """The order tables of ``quality.model.order_models`` (same loading and language fallback as
    ``model.QualityScorer``)."""

    load = staticmethod(OrderModel)
    shipped_path = staticmethod(shipped_order_path)
