"""Assemble the corpus pipeline from a recipe: two phases, each a list of stages.

    annotate (per input split, cached):  sources → extract → normalize → langid → signals  ──► annotation store
    select   (whole corpus):             store → boilerplate → quality → dedup → decontam → pii → tokenize → balance
                                         ──► data/, rejects/

``annotate`` does the expensive per-document work once and keeps it in the annotation store
(``transforms/store.py``); ``select`` makes every corpus-wide decision from what was stored, so changing a
threshold, the dedup settings, the tokenizer or the mixture never re-extracts. ``build_pipeline`` runs both
in one Beam pipeline (a cluster job): splits whose store entry is complete are skipped, the rest are annotated,
and select reads every entry. On the in-memory local runner ``yuliao build`` runs ``annotate_phase`` and then
``select_pipeline`` as two pipelines instead (``pipelines/cli.py``), so a build killed while annotating has not
built select's graph. A per-document stage is a plain object (``transforms/contract.py``); a whole-collection
stage (dedup, balance, quality with its corpus-level bad-word pruning) is a Beam ``PTransform``. A stage whose
recipe section says ``enabled: false`` is left out.
"""
from __future__ import annotations

from typing import Iterable, Iterator, Optional, Union

import apache_beam as beam

from pipelines.recipe import Recipe
from schemas.document import Document, from_arrow_row
from schemas.outputs import Reject
from transforms import balance, boilerplate, decontam, dedup, store
from transforms.annotate import Signals, SplitAnnotator, annotate_split
from transforms.contract import Stage, stats_key
from transforms.dedup import signer_from_recipe
from transforms.dedup.prior import write_index
from transforms.pii import PiiScrubber, PiiStage, Span, pii_fingerprint, spans_to_flat
from transforms.progress import is_local_runner, report_bytes
from transforms.sample import Sampler
from transforms.sample_beam import SampleDocs
from transforms.quality.filter import Quality
from transforms.quality.filter import stage_parts as quality_stage_parts
from transforms.sinks import write_outputs
from transforms.sources.checksum import BYTE_RANGED, file_fingerprint
from transforms.sources.read import InputFile, Split, plan_splits
from transforms.stage import REJECTS, STATS, RecipeStep, StageOutputs, StageParts, apply_stage
from transforms.stats import WriteStats
from transforms.tokenize import Tokenize

SelectStage = Union[Stage, beam.PTransform]


def enabled(recipe: Recipe, section: str) -> bool:
    cfg = getattr(recipe, section, None)
    return cfg is not None and getattr(cfg, "enabled", True)


# ---------------------------------------------------------------- the two phases' stages
def annotate_stages(recipe: Recipe) -> tuple[Stage, list[Stage]]:
    """(extraction for raw web pages, then the stages every document goes through), in order. Their modules are
    imported here: a select-only run (a re-select) never loads them."""
    from transforms.extract import Extractor
    from transforms.langid import LangId
    from transforms.normalize import Normalize

    extract = Extractor.from_recipe(recipe.extract, recipe.langid)
    stages: list[Stage] = []
    if enabled(recipe, "normalize"):
        stages.append(Normalize.from_recipe(recipe.normalize))
    if enabled(recipe, "langid"):
        stages.append(LangId.from_recipe(recipe.langid))
    tokenize = Tokenize.from_recipe(recipe.tokenize) if enabled(recipe, "tokenize") else None
    pii = enabled(recipe, "pii")
    stages.append(Signals(Quality(recipe.quality), signer_from_recipe(recipe.dedup.near), tokenize,
                          recipe.quality.batch_size, PiiScrubber.from_config(recipe.pii) if pii else None,
                          pii_fingerprint(recipe.pii) if pii else None))
    return extract, stages


