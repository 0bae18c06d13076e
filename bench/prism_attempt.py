"""What Beam's DirectRunner spent trying Prism before every local build (``transforms/beam_no_prism.py``).

    python bench/annotate_select.py            # first: fills bench/work/annotate-select/cache
    python bench/prism_attempt.py [--pairs 3]

Runs the same re-select (the issue's input, a quality threshold changed, on the store ``annotate_select.py`` left)
as real ``yuliao build`` subprocesses, interleaved: with Beam's default (the DirectRunner first translates the
pipeline again and tries to fetch the Prism binary; on this machine the DNS lookup fails and it falls back) and
with the attempt skipped; prints CPU-s (user+sys) per run and the median saving.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import annotate_select as A  # noqa: E402

CODE = """import os, sys
from transforms.memory import lean_beam_import
lean_beam_import(sys.argv[1:])
import transforms.beam_no_prism
from apache_beam.runners.direct.direct_runner import SwitchingDirectRunner
SwitchingDirectRunner._is_interactive = os.environ["SKIP_PRISM"] == "1"  # False: Beam's default
from pipelines.cli import main
sys.exit(main(sys.argv[1:]))
"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pairs", type=int, default=3)
    ap.add_argument("--work", default=str(A.REPO / "bench" / "work" / "annotate-select"))
    args = ap.parse_args()
    work = Path(args.work)
    cache = A.existing_store(work)
    c = A.cmd("default", A.inputs(False), work / "prism-out", cache, ["quality.zh.min_chars=300"])
    argv = c[c.index("build"):] + ["--force"]
    runs: dict[str, list[float]] = {"0": [], "1": []}
    for _ in range(args.pairs):
        for flag in ("0", "1"):
            cpu0 = A.children_cpu()
            subprocess.run([sys.executable, "-c", CODE, *argv], check=True, cwd=A.REPO, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, env={**os.environ, "SKIP_PRISM": flag})
            runs[flag].append(A.children_cpu() - cpu0)
    saving = statistics.median(a - b for a, b in zip(runs["0"], runs["1"]))
    print(f"with the Prism attempt {[round(x, 2) for x in runs['0']]} CPU-s, without {[round(x, 2) for x in runs['1']]}; "
          f"median saving per build {saving:.2f} CPU-s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
