"""Normalise text before language ID: mojibake repair, NFC, whitespace and line cleanup, Chinese script.

Why each step:

* **Mojibake** (UTF-8 read as cp1252/latin-1, e.g. ``ä¸­æ–‡``) is repaired with ``ftfy``, but with the
  width/quote/ligature fixes off: ftfy's defaults turn full-width Chinese punctuation ``，！`` into ASCII
  and curly quotes into straight ones, which would rewrite correct Chinese text.
* **NFC** (not NFKC) keeps full-width punctuation and compatibility ideographs as written; NFKC is only
  used for keys (``simplified_key``), as DESIGN.md says.
* **Whitespace**: CR/LF unified, zero-width and control characters removed, runs of horizontal
  space (incl. NBSP and the ideographic space U+3000) folded to one space, lines stripped, more than
  one blank line folded to one (paragraph breaks survive: Gopher's paragraph rules need them).
* **Script** (``Hans``/``Hant``) is decided here, before langid, from the characters alone: a document
  gets a script when Han characters make up at least ``script_min_han_share`` of its letters (and kana
  are rare, so Japanese is left alone). Hant wins when unambiguously Traditional characters (OpenCC
  ``TSCharacters`` entries that never map to themselves) outnumber unambiguously Simplified ones.
  Doing it here needs no language label, and quality/balance can read it for every Chinese doc.
* Traditional text is **kept as written**; ``output_t2s`` (off by default) converts output text with
  OpenCC ``t2s`` (phrase-aware, slower). ``simplified_key`` is the key later stages (dedup) use.
"""
from __future__ import annotations

import unicodedata
from collections import Counter
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Optional, Sequence

import regex

from schemas.document import Document
from transforms.contract import Rejection

# ------------------------------------------------------------------ OpenCC character tables


def _opencc_dict_dir() -> Path:
    import opencc

    return Path(opencc.__file__).resolve().parent / "dictionary"