def select_stages(recipe: Recipe, output: str) -> list[SelectStage]:
    """Corpus-wide decisions from stored annotations, in order."""
    stages: list[SelectStage] = []
    if enabled(recipe, "boilerplate"):  # first: quality and dedup see the text without repeated lines
        stages.append(RecipeStep("boilerplate", boilerplate.stage_parts, recipe))
    if enabled(recipe, "quality"):
        stages.append(RecipeStep("quality", quality_stage_parts, recipe))
    if enabled(recipe, "dedup"):  # after quality (survivor priority uses its signals), before pii
        stages.append(RecipeStep("dedup", dedup.stage_parts, recipe))
    if enabled(recipe, "decontam") and recipe.decontam.benchmarks:  # after dedup (fewer documents), before pii
        stages.append(RecipeStep("decontam", decontam.stage, recipe))
    if enabled(recipe, "pii"):
        stages.append(PiiStage(recipe.pii))
    # tokenize before balance: balance allocates in tokens (DESIGN), and repeated copies reuse the ids
    if enabled(recipe, "tokenize"):
        stages.append(Tokenize.from_recipe(recipe.tokenize))
    if enabled(recipe, "balance"):
        stages.append(balance.from_recipe(recipe, output))  # writes mixture.json at the output root
    return stages


# stage names as they appear in stats.json, in funnel order (sources first)
STATS_ORDER = ["source.warc", "source.jsonl", "source.parquet", "source.mediawiki", "source.books", "sample",
               "sample.limit", "extract",
               "normalize", "langid", "signals", "boilerplate", "quality", "dedup.exact", "dedup.near", "decontam", "pii",
               "tokenize",
               "balance", "sink", "sink.rejects", "sink.index"]


# ---------------------------------------------------------------- annotate (Beam wrappers)
def default_cache(output: str) -> str:
    """Where ``build`` keeps the annotation store unless ``--cache`` says otherwise: a sibling of the output."""
    return output.rstrip("/") + ".annotations"


class _PlanSplits(beam.DoFn):
    def __init__(self, recipe: Recipe):
        self.recipe = recipe

    def process(self, f: InputFile) -> Iterator[tuple[InputFile, Split, int]]:
        splits = plan_splits(f, self.recipe)
        for s in splits:
            yield f, s, len(splits)


class _AnnotateSplits(beam.DoFn):
    """Annotates each split whose store entry is missing or damaged; emits ``(entry dir, marker)`` for every
    split, so select reads the whole store whether this run computed it or found it."""

    def __init__(self, recipe: Recipe, cache: str, shash: str, sampler: Optional[Sampler], checksum_max_bytes: int,
                 run_id: Optional[str] = None):
        self.recipe, self.cache, self.shash, self.sampler = recipe, cache, shash, sampler
        self.checksum_max_bytes, self.run_id = checksum_max_bytes, run_id

    def setup(self) -> None:
        extract, stages = annotate_stages(self.recipe)
        self.annotator = SplitAnnotator(self.recipe, extract, stages)

    def process(self, item: tuple[InputFile, Split, int]) -> Iterator[tuple[str, dict, bool]]:
        f, split, n_splits = item
        ident = store.InputIdentity(f.name, f.size, f.mtime)
        entry = store.entry_dir(self.cache, self.shash, ident)
        marker = store.valid_split(entry, split.index, self.shash)
        computed = marker is None
        if computed:
            base = {"settings_hash": self.shash, "input": ident._asdict(), "kind": f.kind,
                    **({"run": self.run_id} if self.run_id else {})}
            if split.index == 0:  # the input's checksum, computed here on a worker, never on the launcher
                base["fingerprint"] = file_fingerprint(f.path, self.checksum_max_bytes)
            marker = annotate_split(self.annotator, split, n_splits, entry, base, self.recipe.sink, self.sampler)
        report_bytes(_split_bytes(split, n_splits))  # progress: % of input bytes and ETA
        yield entry, marker, computed


def _split_bytes(split: Split, n_splits: int) -> int:
    """Input bytes a split stands for: its byte range where start/stop are byte offsets, else an even share of
    the file (Parquet splits are row-group runs)."""
    if split.stop is None and split.start == 0:
        return split.size
    if split.kind in BYTE_RANGED:
        return (split.size if split.stop is None else split.stop) - split.start
    return split.size // n_splits


