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


def to_simplified_chars(text: str) -> str:
    """Character-level OpenCC t2s (first candidate of ``TSCharacters``): fast (``str.translate``) and
    deterministic; a traditional and a simplified version of a text map to the same characters."""
    return text.translate(_tables()[0])


def simplified_key(text: str) -> str:
    """Script-, width- and punctuation-insensitive form of ``text`` for dedup and filter keys:
    t2s characters, NFKC, CJK punctuation → ASCII, casefold, whitespace runs → one space."""
    text = unicodedata.normalize("NFKC", to_simplified_chars(text)).translate(_PUNCT_KEY)
    return _KEY_WS.sub(" ", text.casefold()).strip()


def to_simplified(text: str) -> str:
    """Full OpenCC ``t2s`` (phrase-aware) for output text."""
    return _opencc_t2s().convert(text)


# ------------------------------------------------------------------ script

_HAN = regex.compile(r"\p{Han}")
_KANA = regex.compile(r"[\p{Hiragana}\p{Katakana}]")
_LETTER = regex.compile(r"\p{L}")


def detect_script(text: str, min_han_share: float = 0.3, min_han: int = 10, max_chars: int = 20_000) -> Optional[str]:
    """``Hans``/``Hant`` when Han characters dominate the letters of ``text`` (first ``max_chars``), else None."""
    sample = text[:max_chars]
    han = _HAN.findall(sample)
    if len(han) < min_han:
        return None
    letters = len(_LETTER.findall(sample))
    kana = len(_KANA.findall(sample))
    if not letters or len(han) / letters < min_han_share or kana > 0.1 * (len(han) + kana):
        return None
    _, trad, simp = _tables()
    n_trad = sum(1 for c in han if c in trad)
    n_simp = sum(1 for c in han if c in simp)
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


def fix_mojibake(text: str) -> str:
    import ftfy

    return ftfy.fix_text(text, config=_ftfy_config())


def clean_whitespace(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n").replace("\u2029", "\n\n")
    text = _CONTROL.sub("", _ZERO_WIDTH.sub("", text))
    lines = [_HSPACE.sub(" ", line).strip() for line in text.split("\n")]
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
