"""Input discovery and the one Beam step that runs every file reader.

Inputs are expanded at construction time through ``FileSystems`` (local, gs://, s3://, hdfs://)
and sorted, so the file list — and with it every id — is the same on every run and runner.
Each reader is a plain generator ``read(path, recipe)`` yielding ``RawPage`` (web payloads that
still need extraction), ``Document``, ``SourceReject`` or ``Count``.
"""
from __future__ import annotations

from collections import Counter
import re
from typing import Callable, Iterator, NamedTuple, Optional

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from apache_beam.transforms.window import GlobalWindows

from schemas.document import Document, doc_id
from schemas.outputs import Reject
from transforms.sources import books, documents, mediawiki, warc
from transforms.sources.raw import RawPage, SourceReject
from transforms.sources.split import Split  # noqa: F401 - re-exported: the annotate phase's unit
from transforms.progress import Ticker
from transforms.stage import REJECTS, STATS, Count, stats_key

# kind → "module:function"
# kind → reader: a generator over one split yielding RawPage, Document, SourceReject or Count
READERS: dict[str, Callable[..., Iterator]] = {
    "warc": warc.read_file,
    "jsonl": documents.read_jsonl,
    "parquet": documents.read_parquet,
    "mediawiki": mediawiki.read,
    "books": books.read,
}

# longest suffix first wins
SUFFIXES: dict[str, str] = {
    ".warc": "warc", ".warc.gz": "warc", ".arc": "warc", ".arc.gz": "warc", ".wet.gz": "warc", ".warc.wet.gz": "warc",
    ".jsonl": "jsonl", ".jsonl.gz": "jsonl", ".json.gz": "jsonl", ".jsonl.bz2": "jsonl", ".jsonl.zst": "jsonl",
    ".jsonl.xz": "jsonl", ".json.bz2": "jsonl", ".json.zst": "jsonl", ".json.xz": "jsonl",
    ".parquet": "parquet",
    ".xml": "mediawiki", ".xml.bz2": "mediawiki", ".xml.xz": "mediawiki", ".xml.gz": "mediawiki",
    ".txt": "books", ".txt.gz": "books", ".epub": "books",
}

# names suffixes cannot tell: Wikimedia's split dumps are `…pages-articles1.xml-p10p30302.bz2`
PATTERNS: list[tuple[str, str]] = [(r"\.xml-p\d+p\d+[^/]*\.(?:bz2|xz|gz)$", "mediawiki")]

# files a glob may match beside the inputs that are not inputs: a multistream dump's index (read by its planner)
SKIP: list[str] = [r"-multistream-index\d*\.txt(?:-p\d+p\d+)?\.bz2$"]

RAW = "raw"

# the source category of a rejected input record, by reader kind (web kinds use the recipe default)
KIND_SOURCE: dict[str, str] = {"mediawiki": "encyclopedia", "books": "book"}


class InputFile(NamedTuple):
    path: str
    kind: str
    size: int
    # directory part of the --input pattern that matched this file: ``name`` (the path relative to it) does
    # not depend on how the path was spelled (relative, absolute, gs://…) and keys ids and the annotate cache
    root: str = ""
    mtime: float = 0.0  # modification time from the filesystem's metadata (part of the annotate cache key)

    @property
    def name(self) -> str:
        root = self.root.rstrip("/") + "/" if self.root else ""
        return self.path[len(root):] if root and self.path.startswith(root) else self.path.rsplit("/", 1)[-1]


# kinds whose files split into several units: "module:function" (path, kind, name, size, recipe) -> [Split]
# kind → split planner (cheap metadata only); kinds without one are read one file per split
PLANNERS: dict[str, Callable[..., list]] = {
    "jsonl": documents.plan_jsonl,
    "parquet": documents.plan_parquet,
    "mediawiki": mediawiki.plan,
}


def plan_splits(f: InputFile, recipe) -> list[Split]:
    """The splits of one input file, from cheap metadata only (a Parquet footer, a dump's multistream index,
    a file's first bytes): plain JSONL by byte range, Parquet by row groups, multistream dumps by streams;
    everything else (WARC, books, compressed JSONL) is one split."""
    whole = [Split(f.path, f.kind, f.name, f.size)]
    if f.kind not in PLANNERS:
        return whole
    try:
        return PLANNERS[f.kind](f.path, f.kind, f.name, f.size, recipe)
    except Exception:  # noqa: BLE001 - unreadable metadata (a cut Parquet footer …): the reader of the whole
        return whole   # file reports it as a counted reject instead of the planner failing the job


def pattern_root(pattern: str) -> str:
    """The directory of a glob before its first wildcard: ``crawl/2024/*.warc.gz`` → ``crawl/2024``."""
    cut = min((i for i, ch in enumerate(pattern) if ch in "*?["), default=len(pattern))
    head = pattern[:cut]
    return head.rsplit("/", 1)[0] if "/" in head else ""


def kind_of(path: str) -> str | None:
    low = path.lower()
    for suffix in sorted(SUFFIXES, key=len, reverse=True):
        if low.endswith(suffix):
            return SUFFIXES[suffix]
    for pattern, kind in PATTERNS:
        if re.search(pattern, low):
            return kind
    return None


