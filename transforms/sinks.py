"""Deterministic sharded Parquet sinks for documents and rejects.

Shard layout is a pure function of the data: a partition's byte total (one combine) sets its
shard count n, each row goes to shard ``hash(id, epoch) mod n``, and a shard's rows are sorted
before writing — so names, row order and bytes are identical on every rerun and runner, and no
step holds more than one shard (~``shard_bytes``) in memory. Files are written under a temp
name and renamed, so a killed run never leaves a partial file that looks complete.
"""
from __future__ import annotations

import hashlib
import json
import math
import posixpath
import uuid
from typing import Any, Callable, Iterable, Iterator

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems

from schemas.document import ARROW_SCHEMA, Document, to_arrow_row
from schemas.outputs import REJECT_ARROW_SCHEMA, Reject, reject_to_row
from transforms.profile import partition_profile
from transforms.progress import Ticker
from transforms.stage import stats_key


def join(base: str, *parts: str) -> str:
    """Join path parts for local paths and any filesystem URL (gs://, s3://, hdfs://) alike, without
    needing that filesystem's client at graph-construction time."""
    if "://" in base:
        return "/".join([base.rstrip("/"), *(p.strip("/") for p in parts)])
    return posixpath.join(base, *parts)


def shard_of(key: str, n: int) -> int:
    return int.from_bytes(hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "big") % n


def shard_name(i: int, n: int) -> str:
    return f"part-{i:05d}-of-{n:05d}.parquet"


def write_table_atomic(path: str, table: pa.Table, compression: str, row_group_rows: int) -> int:
    """Write a Parquet file via a temp name + rename; returns bytes written."""
    tmp = f"{path}.tmp-{uuid.uuid4().hex}"
    parent = path.rsplit("/", 1)[0]
    if "://" not in path:
        import os

        os.makedirs(parent, exist_ok=True)
    with FileSystems.create(tmp, compression_type="uncompressed") as f:
        pq.write_table(table, f, compression=None if compression == "none" else compression,
                       row_group_size=row_group_rows, use_dictionary=["source", "lang", "script", "stage", "reason"],
                       write_statistics=True)
    if FileSystems.exists(path):
        FileSystems.delete([path])
    FileSystems.rename([tmp], [path])
    return FileSystems.match([path])[0].metadata_list[0].size_in_bytes


