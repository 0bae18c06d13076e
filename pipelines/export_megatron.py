"""``yuliao export megatron OUTPUT --to DIR``: token Parquet → Megatron-LM indexed datasets (``.bin``/``.idx``).

The format is Megatron-Core's ``IndexedDataset`` (megatron/core/datasets/indexed_dataset.py): the ``.bin``
holds every document's token ids back to back in one dtype; the ``.idx`` holds the header
``MMIDIDX\\x00\\x00``, version 1 (<Q), the dtype code (<B), the sequence count and the document-index count
(<Q each), then the sequence lengths (int32), their byte offsets in the ``.bin`` (int64) and the document
indices (int64: ``0`` followed by the sequence count after each document). One document is one sequence
here, so document boundaries are kept exactly; the EOS the tokenize stage appended stays at each end.

The token dtype follows Megatron's ``DType.optimal_dtype``: uint16 when the vocabulary has fewer than
65,500 entries, else int32. One pair per ``data/<lang>/<source>`` partition (``--group partition``) or one
for the whole corpus (``--group all``), plus ``data-path.txt``: the ``--data-path`` blend (weights = token
shares), for Megatron's ``BlendedDataset``. Reading is one Parquet row group at a time (bounded memory).
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import struct
from array import array
from typing import Iterator, Optional

import numpy as np

INDEX_HEADER = b"MMIDIDX\x00\x00"
INDEX_VERSION = 1
# Megatron-Core DType codes
DTYPE_CODES = {np.uint8: 1, np.int8: 2, np.int16: 3, np.int32: 4, np.int64: 5, np.float64: 6, np.float32: 7,
               np.uint16: 8}


class ExportError(ValueError):
    """The corpus cannot be exported as asked (exit 2)."""


def token_dtype(vocab_size: int) -> type:
    """Megatron's choice: uint16 below 65,500 entries, else int32."""
    return np.uint16 if vocab_size < 65500 else np.int32


def vocab_size_of(corpus: str) -> int:
    """The vocabulary size run.json recorded for the tokenizer (``yuliao build`` writes it)."""
    try:
        with open(os.path.join(corpus, "run.json"), encoding="utf-8") as f:
            run = json.load(f)
    except FileNotFoundError:
        raise ExportError(f"{corpus}/run.json not found: the vocabulary size (token dtype) is unknown") from None
    tok = run.get("tokenizer") or {}
    if not tok.get("vocab_size"):
        raise ExportError(f"{corpus}/run.json names no tokenizer: was the tokenize stage enabled?")
    return int(tok["vocab_size"])


def partitions(corpus: str) -> dict[str, list[str]]:
    """``lang/source`` → its Parquet shards in name order."""
    out: dict[str, list[str]] = {}
    for path in sorted(glob.glob(os.path.join(corpus, "data", "*", "*", "*.parquet"))):
        lang, source = path.split(os.sep)[-3:-1]
        out.setdefault(f"{lang}/{source}", []).append(path)
    return out


def documents(shards: list[str]) -> Iterator[np.ndarray]:
    """Token ids of every document of ``shards`` in file and row order, one row group in memory at a time."""
    import pyarrow.parquet as pq

    for path in shards:
        pf = pq.ParquetFile(path)
        for g in range(pf.num_row_groups):
            col = pf.read_row_group(g, columns=["token_ids"]).column("token_ids")
            for chunk in col.chunks:
                if chunk.null_count:
                    raise ExportError(f"{path}: documents without token_ids (tokenize.count_only?): nothing to export")
                offsets = chunk.offsets.to_numpy()
                values = chunk.values.to_numpy(zero_copy_only=False)
                for i in range(len(chunk)):
                    yield values[offsets[i]:offsets[i + 1]]


