"""Near dedup against published releases (``dedup.against``), and the signature index a release carries.

A release written by ``select`` holds ``index/minhash/part-*.parquet`` (id, MinHash signature of every
released document) and ``index/minhash.json`` (the signature settings). Listing a release in
``dedup.against`` adds its documents to the near-dedup graph as *prior* nodes that always win their cluster
and are never written: a new document near-duplicating one is rejected ``near_duplicate_prior`` (datatrove's
index folder and Dolma's read-only Bloom filter play this part). The index is used when its settings match
this recipe's; otherwise (or for an output without an index) the release's ``data/`` text is signed again.
Prior nodes cost what any document costs in dedup (signature, band keys): nothing is broadcast.
"""
from __future__ import annotations

import functools
import json
from typing import Iterator, Optional

import apache_beam as beam
import pyarrow as pa
from apache_beam.io.filesystems import FileSystems

from schemas.document import Document

PRIOR_SOURCE = "__prior__"  # source of prior nodes; exact.priority ranks it above every real source
PRIOR_PREFIX = "prior:"
INDEX_SCHEMA = pa.schema([pa.field("id", pa.string(), nullable=False), pa.field("minhash", pa.binary())],
                         metadata={"yuliao.schema": "minhash_index", "yuliao.schema_version": "1"})


def signature_settings(near_cfg) -> dict:
    from transforms.store import _NEAR_SIGNATURE_KEYS

    d = near_cfg.model_dump(mode="json")
    return {k: d[k] for k in _NEAR_SIGNATURE_KEYS}


def is_prior(doc: Document) -> bool:
    return doc.source == PRIOR_SOURCE


def _exists(pattern: str) -> bool:
    try:
        return bool(FileSystems.match([pattern])[0].metadata_list)
    except Exception:  # noqa: BLE001 - a pattern that matches nothing may raise on some filesystems
        return False


def resolve(path: str, near_cfg) -> tuple[str, list[str]]:
    """("index" or "data", Parquet globs) for one ``dedup.against`` entry; refuses a path that is neither."""
    from transforms.sinks import join

    settings = join(path, "index", "minhash.json")
    if _exists(settings):
        with FileSystems.open(settings, compression_type="uncompressed") as f:
            if json.loads(f.read().decode("utf-8")) == signature_settings(near_cfg):
                return "index", [join(path, "index", "minhash", "*.parquet")]
    data = join(path, "data", "*", "*", "*.parquet")
    if _exists(data):
        return "data", [data]
    raise FileNotFoundError(f"dedup.against: {path!r} holds neither index/minhash/ nor data/ of a Yuliao release")


def _prior_from_index(row: dict, origin: str) -> Document:
    return Document(id=PRIOR_PREFIX + row["id"], text="", source=PRIOR_SOURCE, origin=origin,
                    minhash=row["minhash"])


def _prior_from_data(row: dict, origin: str) -> Document:
    return Document(id=PRIOR_PREFIX + row["id"], text=row["text"], source=PRIOR_SOURCE, origin=origin,
                    lang=row.get("lang"))


def read_prior(p: beam.Pipeline, against: tuple[str, ...], near_cfg) -> Optional[beam.PCollection]:
    """Prior nodes of every release in ``against`` (None when there are none)."""
    parts = []
    for i, path in enumerate(against):
        kind, globs = resolve(path, near_cfg)
        cols = ["id", "minhash"] if kind == "index" else ["id", "text", "lang", "epoch"]
        to_doc = _prior_from_index if kind == "index" else _prior_from_data
        rows = (p | f"prior {i} files" >> beam.Create(globs)
                | f"prior {i} read" >> beam.io.ReadAllFromParquet(columns=cols))
        if kind == "data":  # balance may have repeated documents (epoch > 0): one node per document
            rows = rows | f"prior {i} first epoch" >> beam.Filter(lambda r: not r.get("epoch"))
        parts.append(rows | f"prior {i} nodes" >> beam.Map(to_doc, path).with_output_types(Document))
    if not parts:
        return None
    return parts | "prior nodes" >> beam.Flatten()


def index_rows(doc: Document, signer) -> Iterator[dict]:
    """One row per released document (first epoch): its stored signature (little-endian uint32, as written here),
    or signed now if none survived."""
    if doc.epoch != 0:
        return
    if doc.minhash is not None:  # no ``stored_or_sign``: its CJK test scans the text for nothing here
        yield {"id": doc.id, "minhash": bytes(doc.minhash)}
        return
    sig, _ = signer.sign(doc.text, doc.lang)
    if sig is not None:
        yield {"id": doc.id, "minhash": sig.astype("<u4").tobytes()}


def write_index(docs: beam.PCollection, output: str, near_cfg, sink_cfg) -> tuple:
    """``index/minhash/`` (deterministic shards, like data/) and ``index/minhash.json``; returns the stats pairs'
    PCollections, unflattened (the caller flattens every stage's at once)."""
    from transforms.sinks import WriteShardedParquet, join, write_json_atomic

    from transforms.dedup import signer_from_recipe

    rows = docs | "index rows" >> beam.FlatMap(index_rows, signer_from_recipe(near_cfg))
    settings, path = signature_settings(near_cfg), join(output, "index", "minhash.json")
    # minhash.json is written by the writer's last step (after the shards, even when there are none): no step of its own
    _, stats = rows | "Write index" >> WriteShardedParquet(
        join(output, "index"), lambda r: "minhash", lambda r: 16 + len(r["minhash"]), lambda r: r["id"],
        lambda r: r["id"], INDEX_SCHEMA, dict, 64 * 1024 * 1024, sink_cfg.compression, sink_cfg.row_group_rows,
        "sink.index", parts=True, finish=functools.partial(write_json_atomic, path, settings))
    return stats
