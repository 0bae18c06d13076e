"""Stage ``decontam`` (Beam-free part): documents holding benchmark (evaluation) text are dropped or cut.

Matching is on n-grams of two token streams taken from the same normalised text, for documents and benchmark
items alike:

* **Han stream**: every Han character, after ``cjk_key`` (the dedup key: OpenCC character t2s, NFKC, width and
  case folded, Taiwan phrases folded to mainland ones, punctuation and whitespace removed), applied run by run
  so each character keeps its offset in the original text. Character ``char_ngram``-grams.
* **Word stream**: every run of non-Han letters/digits (NFKC, casefolded; punctuation, whitespace and ``_``
  are separators). Word ``word_ngram``-grams (13 as GPT-3 and lm-eval).

So a benchmark passage pasted in Traditional script, with full-width/half-width punctuation swapped, with
other case or whitespace, yields the same n-grams as the original. An item contributes the n-grams of every
stream long enough; n-grams made of fewer than ``n/2`` distinct tokens, and word n-grams without a letter,
are not indexed (``1 2 3 …``, ``哈哈哈…`` would match unrelated pages). Items shorter than ``n`` in both streams
cannot be matched and are counted (``benchmark_items_unmatchable/<task>``).

**Decision.** A document is contaminated by an item when it holds at least ``min_item_share`` of the item's
distinct n-grams, or ``min_shared_ngrams`` of them (long passages quoted in part). A single shared n-gram
(GPT-3, lm-eval, datatrove) flags documents that merely share a formula with an item: 5.6 % of real clean
Chinese text against 0.7 % at share 0.5, with the same recall on pasted items (``bench/DECONTAM.md``).

The index is every (n-gram hash, item id) pair sorted by hash, plus each item's task and n-gram count
(12 bytes per pair); it is built inside the pipeline from the benchmark files and reaches workers as a Beam
side input. Past ``decontam.max_ngrams`` the build stops with an error naming that key rather than
exhausting worker memory.

``action: drop`` rejects a contaminated document as ``contaminated:<task>`` (the task of the best-covered
item). ``action: cut`` follows GPT-3 (Brown et al. 2020, App. C): every matched span plus ``cut_margin_chars``
each side is removed, remaining pieces shorter than ``cut_min_piece_chars`` are dropped, a document split into
more than ``cut_max_pieces`` pieces is rejected as ``contaminated:<task>``, one with nothing left as
``contaminated_short:<task>``.
"""
from __future__ import annotations

import csv
import io
import json
import unicodedata
from collections import Counter
from pathlib import PurePosixPath
from typing import Iterable, Iterator, NamedTuple, Optional, Sequence

import numpy as np
import regex
import xxhash

from schemas.document import Document
from transforms.contract import Count, Rejection
from transforms.hashing import fmix64

NAME = "decontam"

_HAN_RUN = regex.compile(r"\p{Han}+")
_WORD = regex.compile(r"[\w--\p{Han}--_]+", regex.V1)
_LETTER = regex.compile(r"\p{L}")
_NON_SPACE = regex.compile(r"\S")

_PRIME = np.uint64(0x9E3779B97F4A7C15)
_SEED_HAN = 0x48414E  # distinct start values keep Han and word n-grams apart in one index
_SEED_WORD = 0x574F5244


class DecontamError(ValueError):
    """Benchmarks that cannot be used (missing file or field, index above the recipe cap)."""


# ------------------------------------------------------------------ tokens
class Tokens(NamedTuple):
    """The two token streams of a text and where each token is in it (``start``/``end`` character offsets)."""

    han: np.ndarray  # uint64 code points of the simplified key
    han_start: np.ndarray  # int64
    han_end: np.ndarray
    words: np.ndarray  # uint64 xxh64 of each word
    word_start: np.ndarray
    word_end: np.ndarray


def _han_key(run: str) -> str:
    from transforms.dedup.minhash import cjk_key

    return cjk_key(run)


