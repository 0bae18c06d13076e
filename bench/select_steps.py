"""Beam steps in select's graph (default recipe), per top-level step: ParDos, GroupByKeys, Flattens.

    python bench/select_steps.py [--base REV] [--recipe default] [--set KEY=VALUE ...] [--runs N]

Every step costs a fixed amount on every run whatever its input size (``bench/micro_beam_steps.py``: ~5 ms per ParDo,
~4 ms more per GroupByKey on the DirectRunner); a re-select's fixed part is mostly that (bench/RESULTS.md). Counts
are of the leaf transforms of the portable graph (a ``CombinePerKey`` is one ParDo + one GroupByKey there; the
runner lifts it into three ParDos around the GroupByKey). With ``--base REV`` the same counts at ``REV`` (exported
with ``git archive`` to a temporary folder) are printed beside this checkout's. Fused stages a real re-select runs:
``bench/select_stages.py``.

``--runs N`` also measures what those steps cost: the select graph built and run on the DirectRunner with **no
input** (so every CPU-second is fixed cost: graph construction, translation, one bundle per fused stage), N times
per revision in fresh processes, interleaved; prints the median CPU-s of each and their ratio. Imports are not
counted (they do not depend on the graph).
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
KINDS = {"beam:transform:pardo:v1": "pardo", "beam:transform:group_by_key:v1": "gbk",
         "beam:transform:flatten:v1": "flatten"}


def group_of(name: str) -> str:
    """Top-level step; dedup's near part by its sub-step (components rounds together)."""
    parts = name.split("/")
    if parts[0] == "dedup" and len(parts) > 1:
        sub = parts[1]
        if sub.startswith("near CC stats"):
            return "dedup/near CC stats"
        if sub in ("near components", "near candidates"):
            return f"dedup/{sub}"
        return "dedup/exact" if sub.startswith("dedup exact") else "dedup/near (joins, decide, apply)"
    if parts[0].startswith("Sink dead letters") or parts[0] == "All rejects":
        return "Write rejects"
    if parts[0] in ("index rows", "index settings", "Write index settings"):
        return "Write index"
    if parts[0] in ("All stats",):
        return "Stats"
    return parts[0]


def counts(recipe: str, sets: list[str]) -> dict[str, dict[str, int]]:
    from transforms.memory import lean_beam_import

    lean_beam_import(["select", "--recipe", recipe])
    import apache_beam as beam
    from apache_beam.options.pipeline_options import PipelineOptions

    from pipelines import build
    from pipelines.recipe import load_recipe

    p = beam.Pipeline(options=PipelineOptions(["--runner=DirectRunner"]))
    entries = p | "Store entries" >> beam.Create([("x", {}, False)], reshuffle=False)
    build.select_phase(p, load_recipe(recipe, sets), entries, "/nonexistent/out")
    out: dict[str, dict[str, int]] = collections.defaultdict(lambda: dict.fromkeys(KINDS.values(), 0))
    for t in p.to_runner_api().components.transforms.values():
        kind = KINDS.get(t.spec.urn)
        if not t.subtransforms and kind and not t.unique_name.startswith("Store entries"):
            out[group_of(t.unique_name)][kind] += 1
    return dict(out)


def empty_run(recipe: str, sets: list[str]) -> tuple[float, float]:
    """(CPU-s to build the select graph, CPU-s to run it) on no input, in this process."""
    import resource

    from transforms.memory import lean_beam_import

    lean_beam_import(["select", "--recipe", recipe])
    import apache_beam as beam
    from apache_beam.options.pipeline_options import PipelineOptions

    import transforms.stage  # noqa: F401 - Beam patches every Yuliao process installs
    from pipelines import build
    from pipelines.recipe import load_recipe

    def cpu() -> float:
        r = resource.getrusage(resource.RUSAGE_SELF)
        return r.ru_utime + r.ru_stime

    r = load_recipe(recipe, sets)
    with tempfile.TemporaryDirectory() as out:
        t0 = cpu()
        p = beam.Pipeline(options=PipelineOptions(["--runner=DirectRunner"]))
        build.select_phase(p, r, p | "Store entries" >> beam.Create([], reshuffle=False), out)
        t1 = cpu()
        p.run().wait_until_finish()
        return t1 - t0, cpu() - t1


def child(code: str, argv: list[str]) -> dict:
    """This script's JSON answer, run in a fresh process on the code at ``code``."""
    res = subprocess.run([sys.executable, __file__, *argv], check=True, capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": code}, cwd=code)
    return json.loads(res.stdout.splitlines()[-1])


def export(rev: str, tmp: str) -> str:
    archive = subprocess.run(["git", "archive", rev], cwd=REPO, check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", tmp], input=archive, check=True)
    return tmp


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base", help="git revision to compare with")
    ap.add_argument("--recipe", default="default")
    ap.add_argument("--set", action="append", default=[], help="recipe override KEY=VALUE")
    ap.add_argument("--runs", type=int, default=0, help="also time N runs on no input per revision")
    ap.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--empty-run", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    argv = ["--recipe", args.recipe, *[a for s in args.set for a in ("--set", s)]]
    if args.json:
        print(json.dumps(counts(args.recipe, args.set)))
        return 0
    if args.empty_run:
        print(json.dumps(empty_run(args.recipe, args.set)))
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        base = export(args.base, tmp) if args.base else None
        table(child(str(REPO), ["--json", *argv]), child(base, ["--json", *argv]) if base else None, args.base)
        if args.runs:
            timed(base, argv, args.runs, args.base)
    return 0


def timed(base: str | None, argv: list[str], runs: int, rev: str | None) -> None:
    import statistics

    codes = {"now": str(REPO), **({rev: base} if base else {})}
    got: dict[str, list] = {k: [] for k in codes}
    for _ in range(runs):  # interleaved: machine load hits both alike
        for k, code in codes.items():
            got[k].append(child(code, ["--empty-run", *argv]))
    med = {k: (statistics.median(g for g, _ in v), statistics.median(r for _, r in v)) for k, v in got.items()}
    print(f"\nselect graph on no input, median of {runs} fresh processes (CPU-s: build graph + run = total):")
    for k, (g, r) in med.items():
        print(f"  {k}: {g:.3f} + {r:.3f} = {g + r:.3f}")
    if base:
        print(f"  ratio now / {rev}: {sum(med['now']) / sum(med[rev]):.2f} "
              f"({sum(med[rev]) - sum(med['now']):.3f} CPU-s less per run)")


def table(new: dict, old: dict | None, rev: str | None) -> None:
    """Markdown table of the counts per step (``old → new`` with a base revision)."""
    cols = ["pardo", "gbk", "flatten"]
    head = " | ".join(f"{c}s" for c in cols)
    print(f"| step | {head} |" if old is None else f"| step | {' | '.join(f'{c}s {rev} → now' for c in cols)} |")
    print("|---" * (len(cols) + 1) + "|")
    names = sorted(set(new) | set(old or {}))
    tot_new, tot_old = collections.Counter(), collections.Counter()
    for name in names + ["**total**"]:
        if name == "**total**":
            n, o = tot_new, tot_old
        else:
            n, o = new.get(name, {}), (old or {}).get(name, {})
            tot_new.update(n)
            tot_old.update(o)
        cells = [f"{n.get(c, 0)}" if old is None else f"{o.get(c, 0)} → {n.get(c, 0)}" for c in cols]
        print(f"| {name} | {' | '.join(cells)} |")


if __name__ == "__main__":
    sys.exit(main())
