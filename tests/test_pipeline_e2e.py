"""The build end to end on the demo inputs and on the shared WARCs: accounting, layout, and identical
bytes under the DirectRunner (in-memory, multi-processing) and the PortableRunner (local job service)."""
from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest

from pipelines.demo.make import write_demo_jsonl, write_demo_warc
from tests.runners import RUNNER_MODES, JobService, WorkerPool, output_digest, run_build


@pytest.fixture(scope="module")
def demo_inputs(tmp_path_factory):
    d = tmp_path_factory.mktemp("demo-input")
    warc, jsonl = d / "demo.warc.gz", d / "demo-qa.jsonl"
    write_demo_warc(str(warc))
    write_demo_jsonl(str(jsonl))
    return [str(warc), str(jsonl)]


@pytest.fixture(scope="module")
def direct_output(tmp_path_factory, demo_inputs):
    out = tmp_path_factory.mktemp("direct")
    run_build(demo_inputs, out, RUNNER_MODES["direct_in_memory"])
    return out


def _rows(path, sub):
    files = sorted((path / sub).rglob("*.parquet"))
    return [r for f in files for r in pq.read_table(f).to_pylist()]


def test_every_input_record_is_in_data_or_rejects(direct_output):
    stats = json.loads((direct_output / "stats.json").read_text())
    data, rejects = _rows(direct_output, "data"), _rows(direct_output, "rejects")
    # demo: 16 pages + png + 404 + revisit in the WARC, 5 JSONL lines (one not JSON)
    entered = stats["stages"]["source.warc"]["in"] + stats["stages"]["source.jsonl"]["in"]
    assert entered == 19 + 5
    # every record that entered is either written or rejected (balance may add epochs; none here)
    assert len({r["id"] for r in data}) + len(rejects) == entered
    for stage, s in stats["stages"].items():
        if stage.startswith("sink"):
            continue
        # balance adds repeated copies (epoch ≥ 1); every other stage only keeps or rejects
        assert s["in"] + s["counters"].get("repeated_copies", 0) == s["out"] + sum(s["rejected"].values()), stage
    assert stats["stages"]["sink"]["out"] == len(data)
    assert stats["stages"]["sink.rejects"]["out"] == len(rejects)
    reasons = {(r["stage"], r["reason"]) for r in rejects}
    assert {("source.warc", "warc_revisit"), ("source.warc", "non_html"), ("source.jsonl", "bad_json"),
            ("source.jsonl", "missing_text"), ("extract", "lang_prefilter")} <= reasons  # the French page


def test_layout_and_schema(direct_output):
    from schemas.document import ARROW_SCHEMA

    files = sorted((direct_output / "data").rglob("*.parquet"))
    assert files
    langs = set()
    for f in files:
        lang, source, name = f.relative_to(direct_output / "data").parts
        assert name.startswith("part-") and "-of-" in name
        langs.add(lang)
        t = pq.read_table(f)
        assert t.schema.equals(ARROW_SCHEMA, check_metadata=False)
        assert set(t.column("lang").to_pylist()) == {lang}
        assert set(t.column("source").to_pylist()) == {source}
        assert pq.ParquetFile(f).metadata.row_group(0).column(0).compression == "ZSTD"
    assert {"zh", "en"} <= langs
    for r in _rows(direct_output, "rejects"):
        assert r["text"] is None  # recipe did not ask for reject text


def test_rerun_is_byte_identical(tmp_path, demo_inputs, direct_output):
    run_build(demo_inputs, tmp_path, RUNNER_MODES["direct_in_memory"])
    assert output_digest(tmp_path) == output_digest(direct_output)

    def card(out):  # the card and its charts, without the one section that reports run timing
        readme = (out / "README.md").read_text(encoding="utf-8").split("## Run timing")[0]
        return readme, {p.name: p.read_bytes() for p in sorted((out / "charts").glob("*.png"))}

    assert card(tmp_path) == card(direct_output)
    assert len(card(tmp_path)[1]) == 3


@pytest.mark.slow
def test_multiprocessing_and_portable_runners_agree(tmp_path, demo_inputs, direct_output):
    """All stages; DirectRunner multi-processing, PortableRunner LOOPBACK and EXTERNAL (worker pool)."""
    expected = output_digest(direct_output)
    run_build(demo_inputs, tmp_path / "mp", RUNNER_MODES["direct_multi_processing"])
    assert output_digest(tmp_path / "mp") == expected
    svc, pool = JobService(), WorkerPool()
    try:
        run_build(demo_inputs, tmp_path / "portable", svc.args())
        run_build(demo_inputs, tmp_path / "external", svc.args(pool.environment()))
    finally:
        svc.stop()
        pool.stop()
    assert output_digest(tmp_path / "portable") == expected
    assert output_digest(tmp_path / "external") == expected


@pytest.mark.slow
def test_three_local_modes_agree_on_shared_data(tmp_path, data_dir):
    """The full pipeline over real WARCs, a wiki dump and a Chinese book: identical bytes in every local mode."""
    inputs = sorted(str(p) for p in (data_dir / "web" / "warc").glob("*.warc*")) + [
        str(data_dir / "wiki" / "enwiki-table-markup.xml.bz2"),
        str(data_dir / "books" / "gutenberg-zh" / "pg23863-0.txt")]
    digests = {}
    svc = JobService()
    try:
        for mode, args in [("in_memory", RUNNER_MODES["direct_in_memory"]),
                           ("multi_processing", RUNNER_MODES["direct_multi_processing"]),
                           ("portable", svc.args())]:
            run_build(inputs, tmp_path / mode, args, recipe="zh_heavy")
            digests[mode] = output_digest(tmp_path / mode)
    finally:
        svc.stop()
    assert len(digests["in_memory"]) > 5
    assert digests["multi_processing"] == digests["in_memory"]
    assert digests["portable"] == digests["in_memory"]
    stats = json.loads((tmp_path / "in_memory" / "stats.json").read_text())
    assert {"quality", "dedup.near", "pii", "tokenize", "balance"} <= set(stats["stages"])


def test_shared_warcs_end_to_end(tmp_path, data_dir):
    warcs = sorted(str(p) for p in (data_dir / "web" / "warc").glob("*.warc*"))
    run_build(warcs, tmp_path, RUNNER_MODES["direct_in_memory"], recipe="default")
    stats = json.loads((tmp_path / "stats.json").read_text())
    data, rejects = _rows(tmp_path, "data"), _rows(tmp_path, "rejects")
    entered = stats["stages"]["source.warc"]["in"]
    assert entered > 200
    assert len({r["id"] for r in data}) + len(rejects) == entered
    assert len(data) > 20  # quality and dedup leave 27 of the 66 pages in the selected languages
