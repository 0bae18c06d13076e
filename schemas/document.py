"""The document record every stage consumes and produces.

A ``NamedTuple`` registered with Beam's ``RowCoder`` so every runner (Direct, Portable, Dataflow,
Spark, Flink) encodes it the same way; ``ARROW_SCHEMA`` mirrors it field for field for the
Parquet sinks. Bump ``schemas/SCHEMA_VERSION`` when a field changes meaning or type.
"""
from __future__ import annotations

import hashlib
from importlib import resources
from typing import Mapping, NamedTuple, Optional, Sequence

import apache_beam as beam
import pyarrow as pa

SCHEMA_VERSION: int = int(resources.files("schemas").joinpath("SCHEMA_VERSION").read_text().strip())


PII_TYPES: tuple[str, ...] = ("EMAIL", "IP", "ID_NUMBER", "BANK_CARD", "PASSPORT", "QQ", "WECHAT", "PHONE", "SSN")
"""The PII types ``transforms/pii.py`` finds, in its priority order; ``Document.pii_spans`` index into it."""


class Document(NamedTuple):
    id: str
    text: str
    source: str
    origin: str
    url: Optional[str] = None
    title: Optional[str] = None
    fetched_at: Optional[str] = None
    lang: Optional[str] = None
    lang_score: Optional[float] = None
    script: Optional[str] = None
    signals: Mapping[str, float] = {}
    dup_cluster: Optional[str] = None
    dup_cluster_size: Optional[int] = None
    pii: Mapping[str, int] = {}
    token_ids: Optional[Sequence[int]] = None
    n_tokens: Optional[int] = None
    epoch: int = 0
    # near-dedup MinHash signature (uint32 little-endian bytes) computed once by the annotate phase; kept in the
    # annotation store, never in the output data (``to_arrow_row`` drops it). None: not computed (or invalidated
    # by a stage that changed the text), so dedup signs the text itself.
    minhash: Optional[bytes] = None
    # PII the annotate phase found in ``text`` (``transforms.pii.spans_to_flat``: start, end, type index, …; empty:
    # none) under the select recipe's PII settings, and the token ids of the text those spans scrub: select's pii
    # stage then neither scans nor re-tokenises. None: not known (other settings, or the text changed since).
    # Store-only, like ``minhash``: never in the output data.
    pii_spans: Optional[Sequence[int]] = None
    pii_token_ids: Optional[Sequence[int]] = None
    pii_n_tokens: Optional[int] = None


beam.coders.registry.register_coder(Document, beam.coders.RowCoder)


def doc_id(kind: str, origin: str, offset: int | str = 0) -> str:
    """Stable id from where the document came from, never random, so reruns agree."""
    h = hashlib.blake2b(f"{kind}\x1f{origin}\x1f{offset}".encode("utf-8", "surrogatepass"), digest_size=12)
    return h.hexdigest()


def kv_list(value_type: pa.DataType) -> pa.DataType:
    """A string-keyed map stored as ``list<struct<key, value>>`` (the physical layout of an Arrow map):
    HF ``datasets`` cannot load Arrow ``map`` columns at all, while this type loads as is in datasets
    (a list of {key, value} dicts), DuckDB (``map_from_entries(signals)`` gives a MAP) and polars."""
    return pa.list_(pa.struct([pa.field("key", pa.string(), nullable=False), pa.field("value", value_type)]))


ARROW_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("text", pa.string(), nullable=False),
        pa.field("source", pa.string(), nullable=False),
        pa.field("origin", pa.string(), nullable=False),
        pa.field("url", pa.string()),
        pa.field("title", pa.string()),
        pa.field("fetched_at", pa.string()),
        pa.field("lang", pa.string()),
        pa.field("lang_score", pa.float32()),
        pa.field("script", pa.string()),
        pa.field("signals", kv_list(pa.float64())),
        pa.field("dup_cluster", pa.string()),
        pa.field("dup_cluster_size", pa.int32()),
        pa.field("pii", kv_list(pa.int32())),
        pa.field("token_ids", pa.list_(pa.uint32())),
        pa.field("n_tokens", pa.int64()),  # int64: a polars/Arrow sum over a corpus passes 2**31
        pa.field("epoch", pa.int16(), nullable=False),
    ],
    metadata={"yuliao.schema": "document", "yuliao.schema_version": str(SCHEMA_VERSION)},
)


STORE_ONLY = ("minhash", "pii_spans", "pii_token_ids", "pii_n_tokens")
"""``Document`` fields the annotation store keeps and the output data never has."""


def to_arrow_row(doc: Document) -> dict:
    """Plain dict in ARROW_SCHEMA order; maps sorted so byte output does not depend on insertion order."""
    row = doc._asdict()
    for key in STORE_ONLY:
        del row[key]
    row["signals"] = sorted((row["signals"] or {}).items())
    row["pii"] = sorted((row["pii"] or {}).items())
    row["token_ids"] = list(row["token_ids"]) if row["token_ids"] is not None else None
    return row


def kv_to_dict(v) -> dict:
    """Inverse of the ``kv_list`` layout; also accepts a dict or (key, value) pairs (Arrow map reads)."""
    if not v:
        return {}
    if isinstance(v, Mapping):
        return dict(v)
    return {e["key"]: e["value"] for e in v} if isinstance(v[0], Mapping) else dict(v)


def from_arrow_row(row: Mapping) -> Document:
    d = dict(row)
    for key in ("signals", "pii"):
        v = d.get(key)
        d[key] = kv_to_dict(v)
    return Document(**{k: d.get(k, Document._field_defaults.get(k)) for k in Document._fields})


def annotation_row(doc: Document, tokenizer: Optional[str] = None, pii_settings: Optional[str] = None) -> dict:
    """A row of the annotation store (``schemas/annotation.py``); ``tokenizer``: fingerprint of the token ids,
    ``pii_settings``: of the PII settings ``doc.pii_spans`` were found with."""
    spans = doc.pii_spans
    return {"id": doc.id, "text": doc.text, "source": doc.source, "origin": doc.origin, "url": doc.url,
            "title": doc.title, "fetched_at": doc.fetched_at, "lang": doc.lang, "lang_score": doc.lang_score,
            "script": doc.script, "signals": sorted((doc.signals or {}).items()), "minhash": doc.minhash,
            "token_ids": list(doc.token_ids) if doc.token_ids is not None else None, "n_tokens": doc.n_tokens,
            "tokenizer": tokenizer if doc.n_tokens is not None or doc.pii_n_tokens is not None else None,
            "pii_settings": pii_settings if spans is not None else None,
            "pii_spans": None if spans is None else [{"start": spans[i], "end": spans[i + 1],
                                                      "type": PII_TYPES[spans[i + 2]]}
                                                     for i in range(0, len(spans), 3)],
            "pii_token_ids": list(doc.pii_token_ids) if doc.pii_token_ids is not None else None,
            "pii_n_tokens": doc.pii_n_tokens}


def replace(doc: Document, **changes) -> Document:
    return doc._replace(**changes)
