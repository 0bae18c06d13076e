"""`yuliao export megatron` on a real demo build: the .bin/.idx pairs are read back with a reader written here from
Megatron-Core's published IndexedDataset layout (megatron-core needs torch; not installed), and every token id of
every document is compared with the Parquet."""
from __future__ import annotations

import json
import struct

import numpy as np
import pyarrow.parquet as pq
import pytest

from pipelines.cli import main
from pipelines.demo.make import write_demo_jsonl, write_demo_warc
from tests.runners import RUNNER_MODES

CODES = {1: np.uint8, 2: np.int8, 3: np.int16, 4: np.int32, 5: np.int64, 6: np.float64, 7: np.float32, 8: np.uint16}


def read_indexed_dataset(prefix: str) -> list[np.ndarray]:
    """Megatron-Core _IndexReader + _MMapBinReader, one document per entry of document_indices."""
    with open(prefix + ".idx", "rb") as f:
        assert f.read(9) == b"MMIDIDX\x00\x00"
        assert struct.unpack("<Q", f.read(8))[0] == 1
        dtype = CODES[struct.unpack("<B", f.read(1))[0]]
        n_seq = struct.unpack("<Q", f.read(8))[0]
        n_doc = struct.unpack("<Q", f.read(8))[0]
        lengths = np.frombuffer(f.read(4 * n_seq), dtype=np.int32)
        pointers = np.frombuffer(f.read(8 * n_seq), dtype=np.int64)
        doc_index = np.frombuffer(f.read(8 * n_doc), dtype=np.int64)
        assert f.read() == b""
    data = np.memmap(prefix + ".bin", mode="r", dtype=np.uint8)
    size = np.dtype(dtype).itemsize
    assert data.size == int(lengths.sum()) * size
    docs = []
    for d in range(len(doc_index) - 1):
        seqs = [np.frombuffer(data, dtype=dtype, count=int(lengths[s]), offset=int(pointers[s]))
                for s in range(doc_index[d], doc_index[d + 1])]
        docs.append(np.concatenate(seqs) if seqs else np.zeros(0, dtype))
    return docs, dtype


def parquet_docs(shards) -> list[list[int]]:
    return [ids for f in shards for ids in pq.read_table(f, columns=["token_ids"]).column("token_ids").to_pylist()]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    d = tmp_path_factory.mktemp("in")
    write_demo_warc(str(d / "demo.warc.gz"))
    write_demo_jsonl(str(d / "demo-qa.jsonl"))
    out = tmp_path_factory.mktemp("build") / "out"
    assert main(["build", "--recipe", "demo", "--input", str(d / "demo.warc.gz"), str(d / "demo-qa.jsonl"),
                 "--output", str(out), "-q", *RUNNER_MODES["direct_in_memory"]]) == 0
    return out


def test_one_pair_per_partition_every_token_id(corpus, tmp_path):
    dest = tmp_path / "megatron"
    assert main(["export", "megatron", str(corpus), "--to", str(dest)]) == 0
    parts = sorted(p.relative_to(corpus / "data") for p in (corpus / "data").glob("*/*") if p.is_dir())
    assert len(parts) >= 3
    vocab = json.loads((corpus / "run.json").read_text())["tokenizer"]["vocab_size"]
    total_docs = 0
    for part in parts:
        prefix = str(dest / f"{part.parts[0]}-{part.parts[1]}")
        docs, dtype = read_indexed_dataset(prefix)
        assert dtype == (np.int32 if vocab >= 65500 else np.uint16)
        expected = parquet_docs(sorted((corpus / "data" / part).glob("*.parquet")))
        assert len(docs) == len(expected) > 0  # document boundaries kept: one entry per document
        for got, want in zip(docs, expected):
            assert got.tolist() == want
        total_docs += len(docs)
    blend = (dest / "data-path.txt").read_text().split()
    assert len(blend) == 2 * len(parts) and abs(sum(float(w) for w in blend[0::2]) - 1) < 1e-4
    assert total_docs == json.loads((corpus / "stats.json").read_text())["stages"]["sink"]["out"]


def test_one_pair_for_the_corpus(corpus, tmp_path):
    dest = tmp_path / "all"
    expected = parquet_docs(sorted((corpus / "data").glob("*/*/*.parquet")))
    assert main(["export", "megatron", str(corpus), "--to", str(dest), "--group", "all"]) == 0
    docs, dtype = read_indexed_dataset(str(dest / "all"))
    assert dtype == np.int32  # DeepSeek: 129,280 entries
    assert [d.tolist() for d in docs] == expected


def test_ids_that_do_not_fit_the_declared_vocabulary_are_refused(corpus, tmp_path, capsys):
    top = max(max(d) for d in parquet_docs(sorted((corpus / "data").glob("*/*/*.parquet"))))
    assert top >= 65500  # the DeepSeek ids of the demo corpus do not fit uint16
    assert main(["export", "megatron", str(corpus), "--to", str(tmp_path / "m"), "--vocab-size", "65000"]) == 2
    assert "does not fit uint16" in capsys.readouterr().err
    assert not (tmp_path / "m").exists()  # nothing published


def test_uint16_pairs_round_trip(corpus, tmp_path):
    from pipelines.export_megatron import IndexedDatasetWriter, token_dtype

    assert token_dtype(65499) is np.uint16 and token_dtype(65500) is np.int32
    docs = [[i % 65000 for i in d] for d in parquet_docs(sorted((corpus / "data").glob("*/*/*.parquet")))]
    w = IndexedDatasetWriter(str(tmp_path / "small"), token_dtype(65000))
    for d in docs:
        w.add(np.array(d, dtype=np.int64))
    w.close()
    got, dtype = read_indexed_dataset(str(tmp_path / "small"))
    assert dtype == np.uint16 and [g.tolist() for g in got] == docs


def test_count_only_corpus_is_refused(tmp_path, capsys):
    from pipelines.demo.make import write_demo_jsonl

    src = tmp_path / "qa.jsonl"
    write_demo_jsonl(str(src))
    out = tmp_path / "out"
    assert main(["build", "--recipe", "demo", "--input", str(src), "--output", str(out), "-q",
                 "--set", "tokenize.count_only=true", *RUNNER_MODES["direct_in_memory"]]) == 0
    assert main(["export", "megatron", str(out), "--to", str(tmp_path / "m")]) == 2
    assert "without token_ids" in capsys.readouterr().err
    assert not (tmp_path / "m").exists()
