"""Fixed cost of a Beam step on the DirectRunner: a chain of no-op ParDos, and of Map → GroupByKey → FlatMap groups.

    python bench/micro_beam_steps.py            # prints CPU seconds per configuration and per step

Each configuration runs twice: stock Beam, and with ``transforms.beam_speedups`` imported (the DoFn introspection
cache every Yuliao process installs).

Ten elements only, so what is measured is the per-step cost (graph translation, DoFn introspection, bundle set-up)
that every Yuliao run pays whatever its input size (bench/RESULTS.md, "Session 4").
"""
from __future__ import annotations

import os
import subprocess
import sys

CHILD = r"""
import sys, time
if sys.argv[3] == "1":
    import transforms.beam_speedups  # noqa: F401
import apache_beam as beam
n, g = int(sys.argv[1]), int(sys.argv[2])
t0 = time.process_time()
p = beam.Pipeline()
pc = p | beam.Create(list(range(10)))
for i in range(n):
    pc = pc | f"m{i}" >> beam.Map(lambda x: x)
for i in range(g):
    pc = (pc | f"k{i}" >> beam.Map(lambda x: (x % 3, x)) | f"g{i}" >> beam.GroupByKey()
          | f"u{i}" >> beam.FlatMap(lambda kv: kv[1]))
p.run().wait_until_finish()
print(time.process_time() - t0)
"""


def cpu(n: int, g: int, cached: bool, runs: int = 3) -> float:
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = {**os.environ, "PYTHONPATH": root}
    out = [float(subprocess.run([sys.executable, "-c", CHILD, str(n), str(g), str(int(cached))], check=True,
                                capture_output=True, text=True, env=env).stdout.split()[-1]) for _ in range(runs)]
    return sorted(out)[len(out) // 2]


def main() -> int:
    for cached in (False, True):
        base, pardos, groups = cpu(0, 0, cached), cpu(200, 0, cached), cpu(0, 30, cached)
        print(f"{'with beam_speedups' if cached else 'stock Beam'}: empty pipeline: {base:.2f} CPU-s; "
              f"200 ParDos: {pardos:.2f}; 30 Map+GroupByKey+FlatMap groups: {groups:.2f}")
        print(f"  per ParDo: {(pardos - base) / 200 * 1000:.1f} ms; per group (2 ParDos + GroupByKey): "
              f"{(groups - base) / 30 * 1000:.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
