"""Stage ``boilerplate`` on Beam: lines repeated in more than ``max_docs`` distinct documents of a scope are
removed from every document (the Beam-free line logic is in ``lines.py``).

    docs ─ (scoped line key, (text hash, doc id)) once per key ─ GroupByKey(key) ─ frequent? → (doc id, key) ─┐
      └─── (doc id, doc) ─────────────────────────────────────────────── Flatten + GroupByKey(doc id) ◄──────┘
         → documents without those lines / ``boilerplate_too_short`` rejects

Both inputs of the join by id are tagged by the steps that produce them (one step makes the keyed document and its
line keys), not by a ``CoGroupByKey`` (a tagging ``Map`` per input and a ``Map`` after the group, each a step of
fixed cost on every run: bench/STEPS.md).

Memory per key is bounded: the grouped pairs are read twice, first counting distinct text hashes and stopping
at ``max_docs + 1``, then (only for frequent keys) streaming out (doc id, key); no list of documents is held. The
join by id is read twice too: a document's frequent keys first, then the document.
A document whose text changes loses its ``signals`` (recomputed by the quality stage, which runs later).
"""
from __future__ import annotations

from typing import Iterator

import apache_beam as beam

from transforms.boilerplate.lines import NAME, Boilerplate
from transforms.decontam.match import invalidated
from transforms.stage import (REJECTS, STATS, CountingDoFn, Rejection, StageOutputs, StageParts, flatten_parts,
                              to_reject)


DOC, DROP = "doc", "drop"  # kinds of the values grouped by document id
LINES = "lines"


class _Counting(CountingDoFn):
    stage = NAME


class _Keys(beam.DoFn):
    """Document → ``(id, (DOC, doc))`` (main) and its ``(scoped line key, (text hash, id))`` pairs on LINES."""

    def __init__(self, bp: Boilerplate):
        self.bp = bp

    def process(self, doc) -> Iterator:
        yield doc.id, (DOC, doc)
        for pair in self.bp.pairs(doc):
            yield beam.pvalue.TaggedOutput(LINES, pair)


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
            yield doc_id, (DROP, key)


class _Apply(_Counting):
    def __init__(self, bp: Boilerplate, keep_text: bool):
        self.bp, self.keep_text = bp, keep_text

    def process(self, element) -> Iterator:
        _, values = element
        drop = {x for kind, x in values if kind == DROP}
        for doc in (x for kind, x in values if kind == DOC):
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
    keyed = pcoll | "boilerplate line keys" >> beam.ParDo(_Keys(bp)).with_outputs(LINES, main="docs")
    frequent = (keyed[LINES]
                | "boilerplate group lines" >> beam.GroupByKey()
                | "boilerplate frequent" >> beam.ParDo(_Frequent(cfg.max_docs)).with_outputs(STATS, main="drop"))
    applied = ((keyed.docs, frequent.drop)
               | "boilerplate join" >> beam.Flatten()
               | "boilerplate id group" >> beam.GroupByKey()
               | "boilerplate apply" >> beam.ParDo(_Apply(bp, recipe.sink.rejects_keep_text))
               .with_outputs(REJECTS, STATS, main="main"))
    return StageParts(applied.main, (applied[REJECTS],), (frequent[STATS], applied[STATS]))
