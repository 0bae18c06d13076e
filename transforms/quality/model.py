"""Learned quality score: a fastText classifier per language, P(reference-like text) in [0, 1].

GPT-3 (Brown et al. 2020, App. A) filtered Common Crawl with a classifier trained on reference text
(WebText, books, Wikipedia) against raw crawl; FineWeb-Edu, DCLM and CCI3-HQ score quality with a learned
model too. This is the cheap fastText form of that idea: a bag of tokens plus token bigrams, so word order
(word salad), link-list layout (the ``_nl_`` line-break token) and register (reviews, menus) all count.

How a model reads text is fixed at training time and saved beside it (``<model>.json``, see ``ModelSpec``):
``words`` (lowercased words and punctuation, for space-delimited languages), ``zh_chars`` (Han characters one
by one, Latin words whole), ``zh_jieba`` (jieba words) or ``zh_words`` (jieba-rs words, dictionary only). ``bench/QUALITY_MODEL.md`` says which was chosen
and why. Plain functions and a small class: no Beam here.

fastText 0.9.3 with NumPy 2 fails on ``predict(str)``; only ``predict(list[str])`` is used.
"""
from __future__ import annotations

import json
import zlib
from pathlib import Path
from typing import Literal, NamedTuple, Optional, Sequence

import regex

from transforms.resources import local_copy, packaged_file, shared

POSITIVE = "__label__hq"  # reference-like (books, encyclopedia, edited news)
NEGATIVE = "__label__lq"  # raw web / user text, boilerplate
NEWLINE = "_nl_"  # line breaks are a feature: link lists and menus are many short lines
Tokenizer = Literal["words", "zh_chars", "zh_jieba", "zh_words"]

_WORDS = regex.compile(r"[\p{L}\p{M}\p{N}_]+|[^\s\p{L}\p{M}\p{N}_]")
# one Han/kana/hangul character, or a run of other letters/digits (a Latin word), or one symbol
_ZH_CHARS = regex.compile(r"[\p{Han}\p{Hiragana}\p{Katakana}\p{Hangul}]|[\p{L}\p{M}\p{N}_]+|[^\s\p{L}\p{M}\p{N}_]")
_LINES = regex.compile(r"\s*\n\s*")
_DIGITS = regex.compile(r"\p{Nd}")


class ModelSpec(NamedTuple):
    """How a model's input is made; written next to the model as ``<name>.json``."""

    tokenizer: Tokenizer
    max_chars: int  # the document prefix that is scored (fastText averages, so a prefix is representative)
    # the training corpus's most frequent tokens (function words, particles, punctuation); any other token becomes
    # its class (HAN, LAT, NUM, SYM), so the model learns style and word order, not topic. Empty: all tokens kept.
    keep: tuple[str, ...] = ()
    # line breaks as a ``_nl_`` token; off, lines are joined: the score then ignores layout (which the rules judge)
    # and a many-line news article is not mistaken for a review thread or a menu
    newlines: bool = True

    @staticmethod
    def sidecar(model_path: str) -> str:
        return str(Path(model_path).with_suffix(".json")) if "://" not in model_path else model_path + ".json"

    def save(self, model_path: str) -> None:
        Path(self.sidecar(model_path)).write_text(json.dumps(self._asdict(), sort_keys=True) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, model_path: str) -> "ModelSpec":
        with open(local_copy(cls.sidecar(model_path)), encoding="utf-8") as fh:
            d = json.load(fh)
        return cls(d["tokenizer"], d["max_chars"], tuple(d.get("keep", ())), d.get("newlines", True))


_HAN = regex.compile(r"\p{Han}")
_LETTER = regex.compile(r"\p{L}")


def token_class(tok: str) -> str:
    if _HAN.match(tok):
        return "HAN"
    if _LETTER.match(tok):
        return "LAT"
    if tok[:1].isdigit():
        return "NUM"
    return "SYM"


def _tokens_line(line: str, tokenizer: Tokenizer) -> list[str]:
    line = _DIGITS.sub("0", line.lower())  # numbers say little about quality; one token per digit shape
    if tokenizer == "words":
        return _WORDS.findall(line)
    if tokenizer == "zh_chars":
        return _ZH_CHARS.findall(line)
    if tokenizer == "zh_words":  # rjieba (jieba-rs, ~20x faster than jieba) without HMM: like zh_jieba's words
        import rjieba

        return [w for w in (t.strip() for t in rjieba.cut(line, False)) if w]
    from transforms.quality.zh import load_jieba

    return [w for w in (t.strip() for t in load_jieba().lcut(line, HMM=False)) if w]


