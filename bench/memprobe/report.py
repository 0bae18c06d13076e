"""Read what ``bench/memprobe`` wrote in SDK workers.

    .venv/bin/python bench/memprobe/report.py DIR --stages [--top 6]      # each worker's peak per step
    .venv/bin/python bench/memprobe/report.py DIR [--top 15] [--frames 4]  # tracemalloc snapshots

``--stages``: for every worker (``w<pid>.tsv``), the steps where its RSS was highest, with the other columns at
that sample (input queue, live blocks, glibc in use / free / mmapped, Arrow, output-stream buffers) — where a
worker peaks and what the memory is. Without it: top allocation sites of each tracemalloc snapshot and the
growth between consecutive ones.
"""
from __future__ import annotations

import argparse
import re
import tracemalloc
from pathlib import Path


def header(snap_path: Path) -> str:
    txt = snap_path.with_suffix(".txt")
    return txt.read_text().split("\n", 2)[0] + " | " + txt.read_text().split("\n", 2)[1] if txt.exists() else ""


def stages(root: Path, top: int) -> None:
    for tsv in sorted(root.glob("w*.tsv")):
        lines = tsv.read_text().splitlines()
        head = lines[0].split("\t")
        best: dict[str, dict] = {}
        for line in lines[1:]:
            row = dict(zip(head, line.split("\t")))
            if "rss_mb" not in row or not row["rss_mb"].isdigit():
                continue
            step = row["where"].split(" | ")[0].strip() or "-"
            if step not in best or int(row["rss_mb"]) > int(best[step]["rss_mb"]):
                best[step] = row
        rows = sorted(best.values(), key=lambda r: -int(r["rss_mb"]))[:top]
        cols = [c for c in ("in_q_mb", "out_q_mb", "py_blocks_k", "malloc_used_mb", "malloc_free_mb", "malloc_mmap_mb",
                            "arrow_mb", "out_buf_mb", "out_bufs") if c in head]
        print(f"## {tsv.stem}: peak {rows[0]['rss_mb'] if rows else '?'} MB")
        print("rss_mb  " + "  ".join(cols) + "  step")
        for r in rows:
            print(f"{r['rss_mb']:>6}  " + "  ".join(f"{r.get(c, ''):>{len(c)}}" for c in cols)
                  + f"  {r['where'].split(' | ')[0].strip() or '-'}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--stages", action="store_true", help="each worker's highest-RSS steps (from w<pid>.tsv)")
    ap.add_argument("--top", type=int, default=15)
    ap.add_argument("--frames", type=int, default=4, help="innermost frames shown per site")
    ap.add_argument("--workers", nargs="*", help="only these pids")
    args = ap.parse_args()
    if args.stages:
        stages(Path(args.dir), args.top if args.top != 15 else 6)
        return
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