def annotate_phase(p: beam.Pipeline, recipe: Recipe, files: list[InputFile], cache: str,
                   sampler: Optional[Sampler] = None, checksum_max_bytes: int = 0,
                   run_id: Optional[str] = None) -> beam.PCollection:
    """Annotate every split the store lacks; returns ``(entry dir, marker, computed now)`` of every split. Markers
    written now record ``run_id`` (``select_pipeline`` tells them from markers found in the store)."""
    settings = store.annotate_settings(recipe, sampler)
    shash = store.settings_hash(settings)
    # written by the pipeline, not while building the graph: the launcher never touches the store's filesystem
    _ = (p | "Store settings" >> beam.Create([settings], reshuffle=False)
         | "Write store settings" >> beam.Map(lambda s: store.write_settings(cache, shash, s)))
    return (p
            | "Input files" >> beam.Create(files, reshuffle=False)  # spread by the next step
            | "Spread files" >> beam.Reshuffle()
            | "Plan splits" >> beam.ParDo(_PlanSplits(recipe))
            | "Spread splits" >> beam.Reshuffle()
            | "Annotate" >> beam.ParDo(_AnnotateSplits(recipe, cache, shash, sampler, checksum_max_bytes, run_id)))


# ---------------------------------------------------------------- select
class _ReadStore(beam.DoFn):
    """One split's stored documents (main), rejects and stage counters, read where the split was annotated.

    One step instead of Beam's ``ReadAllFromParquet`` per file kind: select's fixed cost is Beam's per-step
    overhead (bench/RESULTS.md), and splits are already spread over workers by annotate's ``Reshuffle``."""

    def __init__(self, tokenizer: str | None, pii_settings: str | None):
        self.tokenizer, self.pii_settings = tokenizer, pii_settings

    def process(self, em: tuple[str, dict, bool]) -> Iterator:
        entry, marker, computed = em
        for row in store.read_rows(entry, marker, "docs"):
            yield _document_from_store(row, self.tokenizer, self.pii_settings)
        for row in store.read_rows(entry, marker, "rejects"):
            yield beam.pvalue.TaggedOutput(REJECTS, _reject_from_row(row))
        for pair in _counts_of(marker, computed):
            yield beam.pvalue.TaggedOutput(STATS, pair)


def _counts_of(marker: dict, computed: bool) -> Iterator[tuple[str, int]]:
    """The split's stage counters, and (under ``timing``, which may differ between runs) whether this run
    annotated it or found it in the store."""
    for stage, counters in sorted(marker["counts"].items()):
        for name, n in sorted(counters.items()):
            yield stats_key(stage, name), int(n)
    yield stats_key("annotate", "@splits_annotated" if computed else "@splits_reused"), 1


def _tokenizer_of(recipe: Recipe) -> str | None:
    return Tokenize.from_recipe(recipe.tokenize).fingerprint() if enabled(recipe, "tokenize") else None


def _pii_settings_of(recipe: Recipe) -> str | None:
    return pii_fingerprint(recipe.pii) if enabled(recipe, "pii") else None


def _document_from_store(row: dict, tokenizer: str | None, pii_settings: str | None) -> Document:
    """A stored document; its token ids only if this select tokenizes exactly as annotate did, its PII spans
    only if this select looks for PII exactly as annotate did (and the ids of their scrubbed text only if both)."""
    spans = row.get("pii_spans")
    changes: dict = {}
    if tokenizer is None or row.get("tokenizer") != tokenizer:
        changes.update(token_ids=None, n_tokens=None, pii_token_ids=None, pii_n_tokens=None)
    if pii_settings is None or spans is None or row.get("pii_settings") != pii_settings:
        changes.update(pii_spans=None, pii_token_ids=None, pii_n_tokens=None)
    else:
        changes["pii_spans"] = spans_to_flat([Span(s["start"], s["end"], s["type"]) for s in spans])
    return from_arrow_row(row)._replace(**changes)


def _reject_from_row(row: dict) -> Reject:
    from schemas.document import kv_to_dict

    return Reject(**{**row, "signals": kv_to_dict(row.get("signals"))})


