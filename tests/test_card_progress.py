"""Live progress: workers append per-stage deltas to a file that the CLI polls while the
DirectRunner runs (its metrics are only readable after run() returns)."""
from __future__ import annotations

import io
import threading
import time
from pathlib import Path

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions

from schemas.document import Document
from transforms.progress import ENV, ProgressDisplay, ProgressFile, Ticker, log_line
from transforms.stage import Rejection, apply_stage


def test_ticker_is_a_no_op_without_the_variable(monkeypatch, tmp_path: Path):
    monkeypatch.delenv(ENV, raising=False)
    t = Ticker("x")
    t.add(5, 4, 1)
    t.flush()
    assert not t.enabled and list(tmp_path.iterdir()) == []


def test_ticker_deltas_sum_in_reader(tmp_path: Path):
    path = tmp_path / "p.tsv"
    a, b = Ticker("langid", str(path), flush_seconds=0), Ticker("langid", str(path), flush_seconds=3600)
    a.add(10, 8, 2)
    a.add(5, 5, 0)
    b.add(7, 7, 0)  # held back until flush
    reader = ProgressFile(str(path))
    assert reader.poll()["langid"].n_in == 15
    b.flush()
    with open(path, "ab") as f:
        f.write(b"quality\t3\t")  # a line being written: ignored until complete
    s = reader.poll()
    assert (s["langid"].n_in, s["langid"].n_out, s["langid"].n_rejected) == (22, 20, 2)
    assert "quality" not in s
    with open(path, "ab") as f:
        f.write(b"2\t1\n")
    assert reader.poll()["quality"].n_out == 2
    line = log_line(reader.totals, 65.0, ["quality", "langid"])
    assert line.startswith("progress 0:01:05 | quality 3→2 (-1) | langid 22→20 (-2)")


def test_display_prints_plain_lines_when_not_a_tty(tmp_path: Path):
    path = tmp_path / "p.tsv"
    out = io.StringIO()
    with ProgressDisplay(str(path), ["extract"], stream=out, tty=False, log_every=0.05, refresh=0.02):
        Ticker("extract", str(path), flush_seconds=0).add(3, 3, 0)
        time.sleep(0.2)
    lines = out.getvalue().splitlines()
    assert len(lines) >= 2 and lines[-1].endswith("extract 3→3")


def test_display_rich_table_on_tty(tmp_path: Path):
    path = tmp_path / "p.tsv"
    out = io.StringIO()
    with ProgressDisplay(str(path), ["extract"], stream=out, tty=True, refresh=0.02):
        Ticker("extract", str(path), flush_seconds=0).add(1234, 1200, 34)
        time.sleep(0.1)
    text = out.getvalue()
    assert "extract" in text and "1,234" in text and "elapsed" in text


class _Slow:
    """A stage that takes a little time per batch and rejects every tenth document."""

    name = "slow"
    batch_size = 20

    def setup(self) -> None:
        pass

    def apply(self, docs):
        time.sleep(0.02)
        for d in docs:
            yield Rejection(d, "tenth") if int(d.id) % 10 == 0 else d


def test_progress_updates_while_the_direct_runner_works(tmp_path: Path, monkeypatch):
    """The display sees partial counts before run() returns, and the final totals equal the stage's."""
    path = tmp_path / "p.tsv"
    monkeypatch.setenv(ENV, str(path))
    n = 1500
    p = beam.Pipeline(options=PipelineOptions(["--runner=DirectRunner"]))
    docs = p | beam.Create([Document(id=str(i), text="x" * 10, source="web", origin=str(i)) for i in range(n)])
    apply_stage(docs, _Slow())
    seen: list[int] = []
    reader = ProgressFile(str(path))
    done = threading.Event()

    def poll():
        while not done.is_set():
            s = reader.poll().get("slow")
            seen.append(s.n_in if s else 0)
            time.sleep(0.05)

    t = threading.Thread(target=poll)
    t.start()
    p.run().wait_until_finish()
    done.set()
    t.join()
    final = reader.poll()["slow"]
    assert (final.n_in, final.n_out, final.n_rejected) == (n, n - n // 10, n // 10)
    assert any(0 < x < n for x in seen), "progress only arrived at the end"
