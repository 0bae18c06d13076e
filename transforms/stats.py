"""Pipeline statistics computed inside the pipeline (so every runner writes the same stats.json).

Stages emit ``("stage\\x1fcounter", n)`` pairs; here they are summed and folded into::

    {"schema_version": 1, "order": [...], "stages": {stage: {"in": n, "out": n,
      "rejected": {reason: n}, "counters": {name: n}}}, "timing": {stage: {"ms": n}},
     "volume": {stage: {"chars_out": n}}}

Counters named ``@x`` go to ``timing``, ``#x`` to ``volume`` (text after the stage, for the funnel).

``timing`` is the only part that differs between reruns of the same input.
"""
from __future__ import annotations

from typing import Iterable

import apache_beam as beam

from schemas.document import SCHEMA_VERSION
from schemas.outputs import STATS_KEY_SEP
from transforms.sinks import join, write_json_atomic
from transforms.stage import OneList


def fold_stats(pairs: Iterable[tuple[str, int]], order: list[str]) -> dict:
    stages: dict[str, dict] = {}
    timing: dict[str, dict] = {}
    volume: dict[str, dict] = {}
    for key, n in sorted(pairs):
        stage, counter = key.split(STATS_KEY_SEP, 1)
        if counter.startswith("@"):
            timing.setdefault(stage, {})[counter[1:]] = n
            continue
        if counter.startswith("#"):  # volume after the stage (e.g. chars_out), deterministic
            volume.setdefault(stage, {})[counter[1:]] = n
            continue
        s = stages.setdefault(stage, {"in": 0, "out": 0, "rejected": {}, "counters": {}})
        if counter in ("in", "out"):
            s[counter] += n
        elif counter.startswith("rejected/"):
            s["rejected"][counter[len("rejected/"):]] = n
        else:
            s["counters"][counter] = n
    known = [s for s in order if s in stages] + sorted(s for s in stages if s not in order)
    out = {"schema_version": SCHEMA_VERSION, "order": known, "stages": stages, "timing": timing}
    if volume:
        out["volume"] = volume
    return out


class WriteStats(beam.PTransform):
    def __init__(self, output: str, order: list[str]):
        super().__init__()
        self.output, self.order = output, order

    def expand(self, stats):
        path = join(self.output, "stats.json")
        order = self.order

        def write(pairs):
            data = fold_stats(pairs, order)
            write_json_atomic(path, data)
            return data

        return (
            stats
            | "Sum counters" >> beam.CombinePerKey(sum)
            # a few hundred counters whatever the corpus size, written by the step that lists them
            | "Write stats.json" >> OneList(then=lambda pairs: [write(pairs)])
        )
