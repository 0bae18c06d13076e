"""Fused stages a re-select runs on the DirectRunner (FnApiRunner), and how many of them only move elements.

    python bench/annotate_select.py            # first: fills bench/work/annotate-select/cache
    python bench/select_stages.py [--work bench/work/annotate-select] [--list]

Runs one ``yuliao build`` in this process on the annotation store ``annotate_select.py`` left (every input found,
so select runs alone) and counts the stages the runner executes: each is a bundle with its own set-up (bundle
processor, threads, state sampler), the main per-step cost of a re-select besides Beam's import
(bench/RESULTS.md). "Only moving elements" are stages without a step of ours or of Beam's combiners: a ``Flatten``
read by another ``Flatten`` or by a ``GroupByKey``, an unread ``Flatten``.
"""
from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import annotate_select  # noqa: E402

from apache_beam.runners.portability.fn_api_runner import fn_runner  # noqa: E402

STAGES: list[str] = []
_run_stages = fn_runner.FnApiRunner.run_stages


def _counting(self, stage_context, stages):
    STAGES.extend(s.name for s in stages)
    return _run_stages(self, stage_context, stages)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", default=str(annotate_select.REPO / "bench" / "work" / "annotate-select"))
    ap.add_argument("--recipe", default="default")
    ap.add_argument("--list", action="store_true", help="print every stage's name")
    args = ap.parse_args()
    work = Path(args.work)
    cache = annotate_select.existing_store(work)
    out = work / "stages-out"
    shutil.rmtree(out, ignore_errors=True)
    c = annotate_select.cmd(args.recipe, annotate_select.inputs(False), out, cache, [])
    fn_runner.FnApiRunner.run_stages = _counting
    from pipelines.cli import main as cli

    if cli(c[c.index("build"):]) != 0:
        raise SystemExit("the build failed")
    moving = [s for s in STAGES if "ref_AppliedPTransform" not in s and "/Merge)" not in s]
    print(f"{len(STAGES)} fused stages, {len(moving)} of them only moving elements between steps")
    if args.list:
        for s in STAGES:
            print(("  * " if s in moving else "    ") + s[:160])
    return 0


if __name__ == "__main__":
    sys.exit(main())