def apply_select_stage(docs: beam.PCollection, step: SelectStage, keep_text: bool) -> Union[StageOutputs, StageParts]:
    if isinstance(step, beam.PTransform):
        return docs | step  # labelled with its stage name
    return apply_stage(docs, step, keep_text)


def select_phase(p: beam.Pipeline, recipe: Recipe, entries: beam.PCollection, output: str,
                 sampler: Optional[Sampler] = None) -> dict:
    """Every corpus-wide decision, from the store entries ``(entry dir, marker, computed)``; writes the output.

    Rejects and stats of every stage are flattened once each (``StageParts``): a ``Flatten`` read by another
    ``Flatten`` is one more fused stage of fixed cost on the FnApiRunner."""
    keep_text = recipe.sink.rejects_keep_text
    read = entries | "Read store" >> beam.ParDo(_ReadStore(_tokenizer_of(recipe), _pii_settings_of(recipe))).with_outputs(
        REJECTS, STATS, main="docs")
    docs = read.docs
    rejects = [read[REJECTS]]
    stats = [read[STATS]]
    if sampler is not None and sampler.limit is not None:  # annotate capped each split; this is the global cut
        docs, limit_stats = docs | "Limit" >> SampleDocs(Sampler(1.0, sampler.limit, sampler.seed), "sample.limit")
        stats.append(limit_stats)
    for step in select_stages(recipe, output):
        out = apply_select_stage(docs, step, keep_text)
        docs = out.main
        if isinstance(out, StageParts):
            rejects.extend(out.rejects)
            stats.extend(out.stats)
        else:
            rejects.append(out.rejects)
            stats.append(out.stats)

    if keep_text:  # rejected text is kept only after PII scrubbing, whatever stage rejected it
        from transforms.pii import scrub_reject

        rejects = [rejects | "Stage rejects" >> beam.Flatten()
                   | "Scrub reject text" >> beam.Map(scrub_reject, recipe.pii)]
    stats.extend(write_outputs(docs, tuple(rejects), output, recipe.sink))  # data/ and rejects/
    if enabled(recipe, "dedup") and recipe.dedup.write_index:
        stats.extend(write_index(docs, output, recipe.dedup.near, recipe.sink))
    stats_dict = (stats | "All stats" >> beam.Flatten()) | "Stats" >> WriteStats(output, STATS_ORDER)
    return {"docs": docs, "stats": stats_dict}


def build_pipeline(p: beam.Pipeline, recipe: Recipe, files: list[InputFile], output: str,
                   cache: str | None = None, sampler: Optional[Sampler] = None, checksum_max_bytes: int = 0) -> dict:
    """Both phases in one pipeline (annotating only what the store at ``cache`` lacks); returns the named
    PCollections (useful to tests)."""
    entries = annotate_phase(p, recipe, files, cache or default_cache(output), sampler, checksum_max_bytes)
    return select_phase(p, recipe, entries, output, sampler)


def select_pipeline(p: beam.Pipeline, recipe: Recipe, entries: Iterable[store.Entry], output: str,
                    sampler: Optional[Sampler] = None, run_id: Optional[str] = None) -> dict:
    """Select alone, from complete store entries found by the launcher (``yuliao select``, a re-select, or a
    local build's second pipeline, whose annotate pipeline wrote ``run_id`` into the markers it made)."""
    items = [(e.directory, m, run_id is not None and m.get("run") == run_id) for e in entries for m in e.markers]
    return select_phase(p, recipe, p | "Store entries" >> beam.Create(items, reshuffle=_spread(p)), output, sampler)


def _spread(p: beam.Pipeline) -> bool:
    """Whether the store entries are spread over workers: not on a one-worker DirectRunner, where the
    ``Reshuffle`` only adds a ``GroupByKey`` stage of fixed cost (the output does not depend on it)."""
    from apache_beam.options.pipeline_options import DirectOptions

    return not (is_local_runner(p.runner) and p.options.view_as(DirectOptions).direct_num_workers == 1)
