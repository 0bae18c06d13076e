"""Dead-lettering for steps that see several documents at once (Beam-free).

Per-document stages isolate failures in ``transforms.contract.run_batch``. Whole-collection steps (dedup
decisions, LSH buckets, balance, shard writers) get a group — a bucket's member ids, a cluster's members, a
shard's rows — and one bad member must not fail the bundle (which, retried, fails the job). ``find_failing``
finds the members that make a check raise on their own, by bisection (O(k log n) calls for k culprits), so
the caller can reject exactly those with ``error:<ExceptionType>`` (never the message: it may quote text)
and process the rest. The result depends only on the group's content and order, which callers fix by
sorting, so reruns dead-letter the same documents.
"""
from __future__ import annotations

from typing import Callable, Sequence, TypeVar

T = TypeVar("T")


def error_reason(exc: BaseException) -> str:
    return f"error:{type(exc).__name__}"


def find_failing(check: Callable[[list[T]], object], items: Sequence[T]) -> list[tuple[int, str]]:
    """(index, reason) of the items on which ``check`` raises alone; [] when only a combination raises."""

    def rec(lo: int, hi: int) -> list[tuple[int, str]]:
        try:
            check(list(items[lo:hi]))
            return []
        except Exception as exc:  # noqa: BLE001 - dead-letter path
            if hi - lo == 1:
                return [(lo, error_reason(exc))]
            mid = (lo + hi) // 2
            return rec(lo, mid) + rec(mid, hi)

    return rec(0, len(items)) if items else []


def split_failing(check: Callable[[list[T]], object], items: Sequence[T],
                  first_error: BaseException) -> tuple[list[T], list[tuple[T, str]]]:
    """(items to process again, [(bad item, reason)]): the culprits ``find_failing`` isolates, or every item
    (with ``first_error``'s type) when no single item raises alone, or when the rest still raises."""
    bad = find_failing(check, items)
    if bad:
        idx = {i for i, _ in bad}
        rest = [x for i, x in enumerate(items) if i not in idx]
        try:
            check(rest)
            return rest, [(items[i], r) for i, r in bad]
        except Exception as exc:  # noqa: BLE001
            first_error = exc
    return [], [(x, error_reason(first_error)) for x in items]
