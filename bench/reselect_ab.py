"""A re-select's CPU at two revisions, interleaved in one run (so machine load hits both alike).

    python bench/annotate_select.py            # first: fills bench/work/annotate-select/cache
    python bench/reselect_ab.py --base d3a023b [--pairs 3] [--work bench/work/annotate-select]

The base revision's tree is exported (``git archive``) to ``<work>/code-<rev>``; each pair runs the same re-select
(the issue's input, quality thresholds changed, on the annotation store ``annotate_select.py`` left) once with the
base's code and once with this checkout's, each as a real ``yuliao build`` subprocess; prints CPU-s (user+sys) per
run and the median ratio, and whether both revisions wrote the same Parquet files byte for byte.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import annotate_select as A  # noqa: E402


def reselect_cpu(code: Path, cache: Path, out: Path) -> float:
    shutil.rmtree(out, ignore_errors=True)
    sets = ["quality.zh.min_chars=300", "quality.space.gopher.min_doc_words=80"]
    c = A.cmd("default", A.inputs(False), out, cache, sets)
    cpu0 = A.children_cpu()
    subprocess.run(c, check=True, cwd=code, stdout=subprocess.DEVNULL, env={**os.environ, "PYTHONPATH": str(code)})
    return A.children_cpu() - cpu0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base", required=True, help="git revision to compare with")
    ap.add_argument("--pairs", type=int, default=3)
    ap.add_argument("--work", default=str(A.REPO / "bench" / "work" / "annotate-select"))
    args = ap.parse_args()
    work = Path(args.work)
    cache = A.existing_store(work)
    base = work / f"code-{args.base}"
    if not base.is_dir():
        base.mkdir(parents=True)
        archive = subprocess.run(["git", "archive", args.base], cwd=A.REPO, check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(base)], input=archive, check=True)
    ratios = []
    for i in range(args.pairs):
        b = reselect_cpu(base, cache, work / "ab-base")
        n = reselect_cpu(A.REPO, cache, work / "ab-new")
        ratios.append(n / b)
        print(f"pair {i + 1}: {args.base} {b:.2f} CPU-s, this checkout {n:.2f} CPU-s ({n / b:.2f})", flush=True)
    print(f"median ratio this checkout / {args.base}: {statistics.median(ratios):.2f}")
    same = A.parquet(work / "ab-base") == A.parquet(work / "ab-new")
    print(f"Parquet output of the last pair: {'identical' if same else 'DIFFERENT'}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
