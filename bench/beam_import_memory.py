"""What ``import apache_beam`` costs a local Yuliao process, with and without ``transforms.memory.lean_beam_import``.

    python bench/beam_import_memory.py [--runs 3]

Each measurement is a fresh interpreter (``sys.executable``, this checkout first on ``PYTHONPATH``) that imports Beam
and the DirectRunner — as is, or the way ``yuliao build`` does on a local run — and reports its RSS, CPU seconds and
how many modules it loaded (and whether pandas, boto3, botocore, pymongo or google.cloud.storage are among them).
The two worker rows do the same for an SDK worker process of ``--direct_running_mode multi_processing``: Beam's
entry point (``apache_beam.runners.worker.sdk_worker_main``) as it imports itself, and as
``transforms/worker_main.py`` imports it on a local run. Medians over ``--runs`` interleaved rounds.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

PROBE = """
import json, resource, sys, time
t0 = time.process_time()
if sys.argv[1] == "lean":
    from transforms.memory import lean_beam_import
    assert lean_beam_import(["build", "--input", "in/*.warc.gz", "--output", "out"])
elif sys.argv[1] == "lean-worker":
    from transforms.memory import import_beam_lean
    import_beam_lean(("apache_beam.runners.worker.sdk_worker_main",))
elif sys.argv[1] == "full-worker":
    import apache_beam.runners.worker.sdk_worker_main
else:
    import apache_beam, apache_beam.runners.direct.direct_runner
cpu = time.process_time() - t0
with open("/proc/self/statm") as f:
    rss = int(f.read().split()[1]) * resource.getpagesize()
heavy = [m for m in ("pandas", "boto3", "botocore", "pymongo", "google.cloud.storage") if m in sys.modules]
print(json.dumps({"rss_mb": rss / 2**20, "cpu_s": cpu, "modules": len(sys.modules), "heavy": heavy}))
"""


def measure(mode: str) -> dict:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([ROOT, os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
               PYTHONWARNINGS="ignore")
    r = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True, text=True, cwd=ROOT, env=env,
                       check=True)
    return json.loads(r.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    labels = {"full": "apache_beam as is", "lean": "lean_beam_import (local run)",
              "full-worker": "SDK worker: Beam's entry point", "lean-worker": "SDK worker: transforms.worker_main"}
    rows: dict[str, list[dict]] = {mode: [] for mode in labels}
    for rep in range(args.runs):
        for mode in (list(labels) if rep % 2 == 0 else list(reversed(labels))):
            rows[mode].append(measure(mode))
    print("| import | RSS MB | CPU s | modules | optional libraries loaded |")
    print("|---|---|---|---|---|")
    for mode, rs in rows.items():
        print(f"| {labels[mode]} | "
              f"{statistics.median(r['rss_mb'] for r in rs):.0f} | {statistics.median(r['cpu_s'] for r in rs):.2f} | "
              f"{statistics.median(r['modules'] for r in rs):.0f} | {', '.join(rs[0]['heavy']) or 'none'} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
