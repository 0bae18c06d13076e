"""Hostile and broken inputs: the build finishes, good records around the bad ones are all kept,
each bad one is counted and in rejects/ with a reason, memory stays bounded, nothing leaks to logs."""
from __future__ import annotations

import json
import resource
import signal
import subprocess
import sys
import time

import apache_beam as beam
import pyarrow.parquet as pq
import pytest
from apache_beam.testing.util import assert_that, equal_to

from pipelines.demo.make import write_demo_warc
from schemas.document import Document
from tests.badinput import (BILLION_LAUGHS, EXTERNAL_ENTITY, MARKER, binary_with_text_extension, epub_path_traversal,
                            epub_zip_bomb, hostile_warc, missing_header_warc, truncated_warc, truncated_wiki_bz2,
                            wrong_length_warc)
from tests.runners import RUNNER_MODES, run_build
from transforms.stage import Rejection, apply_stage


def _rows(path, sub):
    return [r for f in sorted((path / sub).rglob("*.parquet")) for r in pq.read_table(f).to_pylist()]


@pytest.fixture(scope="module")
def bad_build(tmp_path_factory):
    d = tmp_path_factory.mktemp("bad")
    good_urls = hostile_warc(d / "hostile.warc.gz")
    demo = d / "demo.warc.gz"
    write_demo_warc(str(demo))
    truncated_warc(demo, d / "truncated.warc.gz")
    wrong_length_warc(d / "wrong-length.warc")
    missing_header_warc(d / "missing-header.warc")
    (d / "empty.warc.gz").write_bytes(b"")
    binary_with_text_extension(d / "binary.warc.gz")
    binary_with_text_extension(d / "binary.jsonl")
    (d / "mixed.jsonl").write_text('{"text": "A fine line of English text about gardens and rain."}\n'
                                   '{"text": 12}\n[1,2]\n' + '{"text": "' + MARKER + '\n', encoding="utf-8")
    (d / "laughs.xml").write_text(BILLION_LAUGHS)
    (d / "xxe.xml").write_text(EXTERNAL_ENTITY)
    wiki_titles = truncated_wiki_bz2(d / "cut-pages-articles.xml.bz2")
    epub_zip_bomb(d / "bomb.epub")
    epub_path_traversal(d / "traversal.epub")
    binary_with_text_extension(d / "binary.epub")
    binary_with_text_extension(d / "binary.txt")
    out = d / "out"
    code = (
        "import sys, resource; from pipelines.cli import main; "
        f"rc = main(['build','--recipe','default','--input','{d}/*.warc*','{d}/*.jsonl','{d}/*.xml*','{d}/*.epub',"
        f"'{d}/*.txt','--output','{out}','-q',"
        "'--set','langid.languages=[zh,en,ja]','--set','langid.min_score=0.3','--set','dedup.enabled=false']); "
        "print('MAXRSS_MB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024); sys.exit(rc)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=900)
    return {"dir": d, "out": out, "proc": proc, "good_urls": good_urls, "wiki_titles": wiki_titles}


def test_build_finishes(bad_build):
    assert bad_build["proc"].returncode == 0, bad_build["proc"].stderr[-3000:]


def test_good_records_survive_and_bad_ones_are_rejected(bad_build):
    out = bad_build["out"]
    data, rejects = _rows(out, "data"), _rows(out, "rejects")
    urls = {r["url"] for r in data}
    assert set(bad_build["good_urls"]) <= urls
    assert "http://good.test/a" in urls and "http://good.test/m" in urls  # before the broken records
    by_origin = {}
    for r in rejects:
        by_origin.setdefault(r["origin"].split("@")[0].split(":")[0].rsplit("/", 1)[-1], set()).add(r["reason"])
    assert "record_too_large" in by_origin["hostile.warc.gz"]  # bomb and 50 MB page
    assert "non_html" in by_origin["hostile.warc.gz"]
    assert "record_truncated" in by_origin["truncated.warc.gz"]  # gzip member cut mid-record
    assert by_origin["empty.warc.gz"] == {"empty_input"}
    assert by_origin["binary.warc.gz"] == {"warc_unreadable"}
    assert by_origin["binary.jsonl"] <= {"bad_json", "missing_text"}
    assert {"bad_json", "missing_text"} <= by_origin["mixed.jsonl"]
    assert by_origin["wrong-length.warc"] == {"record_truncated"}  # Content-Length beyond the end of the file
    assert by_origin["missing-header.warc"] == {"warc_bad_header"}  # no WARC-Type / Content-Length


def test_hostile_dumps_and_books(bad_build):
    import os

    out = bad_build["out"]
    data, rejects = _rows(out, "data"), _rows(out, "rejects")
    reasons = {}
    for r in rejects:
        reasons.setdefault(r["origin"].split("@")[0].split("#")[0].split(":")[0].rsplit("/", 1)[-1], set()).add(r["reason"])
    assert reasons["laughs.xml"] == {"xml_doctype_forbidden"}  # billion laughs never expanded
    assert reasons["xxe.xml"] == {"xml_doctype_forbidden"}  # external entity never resolved
    assert "xml_truncated" in reasons["cut-pages-articles.xml.bz2"]
    assert {t for t in bad_build["wiki_titles"]} <= {r["title"] for r in data}  # complete pages before the cut
    assert reasons["bomb.epub"] == {"epub_zip_bomb"}
    assert reasons["binary.epub"] and not any(r["origin"].startswith(str(bad_build["dir"] / "binary.epub")) for r in data)
    assert any("lighthouse" in r["text"] and "traversal" in r["origin"] for r in data)  # the safe chapter is read
    assert not os.path.exists("/tmp/yuliao-evil.xhtml")  # nothing is ever extracted to disk


def test_stats_account_for_every_record(bad_build):
    out = bad_build["out"]
    stats = json.loads((out / "stats.json").read_text())
    entered = sum(s["in"] for name, s in stats["stages"].items() if name.startswith("source."))
    data, rejects = _rows(out, "data"), _rows(out, "rejects")
    assert len({r["id"] for r in data}) + len(rejects) == entered
    for name, s in stats["stages"].items():
        if not name.startswith("sink"):
            assert s["in"] + s["counters"].get("repeated_copies", 0) == s["out"] + sum(s["rejected"].values()), name


def test_memory_stays_bounded(bad_build):
    line = [x for x in bad_build["proc"].stdout.splitlines() if x.startswith("MAXRSS_MB")][0]
    assert int(line.split()[1]) < 2500  # a 300 MB bomb and a 50 MB page must not be expanded whole


def test_nothing_from_bad_input_reaches_logs(bad_build):
    p = bad_build["proc"]
    assert MARKER not in p.stdout and MARKER not in p.stderr
    for r in _rows(bad_build["out"], "rejects"):
        assert MARKER not in json.dumps(r, default=str)


class _Flaky:
    """A stage that raises on one document (a worker fault)."""

    name = "flaky"
    batch_size = 4

    def setup(self):
        pass

    def apply(self, docs):
        for d in docs:
            if d.id == "boom":
                raise ValueError(f"cannot handle {d.text}")  # message quotes text: must not be kept
        return list(docs)


def test_a_raising_dofn_is_dead_lettered_not_fatal():
    docs = [Document(id=i, text=f"text {i}", source="web", origin="t") for i in ("a", "b", "boom", "c", "d")]
    with beam.Pipeline("DirectRunner") as p:
        out = apply_stage(p | beam.Create(docs), _Flaky())
        assert_that(out.main | "ids" >> beam.Map(lambda d: d.id), equal_to(["a", "b", "c", "d"]), label="kept")
        assert_that(out.rejects | "r" >> beam.Map(lambda r: (r.id, r.reason, r.detail, r.text)),
                    equal_to([("boom", "error:ValueError", None, None)]), label="dead letter")


def _first_new_file(root, before: set, proc: subprocess.Popen, timeout: float):
    """Poll ``root`` until a file not in ``before`` whose name has ``.parquet`` (a shard, a reject file or an
    annotation-store entry, final or temporary name, in the output, staging or cache folder) appears; None if
    the process exits first or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        new = [f for f in root.rglob("*") if ".parquet" in f.name and f not in before]
        if new:
            return new[0]
        time.sleep(0.01)
    return None


def test_killed_run_leaves_no_partial_files_and_rerun_matches(tmp_path):
    """A build killed while it writes its first Parquet file leaves only complete files under final names;
    the rerun replaces everything and matches a clean run."""
    from tests.runners import output_digest

    warc = tmp_path / "demo.warc.gz"
    write_demo_warc(str(warc))
    out = tmp_path / "killed"
    code = ("from pipelines.cli import main; import sys; "
            f"sys.exit(main(['build','--recipe','demo','--input','{warc}','--output','{out}','-q']))")
    before = set(tmp_path.rglob("*"))
    proc = subprocess.Popen([sys.executable, "-c", code])
    try:
        first = _first_new_file(tmp_path, before, proc, timeout=600)
        running = proc.poll() is None
    finally:
        proc.kill()
        rc = proc.wait()
    assert first is not None, f"the build exited (rc={rc}) before writing any Parquet file"
    assert running and rc == -signal.SIGKILL, rc  # killed mid-run, not after it had finished
    for f in tmp_path.rglob("*.parquet"):  # output, staging and annotation store alike
        pq.read_table(f)  # any file with a final name is complete
    run_build([str(warc)], out, RUNNER_MODES["direct_in_memory"])
    run_build([str(warc)], tmp_path / "clean", RUNNER_MODES["direct_in_memory"])
    assert output_digest(out) == output_digest(tmp_path / "clean")
    assert not [f for f in out.rglob("*") if ".tmp-" in f.name]