def tokenize(text: str) -> Tokens:
    """Han and word streams of ``text`` (see module docstring) with offsets into ``text``."""
    keys: list[str] = []
    run_start: list[int] = []
    run_width: list[int] = []
    for m in _HAN_RUN.finditer(text):
        k = _han_key(m.group())
        if k:
            keys.append(k)
            run_start.append(m.start())
            run_width.append(m.end() - m.start())
    if keys:
        han = np.frombuffer("".join(keys).encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
        # a phrase fold may change the length (網際網路 → 互联网): spread each key over its run's characters
        klen = np.fromiter((len(k) for k in keys), dtype=np.int64, count=len(keys))
        s0 = np.repeat(np.array(run_start, dtype=np.int64), klen)
        w = np.repeat(np.array(run_width, dtype=np.int64), klen)
        kl = np.repeat(klen, klen)
        i = np.arange(han.size, dtype=np.int64) - np.repeat(np.cumsum(klen) - klen, klen)
        han_start = s0 + i * w // kl
        han_end = s0 + ((i + 1) * w + kl - 1) // kl
    else:
        han = np.zeros(0, np.uint64)
        han_start = han_end = np.zeros(0, np.int64)

    ascii_text = text.isascii()
    hashes: list[int] = []
    w_start: list[int] = []
    w_end: list[int] = []
    for m in _WORD.finditer(text):
        w = m.group()
        w = w.lower() if ascii_text else unicodedata.normalize("NFKC", w).casefold()
        hashes.append(xxhash.xxh64_intdigest(w))
        w_start.append(m.start())
        w_end.append(m.end())
    return Tokens(han, han_start, han_end, np.array(hashes, dtype=np.uint64),
                  np.array(w_start, dtype=np.int64), np.array(w_end, dtype=np.int64))


def ngram_hashes(items: np.ndarray, n: int, seed: int) -> np.ndarray:
    """64-bit hash of every window of ``n`` consecutive items, in order (empty if fewer than ``n`` items)."""
    length = items.size - n + 1
    if length <= 0:
        return np.zeros(0, dtype=np.uint64)
    h = np.full(length, np.uint64(seed * 1000 + n), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for k in range(n):
            h = (h ^ items[k:k + length]) * _PRIME
        return fmix64(h)


def _distinct_ok(items: np.ndarray, n: int) -> np.ndarray:
    """Per window: at least ``n/2`` distinct tokens (windows are short, so a small Python loop per item)."""
    length = items.size - n + 1
    need = (n + 1) // 2
    return np.fromiter((len(set(items[i:i + n].tolist())) >= need for i in range(length)), dtype=bool, count=length)


def item_ngrams(text: str, char_n: int, word_n: int) -> np.ndarray:
    """Unique n-gram hashes a benchmark item contributes to the index (see module docstring)."""
    t = tokenize(text)
    parts = []
    if t.han.size >= char_n:
        h = ngram_hashes(t.han, char_n, _SEED_HAN)
        parts.append(h[_distinct_ok(t.han, char_n)])
    if t.words.size >= word_n:
        h = ngram_hashes(t.words, word_n, _SEED_WORD)
        ok = _distinct_ok(t.words, word_n)
        alpha = np.array([bool(_LETTER.search(text[s:e])) for s, e in zip(t.word_start, t.word_end)], dtype=np.int64)
        csum = np.concatenate([[0], np.cumsum(alpha)])
        ok &= (csum[word_n:] - csum[:-word_n]) > 0
        parts.append(h[ok])
    return np.unique(np.concatenate(parts)) if parts else np.zeros(0, np.uint64)


# ------------------------------------------------------------------ benchmark files
def _cell_text(v) -> str:
    if v is None:
        return ""
    if isinstance(v, (list, tuple)):
        return "\n".join(_cell_text(x) for x in v)
    if hasattr(v, "tolist"):  # numpy arrays from Parquet list columns
        return _cell_text(v.tolist())
    return str(v)


def task_of_path(path: str) -> str:
    """Default task name: the file name without its extensions (``ceval_val.jsonl.gz`` → ``ceval_val``)."""
    name = PurePosixPath(path.rstrip("/")).name
    return name.split(".", 1)[0] or name


def _rows(path: str, data: bytes) -> Iterator[dict]:
    lower = path.lower()
    if lower.endswith(".gz"):
        import gzip

        data = gzip.decompress(data)
        lower = lower[:-3]
    if lower.endswith(".parquet"):
        import pyarrow.parquet as pq

        yield from pq.read_table(io.BytesIO(data)).to_pylist()
    elif lower.endswith(".csv") or lower.endswith(".tsv"):
        text = data.decode("utf-8-sig")
        yield from csv.DictReader(io.StringIO(text), delimiter="\t" if lower.endswith(".tsv") else ",")
    elif lower.endswith(".jsonl") or lower.endswith(".json") or lower.endswith(".ndjson"):
        for i, line in enumerate(data.decode("utf-8-sig").splitlines(), 1):
            if line.strip():
                try:
                    row = json.loads(line)
                except json.JSONDecodeError:
                    raise DecontamError(f"decontam.benchmarks: {path} line {i} is not JSON") from None
                if not isinstance(row, dict):
                    raise DecontamError(f"decontam.benchmarks: {path} line {i} is not a JSON object")
                yield row
    else:
        raise DecontamError(f"decontam.benchmarks: {path}: unknown format (use .jsonl, .parquet or .csv, "
                            f"optionally .gz)")


def read_items(path: str, data: bytes, text_fields: Sequence[str],
               task_field: Optional[str]) -> Iterator[tuple[str, str]]:
    """(task, text) per benchmark row; ``text_fields`` joined by newlines. A file without any of the fields
    is an error (a typo would otherwise silently decontaminate nothing)."""
    default_task = task_of_path(path)
    seen_field = False
    for row in _rows(path, data):
        present = [f for f in text_fields if f in row]
        seen_field = seen_field or bool(present)
        text = "\n".join(_cell_text(row.get(f)) for f in present).strip()
        task = str(row.get(task_field) or default_task) if task_field else default_task
        yield task, text
    if not seen_field:
        raise DecontamError(f"decontam.benchmarks: {path} has no field {list(text_fields)} in any row "
                            f"(set decontam.text_fields)")


# ------------------------------------------------------------------ index
class Index(NamedTuple):
    """Every (n-gram hash, item) pair sorted by hash, each item's task and n-gram count, build counters."""

    keys: np.ndarray  # uint64, sorted (a hash repeats when several items share it)
    items: np.ndarray  # uint32 item id per key
    item_task: np.ndarray  # uint16 task id per item
    item_size: np.ndarray  # uint32 distinct n-grams per item
    tasks: tuple[str, ...]
    stats: tuple[tuple[str, int], ...]

    def lookup(self, hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(position in ``hashes``, item id) for every index entry equal to a hash."""
        if self.keys.size == 0 or hashes.size == 0:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        lo = np.searchsorted(self.keys, hashes, "left")
        n = np.searchsorted(self.keys, hashes, "right") - lo
        hit = np.flatnonzero(n)
        if hit.size == 0:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        counts = n[hit]
        pos = np.repeat(hit, counts)
        first = np.repeat(lo[hit], counts)
        offs = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
        return pos, self.items[first + offs].astype(np.int64)


def cap_message(n: int, cap: int) -> str:
    return (f"decontam: the benchmarks give more than {cap:,} n-grams ({n:,} so far; each costs 12 bytes of "
            f"memory on every worker). Raise decontam.max_ngrams if workers have the memory, or split the "
            f"benchmarks over several runs.")


class IndexBuilder:
    """Accumulates (task, item n-grams) with a hard cap on the total; ``build`` sorts them into an ``Index``."""

    def __init__(self, max_ngrams: int):
        self.max_ngrams = max_ngrams
        self.items: list[tuple[str, np.ndarray]] = []
        self.counts: Counter = Counter()
        self.size = 0

    def _check(self) -> None:
        if self.size > self.max_ngrams:
            raise DecontamError(cap_message(self.size, self.max_ngrams))

    def add(self, task: str, hashes: np.ndarray) -> None:
        self.counts[f"benchmark_items/{task}"] += 1
        if hashes.size == 0:
            self.counts[f"benchmark_items_unmatchable/{task}"] += 1
            return
        self.items.append((task, hashes))
        self.size += hashes.size
        self._check()

    def merge(self, other: "IndexBuilder") -> None:
        self.items.extend(other.items)
        self.counts.update(other.counts)
        self.size += other.size
        self._check()

    def build(self) -> Index:
        tasks = tuple(sorted({k.split("/", 1)[1] for k in self.counts}))
        task_id = {t: i for i, t in enumerate(tasks)}
        items = sorted(self.items, key=lambda it: (it[0], it[1].size, it[1].tobytes()))  # any input order → same index
        sizes = np.array([h.size for _, h in items], dtype=np.uint32)
        if items:
            keys = np.concatenate([h for _, h in items])
            ids = np.repeat(np.arange(len(items), dtype=np.uint32), sizes)
            order = np.lexsort((ids, keys))
            keys, ids = keys[order], ids[order]
        else:
            keys, ids = np.zeros(0, np.uint64), np.zeros(0, np.uint32)
        stats = dict(self.counts)
        stats["benchmark_ngrams"] = int(keys.size)
        return Index(keys, ids, np.array([task_id[t] for t, _ in items], dtype=np.uint16), sizes, tasks,
                     tuple(sorted(stats.items())))


def build_index(items: Iterable[tuple[str, str]], char_n: int, word_n: int, max_ngrams: int) -> Index:
    """Index of (task, text) items, in one process (tests, benchmarks; the pipeline combines ``IndexBuilder``s)."""
    b = IndexBuilder(max_ngrams)
    for task, text in items:
        b.add(task, item_ngrams(text, char_n, word_n))
    return b.build()


# ------------------------------------------------------------------ the stage
def _merge_spans(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for s, e in sorted(spans):
        if out and s <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return out


def _non_space(text: str) -> int:
    return len(_NON_SPACE.findall(text))


def invalidated(doc: Document, text: str) -> Document:
    """``doc`` with new text: per-document annotations computed on the old text (signals, token ids, MinHash
    signature, PII spans) are dropped; the select phase recomputes what is missing."""
    return doc._replace(text=text, signals={}, token_ids=None, n_tokens=None, minhash=None, pii_spans=None,
                        pii_token_ids=None, pii_n_tokens=None)


class Match(NamedTuple):
    """One contaminating item found in a document: its task, share of its n-grams present, and the character
    spans of the document's n-grams that matched it."""

    task: str
    share: float
    ngrams: int
    spans: list[tuple[int, int]]


class Decontam:
    """Per-document part of the stage; ``index`` is set from the side input before ``apply``."""

    name = NAME

    def __init__(self, cfg):
        self.cfg = cfg
        self.batch_size = cfg.batch_size
        self.index: Optional[Index] = None

    def setup(self) -> None:
        pass

    def matches(self, text: str) -> list[Match]:
        """Items of which ``text`` holds at least ``min_item_share`` of the n-grams (or ``min_shared_ngrams``)."""
        return self.matches_tokens(tokenize(text))

    def matches_tokens(self, t: Tokens) -> list[Match]:
        c, w = self.cfg.char_ngram, self.cfg.word_ngram
        per_item: dict[int, list] = {}
        for items, starts, ends, n, seed in ((t.han, t.han_start, t.han_end, c, _SEED_HAN),
                                             (t.words, t.word_start, t.word_end, w, _SEED_WORD)):
            hashes = ngram_hashes(items, n, seed)
            pos, item = self.index.lookup(hashes)
            for p, it in zip(pos.tolist(), item.tolist()):
                per_item.setdefault(it, []).append((int(hashes[p]), int(starts[p]), int(ends[p + n - 1])))
        found = []
        for it, hits in per_item.items():
            distinct = len({h for h, _, _ in hits})
            share = distinct / int(self.index.item_size[it])
            if share >= self.cfg.min_item_share or distinct >= self.cfg.min_shared_ngrams:
                task = self.index.tasks[int(self.index.item_task[it])]
                found.append(Match(task, share, distinct, [(s, e) for _, s, e in hits]))
        return found

    @staticmethod
    def task_name(found: list[Match]) -> str:
        """The task of the best-covered item (ties: more n-grams, then task name)."""
        return min(found, key=lambda m: (-m.share, -m.ngrams, m.task)).task

    def cut(self, text: str, found: list[Match]) -> tuple[list[str], int]:
        """Pieces left after removing each matched span plus the margin, and how many pieces the cut made."""
        m = self.cfg.cut_margin_chars
        spans = _merge_spans([(max(0, s - m), min(len(text), e + m)) for f in found for s, e in f.spans])
        pieces, pos = [], 0
        for s, e in spans:
            pieces.append(text[pos:s])
            pos = e
        pieces.append(text[pos:])
        pieces = [p.strip() for p in pieces]
        n_pieces = sum(1 for p in pieces if p)
        kept = [p for p in pieces if _non_space(p) >= self.cfg.cut_min_piece_chars]
        return kept, n_pieces

    def apply(self, docs: Sequence[Document]) -> Iterable[Document | Rejection | Count]:
        if self.index is None:
            raise RuntimeError("decontam: the benchmark index was not set")
        for doc in docs:
            found = self.matches(doc.text)
            if not found:
                yield doc
                continue
            task = self.task_name(found)
            detail = f"items={len(found)} share={max(f.share for f in found):.2f}"
            if self.cfg.action == "drop":
                yield Rejection(doc, f"contaminated:{task}", detail)
                continue
            kept, n_pieces = self.cut(doc.text, found)
            if n_pieces > self.cfg.cut_max_pieces:
                yield Rejection(doc, f"contaminated:{task}", f"{detail} pieces={n_pieces}")
            elif not kept:
                yield Rejection(doc, f"contaminated_short:{task}", detail)
            else:
                new = "\n\n".join(kept)
                yield Count(f"cut/{task}")
                yield Count("cut_chars", len(doc.text) - len(new))
                yield invalidated(doc, new)