class IndexedDatasetWriter:
    """Writes one ``prefix.bin`` / ``prefix.idx`` pair, a document at a time."""

    def __init__(self, prefix: str, dtype: type):
        self.prefix, self.dtype = prefix, dtype
        self.limit = np.iinfo(dtype).max
        self._bin = open(prefix + ".bin", "wb")
        self.lengths = array("i")
        self.tokens = 0

    def add(self, ids: np.ndarray) -> None:
        if len(ids) and int(ids.max()) > self.limit:
            raise ExportError(f"token id {int(ids.max())} does not fit {np.dtype(self.dtype).name}: wrong vocab size?")
        self._bin.write(np.asarray(ids, dtype=self.dtype).tobytes(order="C"))
        self.lengths.append(len(ids))
        self.tokens += len(ids)

    def close(self) -> None:
        self._bin.close()
        lengths = np.frombuffer(self.lengths, dtype=np.int32) if len(self.lengths) else np.zeros(0, np.int32)
        itemsize = np.dtype(self.dtype).itemsize
        pointers = np.zeros(len(lengths), dtype=np.int64)
        if len(lengths) > 1:
            pointers[1:] = np.cumsum(lengths[:-1], dtype=np.int64) * itemsize
        doc_index = np.arange(len(lengths) + 1, dtype=np.int64)  # one sequence per document
        with open(self.prefix + ".idx", "wb") as f:
            f.write(INDEX_HEADER)
            f.write(struct.pack("<Q", INDEX_VERSION))
            f.write(struct.pack("<B", DTYPE_CODES[self.dtype]))
            f.write(struct.pack("<Q", len(lengths)))
            f.write(struct.pack("<Q", len(doc_index)))
            f.write(lengths.tobytes(order="C"))
            f.write(pointers.tobytes(order="C"))
            f.write(doc_index.tobytes(order="C"))


def export(corpus: str, dest: str, group: str = "partition", vocab_size: Optional[int] = None) -> dict[str, dict]:
    """Write the pairs into ``dest`` (an existing, local folder); returns prefix → documents, tokens."""
    vocab = vocab_size or vocab_size_of(corpus)
    dtype = token_dtype(vocab)
    parts = partitions(corpus)
    if not parts:
        raise ExportError(f"no Parquet shards under {corpus}/data")
    groups = {"all": [s for k in sorted(parts) for s in parts[k]]} if group == "all" else \
        {k.replace("/", "-"): v for k, v in sorted(parts.items())}
    out: dict[str, dict] = {}
    for name, shards in groups.items():
        w = IndexedDatasetWriter(os.path.join(dest, name), dtype)
        try:
            for ids in documents(shards):
                w.add(ids)
        finally:
            w.close()
        out[name] = {"documents": len(w.lengths), "tokens": w.tokens, "dtype": np.dtype(dtype).name}
    total = sum(v["tokens"] for v in out.values()) or 1
    with open(os.path.join(dest, "data-path.txt"), "w", encoding="utf-8") as f:
        # Megatron --data-path "w1 prefix1 w2 prefix2 …": weights as token shares, prefixes relative to dest
        f.write(" ".join(f"{v['tokens'] / total:.6f} {k}" for k, v in out.items()) + "\n")
    with open(os.path.join(dest, "export.json"), "w", encoding="utf-8") as f:
        json.dump({"format": "megatron-indexed-dataset", "vocab_size": vocab, "group": group, "datasets": out}, f,
                  indent=1, sort_keys=True)
    return out


def add_arguments(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("output", help="output directory of a build (with token_ids)")
    ap.add_argument("--to", required=True, dest="dest", help="folder for the .bin/.idx pairs (local)")
    ap.add_argument("--group", choices=("partition", "all"), default="partition",
                    help="partition: one pair per language-source; all: one pair for the corpus as balanced")
    ap.add_argument("--vocab-size", type=int, default=None, help="default: the tokenizer's, from run.json")
    ap.add_argument("--force", action="store_true", help="write into a folder holding files Yuliao did not write")


def cmd_export_megatron(args: argparse.Namespace) -> int:
    from pipelines.publish import staged_output

    if "://" in args.output or "://" in args.dest:
        raise ExportError("export megatron reads and writes local folders")
    if not os.path.isfile(os.path.join(args.output, "stats.json")):
        raise ExportError(f"{args.output} is not a yuliao build output (no stats.json)")
    with staged_output(args.dest, args.force) as st:
        result = export(args.output, st.path, args.group, args.vocab_size)
    for name, v in result.items():
        print(f"{name}: {v['documents']:,} documents, {v['tokens']:,} tokens ({v['dtype']})")
    print(f"output: {args.dest}")
    return 0
