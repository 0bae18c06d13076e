"""Bad-words filter: LDNOOBW-style term lists per language, with corpus-level pruning.

* English (and other space-delimited lists): case-insensitive, whole words (C4 drops a page on any
  listed word; ``min_distinct_terms`` = 1 keeps that rule).
* Chinese: **substring** match (there are no word boundaries) on the text after character-level
  OpenCC t2s and lowercasing, so one Simplified list also catches Traditional pages.
* Substring matching over-fires on Chinese; UniMax (Chung et al. 2023, §6) removed every term that
  filtered more than 10% of a language's documents, which doubled the Chinese mC4 subset. We do the
  same per run: the stage counts, over the whole collection, how many documents of each language
  each term hits (a Beam side input, see ``filter.py``); terms above ``prune_doc_frac`` are dropped
  before any decision. A fixed list (``pruned_terms``) can be given instead or in addition.

One alternation regex per language (longest terms first), compiled once per worker.
"""
from __future__ import annotations

import os
from functools import lru_cache
from typing import Iterable, Mapping, Optional

import regex

from transforms.normalize import to_simplified_chars

DATA_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")


def read_terms(path: str) -> tuple[str, ...]:
    """Terms of a list file (bundled name or path): one a line, ``#`` comments, lowercased, sorted."""
    full = path if os.path.sep in path else os.path.join(DATA_DIR, path)
    if "://" in path:
        from transforms.resources import local_copy

        full = local_copy(path)
    terms: set[str] = set()
    with open(full, encoding="utf-8") as fh:
        for line in fh:
            line = line.strip()
            if line and not line.startswith("#"):
                terms.add(line.lower())
    return tuple(sorted(terms))


class TermMatcher:
    """Finds which terms of one list occur in a text."""

    def __init__(self, terms: Iterable[str], substring: bool):
        self.terms = tuple(sorted(set(terms), key=lambda t: (-len(t), t)))
        self.substring = substring
        self._ascii = all(t.isascii() and t == t.lower() for t in self.terms)
        alt = "|".join(regex.escape(t) for t in self.terms)
        if not alt:
            self.pattern = None
        elif substring:
            self.pattern = regex.compile(f"(?:{alt})")
        else:  # word boundaries as look-arounds: \b is wrong next to Han characters
            self.pattern = regex.compile(rf"(?<![\w])(?:{alt})(?![\w])", regex.IGNORECASE)

    def prepare(self, text: str) -> str:
        return to_simplified_chars(text).lower() if self.substring else text

    def may_match(self, text: str) -> bool:
        """False when no term can occur in ``text`` (prepared): every match of the pattern is a term as a substring
        (in the substring mode) or, for a list of lowercase ASCII terms, a substring of the case-folded text (the
        only other characters the case-insensitive pattern matches to an ASCII letter are K and ſ, which fold to
        it, and İ, which folds to "i" + U+0307, undone here). One substring search per term (in C) is much
        cheaper than the alternation regex tried at every position, and most documents contain no term."""
        if self.substring:
            return any(t in text for t in self.terms)
        if self._ascii:
            folded = text.casefold().replace("i\u0307", "i")
            return any(t in folded for t in self.terms)
        return True

    def find(self, text: str) -> dict[str, int]:
        """term → occurrences (non-overlapping, leftmost-longest by list order)."""
        if self.pattern is None:
            return {}
        text = self.prepare(text)
        if not self.may_match(text):
            return {}
        out: dict[str, int] = {}
        for m in self.pattern.finditer(text):
            t = m.group(0).lower()
            out[t] = out.get(t, 0) + 1
        return out


@lru_cache(maxsize=32)
def matcher_for(list_file: str, substring: bool) -> TermMatcher:
    return TermMatcher(read_terms(list_file), substring)


def prune_set(term_docs: Mapping[tuple[str, str], int], lang_docs: Mapping[str, int], doc_frac: float,
              min_docs: int) -> frozenset[tuple[str, str]]:
    """(group, term) pairs hitting more than ``doc_frac`` of their group's documents; groups with fewer
    than ``min_docs`` documents are not pruned (a handful of docs gives no usable frequency)."""
    out = set()
    for (group, term), n in term_docs.items():
        total = lang_docs.get(group, 0)
        if total >= min_docs and n / total > doc_frac:
            out.add((group, term))
    return frozenset(out)


def score(found: Mapping[str, int], pruned: Optional[frozenset[str]]) -> tuple[int, int]:
    """(distinct terms, total hits) after removing pruned terms."""
    pruned = pruned or frozenset()
    kept = {t: n for t, n in found.items() if t not in pruned}
    return len(kept), sum(kept.values())
