"""Live progress of a local build: documents in/out of each stage and elapsed time.

Why a file and not Beam metrics: on the DirectRunner ``Pipeline.run()`` blocks until the whole
pipeline is done, and its metrics can only be read from the result afterwards (checked with
apache-beam 2.77: ``run()`` returns in state DONE), so the CLI cannot poll them mid-run. Instead,
when progress is on, the CLI sets ``YULIAO_PROGRESS_FILE`` and every ``RunStage`` keeps a
``Ticker`` that appends a short line ``stage<TAB>in<TAB>out<TAB>rejected`` with the deltas since
its last line, at most every ``FLUSH_SECONDS`` and at the end of each bundle. Appends of one short
line with ``O_APPEND`` are atomic on local POSIX filesystems, so DirectRunner threads and
multi-processing workers can share the file. Without the variable (remote workers, tests) a
``Ticker`` does nothing. The same steps also increment Beam ``Metrics`` counters ``(stage, in|out)``,
which runners with a live UI (Dataflow, Flink) show while the job runs.

The reader side (``ProgressFile``, ``ProgressDisplay``) sums the lines and shows a ``rich`` live
table on a terminal, or a plain log line every ``log_every`` seconds otherwise.

Percentage and ETA: the pseudo-stage ``BYTES_STAGE`` carries input bytes read (``report_bytes``); with
the total input size the display shows ``37% ETA 0:04:10`` (elapsed × remaining / done).

Remote runners (Dataflow, Flink, Spark: ``run()`` returns while the job runs, and workers cannot write a
local file): every ``Ticker`` also increments Beam counters in namespace ``METRICS_NAMESPACE``
(``<stage>/in``, ``/out``, ``/rejected``); ``MetricsProgress`` polls ``result.metrics()`` for them and
feeds the same display. ``job_announcement`` names the job id (and the Dataflow console URL).
"""
from __future__ import annotations

import os
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable, TextIO

ENV = "YULIAO_PROGRESS_FILE"
FLUSH_SECONDS = 0.5
BYTES_STAGE = "@input_bytes"  # n_in = input bytes read (not a stage; drives percentage and ETA)
METRICS_NAMESPACE = "yuliao.progress"
LOCAL_RUNNERS = ("DirectRunner", "SwitchingDirectRunner", "BundleBasedDirectRunner", "FnApiRunner",
                 "LeanWorkersRunner")  # the last: transforms/local_runner.py


# ------------------------------------------------------------------ worker side
class Ticker:
    """Accumulates one stage's counts in a worker and appends deltas to the progress file."""

    def __init__(self, stage: str, path: str | None = None, flush_seconds: float = FLUSH_SECONDS):
        self.stage = stage.replace("\t", " ").replace("\n", " ")
        self.path = path if path is not None else os.environ.get(ENV) or None
        self.flush_seconds = flush_seconds
        self._pending = [0, 0, 0]
        self._last = time.monotonic()
        self._counters = None

    def _metrics(self, n_in: int, n_out: int, n_rejected: int) -> None:
        """Beam counters for runners whose workers cannot reach the local file (a no-op outside a pipeline)."""
        if self._counters is None:
            from apache_beam.metrics import Metrics

            self._counters = [Metrics.counter(METRICS_NAMESPACE, f"{self.stage}/{k}") for k in ("in", "out", "rejected")]
        for counter, n in zip(self._counters, (n_in, n_out, n_rejected)):
            if n:
                counter.inc(n)

    @property
    def enabled(self) -> bool:
        return self.path is not None

    def add(self, n_in: int = 0, n_out: int = 0, n_rejected: int = 0) -> None:
        self._metrics(n_in, n_out, n_rejected)
        if self.path is None:
            return
        p = self._pending
        p[0] += n_in
        p[1] += n_out
        p[2] += n_rejected
        if time.monotonic() - self._last >= self.flush_seconds:
            self.flush()

    def flush(self) -> None:
        if self.path is None or not any(self._pending):
            return
        line = f"{self.stage}\t{self._pending[0]}\t{self._pending[1]}\t{self._pending[2]}\n".encode()
        self._pending = [0, 0, 0]
        self._last = time.monotonic()
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(fd, line)
            finally:
                os.close(fd)
        except OSError:  # progress is best effort; never fail a pipeline step over it
            self.path = None


