"""Exact and near-duplicate removal on Beam (stats stages ``dedup.exact`` and ``dedup.near``).

    docs ─ exact key ─ GroupByKey ─ keep one ──────────────────────────────────────────────┐
                                                                                         │ survivors
    survivors ─ MinHash sign ─┬ band keys ─ GroupByKey ─ pairs / windows ─┐              │
                              ├ signatures ────────────── GroupByKey ×2 ─┴ Jaccard check → edges
                              └ priority metadata                                         │
    edges ─ Large-Star/Small-Star rounds + exact finish (components.py) → (node, root)    │
    (node, root) ⋈ metadata → GroupByKey(root) → keep one per cluster → decisions         │
    docs ⋈ decisions (GroupByKey by id) → survivors / ``near_duplicate`` rejects ◄─────────┘

Each join (⋈) is one ``Flatten`` + ``GroupByKey`` of values tagged with their kind by the steps that produce them
(``DOC``, ``META``, ``SIG``…), not a ``CoGroupByKey``: that adds a tagging ``Map`` per input and a ``Map`` after
the group, each a step of fixed cost on every run (bench/STEPS.md).
No step holds all documents, signatures or edges: the only groupings are by exact key, band key, node id, window
and cluster root. Survivors carry ``dup_cluster`` (smallest document id of everything merged into them,
exact copies included) and ``dup_cluster_size`` (documents before dedup); singletons get their own id and 1.
"""
from __future__ import annotations

from typing import Iterator

import apache_beam as beam

from transforms.dedup.components import FINISH_KEY, ROOT, ConnectedComponents
from transforms.deadletter import split_failing
from transforms.dedup.exact import CountingDoFn, ExactDedup, detail
from transforms.dedup.minhash import DECISION, DOC, CandidateEdges, Signer, lsh_params
from transforms.dedup.prior import PRIOR_PREFIX, is_prior, read_prior
from transforms.stage import (REJECTS, STATS, Rejection, StageOutputs, StageParts, flatten_parts, stats_key,
                              to_reject)

EXACT, NEAR = "dedup.exact", "dedup.near"


def signer_from_recipe(cfg) -> Signer:
    bands, rows = lsh_params(cfg.num_perm, cfg.bands, cfg.rows, cfg.threshold)
    return Signer(num_perm=cfg.num_perm, bands=bands, rows=rows, seed=cfg.seed, word_ngram=cfg.word_ngram,
                  char_ngram=cfg.char_ngram, cjk_langs=cfg.cjk_langs, cjk_min_han_share=cfg.cjk_min_han_share,
                  tw_phrases=cfg.cjk_tw_phrases)


def _with_root(element) -> Iterator:
    """``node → (ROOT, r), (META, (priority, label, size))`` → ``(r, (node, priority, label, size))``."""
    node, values = element
    root = meta = None
    for kind, x in values:
        if kind == ROOT:
            root = x
        else:
            meta = x
    if root is not None and meta is not None:
        prio, label, size = meta
        yield root, (node, prio, label, size)


def decide_cluster(members: list[tuple]) -> list[tuple]:
    """Members ``(node, priority, label, size)`` of one component → ``(node, (cluster, size, kept))`` each."""
    kept = min(members, key=lambda m: m[1])[0]
    cluster = min(m[2] for m in members)
    size = sum(m[3] for m in members)
    return [(node, (cluster, size, kept)) for node, _, _, _ in members]


class _ClusterDecide(CountingDoFn):
    """One component → a decision ``(node, (DECISION, decision))`` per member. Members that make deciding raise
    alone get an error decision ``(reason,)`` (dead letter; ``_NearApply`` rejects them), the rest are decided
    without them."""

    stage = NEAR

    def process(self, element) -> Iterator:
        _, members = element
        members = sorted(members, key=lambda m: m[0])  # fixed order: dead letters do not depend on the shuffle
        self._counts["clusters"] += 1
        try:
            decided = decide_cluster(members)
        except Exception as exc:  # noqa: BLE001 - dead-letter the culprits, not the bundle
            rest, bad = split_failing(lambda ms: decide_cluster(ms), members, exc)
            decided = [(m[0], (reason,)) for m, reason in bad] + (decide_cluster(rest) if rest else [])
        for node, decision in decided:
            yield node, (DECISION, decision)


