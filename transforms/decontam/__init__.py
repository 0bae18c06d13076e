"""Stage ``decontam`` on Beam (the matching itself is Beam-free, in ``match.py``).

    benchmark paths ─ read + n-gram hashes per item ─ CombineGlobally(IndexBuilder) → Index ─┐ side input
    docs ──────────────────────────────────── RunStage(Decontam) ◄──────────────────────────┘
                                               → kept / cut documents, ``contaminated:<task>`` rejects, stats

Benchmark files are listed on the launcher (a pattern matching nothing fails there, naming the key) and read
inside the pipeline, so they may live on any Beam filesystem. The index is one side-input value per worker,
bounded by ``decontam.max_ngrams`` (the combine raises past it). With no benchmarks the stage adds nothing.
"""
from __future__ import annotations

from typing import Iterator

import apache_beam as beam
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

from transforms.decontam.match import NAME, Decontam, DecontamError, Index, IndexBuilder, item_ngrams, read_items
from transforms.stage import REJECTS, STATS, RunStage, StageOutputs, stats_key


def benchmark_paths(patterns) -> list[str]:
    """Every file matching the recipe's patterns, sorted; a pattern matching nothing is an error."""
    paths: set[str] = set()
    for pattern in patterns:
        found = FileSystems.match([pattern])[0].metadata_list
        if not found:
            raise DecontamError(f"decontam.benchmarks: no file matches {pattern!r}")
        paths.update(m.path for m in found)
    return sorted(paths)


class _ItemNgrams(beam.DoFn):
    def __init__(self, cfg):
        self.fields, self.task_field = tuple(cfg.text_fields), cfg.task_field
        self.char_n, self.word_n = cfg.char_ngram, cfg.word_ngram

    def process(self, path: str) -> Iterator:
        with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as f:
            data = f.read()
        for task, text in read_items(path, data, self.fields, self.task_field):
            yield task, item_ngrams(text, self.char_n, self.word_n)


class _IndexFn(beam.CombineFn):
    def __init__(self, max_ngrams: int):
        self.max_ngrams = max_ngrams

    def create_accumulator(self) -> IndexBuilder:
        return IndexBuilder(self.max_ngrams)

    def add_input(self, acc: IndexBuilder, item) -> IndexBuilder:
        acc.add(*item)
        return acc

    def merge_accumulators(self, accs) -> IndexBuilder:
        accs = iter(accs)
        first = next(accs)
        for acc in accs:
            first.merge(acc)
        return first

    def extract_output(self, acc: IndexBuilder) -> Index:
        return acc.build()


class _RunWithIndex(RunStage):
    """``RunStage`` whose stage gets the index side input before each document is buffered."""

    def process(self, doc, index: Index) -> Iterator:  # type: ignore[override]
        self.stage.index = index
        yield from super().process(doc)


def stage(pcoll: beam.PCollection, recipe) -> StageOutputs:
    cfg = recipe.decontam
    p = pcoll.pipeline
    if not cfg.benchmarks:
        return StageOutputs(pcoll, p | "decontam no rejects" >> beam.Create([]),
                            p | "decontam no stats" >> beam.Create([]))
    paths = benchmark_paths(cfg.benchmarks)
    index = (p | "decontam benchmarks" >> beam.Create(paths)
             | "decontam items" >> beam.ParDo(_ItemNgrams(cfg))
             | "decontam index" >> beam.CombineGlobally(_IndexFn(cfg.max_ngrams)))
    index_stats = index | "decontam index stats" >> beam.FlatMap(
        lambda idx: [(stats_key(NAME, k), v) for k, v in idx.stats])
    res = pcoll | NAME >> beam.ParDo(
        _RunWithIndex(Decontam(cfg), recipe.sink.rejects_keep_text), index=beam.pvalue.AsSingleton(index)
    ).with_outputs(REJECTS, STATS, main="main")
    stats = (res[STATS], index_stats) | "decontam stats" >> beam.Flatten()
    return StageOutputs(res.main, res[REJECTS], stats)