def expand_inputs(patterns: list[str], kind: str | None = None) -> list[InputFile]:
    """Match globs to files; every file needs a known kind (by extension, or ``kind``)."""
    files: dict[str, InputFile] = {}
    for pattern in patterns:
        result = FileSystems.match([pattern])[0]
        if not result.metadata_list:
            raise FileNotFoundError(f"--input {pattern!r} matched no files")
        for meta in result.metadata_list:
            if any(re.search(rx, meta.path.lower()) for rx in SKIP):
                continue
            k = kind or kind_of(meta.path)
            if k is None:
                raise ValueError(f"cannot tell the input kind of {meta.path!r} from its extension; pass --kind")
            if k not in READERS:
                raise ValueError(f"unknown input kind {k!r}; known: {', '.join(sorted(READERS))}")
            files[meta.path] = InputFile(meta.path, k, meta.size_in_bytes, _root_for(pattern, meta.path),
                                         round(float(meta.last_updated_in_seconds or 0.0), 3))
    return [files[p] for p in sorted(files)]


def _root_for(pattern: str, path: str) -> str:
    """``pattern_root`` in the spelling FileSystems gave ``path`` (it may have made the path absolute)."""
    root = pattern_root(pattern)
    if "://" in path or not root and not path.startswith("/"):
        return root
    import os

    return os.path.abspath(root or ".") if path.startswith("/") else root


def reader_for(kind: str) -> Callable[..., Iterator]:
    return READERS[kind]


def read_split(split: Split, recipe) -> Iterator:
    """The kind's reader over one split."""
    return reader_for(split.kind)(split, recipe)


def read_unit(split: Split, recipe, counts: Counter) -> Iterator[RawPage | Document | Reject]:
    """Every record of one split: documents, raw web pages, or ``Reject`` rows; ``counts`` gets the
    ``source.<kind>`` counters. A split that cannot be read is a dead letter, not a crash: records before the
    failure are kept, and a file whose first split yields nothing at all is counted as ``empty_input``
    (a later range split may legitimately hold no record start)."""
    kind = split.kind
    stage = f"source.{kind}"
    source = KIND_SOURCE.get(kind, recipe.sources.default_source)
    counts["files"] += 1 if split.index == 0 else 0
    counts["splits"] += 1
    where = split.name if split.index == 0 else f"{split.name}:split{split.index}"
    seen = False

    def reject(origin: str, reason: str, id_key: str, url: str | None = None) -> Reject:
        counts["in"] += 1
        counts[f"rejected/{reason}"] += 1
        return Reject(id=doc_id(kind, origin, id_key), source=source, origin=origin, stage=stage, reason=reason,
                      url=url)

    try:
        for rec in read_split(split, recipe):
            seen = True
            if isinstance(rec, Count):
                counts[rec.name] += rec.value
            elif isinstance(rec, SourceReject):
                yield reject(rec.origin, rec.reason, "reject", rec.url)
            else:
                counts["in"] += 1
                counts["out"] += 1
                yield rec
    except Exception as exc:  # noqa: BLE001 - unreadable file: counted dead letter; records before it kept
        seen = True
        yield reject(where, f"file_error:{type(exc).__name__}", "file")
    if not seen and split.index == 0:  # nothing at all came out of the file: say so rather than lose it silently
        yield reject(where, "empty_input", "file")


class PlanSplits(beam.DoFn):
    """``plan_splits`` on a worker: reading footers and dump indexes never happens on the launcher."""

    def __init__(self, recipe):
        self.recipe = recipe

    def process(self, f: InputFile) -> Iterator[Split]:
        yield from plan_splits(f, self.recipe)


class ReadFiles(beam.DoFn):
    """Runs ``read_unit`` for each split inside a Beam pipeline."""

    def __init__(self, recipe):
        self.recipe = recipe

    def process(self, split: Split) -> Iterator:
        stage = f"source.{split.kind}"
        counts: Counter = Counter()
        for rec in read_unit(split, self.recipe, counts):
            if isinstance(rec, Reject):
                yield beam.pvalue.TaggedOutput(REJECTS, rec)
            elif isinstance(rec, RawPage):
                yield beam.pvalue.TaggedOutput(RAW, rec)
            else:
                yield rec
        ticker = Ticker(stage)
        ticker.add(counts["in"], counts["out"], counts["in"] - counts["out"])
        ticker.flush()
        for name, n in sorted(counts.items()):
            yield beam.pvalue.TaggedOutput(STATS, (stats_key(stage, name), n))


class SourceOutputs(NamedTuple):
    docs: beam.PCollection
    raw: beam.PCollection
    rejects: beam.PCollection
    stats: beam.PCollection


def read_sources(p: beam.Pipeline, files: list[InputFile], recipe) -> SourceOutputs:
    """Files → splits (planned on workers) → ``Reshuffle`` → readers: the splits of one large file spread
    over every worker, and the per-document stages after the readers run where the splits were read."""
    res = (
        p
        | "Input files" >> beam.Create(files)
        | "Plan splits" >> beam.ParDo(PlanSplits(recipe))
        | "Spread splits" >> beam.Reshuffle()
        | "Read" >> beam.ParDo(ReadFiles(recipe)).with_outputs(RAW, REJECTS, STATS, main="docs")
    )
    # a split holds many records (a WARC file: thousands of pages): break fusion so extraction and the
    # per-document stages spread over all workers instead of running where the split was read
    docs = res.docs | "Spread documents" >> beam.Reshuffle()
    raw = res[RAW] | "Spread pages" >> beam.Reshuffle()
    return SourceOutputs(docs, raw, res[REJECTS], res[STATS])
