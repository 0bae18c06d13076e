"""The contract every per-document stage follows. Imports no Beam: stages are plain objects.

A stage has a ``name``, a ``batch_size``, a ``setup()`` that loads models once per worker, and
``apply(docs)`` that yields, for a batch, documents to keep (possibly several per input),
``Rejection``s and ``Count``s. ``run_batch`` is the one place a stage is called: it isolates failures
and counts. Beam wrappers (``transforms.stage``) and the annotate phase's per-unit runner both use it.
"""
from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Iterable, Iterator, NamedTuple, Optional, Protocol, Sequence


if TYPE_CHECKING:  # pragma: no cover
    from schemas.document import Document


STATS_KEY_SEP = "\x1f"  # stats.json keys are "<stage>\x1f<counter>" inside the pipeline


class Rejection(NamedTuple):
    """A stage's verdict that ``doc`` leaves the corpus. ``detail`` must never hold document text or PII."""

    doc: "Document"
    reason: str
    detail: Optional[str] = None


class Count(NamedTuple):
    """An extra counter a stage reports (e.g. PII replacements by type); summed into stats.json."""

    name: str
    value: int = 1


class Stage(Protocol):
    name: str
    batch_size: int

    def setup(self) -> None: ...

    def apply(self, docs: Sequence["Document"]) -> Iterable["Document | Rejection | Count"]: ...


def stats_key(stage: str, counter: str) -> str:
    return f"{stage}{STATS_KEY_SEP}{counter}"


def run_batch(stage: Stage, docs: Sequence["Document"], counts: Counter) -> Iterator["Document | Rejection"]:
    """Apply a stage to a batch, isolating failures: if the batch raises, each document is retried
    alone and one that still raises becomes an ``error:<ExceptionType>`` rejection (the message is
    not kept: it may quote document text)."""
    counts["in"] += len(docs)
    try:
        results = list(stage.apply(docs))
    except Exception:  # noqa: BLE001 - dead-letter path, see docstring
        results = []
        for doc in docs:
            try:
                results.extend(stage.apply([doc]))
            except Exception as exc:  # noqa: BLE001
                results.append(Rejection(doc, f"error:{type(exc).__name__}"))
    for item in results:
        if isinstance(item, Rejection):
            counts[f"rejected/{item.reason}"] += 1
            yield item
        elif isinstance(item, Count):
            counts[item.name] += item.value
        else:
            counts["out"] += 1
            yield item
