"""Bounded memory per worker and dead letters outside ``RunStage``.

* Shard writers sort in spilled runs and stream row groups: output is byte-identical to writing the whole
  sorted shard at once, whatever the arrival order.
* A giant LSH bucket emits about two window keys per member, never its pairs; memory is its member list.
* ``_Sign``, ``_BucketPairs``, ``_ClusterDecide``, ``_ExactDecide``, balance ``_Decide`` and the data
  ``_WriteShard`` each dead-letter the one document that makes them raise (``error:<ExceptionType>``, no
  message, no text) on the real DirectRunner; every other document is decided as without it.
"""
from __future__ import annotations

import io
import random
import tracemalloc

import apache_beam as beam
import pyarrow.parquet as pq
import pytest

from pipelines.recipe import load_recipe
from schemas.document import ARROW_SCHEMA, Document, to_arrow_row
from tests.gutenberg import book_chapters, book_paragraphs
from transforms import sinks
from transforms.dedup import minhash
from transforms.sinks import _WriteShard, doc_counts, shard_name, sorted_bounded

_GOT: dict = {}


def _keep(lst, name):
    """Module-level (pickled by reference), so the in-memory DirectRunner fills this module's ``_GOT``."""
    _GOT[name] = sorted(lst)


@pytest.fixture(scope="module")
def paragraphs(data_dir) -> list[str]:
    return book_paragraphs(data_dir, 200)


@pytest.fixture(scope="module")
def chapters(data_dir) -> list[str]:
    return book_chapters(data_dir)


# ------------------------------------------------------------------ sinks
def _docs(paragraphs, n: int) -> list[Document]:
    return [Document(id=f"d{i:05d}", text=paragraphs[i % len(paragraphs)], source="book", origin=f"o{i}",
                     lang="en", script="Latn", dup_cluster_size=1 + i % 3) for i in range(n)]


def test_sorted_bounded_spills_and_equals_sorted(tmp_path):
    rng = random.Random(3)
    rows = [(rng.randrange(50), i) for i in range(1000)]  # many equal keys: ties keep arrival order
    dead: list = []
    got = list(sorted_bounded(rows, lambda r: r[0], 64, dead, str(tmp_path)))
    assert got == sorted(rows, key=lambda r: r[0]) and not dead


def test_shard_writer_streams_row_groups_byte_identical(tmp_path, paragraphs):
    """Rows arrive in two different orders, are spilled in runs of 50 and written 50 per row group: both
    files equal ``pq.write_table`` of the whole sorted shard (the writer before streaming) byte for byte."""
    docs = _docs(paragraphs, 237)
    outs = []
    for k, order in enumerate((docs, list(reversed(docs)))):
        base = str(tmp_path / f"run{k}")
        fn = _WriteShard(base, ARROW_SCHEMA, to_arrow_row, lambda d: (d.id, d.epoch), "zstd", 50, "sink", doc_counts)
        fn.start_bundle() if hasattr(fn, "start_bundle") else None
        out = list(fn.process((("en/book", 0, 1), iter(order))))
        stats = {o.value[0].split("\x1f")[1]: o.value[1] for o in out if hasattr(o, "tag")}
        assert stats["in"] == stats["out"] == 237 and stats["docs/en/book"] == 237
        assert stats["chars/en/book"] == sum(len(d.text) for d in docs)
        outs.append((tmp_path / f"run{k}" / "en/book" / shard_name(0, 1)).read_bytes())
    reference = io.BytesIO()
    table = __import__("pyarrow").Table.from_pylist([to_arrow_row(d) for d in sorted(docs, key=lambda d: d.id)],
                                                    schema=ARROW_SCHEMA)
    pq.write_table(table, reference, row_group_size=50, compression="zstd",
                   use_dictionary=["source", "lang", "script", "stage", "reason"], write_statistics=True)
    assert outs[0] == outs[1] == reference.getvalue()
    assert pq.ParquetFile(io.BytesIO(outs[0])).metadata.num_row_groups == 5


# ------------------------------------------------------------------ giant buckets
def test_giant_bucket_emits_windows_not_pairs():
    """A 6k-member bucket (window 128) has ~570k windowed pairs; ``_BucketPairs`` emits one window key per member
    and window instead (at most two per member), streamed: peak traced memory stays at the member list's size."""
    members = [f"{i:016x}" for i in random.Random(1).sample(range(10**12), 6_000)]
    fn = minhash._BucketPairs("dedup.near", 128)
    fn.start_bundle()
    tracemalloc.start()
    per_member: dict[str, int] = {}
    keys = set()
    for u, (kind, key) in fn.process((b"band", members)):
        assert kind == minhash.WINDOW
        per_member[u] = per_member.get(u, 0) + 1
        keys.add(key)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert sorted(per_member) == sorted(members) and set(per_member.values()) == {1, 2}
    assert len(keys) == 93 and sum(per_member.values()) == 92 * 128 + 112  # starts 0, 64 … 5888; the last short
    assert peak < 3 * 1024 * 1024, peak


