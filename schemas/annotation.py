"""The annotation store's schema: what ``yuliao annotate`` keeps per document so ``select`` never re-extracts.

One Parquet file of documents and one of rejects per input split, plus a JSON completion marker
(``transforms/store.py``). Document columns are the output schema's up to ``signals`` (text, language,
quality signals) plus ``minhash``: the near-dedup signature as little-endian uint32 bytes
(``dedup.near.num_perm`` values; null when the text has no shingles), ``token_ids``/``n_tokens`` as the
output has them, and ``tokenizer``: the fingerprint of the tokenizer settings that made them (select reuses
the ids only under the same fingerprint; null when tokenize is off). ``pii_spans`` are the personal data
``transforms/pii.py`` finds in ``text`` (character offsets, end exclusive, and type) under the PII settings whose
fingerprint is ``pii_settings`` (null: not looked for, e.g. pii off), and ``pii_token_ids``/``pii_n_tokens`` the
token ids of the text those spans scrub (only for documents with spans, under ``tokenizer``): select's pii and
tokenize stages reuse them under the same fingerprints instead of scanning and encoding again, so a re-select
needs no tokenizer. Rejects use the ``rejects/`` schema.
``signals`` also holds ``ldnoobw_term/<term>`` = count for each listed bad word a document contains (select
prunes bad words by corpus frequency from these, and drops the keys from its output).
Readable as is by DuckDB (``read_parquet('cache/*/*/*.docs.parquet')``), polars and ``datasets``.

Bump ``STORE_VERSION`` when a column changes meaning or type: a store of another version is refused
with a message naming both versions, never read silently.
"""
from __future__ import annotations

import pyarrow as pa

from schemas.document import ARROW_SCHEMA

STORE_VERSION = 2  # 2: pii_settings, pii_spans, pii_token_ids, pii_n_tokens

# output columns the store keeps (everything a document has before select-phase stages run)
DOC_COLUMNS = ("id", "text", "source", "origin", "url", "title", "fetched_at", "lang", "lang_score", "script",
               "signals")

PII_SPAN = pa.struct([pa.field("start", pa.int32(), nullable=False), pa.field("end", pa.int32(), nullable=False),
                      pa.field("type", pa.string(), nullable=False)])

ANNOTATION_SCHEMA = pa.schema(
    [ARROW_SCHEMA.field(name) for name in DOC_COLUMNS] + [pa.field("minhash", pa.binary()),
                                                          ARROW_SCHEMA.field("token_ids"),
                                                          ARROW_SCHEMA.field("n_tokens"),
                                                          pa.field("tokenizer", pa.string()),
                                                          pa.field("pii_settings", pa.string()),
                                                          pa.field("pii_spans", pa.list_(PII_SPAN)),
                                                          pa.field("pii_token_ids", pa.list_(pa.uint32())),
                                                          pa.field("pii_n_tokens", pa.int64())],
    metadata={"yuliao.schema": "annotation", "yuliao.store_version": str(STORE_VERSION)},
)
