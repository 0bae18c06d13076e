"""The contract every per-document stage follows, and the one Beam wrapper that runs them all.

The stage contract itself (``Stage``, ``Rejection``, ``Count``, ``run_batch``) lives in the Beam-free
``transforms.contract``. ``RunStage`` turns that into a Beam step with three outputs: kept documents, ``Reject`` rows, and stats
counters. Counters are summed per bundle and emitted in ``finish_bundle`` so stats cost one
element per bundle, not per document, and come out of the pipeline itself on every runner.
"""
from __future__ import annotations

import time
from collections import Counter
from typing import Any, Callable, Iterator, NamedTuple, Optional

import apache_beam as beam
from apache_beam.metrics import Metrics
from apache_beam.transforms.window import GlobalWindows

from schemas.document import Document
from schemas.outputs import Reject
from transforms import beam_fixes  # noqa: F401 - stops the local runner's data-plane flush race (lost documents)
from transforms import beam_speedups  # noqa: F401 - installs the DoFn introspection cache in every process
from transforms import beam_no_prism  # noqa: F401 - the DirectRunner never tries (downloading) Prism first
from transforms.contract import Count, Rejection, Stage, run_batch, stats_key  # noqa: F401 - re-exported
from transforms.progress import Ticker

REJECTS = "rejects"
STATS = "stats"


def to_reject(stage: str, r: Rejection, keep_text: bool = False) -> Reject:
    d = r.doc
    return Reject(
        id=d.id,
        source=d.source,
        origin=d.origin,
        stage=stage,
        reason=r.reason,
        url=d.url,
        lang=d.lang,
        signals=dict(d.signals or {}),
        detail=r.detail,
        text=d.text if keep_text else None,
    )


class RunStage(beam.DoFn):
    def __init__(self, stage: Stage, keep_reject_text: bool = False):
        self.stage = stage
        self.keep_reject_text = keep_reject_text

    def setup(self) -> None:
        self.stage.setup()
        # live progress: Beam metrics (runner UIs) + the local progress file (see transforms/progress.py)
        self._m_in = Metrics.counter(self.stage.name, "in")
        self._m_out = Metrics.counter(self.stage.name, "out")
        self._ticker = Ticker(self.stage.name)

    def start_bundle(self) -> None:
        self._buffer: list[Document] = []
        self._counts: Counter = Counter()
        self._seconds = 0.0

    def _flush(self) -> Iterator[Any]:
        if not self._buffer:
            return
        batch, self._buffer = self._buffer, []
        t0 = time.perf_counter()
        out = list(run_batch(self.stage, batch, self._counts))
        self._seconds += time.perf_counter() - t0
        n_rej = sum(1 for item in out if isinstance(item, Rejection))
        self._m_in.inc(len(batch))
        self._m_out.inc(len(out) - n_rej)
        self._ticker.add(len(batch), len(out) - n_rej, n_rej)
        # '#' counters go to stats.json "volume" (chars after each stage, for the card's funnel)
        self._counts["#chars_out"] += sum(len(d.text) for d in out if not isinstance(d, Rejection))
        for item in out:
            if isinstance(item, Rejection):
                yield beam.pvalue.TaggedOutput(REJECTS, to_reject(self.stage.name, item, self.keep_reject_text))
            else:
                yield item

    def process(self, doc: Document) -> Iterator[Any]:
        self._buffer.append(doc)
        if len(self._buffer) >= max(1, self.stage.batch_size):
            yield from self._flush()

    def finish_bundle(self) -> Iterator[Any]:
        for item in self._flush():
            if isinstance(item, beam.pvalue.TaggedOutput):
                yield beam.pvalue.TaggedOutput(item.tag, GlobalWindows.windowed_value(item.value))
            else:
                yield GlobalWindows.windowed_value(item)
        self._ticker.flush()
        for counter, n in sorted(self._counts.items()):
            yield beam.pvalue.TaggedOutput(STATS, GlobalWindows.windowed_value((stats_key(self.stage.name, counter), n)))
        if self._seconds:
            ms = int(self._seconds * 1000)
            yield beam.pvalue.TaggedOutput(STATS, GlobalWindows.windowed_value((stats_key(self.stage.name, "@ms"), ms)))


