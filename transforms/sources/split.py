"""The unit of reading work (no Beam): a whole input file or a reader-defined range of one."""
from __future__ import annotations

from typing import NamedTuple, Optional


class Split(NamedTuple):
    """A unit of annotate work: a whole file, or a reader-specific range of one (``start``/``stop``:
    byte offsets for plain JSONL, row groups for Parquet, byte offsets of bz2 streams for multistream
    MediaWiki dumps). ``index`` numbers the splits of one file; ``name`` is the file's path relative to
    its ``--input`` pattern's directory and keys every id, so ids do not depend on how a path was spelled."""

    path: str
    kind: str
    name: str
    size: int
    index: int = 0
    start: int = 0
    stop: Optional[int] = None


def as_split(src: "Split | str", kind: str) -> Split:
    """A reader's argument as a split: a bare path (tests, tools) is its whole file, named as given."""
    if isinstance(src, str):
        return Split(src, kind, src, 0)
    return src


def byte_ranges(path: str, kind: str, name: str, size: int, step: int) -> list[Split]:
    """``[0, step), [step, 2·step) …`` covering ``size`` bytes; the last split runs to the end of the file."""
    n = max(1, -(-size // step))
    return [Split(path, kind, name, size, i, i * step, (i + 1) * step if i < n - 1 else None) for i in range(n)]
