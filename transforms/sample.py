"""``--sample RATE`` and ``--limit N``: try a recipe on a deterministic slice of the input.

Which documents are in the slice depends only on their ids and the recipe seed — not on file order,
sharding, runner or worker count — so a sampled build is reproducible and a larger rate keeps a superset:
a document is in the ``rate`` sample iff ``fraction(id, seed) < rate``, and the ``limit`` slice is the
``limit`` documents of that sample with the smallest fraction (ties by id).

``Sampler`` is Beam-free (the annotate phase can apply ``keep`` to each record it reads, and
``split_limit`` bounds what one split reads); ``transforms.sample_beam.SampleDocs`` is the thin Beam wrapper for a collection.
Dropped documents are counted, never silently lost: stage ``sample`` with reasons ``not_sampled`` and
``over_limit``; they are not written to ``rejects/`` (a 1% sample would copy the whole input there).
"""
from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from typing import Iterable, Optional

STAGE = "sample"


def fraction(doc_id: str, seed: int) -> float:
    """A uniform number in [0, 1) from the id and seed (blake2b; stable across Python versions and runs)."""
    h = hashlib.blake2b(f"{seed}\x1f{doc_id}".encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(h, "big") / 2.0 ** 64


@dataclass(frozen=True)
class Sampler:
    rate: float = 1.0
    limit: Optional[int] = None
    seed: int = 0

    def __post_init__(self) -> None:
        if not 0.0 < self.rate <= 1.0:
            raise ValueError(f"--sample must be in (0, 1], got {self.rate}")
        if self.limit is not None and self.limit < 1:
            raise ValueError(f"--limit must be at least 1, got {self.limit}")

    @property
    def active(self) -> bool:
        return self.rate < 1.0 or self.limit is not None

    def keep(self, doc_id: str) -> bool:
        """In the ``rate`` sample (the limit needs the whole collection: ``limit_ids`` / ``SampleDocs``)."""
        return self.rate >= 1.0 or fraction(doc_id, self.seed) < self.rate

    def rank(self, doc_id: str) -> tuple[float, str]:
        return fraction(doc_id, self.seed), doc_id

    def limit_ids(self, ids: Iterable[str]) -> list[str]:
        """The ``limit`` sampled ids of smallest rank (all sampled ids without a limit)."""
        kept = sorted((i for i in ids if self.keep(i)), key=self.rank)
        return kept if self.limit is None else kept[: self.limit]

    def split_limit(self) -> Optional[int]:
        """Sampled records one split (or file) needs to read at most: the global cut to ``limit`` is made
        afterwards, so a reader may stop after this many without changing the result only when it visits
        records in rank order — otherwise use it as a cap on work, not on the result."""
        return self.limit

    def settings(self) -> dict:
        """For the annotation store's settings hash: a sampled store must never pass for a full one."""
        return {"sample_rate": self.rate, "sample_limit": self.limit, "sample_seed": self.seed}


def expected_fraction_ok(n_total: int, n_kept: int, rate: float, sigmas: float = 5.0) -> bool:
    """Whether ``n_kept`` of ``n_total`` is within ``sigmas`` binomial standard deviations of ``rate``."""
    sd = math.sqrt(n_total * rate * (1 - rate)) or 1.0
    return abs(n_kept - n_total * rate) <= sigmas * sd
