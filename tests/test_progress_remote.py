"""Progress on a runner whose run() returns at once (PortableRunner on Beam's local job service, the protocol
Flink and Spark job servers speak): the job id is printed, and the live table follows the job's Beam metrics,
ending with the same per-stage counts as stats.json. Percentage/ETA from input bytes read."""
from __future__ import annotations

import io
import json
import re

import pytest

from pipelines.cli import main
from pipelines.demo.make import write_demo_jsonl, write_demo_warc
from tests.runners import JobService
from transforms.progress import (BYTES_STAGE, ProgressDisplay, ProgressFile, StageProgress, Ticker, completion,
                                 log_line, report_bytes)


@pytest.fixture(scope="module")
def job_service():
    js = JobService()
    yield js
    js.stop()


def test_portable_runner_prints_job_id_and_follows_metrics(tmp_path, job_service, capsys):
    warc, jsonl = tmp_path / "demo.warc.gz", tmp_path / "demo-qa.jsonl"
    write_demo_warc(str(warc))
    write_demo_jsonl(str(jsonl))
    out = tmp_path / "out"
    assert main(["build", "--recipe", "demo", "--input", str(warc), str(jsonl), "--output", str(out),
                 *job_service.args()]) == 0
    err = capsys.readouterr().err
    assert re.search(r"^yuliao: job \S+ running on Portable", err, re.M), err[-2000:]
    last = [ln for ln in err.splitlines() if ln.startswith("progress ")][-1]
    stats = json.loads((out / "stats.json").read_text())
    for stage in ("langid", "dedup.near", "tokenize", "balance", "sink"):
        s = stats["stages"][stage]
        assert f"{stage} {s['in']:,}→{s['out']:,}" in last, (stage, last)


def test_percentage_and_eta_from_input_bytes(tmp_path, monkeypatch):
    path = tmp_path / "progress.tsv"
    monkeypatch.setenv("YULIAO_PROGRESS_FILE", str(path))
    report_bytes(250)
    Ticker("extract", flush_seconds=0).add(10, 9, 1)
    totals = ProgressFile(str(path)).poll()
    assert totals[BYTES_STAGE].n_in == 250
    assert completion(totals, 30.0, 1000) == "25% of input read, ETA 0:01:30"  # 30 s for 25% → 90 s to go
    line = log_line(totals, 30.0, ["extract"], total_bytes=1000)
    assert line == "progress 0:00:30 (25% of input read, ETA 0:01:30) | extract 10→9 (-1)"
    assert completion({BYTES_STAGE: StageProgress(1000)}, 10.0, 1000) == "100% of input read"
    assert completion(totals, 30.0, None) == ""
    out = io.StringIO()
    with ProgressDisplay(str(path), ["extract"], stream=out, tty=False, log_every=3600, total_bytes=1000):
        report_bytes(750)
    assert "(100% of input read)" in out.getvalue()
