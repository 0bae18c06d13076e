"""The annotation store's schema: what ``yuliao annotate`` keeps per document so ``select`` never re-extracts.

One Parquet file of documents and one of rejects per input split, plus a JSON completion marker
(``transforms/store.py``). Document columns are the output schema's up to ``signals`` (text, language,
quality signals) plus ``minhash``: the near-dedup signature as little-endian uint32 bytes
(``dedup.near.num_perm`` values; null when the text has no shingles), ``token_ids``/``n_tokens`` as the
output has them, and ``tokenizer``: the fingerprint of the tokenizer settings that made them (select reuses
the ids only under the same fingerprint; null when tokenize is off). Rejects use the ``rejects/`` schema.
``signals`` also holds ``ldnoobw_term/<term>`` = count for each listed bad word a document contains (select
prunes bad words by corpus frequency from these, and drops the keys from its output).
Readable as is by DuckDB (``read_parquet('cache/*/*/*.docs.parquet')``), polars and ``datasets``.

Bump ``STORE_VERSION`` when a column changes meaning or type: a store of another version is refused
with a message naming both versions, never read silently.
"""
from __future__ import annotations

import pyarrow as pa

from schemas.document import ARROW_SCHEMA

STORE_VERSION = 1

# output columns the store keeps (everything a document has before select-phase stages run)
DOC_COLUMNS = ("id", "text", "source", "origin", "url", "title", "fetched_at", "lang", "lang_score", "script",
               "signals")

ANNOTATION_SCHEMA = pa.schema(
    [ARROW_SCHEMA.field(name) for name in DOC_COLUMNS] + [pa.field("minhash", pa.binary()),
                                                          ARROW_SCHEMA.field("token_ids"),
                                                          ARROW_SCHEMA.field("n_tokens"),
                                                          pa.field("tokenizer", pa.string())],
    metadata={"yuliao.schema": "annotation", "yuliao.store_version": str(STORE_VERSION)},
)
