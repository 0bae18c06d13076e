"""Annotate once, select many: what re-selecting and resuming cost against a first build (issue #16).

    python bench/annotate_select.py [--work bench/work/annotate-select] [--recipe default] [--everything] [--repeat 3]

Inputs: every shared WARC, the shortened enwiki dump and one Chinese book (../shared/data). Measured, each as a
real `yuliao build` subprocess on the DirectRunner (CPU = user+sys of the build process and its children):

1. T1: a first build into an empty annotation store;
2. a rebuild changing only quality thresholds, and one changing only balance targets (same store): time / T1,
   and their Parquet compared byte for byte with a fresh build (new store) of the same settings;
3. a build killed (SIGKILL) once about half of the inputs are annotated, then rerun: total CPU / T1's CPU (the
   killed run's and the rerun's CPU are shown apart: what the pair costs beyond T1 is mostly a second process start
   and a second set-up of the annotate stages).
Prints a Markdown table; figures in the issue notes come from this script. One build's CPU varies by ~10% between
runs on this machine, so the script runs ``--repeat`` rounds (each: a first build into a new store, both re-selects
from it, a kill + rerun) and divides medians: the re-selects' and kill + reruns' by that of every first build (the
rounds' and the two fresh builds of round 0, which are first builds too); the machine's speed also drifts within a
run, so it also prints the median of each round's ratios to that round's own first build (taken minutes apart).
"""
from __future__ import annotations

import argparse
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("YULIAO_TEST_DATA", REPO.parent / "shared" / "data"))


def inputs(everything: bool) -> list[str]:
    """The issue's input (every shared WARC, a wiki dump, a book), or with ``everything`` every shared dump and
    every plain-text book as well (about 4x the documents, so fixed start-up costs weigh less)."""
    warcs = sorted(str(p) for p in (DATA / "web" / "warc").iterdir())
    if everything:
        return warcs + sorted(str(p) for p in (DATA / "wiki").iterdir()) + sorted(
            str(p) for sub in ("gutenberg-zh", "gutenberg-en") for p in (DATA / "books" / sub).iterdir())
    wiki = str(DATA / "wiki" / "enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2")
    book = str(DATA / "books" / "gutenberg-zh" / "pg23863-0.txt")
    return warcs + [wiki, book]


def children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def cmd(recipe: str, files: list[str], out: Path, cache: Path, sets: list[str]) -> list[str]:
    return [sys.executable, "-m", "pipelines.cli", "build", "--recipe", recipe, "--input", *files, "--output",
            str(out), "--cache", str(cache), "-q", "--no-progress", "--no-card",
            *[a for s in sets for a in ("--set", s)]]


