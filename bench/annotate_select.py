"""Annotate once, select many: what re-selecting and resuming cost against a first build (issue #16).

    python bench/annotate_select.py [--work bench/work/annotate-select] [--recipe default] [--everything]

Inputs: every shared WARC, the shortened enwiki dump and one Chinese book (../shared/data). Measured, each as a
real `yuliao build` subprocess on the DirectRunner (CPU = user+sys of the build process and its children):

1. T1: a first build into an empty annotation store;
2. a rebuild changing only quality thresholds, and one changing only balance targets (same store): time / T1,
   and their Parquet compared byte for byte with a fresh build (new store) of the same settings;
3. a build killed (SIGKILL) once about half of the inputs are annotated, then rerun: total CPU / T1's CPU (the
   killed run's and the rerun's CPU are shown apart: what the pair costs beyond T1 is mostly a second process start
   and a second set-up of the annotate stages).
Prints a Markdown table; figures in the issue notes come from this script. The three first builds (T1 and the two
fresh builds) differ by a few % on one machine, so the last column divides by their mean.
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
    cache = work / "cache"
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


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", default=str(REPO / "bench" / "work" / "annotate-select"))
    ap.add_argument("--recipe", default="default")
    ap.add_argument("--everything", action="store_true", help="all shared dumps and books too")
    args = ap.parse_args()
    # bytecode for our own modules, as any installed package has: this machine sets PYTHONDONTWRITEBYTECODE=1, so
    # without it every build process would compile ~80 modules from source (~0.15 CPU-s each time)
    subprocess.run([sys.executable, "-m", "compileall", "-q", "pipelines", "transforms", "schemas"], check=True,
                   cwd=REPO, stdout=subprocess.DEVNULL)
    work = Path(args.work)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    files = inputs(args.everything)
    quality = ["quality.zh.min_chars=300", "quality.space.gopher.min_doc_words=80"]
    balance = ["balance.languages={zh: 0.6, en: 0.4}"]
    cache = work / "cache"

    rows = []
    t1_wall, t1_cpu = run(cmd(args.recipe, files, work / "first", cache, []))
    rows.append(("first build (T1)", t1_wall, t1_cpu, "—"))
    fresh_rows = []
    for label, sets in (("quality thresholds changed", quality), ("balance targets changed", balance)):
        wall, cpu = run(cmd(args.recipe, files, work / f"re-{label[:7]}", cache, sets))
        f_wall, f_cpu = run(cmd(args.recipe, files, work / f"fresh-{label[:7]}", work / f"cache-fresh-{label[:7]}",
                                sets))
        same = parquet(work / f"re-{label[:7]}") == parquet(work / f"fresh-{label[:7]}")
        rows.append((f"rebuild, {label}", wall, cpu, "identical" if same else "DIFFERENT"))
        # a first build too (empty store): how much T1 itself varies between runs on this machine
        fresh_rows.append((f"(fresh build, {label}: a first build)", f_wall, f_cpu, "—"))
    rows += fresh_rows

    kcache = work / "cache-killed"
    c = cmd(args.recipe, files, work / "killed", kcache, [])
    k_wall, k_cpu, done = killed_at_half(c, kcache, len(files))
    r_wall, r_cpu = run(c)
    same = parquet(work / "killed") == parquet(work / "first")
    rows.append((f"killed after {done}/{len(files)} inputs ({k_cpu:.1f} CPU-s) + rerun ({r_cpu:.1f})", k_wall + r_wall,
                 k_cpu + r_cpu, "identical" if same else "DIFFERENT"))

    imp, graph, pardos, gbks = select_fixed_cost(args.recipe)
    print(f"{len(files)} inputs, recipe {args.recipe}\n")
    print(f"select's fixed part: import apache_beam (lean, as the CLI does) {imp:.1f} CPU-s, our modules + select graph "
          f"{graph:.1f} CPU-s; "
          f"{pardos} ParDos and {gbks} GroupByKeys to run (per-step cost: bench/micro_beam_steps.py)\n")
    # T1 varies by a few % between runs: the two fresh builds are first builds too, so the mean of all three is a
    # steadier denominator (last column)
    mean_first = (t1_cpu + sum(r[2] for r in fresh_rows)) / (1 + len(fresh_rows))
    print("| run | wall s | CPU s | wall / T1 | CPU / T1 | CPU / mean first build | Parquet vs fresh build |")
    print("|---|---|---|---|---|---|---|")
    for label, wall, cpu, same in rows:
        print(f"| {label} | {wall:.1f} | {cpu:.1f} | {wall / t1_wall:.2f} | {cpu / t1_cpu:.2f} | {cpu / mean_first:.2f} "
              f"| {same} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
