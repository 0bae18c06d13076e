"""JSONL / Parquet documents that are already text (``text`` plus optional ``id``, ``url``, ``source``, ``lang``).

Both split: uncompressed JSONL into byte ranges (a record belongs to the split where its line starts),
Parquet into runs of row groups read with ``iter_batches``; a compressed JSONL file is one split. The splits are
explicit rather than Beam's ``ReadAllFromText``/``ReadAllFromParquet``: the annotate phase stores one result per
split index, and the readers need what Beam's text source does not give (record byte offsets for ids, a line
cap that never holds a long line, a counted reject for a cut-off compressed file).

Ids come from the file's ``name`` (its path relative to the ``--input`` pattern's directory) and the
record's position (JSONL: byte offset of its line in the decompressed stream; Parquet: row number), so
they do not depend on how the path was spelled or on the split size. A user-supplied ``id`` is not
trusted to be unique (two files both starting at id "0" are common): it is kept in ``origin``
(``name@offset#id=…``) and repeats inside one split are counted as ``duplicate_user_id``; it never
becomes the document id, so colliding user ids can never merge or drop documents.
"""
from __future__ import annotations

import json
from typing import Iterator, Optional, Union

from schemas.document import Document, doc_id
from transforms.contract import Count
from transforms.sources.compressed import Truncated, compression_of, iter_lines, open_decompressed
from transforms.sources.raw import SourceReject
from transforms.sources.split import Split, as_split, byte_ranges

_OPTIONAL = ("url", "title", "fetched_at")


class UserIds:
    """Counts repeated user ids inside one split, holding at most ``limit`` 64-bit hashes (bounded memory)."""

    def __init__(self, limit: int):
        self.limit, self.seen = limit, set()

    def check(self, uid: str) -> Optional[Count]:
        import xxhash

        h = xxhash.xxh64_intdigest(uid)
        if h in self.seen:
            return Count("duplicate_user_id")
        if len(self.seen) < self.limit:
            self.seen.add(h)
        return None


def row_to_document(row: dict, name: str, kind: str, pos: int, sep: str, text_field: str, default_source: str
                    ) -> Union[Document, SourceReject]:
    """One record at position ``pos`` of input ``name``; ``sep`` is ``@`` (byte offset) or ``#`` (row)."""
    locator = f"{name}{sep}{pos}"
    text = row.get(text_field)
    if not isinstance(text, str):
        return SourceReject(locator, None, "missing_text")
    rid = row.get("id")
    fields = {k: row[k] for k in _OPTIONAL if isinstance(row.get(k), str)}
    lang = row.get("lang") if isinstance(row.get("lang"), str) else None
    return Document(
        id=doc_id(kind, name, pos),
        text=text,
        source=row.get("source") if isinstance(row.get("source"), str) and row.get("source") else default_source,
        origin=locator if rid in (None, "") else f"{locator}#id={rid}",
        lang=lang,
        **fields,
    )


def _with_user_id(doc, ids: UserIds) -> Iterator:
    if isinstance(doc, Document) and "#id=" in doc.origin:
        dup = ids.check(doc.origin.split("#id=", 1)[1])
        if dup is not None:
            yield dup
    yield doc


# ---------------------------------------------------------------- JSONL


def plan_jsonl(path: str, kind: str, name: str, size: int, recipe) -> list[Split]:
    """Byte ranges of ``sources.split_bytes`` for a plain file; one split for a compressed (or small) one."""
    step = recipe.sources.split_bytes
    if size <= step:
        return [Split(path, kind, name, size)]
    from apache_beam.io.filesystems import FileSystems

    with FileSystems.open(path, compression_type="uncompressed") as f:
        head = f.read(6)
    if compression_of(head) is not None:
        return [Split(path, kind, name, size)]
    return byte_ranges(path, kind, name, size, step)


