"""Shared helpers for the benchmarks: process-tree measurement and summary statistics.

No third-party imports, so the driver runs under any Python (ours or the datatrove venv).
"""
from __future__ import annotations

import gzip
import json
import os
import resource
import signal
import statistics
import subprocess
import threading
import time
from typing import Optional, Sequence


def _children_map() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        # field 4 (ppid) comes after the ")" that closes the command name
        ppid = int(stat[stat.rfind(b")") + 2:].split()[1])
        kids.setdefault(ppid, []).append(int(name))
    return kids


_TICK = os.sysconf("SC_CLK_TCK")


def tree_sample(root: int, cpu_seen: dict[tuple[int, int], float]) -> int:
    """Resident memory summed over ``root`` and all its descendants (from /proc); records each live
    process's own CPU seconds (utime+stime, children excluded) in ``cpu_seen`` keyed by (pid, start time)."""
    kids = _children_map()
    total, stack, page = 0, [root], os.sysconf("SC_PAGE_SIZE")
    while stack:
        pid = stack.pop()
        try:
            with open(f"/proc/{pid}/statm") as f:
                total += int(f.read().split()[1]) * page
            with open(f"/proc/{pid}/stat", "rb") as f:
                stat = f.read()
            fields = stat[stat.rfind(b")") + 2:].split()
            # fields[11], [12] = utime, stime; [19] = starttime (man 5 proc, numbering from state = 0)
            cpu_seen[(pid, int(fields[19]))] = (int(fields[11]) + int(fields[12])) / _TICK
        except (OSError, IndexError, ValueError):
            pass
        stack.extend(kids.get(pid, ()))
    return total


def tree_rss_bytes(root: int) -> int:
    """Resident memory summed over ``root`` and all its descendants (from /proc)."""
    return tree_sample(root, {})


class Measured(dict):
    """wall_s, cpu_s (user+sys of the whole process tree), rusage_cpu_s, sampled_cpu_s, peak_tree_rss_mb, rc,
    timed_out."""


def kill_tree(root: int) -> None:
    """SIGKILL ``root`` and every descendant (children first found, then killed, so none is re-parented away)."""
    kids, stack, found = _children_map(), [root], []
    while stack:
        pid = stack.pop()
        found.append(pid)
        stack.extend(kids.get(pid, ()))
    for pid in reversed(found):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def run_measured(cmd: Sequence[str], env: Optional[dict] = None, log_path: Optional[str] = None,
                 interval: float = 0.1, cwd: Optional[str] = None, timeout: Optional[float] = None) -> Measured:
    """Run ``cmd`` to completion; CPU and peak RSS of the whole process tree.

    CPU is the larger of the ``getrusage(RUSAGE_CHILDREN)`` delta (exact, but only for descendants
    that were waited for) and the sum of per-process CPU sampled from /proc every ``interval``.
    After ``timeout`` seconds the whole tree is killed and ``timed_out`` is true (``rc`` is then the
    kill signal's negative number): a tool whose worker hangs fails the run instead of blocking it.
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    log = open(log_path, "wb") if log_path else subprocess.DEVNULL
    t0 = time.perf_counter()
    proc = subprocess.Popen(list(cmd), env=env, stdout=log, stderr=subprocess.STDOUT, cwd=cwd)
    peak = [0]
    cpu_seen: dict[tuple[int, int], float] = {}
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], tree_sample(proc.pid, cpu_seen))
            done.wait(interval)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    timed_out = False
    try:
        rc = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        kill_tree(proc.pid)
        rc = proc.wait()
    wall = time.perf_counter() - t0
    done.set()
    th.join()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if log_path:
        log.close()
    rusage_cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    sampled_cpu = sum(cpu_seen.values())
    # RUSAGE_CHILDREN misses processes whose parent never waited for them (datatrove's forkserver pool
    # workers); the /proc samples miss at most one interval per process. Take the larger.
    return Measured(wall_s=wall, cpu_s=max(rusage_cpu, sampled_cpu), rusage_cpu_s=rusage_cpu,
                    sampled_cpu_s=sampled_cpu, peak_tree_rss_mb=peak[0] / 2**20, rc=rc, timed_out=timed_out)


def med(values: Sequence[float]) -> tuple[float, float, float]:
    """(median, min, max)."""
    return statistics.median(values), min(values), max(values)


def fmt(values: Sequence[float], digits: int = 1) -> str:
    m, lo, hi = med(values)
    return f"{m:.{digits}f} ({lo:.{digits}f}–{hi:.{digits}f})"


def manifest_pages(data_dir: str) -> list[tuple[dict, str]]:
    """(manifest row, decoded HTML) for every page in ../shared/data/web, in path order."""
    with gzip.open(os.path.join(data_dir, "web", "manifest.jsonl.gz"), "rt", encoding="utf-8") as f:
        rows = sorted((json.loads(line) for line in f), key=lambda r: r["path"])
    out = []
    for row in rows:
        with open(os.path.join(data_dir, row["path"]), "rb") as fh:
            body = gzip.decompress(fh.read())
        try:
            html = body.decode(row.get("detected_encoding") or "utf-8")
        except (LookupError, UnicodeDecodeError):
            html = body.decode("utf-8", "replace")
        out.append((row, html))
    return out


def load_texts(data_dir: Optional[str] = None, cache: Optional[str] = None) -> list[tuple[str, str]]:
    """[(manifest lang, main text)] for every page of the web manifest, extracted once and cached.

    Text comes from resiliparse (main content) when it is importable (fast), else trafilatura; the
    micro-benchmarks of MinHash and LID only need realistic text sizes and languages.
    """

    here = os.path.dirname(os.path.abspath(__file__))
    data_dir = data_dir or os.environ.get("YULIAO_TEST_DATA", os.path.join(here, "..", "..", "shared", "data"))
    cache = cache or os.path.join(here, "work", "texts.jsonl.gz")
    if os.path.exists(cache):
        with gzip.open(cache, "rt", encoding="utf-8") as f:
            return [tuple(json.loads(line)) for line in f]
    import sys

    sys.path.append(os.path.join(here, "work", "micro-libs"))
    try:
        from resiliparse.extract.html2text import extract_plain_text

        def extract(html: str) -> str:
            return extract_plain_text(html, main_content=True)
    except ImportError:
        import trafilatura

        def extract(html: str) -> str:
            return trafilatura.extract(html) or ""
    out = []
    for row, html in manifest_pages(data_dir):
        text = extract(html)
        if text.strip():
            out.append((row.get("lang") or "und", text))
    os.makedirs(os.path.dirname(cache), exist_ok=True)
    with gzip.open(cache, "wt", encoding="utf-8") as f:
        for row in out:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    return out