def tokens(text: str, tokenizer: Tokenizer, max_chars: int, newlines: bool = True) -> list[str]:
    """Tokens of the scored prefix, line breaks as ``_nl_`` (``newlines``)."""
    out: list[str] = []
    for line in _LINES.split(text[:max_chars].strip()):
        if line:
            if out and newlines:
                out.append(NEWLINE)
            out.extend(_tokens_line(line, tokenizer))
    return out


def to_fasttext_line(text: str, tokenizer: Tokenizer, max_chars: int, keep: frozenset[str] = frozenset(),
                     newlines: bool = True) -> str:
    """One fastText input line: tokens separated by spaces; with ``keep``, other tokens become their class."""
    toks = tokens(text, tokenizer, max_chars, newlines)
    if keep:  # each distinct token classified once
        kept = {t: t if t in keep or t == NEWLINE else token_class(t) for t in set(toks)}
        toks = list(map(kept.__getitem__, toks))
    return " ".join(toks)


def shipped_model_path(lang: str) -> str:
    return packaged_file("transforms", "quality", "models", f"quality_{lang}.ftz")


class QualityModel:
    """A loaded classifier; ``score(texts)`` → P(reference-like) per text, batched."""

    def __init__(self, path: str):
        import fasttext

        fasttext.FastText.eprint = lambda *a, **k: None  # silence the load-time warning
        self.path = path
        self.spec = ModelSpec.load(path)
        self.keep = frozenset(self.spec.keep)
        local = local_copy(path)
        self.model = fasttext.load_model(local)
        with open(local, "rb") as fh:
            self.crc32 = zlib.crc32(fh.read())  # the ``quality_model_crc32`` signal: which model scored
        labels = set(self.model.get_labels())
        if labels != {POSITIVE, NEGATIVE}:
            raise ValueError(f"quality model {path}: labels {sorted(labels)}, expected {POSITIVE} and {NEGATIVE}")

    def lines(self, texts: Sequence[str]) -> list[str]:
        return [to_fasttext_line(t, self.spec.tokenizer, self.spec.max_chars, self.keep, self.spec.newlines)
                for t in texts]

    def score_lines(self, lines: Sequence[str]) -> list[float]:
        if not lines:
            return []
        labels, probs = self.model.predict(list(lines), k=2)
        out = []
        for lab, pr in zip(labels, probs):
            p = dict(zip(lab, pr)).get(POSITIVE)
            if p is None:  # k=2 of 2 labels always gives both; an empty line gives none
                p = 0.0
            out.append(float(min(1.0, max(0.0, p))))
        return out

    def score(self, texts: Sequence[str]) -> list[float]:
        return self.score_lines(self.lines(texts))


class ModelsByLanguage:
    """Per-language model files of a recipe section, loaded on the first document of a language (one copy per
    process, ``resources.shared``) and never pickled. ``model_key`` picks by language label; documents of the Chinese
    group without a model of their own use ``zh``'s. Subclasses say how a file loads and where a language's
    shipped file is."""

    def __init__(self, paths: dict[str, Optional[str]], zh_languages: Sequence[str]):
        self.paths = dict(paths)
        self.zh_languages = tuple(zh_languages)
        self._models: dict[str, object] = {}

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_models"] = {}
        return state

    @staticmethod
    def load(path: str):
        raise NotImplementedError

    @staticmethod
    def shipped_path(key: str) -> str:
        raise NotImplementedError

    def path(self, key: str) -> str:
        return self.paths[key] or self.shipped_path(key)

    def model_key(self, lang: Optional[str], is_zh: bool) -> Optional[str]:
        if lang in self.paths:
            return lang
        if is_zh and "zh" in self.paths:
            return "zh"
        return None

    def get(self, key: str):
        if key not in self._models:
            self._models[key] = shared(self.load, self.path(key))
        return self._models[key]


class QualityScorer(ModelsByLanguage):
    """The fastText models of a recipe's ``quality.model.models``."""

    load = staticmethod(QualityModel)
    shipped_path = staticmethod(shipped_model_path)

    def model_name(self, key: str) -> str:
        """What goes into the ``quality_model`` signal: the file name (shipped or configured)."""
        return Path(self.path(key)).name