def read_jsonl(split: Split | str, recipe) -> Iterator[Union[Document, SourceReject, Count]]:
    """The records whose line starts in ``[split.start, split.stop)``; a line longer than
    ``sources.max_line_bytes`` is skipped unread (``line_too_long``), a cut-off compressed file ends with one
    ``truncated`` reject after its complete lines."""
    from apache_beam.io.filesystems import FileSystems

    split = as_split(split, "jsonl")
    src = recipe.sources
    name, start, stop = split.name, split.start, split.stop
    ids = UserIds(src.max_user_ids_per_split)
    with FileSystems.open(split.path, compression_type="uncompressed") as raw:
        if start > 0:  # a range split of a plain file: the line running into ``start`` belongs to the split before
            raw.seek(start - 1)
            stream, offset = raw, start - 1
        else:
            stream, offset = open_decompressed(raw), 0
        lines = iter_lines(stream, offset, src.max_line_bytes)
        if start > 0:
            next(lines, None)
        at = offset
        try:
            for at, line in lines:
                if stop is not None and at >= stop:
                    break
                if line is None:
                    yield SourceReject(f"{name}@{at}", None, "line_too_long")
                    continue
                if not line.strip():
                    continue
                try:
                    row = json.loads(line.decode("utf-8", errors="replace"))
                except json.JSONDecodeError:
                    yield SourceReject(f"{name}@{at}", None, "bad_json")
                    continue
                if not isinstance(row, dict):
                    yield SourceReject(f"{name}@{at}", None, "bad_json")
                    continue
                doc = row_to_document(row, name, "jsonl", at, "@", src.jsonl_text_field, src.default_source)
                yield from _with_user_id(doc, ids)
        except Truncated:
            yield SourceReject(f"{name}@{at}", None, "truncated")
        except (OSError, ValueError, EOFError) as exc:  # zlib/lzma/zstd data errors, "not a gzipped file"
            yield SourceReject(f"{name}@{at}", None, f"compressed_error:{type(exc).__name__}")


# ---------------------------------------------------------------- Parquet


def _parquet(f):
    import pyarrow.parquet as pq

    return pq.ParquetFile(f)


def plan_parquet(path: str, kind: str, name: str, size: int, recipe) -> list[Split]:
    """Runs of whole row groups of about ``sources.split_bytes`` (uncompressed) each, from the footer only."""
    from apache_beam.io.filesystems import FileSystems

    step = recipe.sources.split_bytes
    if size <= step:
        return [Split(path, kind, name, size)]
    with FileSystems.open(path, compression_type="uncompressed") as f:
        meta = _parquet(f).metadata
    splits, first, acc = [], 0, 0
    for i in range(meta.num_row_groups):
        acc += meta.row_group(i).total_byte_size
        if acc >= step or i == meta.num_row_groups - 1:
            splits.append(Split(path, kind, name, size, len(splits), first, i + 1))
            first, acc = i + 1, 0
    return splits or [Split(path, kind, name, size)]


def read_parquet(split: Split | str, recipe) -> Iterator[Union[Document, SourceReject, Count]]:
    """Rows of the split's row groups ``[start, stop)``, streamed in record batches (never the whole file)."""
    from apache_beam.io.filesystems import FileSystems

    split = as_split(split, "parquet")
    src = recipe.sources
    field = src.jsonl_text_field
    ids = UserIds(src.max_user_ids_per_split)
    with FileSystems.open(split.path, compression_type="uncompressed") as f:
        pf = _parquet(f)
        if field not in pf.schema_arrow.names:
            if split.index == 0:
                yield SourceReject(split.name, None, "missing_text")
            return
        meta = pf.metadata
        stop = meta.num_row_groups if split.stop is None else split.stop
        groups = list(range(split.start, stop))
        if not groups:
            return
        row = sum(meta.row_group(i).num_rows for i in range(split.start))
        for batch in pf.iter_batches(batch_size=src.parquet_batch_rows, row_groups=groups):
            for rec in batch.to_pylist():
                doc = row_to_document(rec, split.name, "parquet", row, "#", field, src.default_source)
                yield from _with_user_id(doc, ids)
                row += 1
