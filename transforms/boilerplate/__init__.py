"""Stage ``boilerplate`` on Beam: lines repeated in more than ``max_docs`` distinct documents of a scope are
removed from every document (the Beam-free line logic is in ``lines.py``).

    docs ─ (scoped line key, (text hash, doc id)) once per key ─ GroupByKey(key) ─ frequent? → (doc id, key) ─┐
    docs ─ (doc id, doc) ───────────────────────────────────────────────────── CoGroupByKey(doc id) ◄────────┘
         → documents without those lines / ``boilerplate_too_short`` rejects

Memory per key is bounded: the grouped pairs are read twice, first counting distinct text hashes and stopping
at ``max_docs + 1``, then (only for frequent keys) streaming out (doc id, key); no list of documents is held.
A document whose text changes loses its ``signals`` (recomputed by the quality stage, which runs later).
"""
from __future__ import annotations

from typing import Iterator

import apache_beam as beam

from transforms.boilerplate.lines import NAME, Boilerplate
from transforms.decontam.match import invalidated
from transforms.stage import (REJECTS, STATS, CountingDoFn, Rejection, StageOutputs, StageParts, flatten_parts,
                              to_reject)


class _Counting(CountingDoFn):
    stage = NAME


class _Frequent(_Counting):
    def __init__(self, max_docs: int):
        self.max_docs = max_docs

    def process(self, element) -> Iterator:
        key, pairs = element
        seen: set[int] = set()
        for text_hash, _ in pairs:  # pass 1: distinct texts, at most max_docs + 1 held
            seen.add(text_hash)
            if len(seen) > self.max_docs:
                break
        if len(seen) <= self.max_docs:
            return
        self._counts["frequent_lines"] += 1
        for _, doc_id in pairs:  # pass 2: stream the documents that hold the line
            yield doc_id, key


class _Apply(_Counting):
    def __init__(self, bp: Boilerplate, keep_text: bool):
        self.bp, self.keep_text = bp, keep_text

    def process(self, element) -> Iterator:
        _, g = element
        drop = set(g["drop"])
        for doc in g["doc"]:
            self._counts["in"] += 1
            text, n_lines, n_chars = self.bp.remove(doc, drop) if drop else (doc.text, 0, 0)
            if not n_lines:
                self._counts["out"] += 1
                self._counts["#chars_out"] += len(doc.text)
                yield doc
                continue
            self._counts["docs_changed"] += 1
            self._counts["lines_removed"] += n_lines
            self._counts["chars_removed"] += n_chars
            if self.bp.too_short(text):
                self._counts["rejected/boilerplate_too_short"] += 1
                r = Rejection(doc, "boilerplate_too_short", f"lines_removed={n_lines}")
                yield beam.pvalue.TaggedOutput(REJECTS, to_reject(NAME, r, self.keep_text))
                continue
            self._counts["out"] += 1
            self._counts["#chars_out"] += len(text)
            yield invalidated(doc, text)


def stage(pcoll: beam.PCollection, recipe) -> StageOutputs:
    return flatten_parts(stage_parts(pcoll, recipe), "boilerplate")


def stage_parts(pcoll: beam.PCollection, recipe) -> StageParts:
    """The stage with its stats unflattened (a phase flattens every stage's at once: ``StageParts``)."""
    cfg = recipe.boilerplate
    bp = Boilerplate(cfg)
    keyed = pcoll | "boilerplate by id" >> beam.Map(lambda d: (d.id, d))
    frequent = (pcoll | "boilerplate line keys" >> beam.FlatMap(bp.pairs)
                | "boilerplate group lines" >> beam.GroupByKey()
                | "boilerplate frequent" >> beam.ParDo(_Frequent(cfg.max_docs)).with_outputs(STATS, main="drop"))
    applied = (({"doc": keyed, "drop": frequent.drop} | "boilerplate join" >> beam.CoGroupByKey())
               | "boilerplate apply" >> beam.ParDo(_Apply(bp, recipe.sink.rejects_keep_text))
               .with_outputs(REJECTS, STATS, main="main"))
    return StageParts(applied.main, (applied[REJECTS],), (frequent[STATS], applied[STATS]))
