"""The benchmark driver fails a run whose tool hangs instead of waiting forever (bench/common.py run_measured,
bench/vs_datatrove.py --timeout): the whole process tree is killed, the row is recorded, the exit code is 1."""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"
sys.path.insert(0, str(BENCH))

import common  # noqa: E402
import vs_datatrove  # noqa: E402

# a parent that starts a child which would outlive it, then both hang (datatrove's extractor pool waiting on a
# worker whose import failed); the child writes its pid so the test can check it is gone
HANG = ("import subprocess, sys, time; p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)']); "
        "open(sys.argv[1], 'w').write(str(p.pid)); time.sleep(600)")


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1][0] != "Z"
    except FileNotFoundError:
        return False


def _wait_for(path: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists() or not path.read_text():
        assert time.monotonic() < deadline, f"{path} never written"
        time.sleep(0.05)


def test_run_measured_kills_the_whole_tree_after_timeout(tmp_path):
    pidfile = tmp_path / "child.pid"
    t0 = time.monotonic()
    m = common.run_measured([sys.executable, "-c", HANG, str(pidfile)], timeout=3)
    assert m["timed_out"] and m["rc"] < 0 and time.monotonic() - t0 < 60
    _wait_for(pidfile)
    child = int(pidfile.read_text())
    deadline = time.monotonic() + 10
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child)
    assert not common.run_measured([sys.executable, "-c", "pass"], timeout=60)["timed_out"]


def test_bench_fails_when_a_tool_hangs(tmp_path, monkeypatch, capsys):
    inputs = tmp_path / "inputs" / "tiny"
    inputs.mkdir(parents=True)
    (inputs / "manifest.json").write_text(json.dumps({"records": 1, "html_bytes": 1}))
    pidfile = tmp_path / "child.pid"
    monkeypatch.setattr(vs_datatrove, "WORK", str(tmp_path / "work"))
    monkeypatch.setattr(vs_datatrove, "our_cmd", lambda *a: [sys.executable, "-c", HANG, str(pidfile)])
    rc = vs_datatrove.main(["bench", "--variant", "tiny", "--inputs", str(tmp_path / "inputs"), "--runs", "1",
                            "--workers", "1", "--tools", "yuliao", "--timeout", "3"])
    assert rc == 1
    assert "killed after --timeout 3s" in capsys.readouterr().err
    (row,) = [json.loads(x) for x in open(os.path.join(tmp_path, "work", "results", "vs_datatrove-tiny.jsonl"))]
    assert row["timed_out"] and row["rc"] < 0 and "stage_ms" not in row


if __name__ == "__main__":
    sys.exit(pytest.main([__file__]))
