"""Shards bigger than ``sink.piece_bytes`` reach workers in pieces (sorted to temp files, then merged): the files,
row order, row groups and stats are byte-identical to grouping whole shards, dead letters included, and no piece
file is left behind."""
from __future__ import annotations

import json
import random
from pathlib import Path

import apache_beam as beam
import pyarrow.parquet as pq
import pytest

from pipelines.recipe import SinkConfig
from schemas.document import Document
from tests.gutenberg import book_paragraphs
from transforms import sinks
from transforms.sinks import merge_pieces, write_piece

_STATS: dict = {}


def _keep_stats(kvs, name):
    """Module-level (pickled by reference), so the in-memory DirectRunner fills this module's ``_STATS``."""
    _STATS[name] = dict(kvs)


@pytest.fixture(scope="module")
def docs(data_dir) -> list[Document]:
    paras = book_paragraphs(data_dir, 100)
    rng = random.Random(5)
    out = []
    for i in range(900):
        text = "\n\n".join(paras[rng.randrange(len(paras))] for _ in range(2))
        out.append(Document(id=f"d{rng.randrange(400):04d}", text=text, source="book", origin=f"o{i}",
                            lang="en" if i % 3 else "zh", epoch=i % 2, token_ids=[1, 2, 3], n_tokens=3))
    out[17] = out[17]._replace(token_ids=[-1])  # uint32 column: Arrow refuses it → dead letter at conversion
    return out  # ids repeat (ties within and across pieces), arrival order shuffled


def _build(docs: list[Document], out: Path, piece_bytes: int) -> dict:
    from transforms.sinks import write_documents

    cfg = SinkConfig(shard_bytes=150_000, row_group_rows=40, piece_bytes=piece_bytes)
    with beam.Pipeline("DirectRunner") as p:
        _, stats = write_documents(p | beam.Create(docs, reshuffle=False), str(out), cfg)
        stats | beam.CombinePerKey(sum) | beam.combiners.ToList() | beam.Map(_keep_stats, out.name)
    return _STATS[out.name]


def test_pieces_give_the_same_bytes_and_stats_as_whole_shards(tmp_path, docs, monkeypatch):
    pieces: list[str] = []
    real = sinks.write_piece

    def recording(path, ordered):
        pieces.append(path)
        return real(path, ordered)

    whole = _build(docs, tmp_path / "whole", 1 << 40)  # no shard is bigger: one group per shard
    assert not pieces
    monkeypatch.setattr(sinks, "write_piece", recording)
    cut = _build(docs, tmp_path / "cut", 15_000)  # ~10 pieces per 150 kB shard
    shards = {p.split(".tmp-piece")[0] for p in pieces}
    assert len(pieces) >= 5 * len(shards) and len(shards) >= 4
    assert cut == whole
    assert sum(v for k, v in whole.items() if k.startswith("sink\x1frejected/error:")) == 1
    files = sorted(p.relative_to(tmp_path / "whole") for p in (tmp_path / "whole").rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(tmp_path / "cut") for p in (tmp_path / "cut").rglob("*") if p.is_file())
    assert not [f for f in files if ".tmp-" in f.name]  # pieces deleted, nothing half-written
    for rel in files:
        assert (tmp_path / "whole" / rel).read_bytes() == (tmp_path / "cut" / rel).read_bytes(), rel
    rows = [r for f in files if f.parts[0] == "data" for r in pq.read_table(tmp_path / "cut" / f).to_pylist()]
    assert len(rows) == len(docs) - 1
    multi = [f for f in files if f.parts[0] == "data" and pq.read_metadata(tmp_path / "cut" / f).num_row_groups > 1]
    assert multi  # shards span several row groups, so row-group cuts are compared too
    rejects = [r for f in files if f.parts[0] == "rejects" for r in pq.read_table(tmp_path / "cut" / f).to_pylist()]
    assert [r["origin"] for r in rejects] == ["o17"]


def test_merge_is_sort_order_with_ties_in_piece_order(tmp_path):
    rng = random.Random(9)
    rows = [(rng.randrange(30), k) for k in range(2000)]
    runs = [rows[j::7] for j in range(7)]
    paths = []
    for j, run in enumerate(runs):
        path = str(tmp_path / f"p{j}")
        assert write_piece(path, ((r[0], r) for r in sorted(run, key=lambda r: r[0]))) == len(run)
        paths.append(path)
    got = list(merge_pieces(paths))
    expect = sorted((r for run in runs for r in run), key=lambda r: r[0])  # stable: run order, then arrival
    assert got == expect
    assert json.dumps(got) != json.dumps(sorted(rows))  # ties really occur and are not broken by value
