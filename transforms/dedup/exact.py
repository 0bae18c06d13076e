"""Exact deduplication (stats stage ``dedup.exact``) and the survivor priority shared with near dedup.

Key: blake2b-128 of the text after whitespace normalisation (runs of whitespace → one space, stripped), so
copies that differ only in line breaks or indentation collapse; everything else must match exactly (near
dedup catches the rest). One ``GroupByKey`` on the key; the grouped iterable is read twice (first for the
winner, then to emit), so only small tuples are held, never a group's documents.

Survivor priority (deterministic, configurable): source rank (recipe list, e.g. encyclopedia > book > news >
qa > web; unlisted sources after all listed ones), then the recipe's quality signal (higher first; documents
without it after those with it), then length (longer first), then id.
Survivors get ``dup_cluster`` (smallest id in the group) and ``dup_cluster_size``; the others become
``exact_duplicate`` rejects whose detail names the cluster and the kept id.
"""
from __future__ import annotations

import hashlib
from typing import Iterator, Optional, Sequence

import apache_beam as beam

from schemas.document import Document
from transforms.deadletter import error_reason
from transforms.stage import REJECTS, STATS, CountingDoFn, Rejection, to_reject  # noqa: F401 - CountingDoFn re-exported

Priority = tuple  # (source rank, has-signal flag, -signal, -length, id): smaller is better


def priority(doc: Document, source_rank: Sequence[str], signal: Optional[str] = None) -> Priority:
    if doc.source == "__prior__":  # a published release's document (dedup.against) always survives its cluster
        return (-1, 0, 0.0, 0, doc.id)
    rank = list(source_rank).index(doc.source) if doc.source in source_rank else len(source_rank)
    q = (doc.signals or {}).get(signal) if signal else None
    return (rank, 0 if q is not None else 1, -float(q) if q is not None else 0.0, -len(doc.text), doc.id)


def exact_key(text: str, normalize: str = "whitespace") -> str:
    if normalize == "whitespace":  # = re.sub(r"\s+", " ", text).strip(), ~3x faster (tests/test_dedup.py)
        text = " ".join(text.split())
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def detail(cluster: str, kept: str) -> str:
    return f"cluster={cluster} kept={kept}"


# ------------------------------------------------------------------ Beam
class _ExactDecide(CountingDoFn):
    """One exact-key group → the survivor and ``exact_duplicate`` rejects. A document whose priority raises
    (e.g. a non-numeric quality signal) is dead-lettered (``error:<ExceptionType>``); the rest decide alone."""

    def __init__(self, stage: str, source_rank: Sequence[str], signal: Optional[str], keep_text: bool):
        self.stage, self.source_rank, self.signal, self.keep_text = stage, tuple(source_rank), signal, keep_text

    def process(self, element) -> Iterator:
        _, docs = element
        best, min_id, n, bad = None, None, 0, {}
        for k, d in enumerate(docs):  # pass 1: winner, cluster id, size (small tuples only)
            try:
                pr = priority(d, self.source_rank, self.signal)
            except Exception as exc:  # noqa: BLE001 - dead-letter this document, not the bundle
                bad[k] = error_reason(exc)
                continue
            best = pr if best is None or pr < best else best
            min_id = d.id if min_id is None or d.id < min_id else min_id
            n += 1
        kept_id = best[-1] if best is not None else None
        self._counts["in"] += n + len(bad)
        if n > 1:
            self._counts["clusters"] += 1
        kept_done = False
        for k, d in enumerate(docs):  # pass 2: emit
            if k in bad:
                self._counts[f"rejected/{bad[k]}"] += 1
                yield beam.pvalue.TaggedOutput(REJECTS, to_reject(self.stage, Rejection(d, bad[k]), self.keep_text))
            elif d.id == kept_id and not kept_done:
                kept_done = True
                self._counts["out"] += 1
                yield d._replace(dup_cluster=min_id, dup_cluster_size=n)
            else:
                self._counts["rejected/exact_duplicate"] += 1
                r = Rejection(d, "exact_duplicate", detail(min_id, kept_id))
                yield beam.pvalue.TaggedOutput(REJECTS, to_reject(self.stage, r, self.keep_text))


class ExactDedup(beam.PTransform):
    """``PCollection[Document]`` → (main, rejects, stats) of stage ``dedup.exact``."""

    def __init__(self, normalize: str, source_rank: Sequence[str], signal: Optional[str], keep_text: bool = False,
                 stage: str = "dedup.exact"):
        super().__init__()
        self.normalize, self.source_rank, self.signal = normalize, tuple(source_rank), signal
        self.keep_text, self.stage = keep_text, stage

    def expand(self, docs):
        norm = self.normalize
        res = (docs
               | "exact key" >> beam.Map(lambda d: (exact_key(d.text, norm), d))
               | "exact group" >> beam.GroupByKey()
               | "exact keep one" >> beam.ParDo(
                   _ExactDecide(self.stage, self.source_rank, self.signal, self.keep_text)).with_outputs(
                       REJECTS, STATS, main="main"))
        return res.main, res[REJECTS], res[STATS]
