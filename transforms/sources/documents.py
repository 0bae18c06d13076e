"""JSONL / Parquet documents that are already text (``text`` plus optional ``id``, ``url``, ``source``, ``lang``)."""
from __future__ import annotations

import io
import json
from typing import Iterator, Union

from apache_beam.io.filesystems import FileSystems

from schemas.document import Document, doc_id
from transforms.sources.raw import SourceReject
from transforms.contract import Count

_OPTIONAL = ("url", "title", "fetched_at")


def row_to_document(row: dict, origin: str, kind: str, key: int | str, text_field: str, default_source: str
                    ) -> Union[Document, SourceReject]:
    text = row.get(text_field)
    if not isinstance(text, str):
        return SourceReject(origin, None, "missing_text")
    rid = row.get("id")
    fields = {k: row[k] for k in _OPTIONAL if isinstance(row.get(k), str)}
    lang = row.get("lang") if isinstance(row.get("lang"), str) else None
    return Document(
        id=str(rid) if rid not in (None, "") else doc_id(kind, origin, key),
        text=text,
        source=row.get("source") if isinstance(row.get("source"), str) and row.get("source") else default_source,
        origin=origin,
        lang=lang,
        **fields,
    )


def read_jsonl(path: str, recipe) -> Iterator[Union[Document, SourceReject, Count]]:
    field = recipe.sources.jsonl_text_field
    with FileSystems.open(path) as raw:  # compression inferred from the extension (.gz, .bz2 …)
        stream = io.TextIOWrapper(raw, encoding="utf-8", errors="replace", newline="\n")
        for n, line in enumerate(stream):
            if not line.strip():
                continue
            origin = f"{path}:{n + 1}"
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                yield SourceReject(origin, None, "bad_json")
                continue
            if not isinstance(row, dict):
                yield SourceReject(origin, None, "bad_json")
                continue
            yield row_to_document(row, origin, "jsonl", 0, field, recipe.sources.default_source)


def read_parquet(path: str, recipe) -> Iterator[Union[Document, SourceReject, Count]]:
    import pyarrow.parquet as pq

    field = recipe.sources.jsonl_text_field
    with FileSystems.open(path, compression_type="uncompressed") as f:
        pf = pq.ParquetFile(io.BytesIO(f.read()))
    if field not in pf.schema_arrow.names:
        yield SourceReject(path, None, "missing_text")
        return
    n = 0
    for batch in pf.iter_batches(batch_size=4096):
        for row in batch.to_pylist():
            origin = f"{path}#{n}"
            yield row_to_document(row, origin, "parquet", 0, field, recipe.sources.default_source)
            n += 1