def report_bytes(n: int) -> None:
    """Input bytes read (a split or file done): drives the percentage and ETA."""
    if n:
        t = Ticker(BYTES_STAGE)
        t.add(n)
        t.flush()


# ------------------------------------------------------------------ reader side
@dataclass
class StageProgress:
    n_in: int = 0
    n_out: int = 0
    n_rejected: int = 0


@dataclass
class ProgressFile:
    """Incrementally reads the progress file and keeps per-stage totals."""

    path: str
    totals: dict[str, StageProgress] = field(default_factory=dict)
    _offset: int = 0
    _partial: bytes = b""

    def poll(self) -> dict[str, StageProgress]:
        try:
            with open(self.path, "rb") as f:
                f.seek(self._offset)
                data = f.read()
        except FileNotFoundError:
            return self.totals
        self._offset += len(data)
        data = self._partial + data
        lines = data.split(b"\n")
        self._partial = lines.pop()  # incomplete last line (or b"")
        for raw in lines:
            parts = raw.decode("utf-8", "replace").split("\t")
            if len(parts) != 4:
                continue
            try:
                n_in, n_out, n_rej = (int(x) for x in parts[1:])
            except ValueError:
                continue
            s = self.totals.setdefault(parts[0], StageProgress())
            s.n_in += n_in
            s.n_out += n_out
            s.n_rejected += n_rej
        return self.totals


