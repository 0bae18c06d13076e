"""Cross-document boilerplate lines (Beam-free part of stage ``boilerplate``).

A line's **key** is the dedup family's normalisation (``simplified_key``: OpenCC character t2s, NFKC, width,
CJK punctuation, case, whitespace) with every non-letter/digit removed and digits folded to ``0`` (cc_net),
so "责任编辑：王某" and "責任編輯:王某", or the same footer with another year, share a key. Lines with fewer than
``min_chars`` letters (digits not counted) get no key: they are never removed (short headings, "1.", dates).
Keys are hashed together with the document's **scope** (its URL host, or ``source:<source>`` without a URL,
or one global scope), so a line is boilerplate only where it repeats.

A document contributes each of its keys once, tagged with a hash of its whole (whitespace-folded) text, and a
line counts as boilerplate when it occurs in more than ``max_docs`` *distinct texts*: exact copies of one
page count once, so duplicated articles are left to dedup instead of being emptied here.
"""
from __future__ import annotations

import re
from typing import Iterator, Optional
from urllib.parse import urlsplit

import regex
import xxhash

from schemas.document import Document

NAME = "boilerplate"

_NON_WORD = regex.compile(r"[\W_]+")
_DIGIT = regex.compile(r"\d")
_PARA_SPLIT = re.compile(r"\n[ \t\r\f\v]*\n")
_MANY_NL = re.compile(r"\n{3,}")
_NON_SPACE = re.compile(r"\S")


def scope_of(doc: Document, scope: str) -> str:
    """``host`` scope: lower-cased URL host without ``www.``; documents without a host: ``source:<source>``."""
    if scope == "global":
        return ""
    host = None
    if doc.url:
        try:
            host = urlsplit(doc.url).hostname
        except ValueError:
            host = None
    if host:
        return host[4:] if host.startswith("www.") else host
    return f"source:{doc.source}"


def line_key(line: str, min_chars: int) -> Optional[str]:
    """Normalised form of a line, or None when it has fewer than ``min_chars`` letters (see module docstring)."""
    from transforms.normalize import simplified_key

    if not line.strip():
        return None
    key = _NON_WORD.sub("", simplified_key(line))
    if len(key) - len(_DIGIT.findall(key)) < min_chars:
        return None
    return _DIGIT.sub("0", key)


def content_hash(text: str) -> int:
    """Hash of the text with whitespace runs collapsed: ``" ".join(text.split())`` is ``re.sub(r"\\s+", " ", text)
    .strip()`` (the same Unicode whitespace; tests/test_dedup.py), ~3x faster."""
    return xxhash.xxh64_intdigest(" ".join(text.split()))


def units(text: str, unit: str) -> list[str]:
    return _PARA_SPLIT.split(text) if unit == "paragraph" else text.split("\n")


class Boilerplate:
    """Line keys of a document, and the document with the boilerplate keys removed."""

    name = NAME

    def __init__(self, cfg):
        self.cfg = cfg
        self.exempt = frozenset(cfg.exempt_sources)

    def keys(self, doc: Document) -> list[Optional[int]]:
        """Scoped 64-bit key per unit of ``doc`` (None: never removed)."""
        if doc.source in self.exempt:
            return []
        scope = scope_of(doc, self.cfg.scope)
        out: list[Optional[int]] = []
        for u in units(doc.text, self.cfg.unit):
            k = line_key(u, self.cfg.min_chars)
            out.append(None if k is None else xxhash.xxh64_intdigest(f"{scope}\x1f{k}"))
        return out

    def pairs(self, doc: Document) -> Iterator[tuple[int, tuple[int, str]]]:
        """(key, (text hash, doc id)) once per distinct key of the document."""
        keys = {k for k in self.keys(doc) if k is not None}
        if not keys:
            return
        h = content_hash(doc.text)
        for k in sorted(keys):
            yield k, (h, doc.id)

    def remove(self, doc: Document, drop: set[int]) -> tuple[str, int, int]:
        """(new text, units removed, characters removed); text unchanged when nothing matches."""
        parts = units(doc.text, self.cfg.unit)
        keys = self.keys(doc)
        if not keys:  # exempt source
            return doc.text, 0, 0
        kept = [u for u, k in zip(parts, keys) if k is None or k not in drop]
        removed = len(parts) - len(kept)
        if not removed:
            return doc.text, 0, 0
        text = ("\n\n" if self.cfg.unit == "paragraph" else "\n").join(kept)
        text = _MANY_NL.sub("\n\n", text).strip()
        return text, removed, len(doc.text) - len(text)

    def too_short(self, text: str) -> bool:
        return len(_NON_SPACE.findall(text)) < self.cfg.min_doc_chars