def _read_opencc(name: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    with open(_opencc_dict_dir() / name, encoding="utf-8") as fh:
        for line in fh:
            parts = line.rstrip("\n").split("\t")
            if len(parts) == 2 and parts[0]:
                out[parts[0]] = parts[1].split(" ")
    return out


@lru_cache(maxsize=1)
def _tables() -> tuple[dict[int, str], frozenset[str], frozenset[str]]:
    """(t2s translate table, unambiguously Traditional chars, unambiguously Simplified chars)."""
    ts = _read_opencc("TSCharacters.txt")
    st = _read_opencc("STCharacters.txt")
    t2s = {ord(k): v[0] for k, v in ts.items() if len(k) == 1 and v and v[0] != k}
    trad = frozenset(k for k, v in ts.items() if len(k) == 1 and k not in v)
    simp = frozenset(k for k, v in st.items() if len(k) == 1 and k not in v)
    return t2s, trad, simp


@lru_cache(maxsize=1)
def _opencc_t2s():
    import opencc

    return opencc.OpenCC("t2s")


# ------------------------------------------------------------------ keys

# CJK / full-width punctuation NFKC leaves alone → ASCII, so keys do not depend on punctuation style.
_PUNCT_KEY = str.maketrans({
    "。": ".", "｡": ".", "、": ",", "「": '"', "」": '"', "『": '"', "』": '"', "“": '"', "”": '"', "‘": "'",
    "’": "'", "《": '"', "》": '"', "〈": '"', "〉": '"', "【": "[", "】": "]", "〔": "(", "〕": ")", "…": "...",
    "—": "-", "–": "-", "－": "-", "～": "~", "·": "·", "・": "·",
})
_KEY_WS = regex.compile(r"\s+")


@lru_cache(maxsize=1)
def _translated_chars() -> tuple[frozenset[str], frozenset[str]]:
    """(the characters ``to_simplified_chars`` changes, those ``_PUNCT_KEY`` changes): a text without any is
    returned as is; ``isdisjoint`` finds out ~4× faster than ``str.translate`` looks each character up."""
    return frozenset(map(chr, _tables()[0])), frozenset(map(chr, _PUNCT_KEY))


_STRIP_NOT_SPACE = regex.compile(r"[\x1c-\x1f]")  # whitespace to str.split, not to regex's \s


def to_simplified_chars(text: str) -> str:
    """Character-level OpenCC t2s (first candidate of ``TSCharacters``): fast (``str.translate``) and
    deterministic; a traditional and a simplified version of a text map to the same characters."""
    if _translated_chars()[0].isdisjoint(text):
        return text
    return text.translate(_tables()[0])


def simplified_key(text: str) -> str:
    """Script-, width- and punctuation-insensitive form of ``text`` for dedup and filter keys:
    t2s characters, NFKC, CJK punctuation → ASCII, casefold, whitespace runs → one space."""
    text = unicodedata.normalize("NFKC", to_simplified_chars(text))
    if not _translated_chars()[1].isdisjoint(text):
        text = text.translate(_PUNCT_KEY)
    text = text.casefold()
    if _STRIP_NOT_SPACE.search(text) is None:
        return " ".join(text.split())  # the same as the regex below when every whitespace is a \s
    return _KEY_WS.sub(" ", text).strip()


def to_simplified(text: str) -> str:
    """Full OpenCC ``t2s`` (phrase-aware) for output text."""
    return _opencc_t2s().convert(text)


# ------------------------------------------------------------------ script

_HAN = regex.compile(r"\p{Han}")
_KANA = regex.compile(r"[\p{Hiragana}\p{Katakana}]")
_LETTER = regex.compile(r"\p{L}")
_HAN_RUN = regex.compile(r"\p{Han}+")
_KANA_RUN = regex.compile(r"[\p{Hiragana}\p{Katakana}]+")
_LETTER_RUN = regex.compile(r"\p{L}+")


def detect_script(text: str, min_han_share: float = 0.3, min_han: int = 10, max_chars: int = 20_000) -> Optional[str]:
    """``Hans``/``Hant`` when Han characters dominate the letters of ``text`` (first ``max_chars``), else None."""
    sample = text[:max_chars]
    n_han = sum(map(len, _HAN_RUN.findall(sample)))  # counted by runs: far fewer matches than characters
    if n_han < min_han:
        return None
    letters = sum(map(len, _LETTER_RUN.findall(sample)))
    kana = sum(map(len, _KANA_RUN.findall(sample)))
    if not letters or n_han / letters < min_han_share or kana > 0.1 * (n_han + kana):
        return None
    _, trad, simp = _tables()
    n_trad = n_simp = 0
    for c, n in Counter(sample).items():  # each distinct character looked up once
        if (c in trad or c in simp) and _HAN.match(c):
            n_trad += n if c in trad else 0
            n_simp += n if c in simp else 0
    return "Hant" if n_trad > n_simp else "Hans"


# ------------------------------------------------------------------ text cleanup

_ZERO_WIDTH = regex.compile(r"[\u200b\u200c\u200d\u2060\ufeff\u00ad]")
# C0/C1 controls except \t and \n (\r handled first)
_CONTROL = regex.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_HSPACE = regex.compile(r"[^\S\n]+")  # any whitespace but newline: \t, NBSP, U+2000-200A, U+3000 ...
_MANY_NL = regex.compile(r"\n{3,}")


@lru_cache(maxsize=1)
def _ftfy_config():
    import ftfy

    return ftfy.TextFixerConfig(unescape_html=False, fix_character_width=False, uncurl_quotes=False,
                                fix_latin_ligatures=False, normalization="NFC", explain=False)


# characters some ftfy step (with our config) changes or removes: C0/C1 controls but \t \n \f (fix_c1_controls,
# remove_control_chars, remove_terminal_escapes' ESC), line separators (fix_line_breaks), surrogates, the
# deprecated format characters, BOM and interlinear annotations (remove_control_chars)
_FTFY_TOUCHES = (r"\x00-\x08\x0b\r\x0e-\x1f\x7f-\x9f\u2028\u2029\u206a-\u206f\ufeff\ufff9-\ufffc"
                 r"\ud800-\udfff")
# one character of each of the 37 branches of ftfy's mojibake regex (``badness.BADNESS_RE``) that the branch
# cannot match without: its categories c1, bad, law, currency, numeric, box and accented letters, and the
# literal letters of the branches that name them (``ГўВЂВ``, ``вЂ``, ``β€``, ``[ΒΓΞΟ]…[ΒΓΞΟ]``, ``‚Ä`` …).
# Not: the curly quotes, bullets, dashes and ellipsis of its "common"/punctuation categories, which appear in
# those branches only next to one of these.
_MOJIBAKE_CATEGORIES = ("c1", "bad", "law", "currency", "numeric", "box", "upper_accented", "lower_accented")
_MOJIBAKE_LETTERS = "ŒœÂÃÎÐ×ØÙà√≈‚вВГРСβΒΓΞΟā"


@lru_cache(maxsize=1)
def _ftfy_untouched():
    """Regex of every character that can make ftfy change a line with our config (built from ftfy's tables)."""
    import re

    from ftfy.badness import MOJIBAKE_CATEGORIES

    cats = "".join(MOJIBAKE_CATEGORIES[c] for c in _MOJIBAKE_CATEGORIES)
    return re.compile(f"[{_FTFY_TOUCHES}{cats}{_MOJIBAKE_LETTERS}]")


def ftfy_leaves_alone(text: str) -> bool:
    """True if ``ftfy.fix_text`` with our config surely returns ``text`` unchanged (False: it may change it).

    ftfy fixes a text line by line; a line comes back unchanged when no step touches it: no character a fixer
    removes or replaces, NFC already, and no mojibake (``is_bad``: a regex whose every branch needs one of the
    characters listed above; tests/test_signals_fast.py checks this against ftfy's regex). Most documents pass,
    and skip ftfy's ~10 passes over every line (which were the normalize stage's main cost)."""
    return _ftfy_untouched().search(text) is None and unicodedata.is_normalized("NFC", text)


def fix_mojibake(text: str) -> str:
    """``ftfy.fix_text`` with our config, called only on the lines it may change (it fixes each line on its own)."""
    import ftfy

    if ftfy_leaves_alone(text):
        return text
    lines = text.split("\n")
    last = len(lines) - 1
    out = []
    for i, line in enumerate(lines):
        seg = line if i == last else line + "\n"
        out.append(seg if ftfy_leaves_alone(seg) else ftfy.fix_text(seg, config=_ftfy_config()))
    return "".join(out)


def clean_whitespace(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n").replace("\u2029", "\n\n")
    text = _CONTROL.sub("", _ZERO_WIDTH.sub("", text))
    lines = [line.strip() for line in _HSPACE.sub(" ", text).split("\n")]  # no run crosses a newline
    return _MANY_NL.sub("\n\n", "\n".join(lines)).strip()


def normalize_text(text: str, mojibake: bool = True) -> str:
    if mojibake:
        text = fix_mojibake(text)
    return clean_whitespace(unicodedata.normalize("NFC", text))


# ------------------------------------------------------------------ stage


class Normalize:
    """Stage ``normalize``: cleaned text + ``script``; docs left empty are rejected ``normalize_empty``."""

    name = "normalize"

    def __init__(self, fix_mojibake: bool, output_t2s: bool, script_min_han_share: float, script_min_han: int,
                 batch_size: int):
        """Values come from the recipe's ``normalize`` section (``from_recipe``); defaults live only there."""
        self.fix_mojibake = fix_mojibake
        self.output_t2s = output_t2s
        self.script_min_han_share = script_min_han_share
        self.script_min_han = script_min_han
        self.batch_size = batch_size

    @classmethod
    def from_recipe(cls, cfg) -> "Normalize":
        return cls(cfg.fix_mojibake, cfg.output_t2s, cfg.script_min_han_share, cfg.script_min_han, cfg.batch_size)

    def setup(self) -> None:
        _tables()

    def normalize(self, doc: Document) -> Document:
        text = normalize_text(doc.text, self.fix_mojibake)
        script = detect_script(text, self.script_min_han_share, self.script_min_han)
        if script == "Hant" and self.output_t2s:
            text = to_simplified(text)
        title = normalize_text(doc.title, self.fix_mojibake) if doc.title else doc.title
        return doc._replace(text=text, title=title, script=script)

    def apply(self, docs: Sequence[Document]) -> Iterable[Document | Rejection]:
        for doc in docs:
            out = self.normalize(doc)
            if not out.text:
                yield Rejection(out, "normalize_empty")
            else:
                yield out


def stage(pcoll, recipe):
    from transforms.stage import apply_stage

    return apply_stage(pcoll, Normalize.from_recipe(recipe.normalize), recipe.sink.rejects_keep_text)
