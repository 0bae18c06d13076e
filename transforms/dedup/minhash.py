"""MinHash signatures, LSH band keys and Jaccard estimates for near-duplicate detection (Beam-free).

* **Keys.** Space-delimited text: NFKC, casefold, every run of non-word characters → one space, then word
  ``word_ngram``-grams. CJK text (``lang`` in ``cjk_langs`` or Han-dominant): ``simplified_key`` from
  ``transforms.normalize`` (character t2s, NFKC, CJK punctuation → ASCII, casefold), then optionally every
  Taiwan and mainland spelling of a term folded to one member of its class (OpenCC ``TWPhrases`` +
  ``TWPhrasesRev``: 軟體/软件, 檔案/文件/文档, 程式/程序/进程; ``bench/cjk_fold.py`` on the 15
  debian-reference zh-CN/zh-TW pairs: mean char-5-gram Jaccard 0.61 unfolded → 0.89), then all
  punctuation and whitespace removed, then character ``char_ngram``-grams.
* **Shingle hashes** are computed with NumPy over code points / word hashes (no per-shingle Python):
  a rolling xor-multiply over the n items followed by the murmur3 64-bit finaliser, truncated to 32 bits
  (the domain of datasketch's permutations).
* **Signatures** are exactly datasketch's ``MinHash(num_perm, seed)`` (same seeded permutations ``a, b``
  and the same ``((h·a + b) mod (2^61−1)) & (2^32−1)``), evaluated for all shingles of a document at once
  in preallocated NumPy blocks (``tests`` assert equality with ``MinHash.update_batch``). Stored as ``uint32`` (448 bytes at 112 permutations).
* **Bands** default to 14 × 8 (datatrove/FineWeb: P(candidate | J=0.8) ≈ 0.92); with ``threshold`` set,
  datasketch's ``_optimal_param`` picks (bands, rows) for ``num_perm``.
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Iterator, Optional, Sequence

import numpy as np
import xxhash

from transforms.hashing import fmix64

_MERSENNE = np.uint64((1 << 61) - 1)
_MAX_HASH = np.uint64((1 << 32) - 1)
_MIX_PRIME = np.uint64(0x9E3779B97F4A7C15)
_CHUNK = 4096  # shingles per permutation block: bounds memory to 4096 × num_perm × 8 bytes
_ROWS = 128  # window members compared with all others at once (``window_edges``)

_NON_WORD = re.compile(r"[\W_]+")
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")
_ALNUM = re.compile(r"[^\W_]")


# ------------------------------------------------------------------ keys
@lru_cache(maxsize=1)
def _tw_phrases() -> tuple[dict[str, str], Optional[re.Pattern]]:
    """Every spelling of a term in OpenCC's Taiwan ↔ mainland tables → one representative of its class.

    The tables are not a fold: mainland words are also Taiwan words with another meaning (檔案→文件 but
    文件→文檔; 程式→程序 but 程序→進程), so mapping one direction rewrites both sides differently. Instead
    every pair of ``TWPhrases`` (mainland → Taiwan), ``TWPhrasesRev`` (all candidates) and the TW variant
    tables is joined (union-find, character-t2s'd) and each class maps to its shortest, then smallest,
    member: 文件/檔案/文档 meet, 程序/程式/进程 meet, 缺省/預設/默认 meet. Classes stay small (at most 4
    members), so merging a few unrelated meanings costs dedup nothing measurable."""
    from transforms.normalize import _read_opencc, to_simplified_chars

    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for name in ("TWPhrases.txt", "TWPhrasesRev.txt", "TWVariants.txt", "TWVariantsRevPhrases.txt",
                 "TWVariantsRev.txt"):
        for k, vs in sorted(_read_opencc(name).items()):
            k2 = to_simplified_chars(k)
            for v in vs:
                v2 = to_simplified_chars(v)
                if k2 and v2 and k2 != v2:
                    a, b = sorted((find(k2), find(v2)), key=lambda s: (len(s), s))
                    parent[b] = a  # the root of a class is always its shortest, then smallest, member
    table = {k: r for k in parent if (r := find(k)) != k}
    if not table:
        return table, None
    pattern = re.compile("|".join(re.escape(k) for k in sorted(parent, key=lambda s: (-len(s), s))))
    return table, pattern


def cjk_key(text: str, tw_phrases: bool = True) -> str:
    """Script-, punctuation- and whitespace-insensitive form of Chinese text (see module docstring)."""
    from transforms.normalize import simplified_key

    key = simplified_key(text)
    if tw_phrases:
        table, pattern = _tw_phrases()
        if pattern is not None:
            key = pattern.sub(lambda m: table.get(m.group(), m.group()), key)
    return _NON_WORD.sub("", key)


def word_key(text: str) -> list[str]:
    """Words of space-delimited text: NFKC, casefold, punctuation/underscores dropped."""
    return _NON_WORD.sub(" ", unicodedata.normalize("NFKC", text).casefold()).split()


def han_share(text: str, max_chars: int = 20_000) -> float:
    """Share of Han characters among letters and digits (first ``max_chars`` characters)."""
    t = text[:max_chars]
    if _HAN.search(t) is None:  # most non-CJK text: one scan that stops early, no list of every letter
        return 0.0
    alnum = len(_ALNUM.findall(t))
    return len(_HAN.findall(t)) / alnum if alnum else 0.0


def is_cjk(text: str, lang: Optional[str], cjk_langs: Sequence[str], min_han_share: float) -> bool:
    return (lang in cjk_langs) or han_share(text) >= min_han_share


# ------------------------------------------------------------------ shingle hashes
def _rolling(items: np.ndarray, n: int) -> np.ndarray:
    """32-bit hashes of every window of ``n`` consecutive uint64 items (one window if fewer items)."""
    if items.size == 0:
        return np.zeros(0, dtype=np.uint64)
    n = min(n, items.size)
    length = items.size - n + 1
    h = np.full(length, np.uint64(n), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for k in range(n):
            h = (h ^ items[k:k + length]) * _MIX_PRIME
        h = fmix64(h)
    return np.unique(h & _MAX_HASH)


def char_shingles(key: str, n: int) -> np.ndarray:
    """Unique 32-bit hashes of the character n-grams of ``key``."""
    cps = np.frombuffer(key.encode("utf-32-le", "surrogatepass"), dtype=np.uint32).astype(np.uint64)
    return _rolling(cps, n)


def word_shingles(words: Sequence[str], n: int) -> np.ndarray:
    """Unique 32-bit hashes of the word n-grams of ``words``."""
    ids = np.fromiter((xxhash.xxh64_intdigest(w) for w in words), dtype=np.uint64, count=len(words))
    return _rolling(ids, n)


# ------------------------------------------------------------------ signatures
@lru_cache(maxsize=8)
def permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """datasketch's seeded permutation parameters (a, b), as uint64 rows: ``num_perm`` pairs drawn from NumPy's
    legacy ``RandomState(seed)``, a in [1, p), b in [0, p), p = 2^61−1, as ``MinHash(num_perm, seed)`` draws them
    (``tests/test_dedup.py`` checks equality with datasketch). Drawn here because importing datasketch pulls
    in SciPy: ~0.5 CPU-s in every process that signs documents."""
    gen = np.random.RandomState(seed)
    p = np.uint64(_MERSENNE)
    pairs = [(gen.randint(1, p, dtype=np.uint64), gen.randint(0, p, dtype=np.uint64)) for _ in range(num_perm)]
    a, b = np.array(pairs, dtype=np.uint64).T
    return a.reshape(1, -1), b.reshape(1, -1)


def signature(hashes: np.ndarray, num_perm: int, seed: int) -> np.ndarray:
    """datasketch MinHash values (uint32) of a set of 32-bit shingle hashes; all 0xFFFFFFFF if empty."""
    a, b = permutations(num_perm, seed)
    out = np.full(num_perm, 0xFFFFFFFF, dtype=np.uint32)
    buf = np.empty((min(_CHUNK, hashes.size), num_perm), dtype=np.uint64)
    low = 0 if np.little_endian else 1
    for i in range(0, hashes.size, _CHUNK):
        hv = hashes[i:i + _CHUNK].reshape(-1, 1)
        x = buf[:hv.shape[0]]
        np.multiply(hv, a, out=x)  # wraps mod 2^64 exactly like datasketch's uint64 arithmetic
        np.add(x, b, out=x)
        np.remainder(x, _MERSENNE, out=x)
        np.minimum(out, x.view(np.uint32)[:, low::2].min(axis=0), out=out)  # low 32 bits = & (2^32 - 1)
    return out


def jaccard(sig_a: np.ndarray, sig_b: np.ndarray) -> float:
    """MinHash Jaccard estimate (share of equal slots), as ``datasketch.MinHash.jaccard``."""
    return float(np.count_nonzero(sig_a == sig_b)) / sig_a.size


def lsh_params(num_perm: int, bands: int, rows: int, threshold: Optional[float] = None) -> tuple[int, int]:
    """(bands, rows): the recipe's, or datasketch's optimum for ``threshold`` (equal FP/FN weights)."""
    if threshold is not None:
        from datasketch.lsh import _optimal_param

        return _optimal_param(threshold, num_perm, 0.5, 0.5)
    if bands * rows > num_perm:
        raise ValueError(f"bands × rows = {bands * rows} exceeds num_perm = {num_perm}")
    return bands, rows


def band_hashes(sig: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """One 64-bit hash per band (uint64 array of length ``bands``)."""
    return np.fromiter(
        (xxhash.xxh3_64_intdigest(sig[i * rows:(i + 1) * rows].tobytes(), seed=i) for i in range(bands)),
        dtype=np.uint64, count=bands)


class Signer:
    """Document → (signature, band hashes), configured once from the recipe."""

    def __init__(self, num_perm: int, bands: int, rows: int, seed: int, word_ngram: int, char_ngram: int,
                 cjk_langs: Sequence[str], cjk_min_han_share: float, tw_phrases: bool):
        """Values come from the recipe's ``dedup.near`` section (``transforms.dedup.signer_from_recipe``)."""
        self.num_perm, self.bands, self.rows, self.seed = num_perm, bands, rows, seed
        self.word_ngram, self.char_ngram = word_ngram, char_ngram
        self.cjk_langs = tuple(cjk_langs)
        self.cjk_min_han_share = cjk_min_han_share
        self.tw_phrases = tw_phrases

    def shingles(self, text: str, lang: Optional[str]) -> tuple[np.ndarray, bool]:
        """(unique shingle hashes, is_cjk)."""
        if is_cjk(text, lang, self.cjk_langs, self.cjk_min_han_share):
            return char_shingles(cjk_key(text, self.tw_phrases), self.char_ngram), True
        return word_shingles(word_key(text), self.word_ngram), False

    def sign(self, text: str, lang: Optional[str] = None) -> tuple[Optional[np.ndarray], bool]:
        """(uint32 signature or None when the text has no shingles, is_cjk)."""
        hashes, cjk = self.shingles(text, lang)
        if hashes.size == 0:
            return None, cjk
        return signature(hashes, self.num_perm, self.seed), cjk

    def stored_or_sign(self, doc) -> tuple[Optional[np.ndarray], bool]:
        """The signature the annotate phase stored on ``doc`` (same settings: the store is keyed by them), else
        sign its text now."""
        if doc.minhash is not None:
            return (np.frombuffer(doc.minhash, dtype="<u4"),
                    is_cjk(doc.text, doc.lang, self.cjk_langs, self.cjk_min_han_share))
        return self.sign(doc.text, doc.lang)

    def bands_of(self, sig: np.ndarray) -> np.ndarray:
        return band_hashes(sig, self.bands, self.rows)


# ------------------------------------------------------------------ candidate pairs (Beam-free)
def iter_bucket_pairs(members: Sequence[str]) -> Iterator[tuple[str, str]]:
    """Candidate pairs ``(a, b)`` (a < b) of one small LSH bucket (its member node ids), streamed.
    A pair found in several bands is emitted by each; the Beam wrapper keeps it once (``_half``)."""
    nodes = sorted(set(members))
    for i in range(len(nodes)):
        for j in range(i + 1, len(nodes)):
            yield nodes[i], nodes[j]


def iter_windows(members: Sequence[str], max_bucket_size: int) -> Iterator[list[str]]:
    """A bucket's distinct members sorted by node id: one window when there are at most ``max_bucket_size``, else
    (a giant bucket: boilerplate) windows of that size at a stride of half a window, so every member shares a
    window with its neighbours on both sides and members that never share a window can still be joined through
    others. Comparing all pairs inside each window costs O(n · max_bucket_size) instead of O(n²)."""
    nodes = sorted(set(members))
    step = max(1, max_bucket_size // 2)
    for start in range(0, len(nodes), step):
        end = min(len(nodes), start + max_bucket_size)
        yield nodes[start:end]
        if end >= len(nodes):
            break


def window_key(window: Sequence[str]) -> bytes:
    """Content address of a window (128-bit xxh3 of its sorted ids): the bands whose bucket holds the same
    members cut the same windows, and these keys make them one window, compared once. A collision would only
    put two windows' members into one comparison (every pair is still Jaccard-checked)."""
    return xxhash.xxh3_128_digest("\0".join(window).encode("utf-8", "surrogatepass"))


def window_edges(ids: Sequence[str], sigs: np.ndarray, threshold: float) -> tuple[list[tuple[str, str]], int, int]:
    """(edges, pairs compared, pairs verified) of one window: every pair of members is Jaccard-checked, and the
    verified pairs are reduced to a spanning forest, each member joined to the smallest id of its local component.
    That keeps exactly the window's connectivity, which is all the components step reads, in at most
    ``len(ids) − 1`` edges instead of up to ``len(ids)²/2``.

    All in NumPy: a boilerplate window verifies nearly all of its 32,640 pairs (256 members), and checking them
    pair by pair with a Python union-find is >10× slower (``bench/micro_windows.py``: ~6 vs ~100 ms). Components are
    found by min-label propagation with pointer jumping over the window's adjacency matrix (a few passes of m²).

    ``ids`` sorted and distinct, ``sigs`` their signatures (one uint32 row each)."""
    m, num_perm = sigs.shape
    adjacent = np.empty((m, m), dtype=bool)
    for i in range(0, m, _ROWS):  # (rows × m × num_perm) booleans at a time: ≤ 3.7 MB at 256 members
        equal = np.count_nonzero(sigs[i:i + _ROWS, None, :] == sigs[None, :, :], axis=2)
        np.greater_equal(equal / num_perm, threshold, out=adjacent[i:i + _ROWS])  # == jaccard(a, b) >= threshold
    np.fill_diagonal(adjacent, False)
    verified = int(np.count_nonzero(adjacent)) // 2
    label = np.arange(m)
    while True:
        smallest = np.where(adjacent, label[None, :], m).min(axis=1)
        new = np.minimum(label, smallest)
        new = new[new]  # labels are indices of members with smaller labels: jump along them
        if np.array_equal(new, label):
            break
        label = new
    edges = [(ids[i], ids[r]) for i, r in enumerate(label.tolist()) if r != i]
    return edges, m * (m - 1) // 2, verified


# ------------------------------------------------------------------ Beam
import apache_beam as beam  # noqa: E402

from transforms.contract import Rejection  # noqa: E402
from transforms.deadletter import error_reason, split_failing  # noqa: E402
from transforms.dedup.exact import CountingDoFn, priority  # noqa: E402
from transforms.stage import to_reject  # noqa: E402

BANDS_TAG, SIGS_TAG, META_TAG, ERRORS_TAG = "bands", "sigs", "meta", "errors"
# Kinds of the values grouped by node id. Every join here and in ``transforms/dedup/__init__.py`` is one ``Flatten`` +
# ``GroupByKey`` of values the producing steps tag themselves, not a ``CoGroupByKey`` (a tagging ``Map`` per input
# and a ``Map`` after the group, fixed cost on every run: bench/STEPS.md), and the consumers read a group twice
# (small values first, then the many streamed) instead of holding per-kind lists.
DOC, META, SIG, PAIR, HALF, DECISION = "doc", "meta", "sig", "pair", "half", "decision"
WINDOW, MEMBER = "window", "member"  # a bucket window's key on a node; a member with its signature on a window
PAIRED_MAX = 3
"""Buckets of at most this many members emit their pairs, larger ones windows. Either way each candidate travels
once with its signature (~450 bytes): a pair's half, or a window's member. A bucket of ``b`` members has
``b(b−1)/2`` pairs and ``b`` members, so from 4 members on windows move less. Pairs stay for the many 2-member
buckets, where a pair found in 14 bands is one short pair emission per band, checked once. The 100k-page
boilerplate bench had 19M pairs from buckets under ``max_bucket_size`` (``bench/SCALE.md``, "Session 10")."""


class _Sign(CountingDoFn):
    """Document → ``(id, (DOC, doc))`` (main), band entries, ``(id, (SIG, signature))``, ``(id, (META, priority
    metadata))``; a document that makes signing raise leaves on ERRORS_TAG as a ``Reject`` row
    (``error:<ExceptionType>``; none for a prior release's document), nowhere else."""

    def __init__(self, stage: str, signer: Signer, source_rank: Sequence[str], signal: Optional[str],
                 keep_text: bool):
        self.stage, self.signer, self.source_rank, self.signal = stage, signer, tuple(source_rank), signal
        self.keep_text = keep_text

    def process(self, doc) -> Iterator:
        self._counts["prior_docs" if doc.source == "__prior__" else "in"] += 1
        try:
            sig, cjk = self.signer.stored_or_sign(doc)
            if sig is not None:
                meta = (priority(doc, self.source_rank, self.signal), doc.dup_cluster or doc.id,
                        doc.dup_cluster_size or 1)
                bands = self.signer.bands_of(sig)
        except Exception as exc:  # noqa: BLE001 - dead-letter one document, not the bundle
            reason = error_reason(exc)
            self._counts[f"rejected/{reason}"] += 1
            if doc.source != "__prior__":  # a published release's document is never written, not even rejected
                yield beam.pvalue.TaggedOutput(ERRORS_TAG, to_reject(self.stage, Rejection(doc, reason),
                                                                     self.keep_text))
            return
        yield doc.id, (DOC, doc)
        self._counts["cjk_docs" if cjk else "word_docs"] += 1
        if sig is None:
            self._counts["no_shingles"] += 1
            return
        yield beam.pvalue.TaggedOutput(META_TAG, (doc.id, (META, meta)))
        yield beam.pvalue.TaggedOutput(SIGS_TAG, (doc.id, (SIG, sig.tobytes())))
        for i in range(bands.size):  # only the node id travels with a band key (most buckets are singletons)
            yield beam.pvalue.TaggedOutput(BANDS_TAG, (i.to_bytes(2, "big") + bands[i:i + 1].tobytes(), doc.id))


def _consume(items: Iterator) -> int:
    n = 0
    for _ in items:
        n += 1
    return n


class _BucketPairs(CountingDoFn):
    """Bucket → what pairs its members, streamed, all keyed by node id for the ``near u group``:

    * a bucket of at most ``PAIRED_MAX`` members: its candidate pairs ``(u, (PAIR, v))``, each checked on its own
      in ``_Verify`` (a pair found in several bands once);
    * a larger one: ``(u, (WINDOW, key))`` for each window holding ``u`` (``iter_windows``: the whole bucket up to
      ``max_bucket_size`` members, overlapping windows of that size above it, at most two per member). A window's
      members meet once, by key, in ``_Verify``, which checks all their pairs at once.

    If this raises, the members that make it raise alone are found (``find_failing``) and leave on ERRORS_TAG as
    ``(node, (DECISION, (error:<ExceptionType>,)))`` (read by the near-dedup apply group); the bucket is done
    again without them (what was already emitted again is one more repeat: ``_half`` keeps each value once)."""

    def __init__(self, stage: str, max_bucket_size: int):
        self.stage, self.max_bucket_size = stage, max_bucket_size

    def _pairs(self, members: list[str]) -> Iterator:
        for u, v in iter_bucket_pairs(members):
            self._counts["bucket_pairs"] += 1
            yield u, (PAIR, v)

    def _windows(self, members: list[str]) -> Iterator:
        for window in iter_windows(members, self.max_bucket_size):
            key = window_key(window)
            self._counts["bucket_windows"] += 1
            for u in window:
                yield u, (WINDOW, key)

    def process(self, element) -> Iterator:
        key, members = element
        members = sorted(members)
        if len(members) < 2:
            return
        distinct = len(set(members))
        paired = distinct <= PAIRED_MAX
        emit = self._pairs if paired else self._windows
        if distinct > self.max_bucket_size:
            self._counts["giant_buckets"] += 1
            self._counts["giant_bucket_docs"] += len(members)
        try:
            yield from emit(members)
            return
        except Exception as exc:  # noqa: BLE001 - dead-letter the culprits, not the bundle
            first = exc

        def check(ms: list[str]) -> int:  # the plain functions, so the counters count only what is emitted
            if paired:
                return _consume(iter_bucket_pairs(ms))
            return _consume(map(window_key, iter_windows(ms, self.max_bucket_size)))

        rest, bad = split_failing(check, members, first)
        for node, reason in bad:
            self._counts[f"bucket_{reason}"] += 1
            yield beam.pvalue.TaggedOutput(ERRORS_TAG, (node, (DECISION, (reason,))))
        yield from emit(rest)


def _half(element) -> Iterator:
    """``u → (SIG, sig_u), (PAIR, v)…, (WINDOW, key)…`` → ``(v, (HALF, (u, sig_u)))`` once per distinct ``v`` and
    ``(key, (MEMBER, (u, sig_u)))`` once per distinct window.

    A pair or window found in several bands (or buckets) arrives once per band: kept once here, so no ``Distinct``
    step (one ``GroupByKey`` and four ParDos fewer); what this holds is ``u``'s distinct candidates and window
    keys: at most two of either per band."""
    u, values = element
    sig, vs, windows = None, {}, {}
    for kind, x in values:
        if kind == SIG:
            sig = x
        elif kind == PAIR:
            vs[x] = None
        else:
            windows[x] = None
    if sig is None:
        return
    for v in vs:
        yield v, (HALF, (u, sig))
    for key in windows:
        yield key, (MEMBER, (u, sig))


class _Verify(CountingDoFn):
    """Jaccard check → each verified edge both ways, ``(u, v)`` and ``(v, u)``, as
    ``ConnectedComponents(both_ways=True)`` groups them. One group serves two kinds of key (no extra
    ``GroupByKey``): node ids are ``str``, window keys ``bytes``.

    * ``v → (SIG, sig_v), (HALF, (u, sig_u))…``: each half checked against ``sig_v`` (``u ≠ v``: a bucket pairs
      distinct members); read twice (``sig_v`` first), so the halves, each with a signature, are streamed.
    * ``window key → (MEMBER, (u, sig_u))…``: at most ``max_bucket_size`` members, all pairs checked at once and
      reduced to a spanning forest (``window_edges``)."""

    def __init__(self, stage: str, threshold: float):
        self.stage, self.threshold = stage, threshold

    def process(self, element) -> Iterator:
        key, values = element
        if isinstance(key, bytes):
            yield from self._window(values)
            return
        sig = next((x for kind, x in values if kind == SIG), None)
        if sig is None:
            return
        sv = np.frombuffer(sig, dtype=np.uint32)
        for kind, x in values:
            if kind != HALF:
                continue
            u, su = x
            self._counts["candidate_pairs"] += 1
            if jaccard(np.frombuffer(su, dtype=np.uint32), sv) >= self.threshold:
                self._counts["verified_pairs"] += 1
                yield u, key
                yield key, u
            else:
                self._counts["false_positive_pairs"] += 1

    def _window(self, values) -> Iterator:
        members = sorted(x for _, x in values)
        ids = [u for u, _ in members]
        sigs = np.stack([np.frombuffer(s, dtype=np.uint32) for _, s in members])
        edges, compared, verified = window_edges(ids, sigs, self.threshold)
        self._counts["windows"] += 1
        self._counts["window_pairs"] += compared
        self._counts["window_verified_pairs"] += verified
        self._counts["window_edges"] += len(edges)
        for u, root in edges:
            yield u, root
            yield root, u


class CandidateEdges(beam.PTransform):
    """Documents → (``(id, (DOC, doc))``, verified near-duplicate edges (each both ways), ``(id, (META, metadata))``,
    stats PCollections, unflattened). After expansion, ``.rejects`` holds ``Reject`` rows of documents signing raised on
    and ``.errors`` ``(node id, (DECISION, (reason,)))`` of members that made bucket pairing raise (dead letters;
    see ``_Sign`` and ``_BucketPairs``)."""

    def __init__(self, signer: Signer, source_rank: Sequence[str], signal: Optional[str], jaccard_threshold: float,
                 max_bucket_size: int, stage: str = "dedup.near", keep_text: bool = False):
        super().__init__()
        self.signer, self.source_rank, self.signal = signer, tuple(source_rank), signal
        self.jaccard_threshold, self.max_bucket_size, self.stage = jaccard_threshold, max_bucket_size, stage
        self.keep_text = keep_text

    def expand(self, docs):
        from transforms.stage import STATS

        st = self.stage
        signed = docs | "near sign" >> beam.ParDo(
            _Sign(st, self.signer, self.source_rank, self.signal, self.keep_text)).with_outputs(
                BANDS_TAG, SIGS_TAG, META_TAG, ERRORS_TAG, STATS, main="docs")
        pairs = (signed[BANDS_TAG]
                 | "near band group" >> beam.GroupByKey()
                 | "near bucket pairs" >> beam.ParDo(_BucketPairs(st, self.max_bucket_size)).with_outputs(
                     ERRORS_TAG, STATS, main="pairs"))
        self.rejects, self.errors = signed[ERRORS_TAG], pairs[ERRORS_TAG]
        halves = ((signed[SIGS_TAG], pairs.pairs)
                  | "near join u" >> beam.Flatten()
                  | "near u group" >> beam.GroupByKey()
                  | "near half" >> beam.FlatMap(_half))
        edges = ((signed[SIGS_TAG], halves)
                 | "near join v" >> beam.Flatten()
                 | "near v group" >> beam.GroupByKey()
                 | "near verify" >> beam.ParDo(_Verify(st, self.jaccard_threshold)).with_outputs(STATS, main="edges"))
        return signed.docs, edges.edges, signed[META_TAG], (signed[STATS], pairs[STATS], edges[STATS])
