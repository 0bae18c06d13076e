"""Peak RSS per process of a 2-worker local build: the launcher and each SDK worker (issue #20).

    python bench/worker_rss.py [--runs 2] [--variant mix-zh-en] [--baseline-root DIR]

Runs ``yuliao build --direct_running_mode multi_processing --direct_num_workers 2`` of this checkout (and, with
``--baseline-root``, of another checkout, e.g. main before a change; interleaved) on ``bench/work/inputs/<variant>``
(the WARCs of ``bench/vs_datatrove.py``) and samples every process of the tree from /proc every 0.1 s: each
process's peak RSS (launcher, workers, the ``/bin/sh`` Beam starts each worker with), the tree's peak (the sum
``bench/vs_datatrove.py`` reports) and what each process was at that moment. Memory only: CPU figures come from
``bench/vs_datatrove.py`` (interleaved with datatrove, under the bench lock).
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from common import _children_map  # noqa: E402

PAGE = os.sysconf("SC_PAGE_SIZE")


def _rss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * PAGE
    except OSError:
        return 0


def _role(pid: int, root: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return "?"
    if pid == root:
        return "launcher"
    if cmd.startswith("/bin/sh"):
        return "shell"
    return "worker" if "worker" in cmd else "other"


def measure(root_dir: str, input_dir: str, out_dir: str) -> dict:
    """One build: {role: [peak MB per process]}, tree peak MB and each role's MB at the tree's peak."""
    shutil.rmtree(out_dir, ignore_errors=True)
    shutil.rmtree(out_dir + ".annotations", ignore_errors=True)
    env = dict(os.environ, PYTHONPATH=root_dir, HF_HUB_OFFLINE="1", PYTHONWARNINGS="ignore",
               TOKENIZERS_PARALLELISM="false")
    cmd = [sys.executable, "-m", "pipelines.cli", "build", "--input", os.path.join(input_dir, "*.warc.gz"),
           "--output", out_dir, "-q", "--no-card", "--direct_running_mode", "multi_processing",
           "--direct_num_workers", "2"]
    with open(out_dir + ".log", "wb") as log:
        proc = subprocess.Popen(cmd, env=env, cwd=root_dir, stdout=log, stderr=subprocess.STDOUT)
    peaks: dict[int, int] = {}
    roles: dict[int, str] = {}
    best: tuple[int, dict[int, int]] = (0, {})
    done = threading.Event()

    def sample() -> None:
        nonlocal best
        while not done.is_set():
            kids, stack, snap = _children_map(), [proc.pid], {}
            while stack:
                pid = stack.pop()
                stack.extend(kids.get(pid, ()))
                snap[pid] = _rss(pid)
                roles.setdefault(pid, _role(pid, proc.pid))
                peaks[pid] = max(peaks.get(pid, 0), snap[pid])
            if sum(snap.values()) > best[0]:
                best = (sum(snap.values()), snap)
            done.wait(0.1)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    rc = proc.wait()
    done.set()
    th.join()
    if rc != 0:
        raise RuntimeError(f"build failed (exit {rc}); log: {out_dir}.log")
    mb = 2 ** 20
    by_role: dict[str, list[float]] = {}
    at_peak: dict[str, float] = {}
    for pid, peak in sorted(peaks.items()):
        by_role.setdefault(roles[pid], []).append(peak / mb)
        at_peak[roles[pid]] = at_peak.get(roles[pid], 0.0) + best[1].get(pid, 0) / mb
    return {"roles": by_role, "tree": best[0] / mb, "at_peak": at_peak}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--variant", default="mix-zh-en")
    ap.add_argument("--inputs", default=os.path.join(HERE, "work", "inputs"))
    ap.add_argument("--baseline-root", default=None, metavar="DIR", help="another Yuliao checkout, run interleaved")
    args = ap.parse_args()
    input_dir = os.path.join(args.inputs, args.variant)
    checkouts = [("this checkout", ROOT)] + ([("baseline", args.baseline_root)] if args.baseline_root else [])
    rows: dict[str, list[dict]] = {name: [] for name, _ in checkouts}
    with tempfile.TemporaryDirectory(prefix="worker-memory-") as tmp:
        for rep in range(args.runs):
            for name, root in (checkouts if rep % 2 == 0 else list(reversed(checkouts))):
                m = measure(root, input_dir, os.path.join(tmp, f"out-{len(rows[name])}-{rep}"))
                rows[name].append(m)
                print(f"[{time.strftime('%H:%M:%S')}] {name}: tree {m['tree']:.0f} MB, "
                      + ", ".join(f"{r} {'/'.join(f'{v:.0f}' for v in vs)}" for r, vs in m["roles"].items()),
                      flush=True)
    print(f"\n{args.variant}, 2 workers, medians of {args.runs} runs (MB):\n")
    print("| checkout | tree peak | launcher peak | worker peaks | shells | at the tree's peak: launcher / workers |")
    print("|---|---|---|---|---|---|")
    for name, ms in rows.items():
        def med(f):
            return statistics.median(f(m) for m in ms)
        workers = sorted(med(lambda m, i=i: sorted(m["roles"].get("worker", [0, 0]))[i]) for i in range(2))
        print(f"| {name} | {med(lambda m: m['tree']):.0f} | {med(lambda m: m['roles']['launcher'][0]):.0f} | "
              f"{workers[0]:.0f}, {workers[1]:.0f} | {med(lambda m: sum(m['roles'].get('shell', []))):.0f} | "
              f"{med(lambda m: m['at_peak'].get('launcher', 0)):.0f} / "
              f"{med(lambda m: m['at_peak'].get('worker', 0)):.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