# ------------------------------------------------------------------ dead letters
def _run_dedup(docs, overrides):
    from transforms.dedup import stage

    recipe = load_recipe(None, list(overrides))
    _GOT.clear()
    with beam.Pipeline("DirectRunner") as p:
        out = stage(p | beam.Create(docs), recipe)
        for name, pc, fn in (("main", out.main, lambda d: d.id),
                             ("rejects", out.rejects, lambda r: (r.id, r.stage, r.reason, r.detail, r.text)),
                             ("stats", out.stats | "sum" >> beam.CombinePerKey(sum), lambda kv: kv)):
            pc | f"{name} map" >> beam.Map(fn) | f"{name} list" >> beam.combiners.ToList() | f"{name} keep" >> \
                beam.Map(_keep, name)
    return _GOT["main"], _GOT["rejects"], dict(_GOT["stats"])


def _near_docs(chapters) -> list[Document]:
    """Two clusters of near-copies (chapter + a different tail) plus a unique chapter; "bad" is a copy."""
    docs = []
    for c in range(2):
        for k in range(3):
            docs.append(Document(id=f"c{c}k{k}", text=chapters[c] + f" tail {k} " * 3, source="web", origin="o"))
    docs.append(Document(id="bad", text=chapters[0] + " tail bad", source="web", origin="o"))
    docs.append(Document(id="u", text=chapters[5], source="web", origin="o"))
    return docs


def _raise_for(name: str, original, pick):
    def patched(*args, **kwargs):
        if pick(*args, **kwargs):
            raise ValueError("boom: message that must not reach the reject")
        return original(*args, **kwargs)

    patched.__name__ = name
    return patched


NEAR_CASES = {
    "sign": ("priority", lambda doc, *a, **k: doc.id == "bad"),
    "bucket pairs": ("iter_bucket_pairs", lambda members, *a, **k: "bad" in members),
    "bucket windows": ("iter_windows", lambda members, *a, **k: "bad" in members),
}


@pytest.mark.parametrize("where", ["sign", "bucket pairs", "bucket windows", "cluster"])
def test_near_dedup_dead_letters_one_document(monkeypatch, chapters, where):
    docs = _near_docs(chapters)
    import transforms.dedup as dedup

    if where == "bucket pairs":  # the 4-member buckets of cluster 0 pair their members, as 2-member ones do
        monkeypatch.setattr(minhash, "PAIRED_MAX", 4)
    if where == "cluster":
        monkeypatch.setattr(dedup, "decide_cluster",
                            _raise_for("decide_cluster", dedup.decide_cluster,
                                       lambda members: any(m[0] == "bad" for m in members)))
    else:
        name, pick = NEAR_CASES[where]
        monkeypatch.setattr(minhash, name, _raise_for(name, getattr(minhash, name), pick))
    main, rejects, stats = _run_dedup(docs, ["dedup.exact.enabled=false"])
    errors = [r for r in rejects if r[2].startswith("error:")]
    assert errors == [("bad", "dedup.near", "error:ValueError", None, None)]
    assert stats["dedup.near\x1frejected/error:ValueError"] == 1
    # the others are decided exactly as without the bad document: one survivor per cluster + the unique one
    assert main == ["c0k0", "c1k0", "u"]
    assert sorted(r[0] for r in rejects if r[2] == "near_duplicate") == ["c0k1", "c0k2", "c1k1", "c1k2"]


def test_exact_dedup_dead_letters_one_document(monkeypatch, chapters):
    import transforms.dedup.exact as exact

    text = chapters[2]
    docs = [Document(id=i, text=text, source="web", origin="o") for i in ("a", "bad", "c")]
    monkeypatch.setattr(exact, "priority", _raise_for("priority", exact.priority, lambda d, *a, **k: d.id == "bad"))
    main, rejects, stats = _run_dedup(docs, ["dedup.near.enabled=false"])
    assert main == ["a"]
    assert rejects == [("bad", "dedup.exact", "error:ValueError", None, None),
                       ("c", "dedup.exact", "exact_duplicate", "cluster=a kept=a", None)]
    assert stats["dedup.exact\x1frejected/error:ValueError"] == 1 and stats["dedup.exact\x1fin"] == 3


