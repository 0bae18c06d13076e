"""Fixed cost of a Beam step on the DirectRunner: a chain of no-op ParDos, and of Map → GroupByKey → FlatMap groups.

    python bench/micro_beam_steps.py            # prints CPU seconds per configuration and per step

Ten elements only, so what is measured is the per-step cost (graph translation, DoFn introspection, bundle set-up)
that every Yuliao run pays whatever its input size (bench/RESULTS.md, "Session 4").
"""
from __future__ import annotations

import subprocess
import sys

CHILD = r"""
import sys, time
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


def cpu(n: int, g: int, runs: int = 3) -> float:
    out = [float(subprocess.run([sys.executable, "-c", CHILD, str(n), str(g)], check=True, capture_output=True,
                                text=True).stdout.split()[-1]) for _ in range(runs)]
    return sorted(out)[len(out) // 2]


def main() -> int:
    base, pardos, groups = cpu(0, 0), cpu(200, 0), cpu(0, 30)
    print(f"empty pipeline: {base:.2f} CPU-s; 200 ParDos: {pardos:.2f}; 30 Map+GroupByKey+FlatMap groups: {groups:.2f}")
    print(f"per ParDo: {(pardos - base) / 200 * 1000:.1f} ms; per group (2 ParDos + GroupByKey): "
          f"{(groups - base) / 30 * 1000:.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