def run(c: list[str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one build that must succeed."""
    cpu0, t0 = children_cpu(), time.perf_counter()
    subprocess.run(c, check=True, cwd=REPO, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0, children_cpu() - cpu0


def killed_at_half(c: list[str], cache: Path, n_inputs: int) -> tuple[float, float, int]:
    """Start a build, SIGKILL it once half the inputs have a completion marker; (wall, CPU, markers at kill)."""
    cpu0, t0 = children_cpu(), time.perf_counter()
    proc = subprocess.Popen(c, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while proc.poll() is None and len(list(cache.rglob("*.done.json"))) < n_inputs // 2:
        time.sleep(0.05)
    if proc.poll() is not None:
        raise SystemExit("the build finished before half its inputs were annotated")
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    return time.perf_counter() - t0, children_cpu() - cpu0, len(list(cache.rglob("*.done.json")))


def existing_store(work: Path) -> Path:
    """The annotation store a run of this script left in ``work`` (the scripts that re-select from it need one)."""
    cache = work / "cache-0"  # the first round's store
    if not cache.is_dir():
        raise SystemExit(f"no annotation store at {cache}: run bench/annotate_select.py first")
    return cache


def parquet(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*.parquet"))}


FIXED = r"""
import collections, resource, sys, time
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
t0 = cpu()
from transforms.memory import lean_beam_import
lean_beam_import(["select", "--recipe", sys.argv[1]])  # as the CLI imports Beam on a local run
import apache_beam as beam
t1 = cpu()
from apache_beam.options.pipeline_options import PipelineOptions
from pipelines import build
from pipelines.recipe import load_recipe
recipe = load_recipe(sys.argv[1])
p = beam.Pipeline(options=PipelineOptions(["--runner=DirectRunner"]))
build.select_phase(p, recipe, p | "Store entries" >> beam.Create([("x", {}, False)]), "/nonexistent/out")
t2 = cpu()
kinds = collections.Counter(t.spec.urn for t in p.to_runner_api().components.transforms.values() if not t.subtransforms)
print(t1 - t0, t2 - t1, kinds["beam:transform:pardo:v1"], kinds["beam:transform:group_by_key:v1"])
"""


def select_fixed_cost(recipe: str) -> tuple[float, float, int, int]:
    """(CPU-s to import apache_beam, CPU-s to import our modules and build the select graph, ParDos, GroupByKeys)
    in a fresh process: the part of every re-select that does not depend on the corpus."""
    out = subprocess.run([sys.executable, "-c", FIXED, recipe], check=True, cwd=REPO, capture_output=True, text=True)
    imp, graph, pardos, gbks = out.stdout.split()
    return float(imp), float(graph), int(pardos), int(gbks)


def median(xs: list[float]) -> float:
    xs = sorted(xs)
    return xs[len(xs) // 2] if len(xs) % 2 else (xs[len(xs) // 2 - 1] + xs[len(xs) // 2]) / 2


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", default=str(REPO / "bench" / "work" / "annotate-select"))
    ap.add_argument("--recipe", default="default")
    ap.add_argument("--everything", action="store_true", help="all shared dumps and books too")
    ap.add_argument("--repeat", type=int, default=3,
                    help="rounds; each round runs a first build, both re-selects and a kill + rerun, so every "
                         "ratio is a median over rounds (one run's CPU varies by ~10%% on this machine)")
    args = ap.parse_args()
    # bytecode for our own modules, as any installed package has: this machine sets PYTHONDONTWRITEBYTECODE=1, so
    # without it every build process would compile ~80 modules from source (~0.15 CPU-s each time)
    subprocess.run([sys.executable, "-m", "compileall", "-q", "pipelines", "transforms", "schemas"], check=True,
                   cwd=REPO, stdout=subprocess.DEVNULL)
    work = Path(args.work)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    files = inputs(args.everything)
    changes = {"quality": ["quality.zh.min_chars=300", "quality.space.gopher.min_doc_words=80"],
               "balance": ["balance.languages={zh: 0.6, en: 0.4}"]}

    firsts: list[tuple[float, float]] = []  # (wall, CPU) of every first build
    round_t1: list[float] = []  # CPU of each round's own first build (the paired ratios divide by it)
    runs: dict[str, list[tuple[float, float]]] = {"quality": [], "balance": [], "killed": []}
    same: dict[str, bool] = {}
    killed_detail = []
    for r in range(args.repeat):
        cache = work / f"cache-{r}"
        firsts.append(run(cmd(args.recipe, files, work / f"first-{r}", cache, [])))
        round_t1.append(firsts[-1][1])
        for label, sets in changes.items():
            runs[label].append(run(cmd(args.recipe, files, work / f"re-{label}-{r}", cache, sets)))
            if r == 0:  # once: a fresh build (new store) of the same settings, byte for byte; a first build too
                firsts.append(run(cmd(args.recipe, files, work / f"fresh-{label}", work / f"cache-fresh-{label}",
                                      sets)))
                same[label] = parquet(work / f"re-{label}-0") == parquet(work / f"fresh-{label}")
        kcache = work / f"cache-killed-{r}"
        c = cmd(args.recipe, files, work / f"killed-{r}", kcache, [])
        k_wall, k_cpu, done = killed_at_half(c, kcache, len(files))
        r_wall, r_cpu = run(c)
        runs["killed"].append((k_wall + r_wall, k_cpu + r_cpu))
        killed_detail.append(f"{done}/{len(files)} inputs, {k_cpu:.1f} + {r_cpu:.1f}")
        same["killed"] = same.get("killed", True) and parquet(work / f"killed-{r}") == parquet(work / "first-0")

    imp, graph, pardos, gbks = select_fixed_cost(args.recipe)
    print(f"{len(files)} inputs, recipe {args.recipe}, {args.repeat} rounds\n")
    print(f"select's fixed part: import apache_beam (lean, as the CLI does) {imp:.1f} CPU-s, our modules + select graph "
          f"{graph:.1f} CPU-s; "
          f"{pardos} ParDos and {gbks} GroupByKeys to run (per-step cost: bench/micro_beam_steps.py)\n")
    t1_wall, t1_cpu = median([w for w, _ in firsts]), median([c for _, c in firsts])
    print(f"first builds (T1): CPU s {', '.join(f'{c:.1f}' for _, c in firsts)}; median {t1_cpu:.1f} CPU-s, "
          f"{t1_wall:.1f} s wall\n")
    print(f"rounds' own first builds: {', '.join(f'{c:.1f}' for c in round_t1)} CPU-s\n")
    print("| run | CPU s per round | median CPU s | median CPU / median T1 | median of per-round CPU / own T1 "
          "| median wall / median T1 | Parquet vs fresh build |")
    print("|---|---|---|---|---|---|---|")
    names = {"quality": "rebuild, quality thresholds changed", "balance": "rebuild, balance targets changed",
             "killed": f"killed at half + rerun ({'; '.join(killed_detail)})"}
    for label, rs in runs.items():
        cpu, wall = median([c for _, c in rs]), median([w for w, _ in rs])
        paired = median([c / t for (_, c), t in zip(rs, round_t1)])
        print(f"| {names[label]} | {', '.join(f'{c:.1f}' for _, c in rs)} | {cpu:.1f} | **{cpu / t1_cpu:.3f}** "
              f"| {paired:.3f} | {wall / t1_wall:.2f} | {'identical' if same[label] else 'DIFFERENT'} |")
    return 0 if all(same.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
