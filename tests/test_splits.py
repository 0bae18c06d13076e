"""Splitting readers (#15): compressed JSONL, byte-range and row-group splits, multistream dumps, the JSONL line
cap, truncated compressed files, spelling-independent ids, untrusted user ids, worker-side checksums."""
from __future__ import annotations

import bz2
import gzip
import hashlib
import json
import lzma
import os
import random
import tracemalloc
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import zstandard

from pipelines.recipe import load_recipe
from schemas.document import Document
from schemas.outputs import Reject
from transforms.sources.checksum import checksum_split, file_fingerprint, sha256_range
from transforms.sources.read import InputFile, Split, expand_inputs, plan_splits, read_unit

ENWIKI = "wiki/enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2"
COMPRESS = {"gz": gzip.compress, "bz2": lambda b: bz2.compress(b, 1), "zst": zstandard.ZstdCompressor().compress,
            "xz": lzma.compress}


def read_all(pattern: str, *overrides: str, kind: str | None = None):
    """Every record of every split of the files ``pattern`` matches, and the summed counters."""
    recipe = load_recipe(overrides=list(overrides))
    counts: Counter = Counter()
    out, splits = [], []
    for f in expand_inputs([pattern], kind):
        for s in plan_splits(f, recipe):
            splits.append(s)
            out.extend(read_unit(s, recipe, counts))
    docs = [r for r in out if isinstance(r, Document)]
    rejects = [r for r in out if isinstance(r, Reject)]
    return docs, rejects, counts, splits


def real_lines(data_dir: Path, n: int) -> list[str]:
    """JSONL lines of real sentences (lingua test set, 79 languages, incl. multi-byte zh/ja/ko)."""
    sentences = []
    for f in sorted((data_dir / "misc/langid/lingua-sentences").glob("*.txt.gz")):
        sentences += gzip.decompress(f.read_bytes()).decode().splitlines()[:40]
    rng = random.Random(7)
    return [json.dumps({"text": " ".join(rng.sample(sentences, rng.randint(1, 6))), "url": f"https://x.test/{i}"},
                       ensure_ascii=rng.random() < 0.5) for i in range(n)]


def key(docs):
    return [(d.id, d.origin, d.text) for d in docs]


# ---------------------------------------------------------------- JSONL


@pytest.mark.parametrize("ext", sorted(COMPRESS))
def test_compressed_jsonl_reads_every_record(data_dir, tmp_path, ext):
    lines = real_lines(data_dir, 500)
    data = ("\n".join(lines) + "\n").encode()
    (tmp_path / "plain").mkdir()
    (tmp_path / "plain/a.jsonl").write_bytes(data)
    (tmp_path / "c").mkdir()
    (tmp_path / f"c/a.jsonl.{ext}").write_bytes(COMPRESS[ext](data))
    plain = read_all(str(tmp_path / "plain/a.jsonl"))[0]
    docs, rejects, counts, splits = read_all(str(tmp_path / f"c/a.jsonl.{ext}"))
    assert rejects == [] and len(splits) == 1
    assert [d.text for d in docs] == [json.loads(x)["text"] for x in lines]
    assert [d.origin.split("@")[1] for d in docs] == [d.origin.split("@")[1] for d in plain]  # same offsets
    assert counts["in"] == counts["out"] == 500