class _NearApply(CountingDoFn):
    stage = NEAR

    def __init__(self, keep_text: bool):
        self.keep_text = keep_text

    def process(self, element) -> Iterator:
        """``node → (DOC, doc), (DECISION, decision or (error reason,))…``: the decisions first, then the document
        (one per id), streamed."""
        node, values = element
        decisions = [x for kind, x in values if kind == DECISION]
        errors = sorted(d[0] for d in decisions if len(d) == 1)  # dead letters of bucket pairing / deciding
        for doc in (x for kind, x in values if kind == DOC):
            if is_prior(doc):  # a published release's document: never written again
                continue
            if errors:
                self._counts[f"rejected/{errors[0]}"] += 1
                yield beam.pvalue.TaggedOutput(REJECTS, to_reject(NEAR, Rejection(doc, errors[0]), self.keep_text))
                continue
            if not decisions:
                self._counts["out"] += 1
                yield doc._replace(dup_cluster=doc.dup_cluster or doc.id, dup_cluster_size=doc.dup_cluster_size or 1)
                continue
            cluster, size, kept = decisions[0]
            if kept == node:
                self._counts["out"] += 1
                yield doc._replace(dup_cluster=cluster, dup_cluster_size=size)
            else:
                reason = "near_duplicate_prior" if kept.startswith(PRIOR_PREFIX) else "near_duplicate"
                self._counts[f"rejected/{reason}"] += 1
                r = Rejection(doc, reason, detail(cluster, kept))
                yield beam.pvalue.TaggedOutput(REJECTS, to_reject(NEAR, r, self.keep_text))


def _cc_stats(counts, max_rounds: int, label: str):
    """Component stats from ``ConnectedComponents``' count sums: ``cc_rounds`` (distributed rounds that changed
    the graph), ``cc_not_converged`` (1 when the last of the ``max_rounds`` rounds still changed it; the exact
    finish resolves the rest, so this is no longer a correctness warning) and ``cc_finish_edges`` (edges of
    not-yet-star components resolved on one worker). All three are always present (zeros added)."""
    last = max_rounds - 1

    def to_stats(kv) -> Iterator:
        key, n = kv
        if key == FINISH_KEY:
            yield stats_key(NEAR, "cc_finish_edges"), n
        elif n:
            yield stats_key(NEAR, "cc_rounds"), 1
            if key == last:
                yield stats_key(NEAR, "cc_not_converged"), 1

    zero_keys = [stats_key(NEAR, k) for k in ("cc_rounds", "cc_not_converged", "cc_finish_edges")]
    zeros = (counts.pipeline | f"{label} start" >> beam.Impulse()  # one step fewer than ``Create``
             | f"{label} zeros" >> beam.FlatMap(lambda _: [(k, 0) for k in zero_keys]))
    return counts | f"{label} keys" >> beam.FlatMap(to_stats), zeros


def near_dedup(docs, recipe, keep_text: bool = False) -> StageParts:
    cfg = recipe.dedup.near
    signer = signer_from_recipe(cfg)
    prior = read_prior(docs.pipeline, recipe.dedup.against, cfg)
    if prior is not None:
        docs = (docs, prior) | "near with prior" >> beam.Flatten()
    candidates = CandidateEdges(signer, recipe.dedup.source_rank, recipe.dedup.priority_signal,
                                cfg.jaccard_threshold, cfg.max_bucket_size, NEAR, keep_text)
    keyed, edges, meta, pair_stats = docs | "near candidates" >> candidates
    roots, cc_counts = edges | "near components" >> ConnectedComponents(cfg.max_rounds, "near CC", root_tag=ROOT,
                                                                                both_ways=True)
    # joins: one Flatten + GroupByKey of values their producers tagged (DOC, META, ROOT, DECISION), no CoGroupByKey
    decisions = ((roots, meta)
                 | "near join meta" >> beam.Flatten()
                 | "near meta group" >> beam.GroupByKey()
                 | "near with root" >> beam.FlatMap(_with_root)
                 | "near cluster group" >> beam.GroupByKey()
                 | "near keep one" >> beam.ParDo(_ClusterDecide()).with_outputs(STATS, main="decisions"))
    applied = ((keyed, decisions.decisions, candidates.errors)  # bucket errors are error decisions
               | "near join docs" >> beam.Flatten()
               | "near docs group" >> beam.GroupByKey()
               | "near apply" >> beam.ParDo(_NearApply(keep_text)).with_outputs(REJECTS, STATS, main="main"))
    stats = (*pair_stats, decisions[STATS], applied[STATS], *_cc_stats(cc_counts, cfg.max_rounds, "near CC stats"))
    return StageParts(applied.main, (applied[REJECTS], candidates.rejects), stats)


def stage_parts(pcoll: beam.PCollection, recipe) -> StageParts:
    """Both dedup steps as enabled in ``recipe.dedup``; rejects and stats unflattened (``StageParts``)."""
    cfg = recipe.dedup
    keep_text = recipe.sink.rejects_keep_text
    main, rejects, stats = pcoll, [], []
    if cfg.exact.enabled:
        main, rej, st = main | "dedup exact" >> ExactDedup(cfg.exact.normalize, cfg.source_rank, cfg.priority_signal,
                                                            keep_text, EXACT)
        rejects.append(rej)
        stats.append(st)
    if cfg.near.enabled:
        main, rej, st = near_dedup(main, recipe, keep_text)
        rejects.extend(rej)
        stats.extend(st)
    return StageParts(main, tuple(rejects), tuple(stats))


def stage(pcoll: beam.PCollection, recipe) -> StageOutputs:
    """Both dedup steps as enabled in ``recipe.dedup``."""
    return flatten_parts(stage_parts(pcoll, recipe), "dedup")