def test_balance_dead_letters_one_document(monkeypatch, paragraphs):
    import transforms.balance as balance

    docs = _docs(paragraphs, 40)
    monkeypatch.setattr(balance, "copies_for",
                        _raise_for("copies_for", balance.copies_for, lambda d, *a, **k: d.id == "d00007"))
    recipe = load_recipe(None, ["balance.enabled=true"])
    _GOT.clear()
    with beam.Pipeline("DirectRunner") as p:
        out = balance.stage(p | beam.Create(docs), recipe)
        out.main | beam.Map(lambda d: d.id) | "l1" >> beam.combiners.ToList() | "k1" >> beam.Map(_keep, "main")
        (out.rejects | beam.Map(lambda r: (r.id, r.stage, r.reason, r.detail)) | "l2" >> beam.combiners.ToList()
         | "k2" >> beam.Map(_keep, "rejects"))
    assert _GOT["rejects"] == [("d00007", "balance", "error:ValueError", None)]
    assert len(_GOT["main"]) == 39 and "d00007" not in _GOT["main"]


def test_data_sink_dead_letters_one_document(monkeypatch, tmp_path, paragraphs):
    """A document the data writer cannot convert goes to ``rejects/sink/`` (error:ValueError, no text); the
    shard holds every other document and the stats count it."""
    docs = _docs(paragraphs, 30)
    monkeypatch.setattr(sinks, "to_arrow_row",
                        _raise_for("to_arrow_row", sinks.to_arrow_row, lambda d: d.id == "d00011"))
    cfg = load_recipe(None, []).sink
    out = str(tmp_path / "out")
    with beam.Pipeline("DirectRunner") as p:
        _, stats = sinks.write_documents(p | beam.Create(docs), out, cfg)
        stats | beam.CombinePerKey(sum) | beam.combiners.ToList() | beam.Map(_keep, "stats")
    data = pq.read_table(tmp_path / "out" / "data").to_pylist()
    assert len(data) == 29 and "d00011" not in {r["id"] for r in data}
    rej = pq.read_table(tmp_path / "out" / "rejects" / "sink").to_pylist()
    assert [(r["id"], r["stage"], r["reason"], r["detail"], r["text"]) for r in rej] == [
        ("d00011", "sink", "error:ValueError", None, None)]
    stats = dict(_GOT["stats"])
    assert stats["sink\x1frejected/error:ValueError"] == 1 and stats["sink\x1fout"] == 29
    assert stats["sink\x1fdocs/en/book"] == 29


def test_one_rejects_writer_writes_what_two_did(monkeypatch, tmp_path, paragraphs):
    """``write_outputs`` (select: stage rejects and the data sink's dead letters through one rejects writer) writes
    the same files, byte for byte, and the same stats as ``write_documents`` + ``write_rejects`` (two writers)."""
    from schemas.outputs import Reject

    docs = _docs(paragraphs, 30)
    stage_rejects = [Reject(id=f"r{i:03d}", source="book", origin="o", stage="quality", reason="zh_short", url=None,
                            lang="en", signals={}, detail=None, text=None) for i in range(7)]
    monkeypatch.setattr(sinks, "to_arrow_row",
                        _raise_for("to_arrow_row", sinks.to_arrow_row, lambda d: d.id == "d00011"))
    cfg = load_recipe(None, []).sink
    got = {}
    for way in ("two", "one"):
        out = tmp_path / way
        with beam.Pipeline("DirectRunner") as p:
            d, r = p | "docs" >> beam.Create(docs), p | "rejects" >> beam.Create(stage_rejects)
            if way == "two":
                _, dstats = sinks.write_documents(d, str(out), cfg)
                _, rstats = sinks.write_rejects(r, str(out), cfg)
                stats = (dstats, rstats) | beam.Flatten()
            else:
                stats = sinks.write_outputs(d, (r,), str(out), cfg) | beam.Flatten()
            stats | beam.CombinePerKey(sum) | beam.combiners.ToList() | beam.Map(_keep, way)
        got[way] = ({str(f.relative_to(out)): f.read_bytes() for f in sorted(out.rglob("*.parquet"))},
                    sorted(_GOT[way]))
    files, stats = got["one"]
    assert sorted(files) == ["data/en/book/part-00000-of-00001.parquet", "rejects/quality/part-00000-of-00001.parquet",
                             "rejects/sink/part-00000-of-00001.parquet"]
    assert got["one"] == got["two"]
    assert dict(stats)["sink.rejects\x1fin"] == 8 and dict(stats)["sink\x1frejected/error:ValueError"] == 1