def format_elapsed(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600:d}:{s % 3600 // 60:02d}:{s % 60:02d}"


def ordered(totals: dict[str, StageProgress], order: Iterable[str]) -> list[tuple[str, StageProgress]]:
    order = list(order)
    rank = {name: i for i, name in enumerate(order)}
    return sorted(totals.items(), key=lambda kv: (rank.get(kv[0], len(order)), kv[0]))


def completion(totals: dict[str, StageProgress], elapsed: float, total_bytes: int | None) -> str:
    """``37% ETA 0:04:10`` from input bytes read over ``total_bytes``; "" when unknown."""
    done = totals.get(BYTES_STAGE, StageProgress()).n_in
    if not total_bytes or not done:
        return ""
    frac = min(1.0, done / total_bytes)
    eta = elapsed * (1 - frac) / frac if frac > 0 else 0.0
    return f"{100 * frac:.0f}% of input read" + (f", ETA {format_elapsed(eta)}" if frac < 1 else "")


def log_line(totals: dict[str, StageProgress], elapsed: float, order: Iterable[str] = (),
             total_bytes: int | None = None) -> str:
    """One plain line for logs: ``progress 0:01:05 (37% of input read, ETA 0:01:50) | extract 120→118 | …``."""
    pct = completion(totals, elapsed, total_bytes)
    parts = [f"progress {format_elapsed(elapsed)}" + (f" ({pct})" if pct else "")]
    for name, s in ordered(totals, order):
        if name == BYTES_STAGE:
            continue
        parts.append(f"{name} {s.n_in:,}→{s.n_out:,}" + (f" (-{s.n_rejected:,})" if s.n_rejected else ""))
    if len(parts) == 1:
        parts.append("starting")
    return " | ".join(parts)


def _rich_table(totals: dict[str, StageProgress], elapsed: float, order: Iterable[str],
                total_bytes: int | None = None):
    from rich.table import Table

    pct = completion(totals, elapsed, total_bytes)
    table = Table(title=f"yuliao build — {format_elapsed(elapsed)} elapsed" + (f", {pct}" if pct else ""),
                  title_justify="left")
    table.add_column("stage")
    table.add_column("in", justify="right")
    table.add_column("out", justify="right")
    table.add_column("rejected", justify="right")
    table.add_column("docs/s", justify="right")
    for name, s in ordered(totals, order):
        if name == BYTES_STAGE:
            continue
        rate = s.n_in / elapsed if elapsed > 0 else 0.0
        table.add_row(name, f"{s.n_in:,}", f"{s.n_out:,}", f"{s.n_rejected:,}", f"{rate:,.0f}")
    if not totals:
        table.add_row("(starting: reading inputs, loading models)", "", "", "", "")
    return table


class ProgressDisplay:
    """Context manager: shows progress of the build while the body runs.

    ``tty=None`` decides from ``stream.isatty()``: a ``rich`` live table on a terminal, else a plain
    line every ``log_every`` seconds (and one at the end).
    """

    def __init__(self, path: "str | MetricsProgress", order: Iterable[str] = (), stream: TextIO | None = None,
                 tty: bool | None = None, log_every: float = 30.0, refresh: float = 0.5,
                 clock: Callable[[], float] = time.monotonic, total_bytes: int | None = None):
        # a local progress file, or anything with poll() -> totals (MetricsProgress for remote runners)
        self.file = ProgressFile(path) if isinstance(path, str) else path
        self.total_bytes = total_bytes
        self.order = list(order)
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self.log_every, self.refresh, self.clock = log_every, refresh, clock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._live = None
        self._t0 = 0.0

    def elapsed(self) -> float:
        return self.clock() - self._t0

    def __enter__(self) -> "ProgressDisplay":
        self._t0 = self.clock()
        if self.tty:
            from rich.console import Console
            from rich.live import Live

            self._live = Live(_rich_table({}, 0.0, self.order, self.total_bytes), console=Console(file=self.stream),
                              refresh_per_second=4, transient=False)
            self._live.__enter__()
        self._thread = threading.Thread(target=self._loop, name="yuliao-progress", daemon=True)
        self._thread.start()
        return self

    def _loop(self) -> None:
        last_log = self.clock()
        while not self._stop.wait(self.refresh):
            totals = self.file.poll()
            if self._live is not None:
                self._live.update(_rich_table(totals, self.elapsed(), self.order, self.total_bytes))
            elif self.clock() - last_log >= self.log_every:
                last_log = self.clock()
                print(log_line(totals, self.elapsed(), self.order, self.total_bytes), file=self.stream, flush=True)

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        totals = self.file.poll()
        if self._live is not None:
            self._live.update(_rich_table(totals, self.elapsed(), self.order, self.total_bytes))
            self._live.__exit__(*exc)
        elif exc and exc[0] is not None:  # failed or interrupted: the error message is the last word
            return
        else:
            print(log_line(totals, self.elapsed(), self.order, self.total_bytes), file=self.stream, flush=True)


# ------------------------------------------------------------------ remote runners
class MetricsProgress:
    """Per-stage totals from a running job's Beam metrics (what ``Ticker`` increments), for ``ProgressDisplay``."""

    def __init__(self, result):
        self.result = result
        self.totals: dict[str, StageProgress] = {}

    def poll(self) -> dict[str, StageProgress]:
        from apache_beam.metrics.metric import MetricsFilter

        if hasattr(self.result, "_metrics"):
            # PortableRunner's result caches its first GetJobMetrics answer (empty before the job ran): refresh
            self.result._metrics = None  # noqa: SLF001
        try:
            counters = self.result.metrics().query(MetricsFilter().with_namespace(METRICS_NAMESPACE))["counters"]
        except Exception:  # noqa: BLE001 - a runner that cannot answer yet; keep the last totals
            return self.totals
        totals: dict[str, StageProgress] = {}
        for c in counters:
            stage, _, kind = c.key.metric.name.rpartition("/")
            value = c.committed if c.committed is not None else c.attempted
            s = totals.setdefault(stage, StageProgress())
            if kind == "in":
                s.n_in += int(value or 0)
            elif kind == "out":
                s.n_out += int(value or 0)
            elif kind == "rejected":
                s.n_rejected += int(value or 0)
        self.totals = totals
        return totals


def is_local_runner(runner) -> bool:
    """Runners whose ``run()`` blocks in this process (the progress file works; metrics only at the end)."""
    return type(runner).__name__ in LOCAL_RUNNERS


def job_announcement(result, options=None, runner: str | None = None) -> str | None:
    """``job <id> on <Runner>`` (with the Dataflow console URL when the options name project and region)."""
    job_id = None
    try:
        job_id = result.job_id() if callable(getattr(result, "job_id", None)) else getattr(result, "_job_id", None)
    except Exception:  # noqa: BLE001 - no id available from this runner
        job_id = None
    if not job_id:
        return None
    runner = runner or type(result).__name__.replace("PipelineResult", "").replace("Result", "") or "runner"
    line = f"yuliao: job {job_id} running on {runner}"
    if options is not None and "Dataflow" in runner:
        from apache_beam.options.pipeline_options import GoogleCloudOptions

        gcp = options.view_as(GoogleCloudOptions)
        if gcp.project and gcp.region:
            line += (f": https://console.cloud.google.com/dataflow/jobs/{gcp.region}/{job_id}"
                     f"?project={gcp.project}")
    return line
