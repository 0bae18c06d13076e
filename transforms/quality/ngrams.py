"""Repeated n-grams of a document, found with NumPy hashes and confirmed on the strings themselves.

The Gopher repetition signals look at every word n-gram of a document for nine values of n (and the Chinese rules
at every character 13-gram). Done in Python, each n-gram is a string slice hashed into a set or a Counter: about a
third of the annotate phase's signal time on the bench input (bench/micro_signals.py). Almost all n-grams of a
real document occur once, and those never change a signal. So:

1. every n-gram (a substring ``text[a:b]``) gets a 64-bit polynomial hash of its characters in one vectorised
   pass (prefix sums of ``code point × P^position`` modulo 2^64: equal strings always hash equal);
2. an n-gram whose hash occurs once is unique as a string, and is skipped;
3. only the n-grams whose hash repeats are sliced and compared as Python strings, exactly as before, so a hash
   collision costs time, never a different result.

The results are the same as the plain Python definitions (kept in tests/test_quality.py as the reference).
"""
from __future__ import annotations

from collections import Counter
from typing import Sequence

import numpy as np

_P = np.uint64(0x9E3779B97F4A7C15)  # odd multiplier (2^64 / golden ratio)


class Substrings:
    """A text with prefix hashes, so the hash of any ``text[a:b]`` is O(1) (vectorised over many slices)."""

    def __init__(self, text: str):
        self.text = text
        n = len(text)
        cps = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype="<u4").astype(np.uint64)
        pw = np.empty(n + 1, dtype=np.uint64)
        pw[0] = 1
        if n:
            pw[1:] = _P
            pw = np.cumprod(pw, dtype=np.uint64)  # P^k mod 2^64 (unsigned arithmetic wraps)
        pre = np.zeros(n + 1, dtype=np.uint64)
        np.cumsum((cps + np.uint64(1)) * pw[:n], dtype=np.uint64, out=pre[1:])
        self._pw, self._pre, self._n = pw, pre, n

    def hashes(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Hash of ``text[a[i]:b[i]]`` for every i: ``(pre[b] - pre[a]) · P^(n - a)``, i.e. P^n times the
        position-free polynomial of the slice (a bijection of it, as P is odd)."""
        return (self._pre[b] - self._pre[a]) * self._pw[self._n - a]

    def repeated(self, a: np.ndarray, b: np.ndarray) -> tuple[list[int], list[int], list[int]]:
        """(indices i, starts, ends) of the slices whose hash occurs more than once, in index order: every slice
        equal to another slice is among them (a superset: colliding hashes are resolved by the caller)."""
        if len(a) < 2:
            return [], [], []
        idx = np.flatnonzero(shared(self.hashes(a, b)))
        return idx.tolist(), a[idx].tolist(), b[idx].tolist()


_MIX = np.uint64(0xD6E8FEB86659FD93)  # odd multiplier: the top bits of h·MIX pick a bucket
_MAX_BUCKET_BITS = 20  # at most 2^20 buckets (8 MB of counts) however long the document


def shared(h: np.ndarray) -> np.ndarray:
    """Mask of the entries of ``h`` whose value occurs more than once.

    Sorting every hash (the obvious way) costs more than all the rest; but only the entries that share a bucket of
    a cheap count (``bincount`` of ~8 buckets per entry) can be equal, and a real document has few of them, so
    only those are sorted."""
    m = len(h)
    bits = min(_MAX_BUCKET_BITS, max(4, (8 * m).bit_length()))
    bucket = ((h * _MIX) >> np.uint64(64 - bits)).astype(np.intp)
    idx = np.flatnonzero(np.bincount(bucket, minlength=1 << bits)[bucket] > 1)
    out = np.zeros(m, dtype=bool)
    if len(idx) < 2:
        return out
    hc = h[idx]
    order = np.argsort(hc)
    s = hc[order]
    same = s[1:] == s[:-1]
    mark = np.zeros(len(s), dtype=bool)
    mark[1:] |= same
    mark[:-1] |= same
    out[idx[order[mark]]] = True
    return out


class Grams:
    """Words joined once with ``sep``; word n-gram ``i`` is the slice ``text[off[i]:off[i + n] - len(sep)]``."""

    def __init__(self, ws: Sequence[str], sep: str = ""):
        self.n_words = len(ws)
        self.step = len(sep)
        self.sub = Substrings(sep.join(ws))
        off = np.zeros(len(ws) + 1, dtype=np.int64)
        np.cumsum(np.fromiter(map(len, ws), dtype=np.int64, count=len(ws)) + self.step, out=off[1:])
        self.off = off

    def bounds(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        m = self.n_words - n + 1
        return self.off[:m], self.off[n:n + m] - self.step


def top_ngram_chars(g: Grams, n: int) -> int:
    """Characters covered by the most frequent word n-gram (its joined length × its count; among equally frequent
    n-grams the first to occur, as ``Counter.most_common``)."""
    if g.n_words < n:
        return 0
    a, b = g.bounds(n)
    first = int(b[0] - a[0])  # when every n-gram occurs once, the first one wins
    if len(a) < 2:
        return first
    h = g.sub.hashes(a, b)
    rep = np.flatnonzero(shared(h))  # the n-grams that can be repeated (the rest occur once)
    if not len(rep):
        return first
    order = rep[np.argsort(h[rep])]
    s = h[order]
    starts = np.flatnonzero(np.concatenate(([True], s[1:] != s[:-1])))
    counts = np.diff(np.append(starts, len(s)))
    top = int(counts.max())
    t = g.sub.text
    best = None  # (first index, count, length) of the winner among the most frequent hashes
    for r in np.flatnonzero(counts == top).tolist():
        idx = order[starts[r]:starts[r] + top]
        grams = {t[x:y] for x, y in zip(a[idx].tolist(), b[idx].tolist())}
        if len(grams) > 1:  # a hash collision: count the strings themselves
            _, ss, es = g.sub.repeated(a, b)
            gram, c = Counter(t[x:y] for x, y in zip(ss, es)).most_common(1)[0]
            return len(gram) * c if c > 1 else first
        i = int(idx.min())
        if best is None or i < best[0]:
            best = (i, top, len(grams.pop()))
    return best[1] * best[2]


def dup_ngram_chars(g: Grams, n: int) -> int:
    """Characters in repeated word n-grams, non-overlapping (Gopher; datatrove ``find_all_duplicate``: scan left to
    right, a repeat counts and skips its n words). An n-gram that occurs once can neither count nor be repeated, so
    only the repeated ones are scanned, with the same skips."""
    if g.n_words < n:
        return 0
    a, b = g.bounds(n)
    idx, starts, ends = g.sub.repeated(a, b)
    t = g.sub.text
    seen: set[str] = set()
    total = skip = 0
    for i, s, e in zip(idx, starts, ends):
        if i < skip:
            continue
        gram = t[s:e]
        if gram in seen:
            total += e - s
            skip = i + n
        else:
            seen.add(gram)
    return total


def repeated_char_ngram_occurrences(s: str, n: int) -> int:
    """Occurrences of character n-grams of ``s`` that occur more than once (every occurrence counts)."""
    total = len(s) - n + 1
    if total <= 1:
        return 0
    sub = Substrings(s)
    a = np.arange(total, dtype=np.int64)
    _, starts, _ = sub.repeated(a, a + n)
    if not starts:
        return 0
    return sum(c for c in Counter(s[i:i + n] for i in starts).values() if c > 1)