class CountingDoFn(beam.DoFn):
    """The one counting base of every whole-collection step (dedup, balance): counters summed per bundle and
    emitted as stats pairs, and the step's in/out/rejected shown in live progress like per-document stages."""

    stage = ""

    def start_bundle(self) -> None:
        self._counts: Counter = Counter()

    def finish_bundle(self) -> Iterator:
        c = self._counts
        rejected = sum(n for k, n in c.items() if k.startswith("rejected/"))
        if c["in"] or c["out"] or rejected:
            ticker = Ticker(self.stage)
            ticker.add(c["in"], c["out"], rejected)
            ticker.flush()
        for counter, n in sorted(c.items()):
            if n:
                yield beam.pvalue.TaggedOutput(STATS, GlobalWindows.windowed_value((stats_key(self.stage, counter), n)))


class RecipeStep(beam.PTransform):
    """A whole-collection stage ``fn(pcoll, recipe) -> StageOutputs`` as one labelled step, so a phase can list it
    beside per-document stage objects (``pipelines/build.py``)."""

    def __init__(self, label: str, fn, recipe):
        super().__init__(label=label)
        self.fn, self.recipe = fn, recipe

    def expand(self, pcoll):
        return self.fn(pcoll, self.recipe)


class OneList(beam.PTransform):
    """Every element of a small PCollection (counters, per-bucket totals, shard names: bounded by the recipe, not
    by the corpus) as one list: a side input read by one step that starts from an ``Impulse``.

    ``combiners.ToList()`` is seven Beam steps and two fused stages after the producer's; this is two steps and one
    stage, and each stage is fixed cost on every runner and the main part of a re-select's CPU (bench/RESULTS.md).
    An empty input gives no element, or with ``always`` (as ``ToList`` does) ``[]``. With ``then``, the step emits
    what ``then(list)`` yields instead of the list: what reads the list runs in the same step (one step fewer)."""

    def __init__(self, always: bool = False, label: Optional[str] = None, then: Optional[Callable] = None):
        super().__init__(label)
        self.always, self.then = always, then

    def expand(self, pcoll):
        """``pcoll``: one PCollection, or a tuple of them (listed together without a ``Flatten``)."""
        always, then = self.always, self.then
        pcolls = pcoll if isinstance(pcoll, tuple) else (pcoll,)

        def one_list(_, *lists):
            xs = [x for xs in lists for x in xs]
            if not (xs or always):
                return []
            return then(xs) if then is not None else [xs]

        return (pcolls[0].pipeline
                | "start" >> beam.Impulse()
                | "list" >> beam.FlatMap(one_list, *(beam.pvalue.AsList(pc) for pc in pcolls)))


class StageOutputs(NamedTuple):
    main: beam.PCollection
    rejects: beam.PCollection
    stats: beam.PCollection


class StageParts(NamedTuple):
    """A whole-collection stage's outputs before flattening: rejects and stats as several PCollections each, so a
    phase flattens every stage's parts in one ``Flatten``. On the FnApiRunner a ``Flatten`` whose consumer is
    another ``Flatten`` (or a ``GroupByKey``) is one more fused stage that only moves elements (~25 ms each)."""

    main: beam.PCollection
    rejects: tuple
    stats: tuple


def flatten_parts(parts: StageParts, label: str) -> StageOutputs:
    """The parts as ``StageOutputs`` (one ``Flatten`` each for rejects and stats; an empty one when none)."""
    def one(pcolls: tuple, what: str) -> beam.PCollection:
        if not pcolls:
            return parts.main.pipeline | f"{label} no {what}" >> beam.Create([])
        if len(pcolls) == 1:
            return pcolls[0]
        return pcolls | f"{label} {what}" >> beam.Flatten()

    return StageOutputs(parts.main, one(parts.rejects, "rejects"), one(parts.stats, "stats"))


def apply_stage(pcoll: beam.PCollection, stage: Stage, keep_reject_text: bool = False) -> StageOutputs:
    """Run a per-document ``Stage`` as one Beam step; label is the stage name."""
    res = pcoll | stage.name >> beam.ParDo(RunStage(stage, keep_reject_text)).with_outputs(REJECTS, STATS, main="main")
    return StageOutputs(res.main, res[REJECTS], res[STATS])