@pytest.mark.parametrize("n,split_bytes", [(12, 1), (300, 97), (300, 4096), (300, 10**9)])
def test_byte_range_splits_read_each_record_once(data_dir, tmp_path, n, split_bytes):
    lines = real_lines(data_dir, n)
    lines[3] = ""  # a blank line
    lines[5] = '{"text": "no newline at the end"}'
    lines.append(lines.pop(5))
    (tmp_path / "a.jsonl").write_bytes("\n".join(lines).encode())  # last line without its newline
    whole = read_all(str(tmp_path / "a.jsonl"))[0]
    docs, rejects, counts, splits = read_all(str(tmp_path / "a.jsonl"), f"sources.split_bytes={split_bytes}")
    size = (tmp_path / "a.jsonl").stat().st_size
    assert len(splits) == (1 if split_bytes >= size else -(-size // split_bytes))
    assert rejects == []
    assert key(docs) == key(whole) and len(whole) == n - 1
    assert counts["files"] == 1 and counts["splits"] == len(splits)


def test_line_cap_skips_long_line_without_reading_it(tmp_path):
    big = 30_000_000
    with open(tmp_path / "a.jsonl", "wb") as f:
        f.write(b'{"text": "before"}\n{"text": "')
        for _ in range(big // 1_000_000):
            f.write(b"y" * 1_000_000)
        f.write(b'"}\n{"text": "after"}\n')
    tracemalloc.start()
    docs, rejects, counts, _ = read_all(str(tmp_path / "a.jsonl"), "sources.max_line_bytes=1000000",
                                        "sources.split_bytes=7000000")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert [d.text for d in docs] == ["before", "after"]
    assert [r.reason for r in rejects] == ["line_too_long"]
    assert rejects[0].origin == "a.jsonl@19"
    assert counts["rejected/line_too_long"] == 1
    assert peak < 12_000_000, peak  # the 30 MB line was never held


@pytest.mark.parametrize("ext", sorted(COMPRESS))
def test_truncated_compressed_jsonl_keeps_records_before_cut(data_dir, tmp_path, ext):
    lines = real_lines(data_dir, 6000)
    full = COMPRESS[ext](("\n".join(lines) + "\n").encode())
    (tmp_path / f"a.jsonl.{ext}").write_bytes(full[: int(len(full) * 0.7)])
    docs, rejects, counts, _ = read_all(str(tmp_path / f"a.jsonl.{ext}"))
    assert [r.reason for r in rejects] == ["truncated"]
    assert 0 < len(docs) < 6000
    assert [d.text for d in docs] == [json.loads(x)["text"] for x in lines[: len(docs)]]
    assert counts["in"] == len(docs) + 1


def test_corrupt_compressed_jsonl_is_a_counted_reject(tmp_path):
    good = gzip.compress(b'{"text": "one"}\n' * 10)
    (tmp_path / "a.jsonl.gz").write_bytes(good[:20] + bytes(200) + good[220:])
    docs, rejects, counts, _ = read_all(str(tmp_path / "a.jsonl.gz"))
    assert len(rejects) == 1 and rejects[0].reason.startswith(("compressed_error:", "truncated"))
    (tmp_path / "b.jsonl.gz").write_bytes(b"")
    assert [r.reason for r in read_all(str(tmp_path / "b.jsonl.gz"))[1]] == ["empty_input"]


def test_ids_do_not_depend_on_path_spelling(tmp_path, monkeypatch):
    (tmp_path / "data").mkdir()
    (tmp_path / "data/x.jsonl").write_text('{"text": "a"}\n{"text": "b"}\n')
    absolute = read_all(str(tmp_path / "data/x.jsonl"))[0]
    monkeypatch.chdir(tmp_path)
    relative = read_all("data/x.jsonl")[0]
    monkeypatch.chdir(tmp_path / "data")
    dotted = read_all("./x.jsonl")[0]
    glob = read_all(str(tmp_path / "data/*.jsonl"))[0]
    assert key(absolute) == key(relative) == key(dotted) == key(glob)
    assert absolute[0].origin == "x.jsonl@0"


def test_colliding_user_ids_never_merge_documents(tmp_path):
    lines = ['{"id": "0", "text": "first file"}\n', '{"id": 0, "text": "again zero"}\n', '{"id": "1", "text": "one"}\n']
    (tmp_path / "a.jsonl").write_text("".join(lines))
    at = [0, len(lines[0]), len(lines[0]) + len(lines[1])]
    pq.write_table(pa.table({"id": ["0", "0"], "text": ["parquet zero", "parquet zero again"]}), tmp_path / "b.parquet")
    docs, rejects, counts, _ = read_all(str(tmp_path / "*"))
    assert rejects == []
    assert len(docs) == 5 and len({d.id for d in docs}) == 5
    assert [d.origin for d in docs] == [f"a.jsonl@{at[0]}#id=0", f"a.jsonl@{at[1]}#id=0", f"a.jsonl@{at[2]}#id=1",
                                        "b.parquet#0#id=0", "b.parquet#1#id=0"]
    assert counts["duplicate_user_id"] == 2  # one repeat in each file; "0" in two files is no duplicate


# ---------------------------------------------------------------- Parquet


def test_parquet_row_group_splits_stream_batches(data_dir, tmp_path):
    lines = [json.loads(x) for x in real_lines(data_dir, 2000)]
    table = pa.table({"text": [r["text"] for r in lines], "url": [r["url"] for r in lines]})
    pq.write_table(table, tmp_path / "a.parquet", row_group_size=150)
    whole = read_all(str(tmp_path / "a.parquet"))[0]
    docs, rejects, counts, splits = read_all(str(tmp_path / "a.parquet"), "sources.split_bytes=30000",
                                             "sources.parquet_batch_rows=64")
    assert len(splits) > 3 and [s.index for s in splits] == list(range(len(splits)))
    assert splits[-1].stop == pq.ParquetFile(tmp_path / "a.parquet").metadata.num_row_groups
    assert all(a.stop == b.start for a, b in zip(splits, splits[1:]))
    assert rejects == [] and key(docs) == key(whole)
    assert [d.text for d in docs] == table.column("text").to_pylist()
    assert docs[1999].origin == "a.parquet#1999"


def test_cut_parquet_is_one_counted_reject(tmp_path):
    pq.write_table(pa.table({"text": ["x" * 1000] * 500}), tmp_path / "a.parquet", row_group_size=50)
    data = (tmp_path / "a.parquet").read_bytes()
    (tmp_path / "a.parquet").write_bytes(data[: len(data) // 2])  # footer gone
    docs, rejects, counts, splits = read_all(str(tmp_path / "a.parquet"), "sources.split_bytes=1000")
    assert len(splits) == 1 and docs == []
    assert [r.reason for r in rejects] == ["file_error:ArrowInvalid"] and rejects[0].origin == "a.parquet"


# ---------------------------------------------------------------- MediaWiki multistream


def write_multistream(dump: bytes, out: Path, pages_per_stream: int) -> tuple[Path, Path]:
    """A Wikimedia-style multistream dump of ``dump``'s pages: a header stream, bz2 streams of
    ``pages_per_stream`` pages, a closing stream, and the ``offset:id:title`` index (itself bz2)."""
    first = dump.index(b"  <page>")
    end = dump.rindex(b"</mediawiki>")
    header, body, trailer = dump[:first], dump[first:end], dump[end:]
    pages = [b"  <page>" + p for p in body.split(b"  <page>")[1:]]
    assert len(pages) == dump.count(b"<page>")
    path = out / "enwiki-20240101-pages-articles-multistream.xml.bz2"
    index = out / "enwiki-20240101-pages-articles-multistream-index.txt.bz2"
    rows = []
    with open(path, "wb") as f:
        f.write(bz2.compress(header))
        for i in range(0, len(pages), pages_per_stream):
            offset = f.tell()
            for p in pages[i:i + pages_per_stream]:
                pid = p.split(b"<id>", 1)[1].split(b"</id>", 1)[0].decode()
                title = p.split(b"<title>", 1)[1].split(b"</title>", 1)[0].decode()
                rows.append(f"{offset}:{pid}:{title}\n")
            f.write(bz2.compress(b"".join(pages[i:i + pages_per_stream])))
        f.write(bz2.compress(trailer))
    index.write_bytes(bz2.compress("".join(rows).encode()))
    return path, index


@pytest.mark.parametrize("per_stream,per_split,n_splits", [(100, 1, 3), (10, 4, 6)])
def test_multistream_splits_give_the_unsplit_pages(data_dir, tmp_path, per_stream, per_split, n_splits):
    path, index = write_multistream(bz2.decompress((data_dir / ENWIKI).read_bytes()), tmp_path, per_stream)
    recipe = load_recipe(overrides=[f"sources.wiki_streams_per_split={per_split}"])
    files = expand_inputs([str(tmp_path / "*")])
    assert [f.path for f in files] == [str(path)]  # the index beside the dump is not an input
    splits = plan_splits(files[0], recipe)
    assert len(splits) == n_splits and splits[0].start == 0 and splits[-1].stop is None
    assert all(a.stop == b.start for a, b in zip(splits, splits[1:]))
    counts: Counter = Counter()
    split_out = [r for s in splits for r in read_unit(s, recipe, counts)]
    whole_counts: Counter = Counter()
    whole = list(read_unit(Split(str(path), "mediawiki", files[0].name, files[0].size), recipe, whole_counts))
    assert all(isinstance(r, Document) for r in whole)
    assert [(d.id, d.title, d.url, d.text) for d in split_out] == [(d.id, d.title, d.url, d.text) for d in whole]
    assert len(whole) == 206 - 100 - 8  # the shortened dump: 100 redirects, 8 disambiguation pages
    assert {k: v for k, v in counts.items() if k != "splits"} == {k: v for k, v in whole_counts.items() if k != "splits"}
    assert sha256_range(str(path)) == hashlib.sha256(b"".join(
        _range(path, c["start"], c["stop"]) for c in map(checksum_split, splits))).hexdigest()


def _range(path: Path, start: int, stop: int | None) -> bytes:
    data = path.read_bytes()
    return data[start:stop]


def test_multistream_split_of_a_cut_dump_is_a_counted_reject(data_dir, tmp_path):
    path, _ = write_multistream(bz2.decompress((data_dir / ENWIKI).read_bytes()), tmp_path, 100)
    recipe = load_recipe(overrides=["sources.wiki_streams_per_split=1"])
    f = expand_inputs([str(path)])[0]
    splits = plan_splits(f, recipe)
    data = path.read_bytes()
    path.write_bytes(data[: splits[-1].start + 5000])  # the last stream cut off
    counts: Counter = Counter()
    out = [r for s in splits for r in read_unit(s, recipe, counts)]
    rejects = [r for r in out if isinstance(r, Reject)]
    assert [r.reason for r in rejects] == ["xml_truncated"]
    assert rejects[0].origin == f"{f.name}@{splits[-1].start}"
    assert len([r for r in out if isinstance(r, Document)]) > 50


# ---------------------------------------------------------------- checksums on workers


def test_file_fingerprint_streams_and_bounds(tmp_path):
    data = os.urandom(3_000_000)
    (tmp_path / "a.bin").write_bytes(data)
    fp = file_fingerprint(str(tmp_path / "a.bin"))
    assert fp["size"] == 3_000_000 and fp["sha256"] == hashlib.sha256(data).hexdigest()
    assert fp["mtime"] == pytest.approx((tmp_path / "a.bin").stat().st_mtime, abs=1)
    assert file_fingerprint(str(tmp_path / "a.bin"), max_bytes=1_000_000)["sha256"] is None
    (tmp_path / "a.jsonl").write_bytes(data)
    splits = plan_splits(InputFile(str(tmp_path / "a.jsonl"), "jsonl", len(data), str(tmp_path)),
                         load_recipe(overrides=["sources.split_bytes=1000000"]))
    assert [checksum_split(s)["sha256"] for s in splits] == [
        hashlib.sha256(data[i:i + 1_000_000]).hexdigest() for i in range(0, 3_000_000, 1_000_000)]
