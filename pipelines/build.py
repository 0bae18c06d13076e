"""Assemble the corpus pipeline from a recipe.

    sources → extract → normalize → langid → quality → dedup → pii → tokenize → balance → sinks

Every stage is ``stage(pcoll, recipe) -> StageOutputs(main, rejects, stats)``; a stage whose
recipe section says ``enabled: false`` is skipped. Rejects and stats of all stages are
flattened into the ``rejects/`` Parquet and ``stats.json``.
"""
from __future__ import annotations

import importlib
import inspect
from typing import Callable

import apache_beam as beam

from pipelines.recipe import Recipe
from transforms.extract import Extractor
from transforms.sinks import write_documents, write_rejects
from transforms.sources.read import InputFile, read_sources
from transforms.stage import StageOutputs, apply_stage
from transforms.stats import WriteStats

# (recipe section, "module:function") in pipeline order. Each function: (pcoll, recipe) -> StageOutputs.
STAGES: list[tuple[str, str]] = [
    ("normalize", "transforms.normalize:stage"),
    ("langid", "transforms.langid:stage"),
    ("quality", "transforms.quality.filter:stage"),
    ("dedup", "transforms.dedup:stage"),  # after quality, before pii
    ("pii", "transforms.pii:stage"),
    # tokenize before balance: balance allocates in tokens (DESIGN), and repeated copies reuse the ids
    ("tokenize", "transforms.tokenize:stage"),
    ("balance", "transforms.balance:stage"),
]

# stage names as they appear in stats.json, in funnel order (sources first)
STATS_ORDER = ["source.warc", "source.jsonl", "source.parquet", "source.mediawiki", "source.books", "extract",
               "normalize", "langid", "quality", "dedup.exact", "dedup.near", "pii", "tokenize", "balance", "sink",
               "sink.rejects"]


def stage_function(spec: str) -> Callable[[beam.PCollection, Recipe], StageOutputs]:
    module, func = spec.split(":")
    return getattr(importlib.import_module(module), func)


def enabled(recipe: Recipe, section: str) -> bool:
    cfg = getattr(recipe, section, None)
    return cfg is not None and getattr(cfg, "enabled", True)


def build_pipeline(p: beam.Pipeline, recipe: Recipe, files: list[InputFile], output: str) -> dict:
    """Add the whole build to ``p``; returns the named PCollections (useful to tests)."""
    keep_text = recipe.sink.rejects_keep_text
    src = read_sources(p, files, recipe)
    rejects, stats = [src.rejects], [src.stats]

    extracted = apply_stage(src.raw, Extractor.from_recipe(recipe.extract, recipe.langid), keep_text)
    rejects.append(extracted.rejects)
    stats.append(extracted.stats)
    docs = (src.docs, extracted.main) | "Documents" >> beam.Flatten()

    for section, spec in STAGES:
        if not enabled(recipe, section):
            continue
        fn = stage_function(spec)
        # stages that write a side file at the output root (balance → mixture.json) take ``output``
        out = fn(docs, recipe, output=output) if "output" in inspect.signature(fn).parameters else fn(docs, recipe)
        docs = out.main
        rejects.append(out.rejects)
        stats.append(out.stats)

    all_rejects = rejects | "All rejects" >> beam.Flatten()
    if keep_text:  # rejected text is kept only after PII scrubbing, whatever stage rejected it
        from transforms.pii import scrub_reject

        all_rejects = all_rejects | "Scrub reject text" >> beam.Map(scrub_reject, recipe.pii)
    _, data_stats = write_documents(docs, output, recipe.sink)
    _, reject_stats = write_rejects(all_rejects, output, recipe.sink)
    stats += [data_stats, reject_stats]
    stats_dict = (stats | "All stats" >> beam.Flatten()) | "Stats" >> WriteStats(output, STATS_ORDER)
    return {"docs": docs, "rejects": all_rejects, "stats": stats_dict}
