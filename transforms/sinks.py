"""Deterministic sharded Parquet sinks for documents and rejects.

Shard layout is a pure function of the data: a partition's byte total (one combine) sets its
shard count n, each row goes to shard ``hash(id, epoch) mod n``, and a shard's rows are sorted
before writing — so names, row order and bytes are identical on every rerun and runner, and no
step holds more than ``sink.row_group_rows`` rows in memory: a shard's rows are sorted in runs of
that many rows spilled to local temp files (pickled) and merged back (stable ties by arrival order,
exactly like one ``sorted``), and written one row group at a time with ``pyarrow.parquet.ParquetWriter``
— the same bytes as ``write_table`` on the whole sorted shard. Files are written under a temp name and
renamed, so a killed run never leaves a partial file that looks complete.

A shard bigger than ``sink.piece_bytes`` never reaches a worker as one grouped element (a runner that hands a
worker a group as one decoded list — the local multi-process runner, Beam's portable runners — would hold the whole
shard): its rows are grouped in ``m`` pieces of about that size (a second, independent cut of the same row hash),
each piece is sorted (bounded, as above) and pickled to a ``.tmp-piece`` file beside the shard, and one small
group per shard — the piece paths — drives a k-way merge of those sorted files into the shard: the same row order,
row groups and bytes as a whole-shard sort (rows of one identity share a piece, so ties keep arrival order). Piece files are deleted once
their shard is written; their names carry ``.tmp-`` so a killed build's leftovers are never published.

A row that makes conversion raise (sort key, ``to_row`` or Arrow's schema check, found by bisection
within its row group) is dead-lettered: ``error:<ExceptionType>`` counted under the sink's stage; data
rows become ``rejects/sink/`` rows, rows of the rejects writer itself are counted only.
"""
from __future__ import annotations

import functools
import hashlib
import heapq
import json
import math
import os
import pickle
import posixpath
import tempfile
import uuid
from collections import Counter
from typing import IO, Any, Callable, Iterable, Iterator

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems

from schemas.document import ARROW_SCHEMA, Document, to_arrow_row
from schemas.outputs import REJECT_ARROW_SCHEMA, Reject, reject_to_row
from transforms.contract import Rejection
from transforms.deadletter import error_reason, find_failing
from transforms.profile import partition_profile
from transforms.progress import Ticker
from transforms.stage import OneList, stats_key

_USE_DICTIONARY = ["source", "lang", "script", "stage", "reason"]


def join(base: str, *parts: str) -> str:
    """Join path parts for local paths and any filesystem URL (gs://, s3://, hdfs://) alike, without
    needing that filesystem's client at graph-construction time."""
    if "://" in base:
        return "/".join([base.rstrip("/"), *(p.strip("/") for p in parts)])
    return posixpath.join(base, *parts)


def _row_hash(key: str) -> int:
    return int.from_bytes(hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "big")


def shard_of(key: str, n: int) -> int:
    return _row_hash(key) % n


