"""Read the tracemalloc snapshots ``bench/memprobe`` wrote in SDK workers: top allocation sites of each and the
growth between consecutive ones.

    .venv/bin/python bench/memprobe/report.py DIR [--top 15] [--frames 4]
"""
from __future__ import annotations

import argparse
import re
import tracemalloc
from pathlib import Path


def header(snap_path: Path) -> str:
    txt = snap_path.with_suffix(".txt")
    return txt.read_text().split("\n", 2)[0] + " | " + txt.read_text().split("\n", 2)[1] if txt.exists() else ""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--top", type=int, default=15)
    ap.add_argument("--frames", type=int, default=4, help="innermost frames shown per site")
    ap.add_argument("--workers", nargs="*", help="only these pids")
    args = ap.parse_args()
    by_worker: dict[str, list[Path]] = {}
    for p in sorted(Path(args.dir).glob("w*-*.tracemalloc")):
        pid = re.match(r"w(\d+)-", p.name).group(1)
        if not args.workers or pid in args.workers:
            by_worker.setdefault(pid, []).append(p)
    for pid, paths in by_worker.items():
        prev = None
        for p in paths:
            snap = tracemalloc.Snapshot.load(str(p))
            total = sum(t[1] for t in snap.traces._traces)
            print(f"\n##### worker {pid} {p.name}: traced {total / 2**20:.0f} MB | {header(p)}")
            for st in snap.statistics("traceback")[:args.top]:
                frames = st.traceback.format(limit=args.frames, most_recent_first=True)
                print(f"{st.size / 2**20:8.1f} MB {st.count:9d} blocks  " + " <- ".join(
                    f.strip().replace('File "', "").replace('", line ', ":") for f in frames[::2]))
            if prev is not None:
                print(f"--- growth since {prev[0].name}")
                for st in snap.compare_to(prev[1], "traceback")[:args.top]:
                    frames = st.traceback.format(limit=args.frames, most_recent_first=True)
                    print(f"{st.size_diff / 2**20:+8.1f} MB {st.count_diff:+9d} blocks  " + " <- ".join(
                        f.strip().replace('File "', "").replace('", line ', ":") for f in frames[::2]))
            prev = (p, snap)


if __name__ == "__main__":
    main()
