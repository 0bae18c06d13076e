"""Beam wrapper of ``transforms.sample.Sampler``: a collection of documents → its deterministic slice."""
from __future__ import annotations

from typing import Iterator

import apache_beam as beam

from transforms.contract import stats_key
from transforms.sample import STAGE, Sampler


class SampleDocs(beam.PTransform):
    """Documents (anything with ``.id``) → ``(slice, stats pairs of stage sample)``.

    The rate sample is a per-element filter; the limit is ``Top.Smallest`` over the ranks (ids only, so
    memory is ``limit`` ids) and a side-input cut."""

    def __init__(self, sampler: Sampler, stage: str = STAGE):
        super().__init__()
        self.sampler, self.stage = sampler, stage

    def expand(self, docs):
        s, STAGE = self.sampler, self.stage  # noqa: N806 - the stats stage these counts go to
        tagged = docs | "sample tag" >> beam.Map(lambda d: (d, s.keep(d.id)))
        sampled = tagged | "sample keep" >> beam.FlatMap(lambda dk: [dk[0]] if dk[1] else [])
        stats = [tagged | "sample counts" >> beam.FlatMap(
            lambda dk: [(stats_key(STAGE, "in"), 1)] + ([] if dk[1] else [(stats_key(STAGE, "rejected/not_sampled"), 1)]))]
        if s.limit is not None:
            chosen = (sampled
                      | "sample rank" >> beam.Map(lambda d: s.rank(d.id))
                      | "sample smallest" >> beam.combiners.Top.Smallest(s.limit)
                      | "sample chosen ids" >> beam.Map(lambda ranks: frozenset(i for _, i in ranks)))

            def cut(doc, ids) -> Iterator:
                if doc.id in ids:
                    yield doc

            stats.append(sampled | "sample over limit" >> beam.FlatMap(
                lambda d, ids: [] if d.id in ids else [(stats_key(STAGE, "rejected/over_limit"), 1)],
                ids=beam.pvalue.AsSingleton(chosen)))
            sampled = sampled | "sample limit" >> beam.FlatMap(cut, ids=beam.pvalue.AsSingleton(chosen))
        stats.append(sampled | "sample out" >> beam.Map(lambda d: (stats_key(STAGE, "out"), 1)))
        return sampled, tuple(stats) | "sample stats" >> beam.Flatten()