def shard_and_piece(key: str, n: int, m: int) -> tuple[int, int]:
    """(shard of ``n``, piece of ``m`` within it): the shard is ``shard_of``'s, the piece the hash's next digits,
    so pieces split a shard evenly whatever the shard."""
    h = _row_hash(key)
    return h % n, (h // n) % m


def pieces_per_shard(total: int, n: int, piece_bytes: int | None) -> int:
    """Pieces a shard of a partition of ``total`` bytes in ``n`` shards is grouped in (1: the shard is one group)."""
    return 1 if not piece_bytes else max(1, math.ceil(total / n / piece_bytes))


def piece_name(i: int, n: int, j: int, m: int) -> str:
    return f"{shard_name(i, n)}.tmp-piece-{j:05d}-of-{m:05d}"


def shard_name(i: int, n: int) -> str:
    return f"part-{i:05d}-of-{n:05d}.parquet"


def _writer_options(compression: str) -> dict:
    return dict(compression=None if compression == "none" else compression, use_dictionary=_USE_DICTIONARY,
                write_statistics=True)


def _finish_atomic(tmp: str, path: str) -> int:
    if FileSystems.exists(path):
        FileSystems.delete([path])
    FileSystems.rename([tmp], [path])
    return FileSystems.match([path])[0].metadata_list[0].size_in_bytes


def _tmp_for(path: str) -> str:
    if "://" not in path:
        os.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
    return f"{path}.tmp-{uuid.uuid4().hex}"


def write_table_atomic(path: str, table: pa.Table, compression: str, row_group_rows: int) -> int:
    """Write a Parquet file via a temp name + rename; returns bytes written."""
    tmp = _tmp_for(path)
    with FileSystems.create(tmp, compression_type="uncompressed") as f:
        pq.write_table(table, f, row_group_size=row_group_rows, **_writer_options(compression))
    return _finish_atomic(tmp, path)


def write_groups_atomic(path: str, schema: pa.Schema, groups: Iterable[pa.Table], compression: str) -> int:
    """Write row groups (one ``write_table`` call each) to one Parquet file via temp name + rename."""
    tmp = _tmp_for(path)
    with FileSystems.create(tmp, compression_type="uncompressed") as f:
        with pq.ParquetWriter(f, schema, **_writer_options(compression)) as writer:
            for table in groups:
                writer.write_table(table, row_group_size=max(1, table.num_rows))
    return _finish_atomic(tmp, path)


def _spill(run: list[tuple], tmpdir: str | None) -> IO[bytes]:
    f = tempfile.TemporaryFile(dir=tmpdir)
    for item in run:
        pickle.dump(item, f, protocol=pickle.HIGHEST_PROTOCOL)
    f.seek(0)
    return f


def _read_run(f: IO[bytes]) -> Iterator[tuple]:
    while True:
        try:
            yield pickle.load(f)
        except EOFError:
            f.close()
            return


def sorted_bounded(rows: Iterable, sort_key: Callable, run_rows: int, dead: list,
                   tmpdir: str | None = None) -> Iterator:
    """``rows`` in ``sort_key`` order (ties in arrival order), holding at most ``run_rows`` rows in memory:
    longer inputs are sorted in runs spilled to temp files and merged. Rows whose key raises go to ``dead``
    as (row, reason)."""
    run: list[tuple] = []
    files: list[IO[bytes]] = []
    for seq, row in enumerate(rows):
        try:
            key = sort_key(row)
        except Exception as exc:  # noqa: BLE001 - dead letter
            dead.append((row, error_reason(exc)))
            continue
        run.append((key, seq, row))
        if len(run) >= run_rows:
            run.sort(key=lambda t: (t[0], t[1]))
            files.append(_spill(run, tmpdir))
            run = []
    run.sort(key=lambda t: (t[0], t[1]))
    if not files:
        for _, _, row in run:
            yield row
        return
    if run:
        files.append(_spill(run, tmpdir))
    del run
    for _, _, row in heapq.merge(*(_read_run(f) for f in files), key=lambda t: (t[0], t[1])):
        yield row


def write_piece(path: str, ordered: Iterable[tuple]) -> int:
    """Pickle ``(sort key, row)`` pairs, already in order, to ``path`` (any filesystem); returns the row count."""
    n = 0
    with FileSystems.create(path, compression_type="uncompressed") as f:
        for item in ordered:
            pickle.dump(item, f, protocol=pickle.HIGHEST_PROTOCOL)
            n += 1
    return n


def read_piece(path: str) -> Iterator[tuple]:
    """The ``(sort key, row)`` pairs of a piece file, streamed."""
    with FileSystems.open(path, compression_type="uncompressed") as f:
        while True:
            try:
                yield pickle.load(f)
            except EOFError:
                return


def merge_pieces(paths: list[str]) -> Iterator:
    """Rows of sorted piece files in sort-key order, ties in piece order; one open reader per piece, nothing
    else held."""
    def tagged(j: int, path: str) -> Iterator[tuple]:
        for key, row in read_piece(path):
            yield (key, j), row

    for _, row in heapq.merge(*(tagged(j, p) for j, p in enumerate(paths)), key=lambda t: t[0]):
        yield row


def write_json_atomic(path: str, obj: Any) -> None:
    data = (json.dumps(obj, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode("utf-8")
    tmp = f"{path}.tmp-{uuid.uuid4().hex}"
    with FileSystems.create(tmp, compression_type="uncompressed") as f:
        f.write(data)
    if FileSystems.exists(path):
        FileSystems.delete([path])
    FileSystems.rename([tmp], [path])


class _WriteShard(beam.DoFn):
    """One shard's rows → a Parquet file, streamed one row group at a time (see the module docstring)."""

    def __init__(self, base: str, schema: pa.Schema, to_row: Callable, sort_key: Callable, compression: str,
                 row_group_rows: int, stage: str, count_fn: Callable | None, dead_letters: bool = False,
                 dead_as: Callable | None = None):
        self.base, self.schema, self.to_row, self.sort_key = base, schema, to_row, sort_key
        self.compression, self.row_group_rows, self.stage, self.count_fn = compression, row_group_rows, stage, count_fn
        self.dead_letters, self.dead_as = dead_letters, dead_as

    def _group(self, batch: list, dead: list) -> pa.Table:
        """Arrow table of ``batch``; rows that do not convert go to ``dead``."""
        rows, kept = [], []
        for r in batch:
            try:
                rows.append(self.to_row(r))
                kept.append(r)
            except Exception as exc:  # noqa: BLE001 - dead letter
                dead.append((r, error_reason(exc)))
        try:
            table = pa.Table.from_pylist(rows, schema=self.schema)
        except Exception:  # noqa: BLE001 - find the rows Arrow refuses
            bad = dict(find_failing(lambda rs: pa.Table.from_pylist(rs, schema=self.schema), rows))
            dead.extend((kept[k], reason) for k, reason in bad.items())
            kept = [r for k, r in enumerate(kept) if k not in bad]
            table = pa.Table.from_pylist([row for k, row in enumerate(rows) if k not in bad], schema=self.schema)
        batch[:] = kept
        return table

    def process(self, element: tuple[tuple, Iterable]) -> Iterator:
        """``((part, i, n[, j, m]), rows)``: the whole shard i of n, or its piece j of m (m > 1), which is sorted
        into a piece file for ``_MergeShard``."""
        (part, i, n, *piece), rows = element
        j, m = piece or (0, 1)
        dead: list = []
        if m == 1:
            yield from self._write(part, i, n, sorted_bounded(rows, self.sort_key, self.row_group_rows, dead), dead)
            return
        path = join(self.base, part, piece_name(i, n, j, m))
        if "://" not in path:
            os.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
        write_piece(path, ((self.sort_key(r), r)
                           for r in sorted_bounded(rows, self.sort_key, self.row_group_rows, dead)))
        yield from self._dead(dead)
        yield beam.pvalue.TaggedOutput("pieces", ((part, i, n), (j, path)))

    def _dead(self, dead: list) -> Iterator:
        """Stats (and dead letters) of rows that could not be written."""
        if not dead:
            return
        ticker = Ticker(self.stage)
        ticker.add(len(dead), 0, len(dead))
        ticker.flush()
        yield beam.pvalue.TaggedOutput("stats", (stats_key(self.stage, "in"), len(dead)))
        for r, reason in dead:
            yield beam.pvalue.TaggedOutput("stats", (stats_key(self.stage, f"rejected/{reason}"), 1))
            if self.dead_letters:
                rej = Rejection(r, reason)
                yield beam.pvalue.TaggedOutput("dead", self.dead_as(rej) if self.dead_as else rej)

    def _write(self, part: str, i: int, n: int, ordered: Iterable, dead: list) -> Iterator:
        """Rows already in shard order → ``part/part-i-of-n.parquet``, one row group at a time; stats, path."""
        path = join(self.base, part, shard_name(i, n))
        counts: Counter = Counter()
        written = 0

        def groups() -> Iterator[pa.Table]:
            nonlocal written
            batch: list = []
            for r in ordered:
                batch.append(r)
                if len(batch) >= self.row_group_rows:
                    yield from self._flush(part, batch, dead, counts)
                    written += len(batch)
                    batch = []
            if batch:
                yield from self._flush(part, batch, dead, counts)
                written += len(batch)

        size = write_groups_atomic(path, self.schema, groups(), self.compression)
        ticker = Ticker(self.stage)
        ticker.add(written, written, 0)
        ticker.flush()
        stat = beam.pvalue.TaggedOutput
        yield stat("stats", (stats_key(self.stage, "in"), written))
        yield stat("stats", (stats_key(self.stage, "out"), written))
        yield stat("stats", (stats_key(self.stage, "files"), 1))
        yield stat("stats", (stats_key(self.stage, f"bytes/{part}"), size))
        for name, v in sorted(counts.items()):
            yield stat("stats", (stats_key(self.stage, name), v))
        yield from self._dead(dead)
        yield path

    def _flush(self, part: str, batch: list, dead: list, counts: Counter) -> Iterator[pa.Table]:
        table = self._group(batch, dead)
        if table.num_rows:
            if self.count_fn:
                for name, v in self.count_fn(part, batch):
                    counts[name] += v
            yield table


class _MergeShard(_WriteShard):
    """A shard grouped in pieces: its sorted piece files merged into the Parquet file, then deleted."""

    def process(self, element: tuple[tuple[str, int, int], Iterable[tuple[int, str]]]) -> Iterator:
        (part, i, n), pieces = element
        paths = [path for _, path in sorted(pieces)]
        yield from self._write(part, i, n, merge_pieces(paths), [])
        FileSystems.delete(paths)


class WriteShardedParquet(beam.PTransform):
    """PCollection → ``<base>/<partition>/part-i-of-n.parquet``; outputs (paths, stats), or with ``parts`` (tuple of
    path PCollections, tuple of stats PCollections) unflattened, for a caller that flattens everything once
    (transforms/stage.py, ``StageParts``).

    Steps (each a fixed cost on every run, bench/STEPS.md): partition sizes, their sum per partition (a combiner),
    shard assignment (the sums as a side input; the row's partition computed again there rather than in a step of
    its own), the shard group and its writer, the piece group and its merger, and one step listing the written
    shards that writes the empty ones."""

    def __init__(self, base: str, partition: Callable[[Any], str], size: Callable[[Any], int],
                 identity: Callable[[Any], str], sort_key: Callable, schema: pa.Schema, to_row: Callable,
                 shard_bytes: int, compression: str, row_group_rows: int, stage: str,
                 count_fn: Callable | None = None, dead_letters: bool = False, piece_bytes: int | None = None,
                 parts: bool = False, dead_as: Callable | None = None, finish: Callable | None = None):
        """``piece_bytes``: group shards bigger than this in pieces merged from sorted files (None: never).
        ``dead_as``: applied to each dead letter (a ``Rejection``) in the writer itself, e.g. to make it a reject row.
        ``finish``: called once, without arguments, after the empty shards are written (even when the input is
        empty), in that same step; what it yields joins the stats."""
        super().__init__()
        # after expand, ``.dead`` (flattened) or ``.dead_parts`` hold Rejections (or ``dead_as`` of them) of rows
        # that did not convert
        self.dead_letters, self.dead_as, self.finish = dead_letters, dead_as, finish
        self.base, self.partition, self.size, self.identity, self.sort_key = base, partition, size, identity, sort_key
        self.schema, self.to_row, self.shard_bytes = schema, to_row, shard_bytes
        self.compression, self.row_group_rows, self.stage, self.count_fn = compression, row_group_rows, stage, count_fn
        self.piece_bytes, self.parts = piece_bytes, parts

    def expand(self, pcoll):
        sizes = (
            pcoll
            | "Sizes" >> beam.Map(lambda r, f=self.partition, size=self.size: (f(r), size(r)))
            | "Sum sizes" >> beam.CombinePerKey(sum)
        )
        target, piece_bytes = self.shard_bytes, self.piece_bytes

        def assign(row, totals, ident=self.identity, f=self.partition):
            part = f(row)
            total = totals.get(part, 0)
            n = max(1, math.ceil(total / target))
            m = pieces_per_shard(total, n, piece_bytes)
            i, j = shard_and_piece(ident(row), n, m)
            return (part, i, n, j, m), row

        shards = (
            pcoll
            | "Assign shard" >> beam.Map(assign, totals=beam.pvalue.AsDict(sizes))
            | "Group shard" >> beam.GroupByKey()
        )
        args = (self.base, self.schema, self.to_row, self.sort_key, self.compression, self.row_group_rows,
                self.stage, self.count_fn, self.dead_letters, self.dead_as)
        res = shards | "Write shard" >> beam.ParDo(_WriteShard(*args)).with_outputs("stats", "dead", "pieces",
                                                                                   main="paths")
        paths, stats, dead = [res.paths], [res.stats], [res.dead]
        if piece_bytes:
            merged = (res.pieces | "Group pieces" >> beam.GroupByKey()
                      | "Merge pieces" >> beam.ParDo(_MergeShard(*args)).with_outputs("stats", "dead", main="paths"))
            paths.append(merged.paths)
            stats.append(merged.stats)
            dead.append(merged.dead)
        self.dead_parts = tuple(dead)
        # no Flatten that nothing reads: on the FnApiRunner even an unread one is a stage of its own
        if self.dead_letters and not self.parts:
            self.dead = dead[0] if len(dead) == 1 else tuple(dead) | "All dead" >> beam.Flatten()
        # hash assignment can leave a shard of a small partition empty; write it as an empty file (schema
        # only) so every part-i-of-n exists and loaders that expect the full set (or count files) agree
        fill = functools.partial(_fill_missing, base=self.base, schema=self.schema, compression=self.compression,
                                 row_group_rows=self.row_group_rows, stage=self.stage, finish=self.finish)
        # one step: without ``finish``, no element when nothing was written (nothing to fill)
        filled = tuple(paths) | "Fill empty shards" >> OneList(always=self.finish is not None, then=fill)
        if self.parts:
            return tuple(paths), (*stats, filled)
        all_paths = paths[0] if len(paths) == 1 else tuple(paths) | "All shards" >> beam.Flatten()
        return all_paths, (*stats, filled) | "Sink stats" >> beam.Flatten()


def _fill_missing(paths: list[str], base: str, schema: pa.Schema, compression: str, row_group_rows: int,
                  stage: str, finish: Callable | None = None) -> Iterator[tuple[str, int]]:
    """Stats pairs for the empty shards written so each partition has all ``n`` files; then ``finish()``'s."""
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
    if finish is not None:
        yield from finish() or ()


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


def _data_writer(output: str, cfg, parts: bool) -> WriteShardedParquet:
    """Data shards; the dead letters leave as ``rejects/sink/`` rows (made in the writer: no step of their own)."""
    return WriteShardedParquet(
        join(output, "data"), doc_partition, doc_size, lambda d: f"{d.id}\x1f{d.epoch}", lambda d: (d.id, d.epoch),
        ARROW_SCHEMA, to_arrow_row, cfg.shard_bytes, cfg.compression, cfg.row_group_rows, "sink", doc_counts,
        dead_letters=True, piece_bytes=cfg.piece_bytes, parts=parts, dead_as=functools.partial(_reject_row, "sink"))


def write_documents(docs, output: str, cfg) -> tuple[Any, Any]:
    """Data shards; documents that cannot be written become ``rejects/sink/`` rows (``error:<Type>``)."""
    writer = _data_writer(output, cfg, False)
    paths, stats = docs | "Write data" >> writer
    _, dead_stats = write_rejects(writer.dead, output, cfg, "Write sink rejects")
    return paths, (stats, dead_stats) | "Sink all stats" >> beam.Flatten()


def write_outputs(docs, rejects: tuple, output: str, cfg) -> tuple:
    """A phase's data shards and rejects (``rejects``: its ``Reject`` PCollections), with the sink's dead letters
    (``rejects/sink/``) written by the same rejects writer: one writer instead of ``write_documents``' two (each
    ~20 Beam steps of fixed cost) and the same files, since reject rows are partitioned by stage. Returns the
    stats PCollections, unflattened (``transforms/stage.py``, ``StageParts``)."""
    writer = _data_writer(output, cfg, True)
    _, data_stats = docs | "Write data" >> writer
    _, reject_stats = (tuple(rejects) + writer.dead_parts) | "All rejects" >> beam.Flatten() | "Write rejects" >> \
        _rejects_writer(output, cfg, True)
    return (*data_stats, *reject_stats)


def _reject_row(stage: str, r: Rejection) -> Reject:
    from transforms.stage import to_reject

    return to_reject(stage, r, False)


def _rejects_writer(output: str, cfg, parts: bool = False) -> WriteShardedParquet:
    return WriteShardedParquet(
        join(output, "rejects"), lambda r: safe(r.stage), lambda r: 200 + len(r.text or ""),
        lambda r: f"{r.id}\x1f{r.stage}", lambda r: (r.id, r.reason, r.origin), REJECT_ARROW_SCHEMA, reject_to_row,
        cfg.shard_bytes, cfg.compression, cfg.row_group_rows, "sink.rejects", piece_bytes=cfg.piece_bytes, parts=parts)


def write_rejects(rejects, output: str, cfg, label: str = "Write rejects") -> tuple[Any, Any]:
    return rejects | label >> _rejects_writer(output, cfg)
