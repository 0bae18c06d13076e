"""Per-partition profile counters written by the document sink, for the dataset card.

Computed inside the pipeline (one pass over each shard's rows, already in memory for writing), so
the card never needs to re-read the corpus: Chinese script split, a log2 histogram of document
lengths in characters, and a log2 histogram of near-duplicate cluster sizes of kept documents.
Counter names (all under stage ``sink``; ``<part>`` is ``<lang>/<source>``)::

    script/<part>/<script>      documents by script (only documents that have one, e.g. Hans/Hant)
    script_chars/<part>/<script> characters by script
    len_log2/<part>/<e>         documents with 2**e <= len(text) < 2**(e+1) (e = 0 for empty text)
    dup_log2/<part>/<e>         kept documents whose near-dup cluster size s has 2**e <= s < 2**(e+1)
"""
from __future__ import annotations

from collections import Counter
from typing import Iterable, Iterator


def log2_bin(n: int) -> int:
    """Exponent e with 2**e <= n < 2**(e+1); 0 for n <= 1."""
    return max(0, int(n).bit_length() - 1)


def partition_profile(part: str, rows: Iterable) -> Iterator[tuple[str, int]]:
    counts: Counter = Counter()
    for d in rows:
        n = len(d.text)
        counts[f"len_log2/{part}/{log2_bin(n)}"] += 1
        if d.script:
            counts[f"script/{part}/{d.script}"] += 1
            counts[f"script_chars/{part}/{d.script}"] += n
        if d.dup_cluster_size:
            counts[f"dup_log2/{part}/{log2_bin(d.dup_cluster_size)}"] += 1
    yield from sorted(counts.items())
