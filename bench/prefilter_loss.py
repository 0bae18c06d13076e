"""Does the language prefilter lose pages? Kept ids with ``langid.prefilter`` on vs off, same input.

    PYTHONPATH=. .venv/bin/python bench/prefilter_loss.py --variant unique        # bench/work/inputs/unique
    PYTHONPATH=. .venv/bin/python bench/prefilter_loss.py --variant mix-zh-en

Builds the input twice with the default recipe, prefilter on and off, stopping after ``langid`` (quality,
dedup, pii, tokenize and balance switched off, so "kept" means: the full path extract → normalize → langid
keeps the page). A page the prefilter loses is one kept with it off but not with it on. Also reports how
many pages the prefilter skipped before extraction (``extract`` rejects ``lang_prefilter``) out of all
language rejects of the prefilter-off build, and the CPU seconds of each build. Inputs come from
``bench/inputs.py``; results are appended to ``bench/work/results/prefilter_loss.jsonl``.
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import shutil
import sys
import time

import pyarrow.parquet as pq

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from common import run_measured  # noqa: E402

WORK = os.path.join(HERE, "work")
AFTER_LANGID = ("quality", "dedup", "pii", "tokenize", "balance")


def build(input_dir: str, out_dir: str, prefilter: bool, timeout: float) -> dict:
    shutil.rmtree(out_dir, ignore_errors=True)
    shutil.rmtree(out_dir + ".annotations", ignore_errors=True)  # no annotation store reused from a previous run
    os.makedirs(os.path.dirname(out_dir), exist_ok=True)
    sets = [a for s in AFTER_LANGID for a in ("--set", f"{s}.enabled=false")]
    cmd = [sys.executable, "-m", "pipelines.cli", "build", "--input", os.path.join(input_dir, "*.warc.gz"),
           "--output", out_dir, "-q", "--no-card", *sets, "--set", f"langid.prefilter={str(prefilter).lower()}"]
    m = run_measured(cmd, log_path=out_dir + ".log", cwd=ROOT, timeout=timeout)
    if m["rc"] != 0:
        raise SystemExit(f"build failed (rc={m['rc']}, timed out: {m['timed_out']}); see {out_dir}.log")
    ids: dict[str, str] = {}
    for f in sorted(glob.glob(os.path.join(out_dir, "data", "**", "*.parquet"), recursive=True)):
        t = pq.read_table(f, columns=["id", "url"]).to_pydict()
        ids.update(zip(t["id"], t["url"]))
    with open(os.path.join(out_dir, "stats.json")) as fh:
        stages = json.load(fh)["stages"]
    return {"ids": ids, "cpu_s": m["cpu_s"], "stages": stages}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--variant", default="unique", help="input folder under --inputs (bench/inputs.py)")
    ap.add_argument("--inputs", default=os.path.join(WORK, "inputs"))
    ap.add_argument("--timeout", type=float, default=3600.0)
    args = ap.parse_args(argv)
    input_dir = os.path.join(args.inputs, args.variant)
    with open(os.path.join(input_dir, "manifest.json")) as fh:
        manifest = json.load(fh)
    on = build(input_dir, os.path.join(WORK, "runs", f"prefilter-on-{args.variant}"), True, args.timeout)
    off = build(input_dir, os.path.join(WORK, "runs", f"prefilter-off-{args.variant}"), False, args.timeout)
    lost = sorted(set(off["ids"]) - set(on["ids"]))
    gained = sorted(set(on["ids"]) - set(off["ids"]))
    skipped = on["stages"]["extract"]["rejected"].get("lang_prefilter", 0)
    lang_rejects_off = sum(off["stages"]["langid"]["rejected"].values())
    row = {"time": time.strftime("%Y-%m-%dT%H:%M:%S"), "variant": args.variant, "records": manifest["records"],
           "by_lang": manifest.get("by_lang"), "kept_prefilter_off": len(off["ids"]),
           "kept_prefilter_on": len(on["ids"]), "lost": len(lost), "lost_urls": [off["ids"][i] for i in lost],
           "gained": len(gained), "skipped_before_extraction": skipped,
           "language_rejects_prefilter_off": lang_rejects_off,
           "cpu_s_prefilter_on": round(on["cpu_s"], 1), "cpu_s_prefilter_off": round(off["cpu_s"], 1)}
    os.makedirs(os.path.join(WORK, "results"), exist_ok=True)
    with open(os.path.join(WORK, "results", "prefilter_loss.jsonl"), "a") as fh:
        fh.write(json.dumps(row) + "\n")
    print(json.dumps(row, indent=1))
    print(f"{args.variant}: prefilter skipped {skipped} of {lang_rejects_off} language rejects before extraction; "
          f"lost {len(lost)} of {len(off['ids'])} kept pages; build CPU {on['cpu_s']:.0f} s on vs "
          f"{off['cpu_s']:.0f} s off")
    return 0


if __name__ == "__main__":
    sys.exit(main())