# ------------------------------------------------------------------ transforms/streamed_input.py (local runs)
def _grouping_buffer(n_keys: int, per_key: int, payload: int):
    from apache_beam.coders import coders
    from apache_beam.coders.coder_impl import create_OutputStream
    from apache_beam.runners.portability.fn_api_runner.execution import GroupingBuffer
    from apache_beam.transforms.core import Windowing
    from apache_beam.transforms.window import GlobalWindows

    kv = coders.TupleCoder([coders.BytesCoder(), coders.BytesCoder()])
    grouped = coders.TupleCoder([coders.BytesCoder(), coders.IterableCoder(coders.BytesCoder())])
    windowed = coders.WindowedValueCoder(kv, coders.GlobalWindowCoder())
    buf = GroupingBuffer(windowed, coders.WindowedValueCoder(grouped, coders.GlobalWindowCoder()),
                         Windowing(GlobalWindows()))
    rng = random.Random(5)
    out = create_OutputStream()
    for i in range(n_keys * per_key):
        value = bytes(rng.randrange(256) for _ in range(payload))
        windowed.get_impl().encode_to_stream(GlobalWindows.windowed_value((b"k%05d" % (i % n_keys), value)), out, True)
    buf.append(out.get())
    return buf


def test_streamed_input_cuts_a_worker_share_into_chunks(monkeypatch):
    """Beam's GroupingBuffer hands each worker its whole share as one bytes (the scale bench's growth); the
    patch cuts it into element-aligned chunks of about CHUNK bytes holding the same elements in order."""
    from apache_beam.coders.coder_impl import create_InputStream

    from transforms import streamed_input

    stock, chunked = _grouping_buffer(300, 3, 200), _grouping_buffer(300, 3, 200)
    monkeypatch.setattr(streamed_input, "CHUNK", 8192)
    stock_parts = stock.partition(2)
    parts = streamed_input._chunked_partition(chunked, 2)
    assert [len(p) for p in stock_parts] == [1, 1]  # Beam: one blob per worker, ~90 KB each here
    impl = chunked._post_grouped_coder.get_impl()
    for stock_part, part in zip(stock_parts, parts):
        assert len(part) > 5 and max(len(c) for c in part) < 8192 + 1024
        assert b"".join(part) == stock_part[0]
        for c in part:  # element-aligned: every chunk decodes on its own
            s = create_InputStream(c)
            while s.size() > 0:
                impl.decode_from_stream(s, True)


def test_streamed_input_same_result_on_multiprocess_runner(monkeypatch):
    """Streaming bundle input after the request (small chunks, outputs drained concurrently) changes delivery
    only: a grouped pipeline on the 2-worker runner gives the same groups."""
    from apache_beam.options.pipeline_options import PipelineOptions
    from apache_beam.testing.util import assert_that, equal_to

    from transforms import streamed_input

    monkeypatch.setattr(streamed_input, "CHUNK", 4096)
    expected = [(f"k{k:03d}", sum(range(k, 3000, 97))) for k in range(97)]
    streamed_input.install()
    try:
        with beam.Pipeline(options=PipelineOptions(["--runner", "DirectRunner", "--direct_running_mode",
                                                    "multi_processing", "--direct_num_workers", "2"])) as p:
            sums = (p | beam.Create(list(range(3000)))
                    | beam.Map(lambda i: (f"k{i % 97:03d}", (i, "x" * 100)))
                    | beam.GroupByKey()
                    | beam.MapTuple(lambda k, vs: (k, sum(i for i, _ in vs))))
            assert_that(sums, equal_to(expected))
    finally:
        streamed_input.uninstall()


def test_local_runner_streams_input_only_while_it_runs(monkeypatch):
    """A Yuliao local multi-process run (``LeanWorkersRunner``) runs with the streamed input installed and gives
    Beam's functions back afterwards, so in-process DirectRunner pipelines later in the process keep Beam's."""
    from apache_beam.options.pipeline_options import PipelineOptions
    from apache_beam.runners.portability.fn_api_runner import fn_runner
    from apache_beam.testing.util import assert_that, equal_to

    from transforms import local_runner, streamed_input

    seen = []
    real = local_runner._FnApiRunner.run_pipeline

    def run_pipeline(self, *a, **k):
        seen.append(fn_runner.BundleManager.process_bundle is streamed_input._streamed_process_bundle)
        return real(self, *a, **k)

    monkeypatch.setattr(local_runner._FnApiRunner, "run_pipeline", run_pipeline)
    before = fn_runner.BundleManager.process_bundle
    options = PipelineOptions(["--direct_running_mode", "multi_processing", "--direct_num_workers", "2"])
    with beam.Pipeline(runner=local_runner.LeanWorkersRunner(), options=options) as p:
        sums = (p | beam.Create(list(range(3000))) | beam.Map(lambda i: (i % 7, i)) | beam.GroupByKey()
                | beam.MapTuple(lambda k, vs: (k, sum(vs))))
        assert_that(sums, equal_to([(k, sum(range(k, 3000, 7))) for k in range(7)]))
    assert seen == [True] and fn_runner.BundleManager.process_bundle is before