def write_json_atomic(path: str, obj: Any) -> None:
    data = (json.dumps(obj, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode("utf-8")
    tmp = f"{path}.tmp-{uuid.uuid4().hex}"
    with FileSystems.create(tmp, compression_type="uncompressed") as f:
        f.write(data)
    if FileSystems.exists(path):
        FileSystems.delete([path])
    FileSystems.rename([tmp], [path])


class _WriteShard(beam.DoFn):
    def __init__(self, base: str, schema: pa.Schema, to_row: Callable, sort_key: Callable, compression: str,
                 row_group_rows: int, stage: str, count_fn: Callable | None):
        self.base, self.schema, self.to_row, self.sort_key = base, schema, to_row, sort_key
        self.compression, self.row_group_rows, self.stage, self.count_fn = compression, row_group_rows, stage, count_fn

    def process(self, element: tuple[tuple[str, int, int], Iterable]) -> Iterator:
        (part, i, n), rows = element
        rows = sorted(rows, key=self.sort_key)
        table = pa.Table.from_pylist([self.to_row(r) for r in rows], schema=self.schema)
        path = join(self.base, part, shard_name(i, n))
        size = write_table_atomic(path, table, self.compression, self.row_group_rows)
        ticker = Ticker(self.stage)
        ticker.add(len(rows), len(rows))
        ticker.flush()
        yield beam.pvalue.TaggedOutput("stats", (stats_key(self.stage, "in"), len(rows)))
        yield beam.pvalue.TaggedOutput("stats", (stats_key(self.stage, "out"), len(rows)))
        yield beam.pvalue.TaggedOutput("stats", (stats_key(self.stage, "files"), 1))
        yield beam.pvalue.TaggedOutput("stats", (stats_key(self.stage, f"bytes/{part}"), size))
        if self.count_fn:
            for name, v in self.count_fn(part, rows):
                yield beam.pvalue.TaggedOutput("stats", (stats_key(self.stage, name), v))
        yield path


class WriteShardedParquet(beam.PTransform):
    """PCollection → ``<base>/<partition>/part-i-of-n.parquet``; outputs (paths, stats)."""

    def __init__(self, base: str, partition: Callable[[Any], str], size: Callable[[Any], int],
                 identity: Callable[[Any], str], sort_key: Callable, schema: pa.Schema, to_row: Callable,
                 shard_bytes: int, compression: str, row_group_rows: int, stage: str,
                 count_fn: Callable | None = None):
        super().__init__()
        self.base, self.partition, self.size, self.identity, self.sort_key = base, partition, size, identity, sort_key
        self.schema, self.to_row, self.shard_bytes = schema, to_row, shard_bytes
        self.compression, self.row_group_rows, self.stage, self.count_fn = compression, row_group_rows, stage, count_fn

    def expand(self, pcoll):
        keyed = pcoll | "Partition" >> beam.Map(lambda r, f=self.partition: (f(r), r))
        sizes = (
            keyed
            | "Sizes" >> beam.Map(lambda kv, f=self.size: (kv[0], f(kv[1])))
            | "Sum sizes" >> beam.CombinePerKey(sum)
        )
        target = self.shard_bytes

        def assign(kv, totals, ident=self.identity):
            part, row = kv
            n = max(1, math.ceil(totals.get(part, 0) / target))
            return (part, shard_of(ident(row), n), n), row

        shards = (
            keyed
            | "Assign shard" >> beam.Map(assign, totals=beam.pvalue.AsDict(sizes))
            | "Group shard" >> beam.GroupByKey()
        )
        res = shards | "Write shard" >> beam.ParDo(
            _WriteShard(self.base, self.schema, self.to_row, self.sort_key, self.compression, self.row_group_rows,
                        self.stage, self.count_fn)
        ).with_outputs("stats", main="paths")
        # hash assignment can leave a shard of a small partition empty; write it as an empty file (schema
        # only) so every part-i-of-n exists and loaders that expect the full set (or count files) agree
        filled = (
            res.paths
            | "Written shards" >> beam.combiners.ToList()
            | "Fill empty shards" >> beam.FlatMap(_fill_missing, self.base, self.schema, self.compression,
                                                  self.row_group_rows, self.stage)
        )
        return res.paths, (res.stats, filled) | "Sink stats" >> beam.Flatten()


def _fill_missing(paths: list[str], base: str, schema: pa.Schema, compression: str, row_group_rows: int,
                  stage: str) -> Iterator[tuple[str, int]]:
    """Stats pairs for the empty shards written so each partition has all ``n`` files."""
    seen: dict[str, tuple[int, set]] = {}
    prefix = join(base, "")
    for path in paths:
        rel = path[len(prefix):] if path.startswith(prefix) else path
        part, name = rel.rsplit("/", 1)
        i, n = name[len("part-"):-len(".parquet")].split("-of-")
        seen.setdefault(part, (int(n), set()))[1].add(int(i))
    for part in sorted(seen):
        n, have = seen[part]
        for i in range(n):
            if i not in have:
                write_table_atomic(join(base, part, shard_name(i, n)), schema.empty_table(), compression,
                                   row_group_rows)
                yield stats_key(stage, "files"), 1
                yield stats_key(stage, "empty_files"), 1


def doc_partition(doc: Document) -> str:
    return f"{safe(doc.lang or 'und')}/{safe(doc.source or 'unknown')}"


def safe(part: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in part) or "_"


def doc_size(doc: Document) -> int:
    return len(doc.text.encode("utf-8", "surrogatepass")) + 4 * len(doc.token_ids or ())


def doc_counts(part: str, rows: list[Document]) -> Iterator[tuple[str, int]]:
    yield f"docs/{part}", len(rows)
    yield f"chars/{part}", sum(len(d.text) for d in rows)
    yield f"tokens/{part}", sum(d.n_tokens or 0 for d in rows)
    yield from partition_profile(part, rows)  # script split, length and dup-cluster histograms (card)


def write_documents(docs, output: str, cfg) -> tuple[Any, Any]:
    return docs | "Write data" >> WriteShardedParquet(
        join(output, "data"), doc_partition, doc_size, lambda d: f"{d.id}\x1f{d.epoch}", lambda d: (d.id, d.epoch),
        ARROW_SCHEMA, to_arrow_row, cfg.shard_bytes, cfg.compression, cfg.row_group_rows, "sink", doc_counts)


def write_rejects(rejects, output: str, cfg) -> tuple[Any, Any]:
    return rejects | "Write rejects" >> WriteShardedParquet(
        join(output, "rejects"), lambda r: safe(r.stage), lambda r: 200 + len(r.text or ""),
        lambda r: f"{r.id}\x1f{r.stage}", lambda r: (r.id, r.reason, r.origin), REJECT_ARROW_SCHEMA, reject_to_row,
        cfg.shard_bytes, cfg.compression, cfg.row_group_rows, "sink.rejects")
