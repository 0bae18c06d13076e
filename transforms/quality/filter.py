"""Stage ``quality``: signals for every document, then a decision by the thresholds of its language.

* Language group: ``zh_languages`` (zh, yue, wuu) get the Chinese rules (``zh.py``); everything else
  gets the space-delimited rules (``rules.py``). A document without a language label but with a
  Han ``script`` (langid disabled) counts as Chinese.
* All signals of the group are stored in ``Document.signals`` (RedPajama-v2-style names) whether the
  document passes or not; rejects carry them too, so thresholds can be re-tuned offline.
* A rejected document's reason is the first failing rule in a fixed order; ``detail`` lists up to
  five failing rule names (never text).
* ``unrated_languages`` (ja, th, …: no spaces, no segmenter here) get character signals and no decision.
* ``annotate_only`` drops nothing and counts ``would_reject/<reason>`` instead.
* Learned score (``quality.model``): ``quality_score`` (P(reference-like), ``model.py``),
  ``quality_model_crc32`` (which model file) and ``order_odd_pairs`` (share of unlikely adjacent word pairs,
  ``order.py``) are text signals too, stored by the annotate phase; ``decision.decide`` combines them with
  the rule failures (soft failures rescued by a good score and word order, passing documents dropped by a
  very low score or shuffled word order).
* Bad words: per-language lists, pruned by corpus frequency through a Beam side input (``stage``).
"""
from __future__ import annotations

from typing import Iterable, Iterator, Optional, Sequence

from schemas.document import Document
from transforms.quality import badwords as bw
from transforms.quality.decision import decide
from transforms.quality.model import QualityScorer
from transforms.quality.order import OrderScorer
from transforms.quality.rules import space_failures, space_signals
from transforms.quality.zh import needs_words, zh_failures, zh_signals
from transforms.contract import Count, Rejection

SIGNAL_DIGITS = 6  # signals are rounded so Parquet stays compact and readable
# the annotate phase stores each listed bad word a document contains as signal "ldnoobw_term/<term>" = count, so
# select prunes and scores bad words without matching text again; select removes these keys from the output
BW_TERM = "ldnoobw_term/"


class Quality:
    name = "quality"

    def __init__(self, cfg):
        self.cfg = cfg
        self.batch_size = cfg.batch_size
        self.pruned: frozenset[tuple[str, str]] = frozenset()
        self._prep: dict = {}
        self._static_pruned = frozenset((lang, t.lower()) for lang, ts in cfg.badwords.pruned_terms.items() for t in ts)
        self.scorer = QualityScorer(cfg.model.models, cfg.zh_languages) if cfg.model.enabled else None
        self.order = OrderScorer(cfg.model.order_models, cfg.zh_languages) if cfg.model.enabled else None

    # ------------------------------------------------------------ configuration per language
    def is_zh(self, doc: Document) -> bool:
        if doc.lang:
            return doc.lang in self.cfg.zh_languages
        return doc.script in ("Hans", "Hant")

    def zh_cfg(self, lang: Optional[str]):
        return self.cfg.zh_by_lang.get(lang or "", self.cfg.zh)

    def space_cfg(self, lang: Optional[str]):
        return self.cfg.space_by_lang.get(lang or "", self.cfg.space)

    def badword_lang(self, doc: Document) -> Optional[str]:
        lang = doc.lang or ("zh" if self.is_zh(doc) else None)
        return lang if lang in self.cfg.badwords.lists else None

    def matcher(self, lang: str) -> bw.TermMatcher:
        b = self.cfg.badwords
        return bw.matcher_for(b.lists[lang], lang in b.substring_languages)

    def setup(self) -> None:
        # the word segmenter's dictionary (rjieba, ~30 MB), the fastText models and the order tables load with the
        # first document that needs them: a worker that sees no Chinese never loads the dictionary, and select,
        # which decides from stored signals, loads a model only for a text it changed (boilerplate lines cut)
        if self.cfg.badwords.enabled:
            for lang in self.cfg.badwords.lists:
                self.matcher(lang)

    # ------------------------------------------------------------ signals and decision
    def _prepared(self, lang: Optional[str], zh: bool):
        """(rules config, positional args of the signal function) per language, built once."""
        key = (lang, zh)
        if key not in self._prep:
            if zh:
                c = self.zh_cfg(lang)
                args = (frozenset(c.stop_words), tuple(c.top_n_grams), tuple(c.dup_n_grams), c.char_ngram,
                        needs_words(c), c.word_max_chars)
            else:
                c = self.space_cfg(lang)
                c4 = dict(max_word_length=c.c4.max_word_length, remove_citations=c.c4.remove_citations,
                          filter_no_terminal_punct=c.c4.filter_no_terminal_punct,
                          min_words_per_line=c.c4.min_words_per_line, filter_javascript=c.c4.filter_javascript,
                          filter_policy=c.c4.filter_policy)
                args = (frozenset(c.gopher.stop_words), tuple(c.repetition.top_n_grams),
                        tuple(c.repetition.dup_n_grams), c4, c.fineweb.short_line_length)
            self._prep[key] = (c, args)
        return self._prep[key]

    def text_signals(self, doc: Document, all_words: bool = False) -> dict[str, float]:
        """Every signal of the document's rule group except bad words, rounded. This is the expensive part
        (jieba), computed once by the annotate phase; ``all_words`` computes word signals even where no
        enabled rule needs them, so select can turn any rule on without re-annotating."""
        if doc.lang in self.cfg.unrated_languages:
            sig = zh_signals(doc.text, frozenset(), (), (), self.cfg.zh.char_ngram, with_words=False)
        elif self.is_zh(doc):
            _, args = self._prepared(doc.lang, True)
            sig = zh_signals(doc.text, *args[:4], True if all_words else args[4], *args[5:])
        else:
            _, args = self._prepared(doc.lang, False)
            sig = space_signals(doc.text, *args)
        key = self.scorer.model_key(doc.lang, self.is_zh(doc)) if self.scorer is not None else None
        if key is not None:
            model = self.scorer.get(key)
            sig["quality_score"] = model.score([doc.text])[0]
            sig["quality_model_crc32"] = float(model.crc32)
        key = self.order.model_key(doc.lang, self.is_zh(doc)) if self.order is not None else None
        if key is not None:
            sig["order_odd_pairs"] = self.order.get(key).odd_pairs(doc.text)
        return {k: round(float(v), SIGNAL_DIGITS) for k, v in sig.items()}

    def failures(self, doc: Document, sig: dict[str, float]) -> list[str]:
        """Rules the document fails, from its signals alone (select-phase thresholds)."""
        if doc.lang in self.cfg.unrated_languages:
            return []
        zh = self.is_zh(doc)
        c, _ = self._prepared(doc.lang, zh)
        if zh:
            return zh_failures(sig, c)
        fails = space_failures(sig, c)
        if doc.lang not in c.gopher.stop_words_languages and doc.lang not in self.cfg.space_by_lang:
            fails = [f for f in fails if f != "gopher_few_stop_words"]
        return fails

    def badword_terms(self, doc: Document) -> dict[str, float]:
        """Annotate: the listed bad words in the document, as ``BW_TERM`` signals (most documents: none)."""
        lang = self.badword_lang(doc) if self.cfg.badwords.enabled else None
        if lang is None:
            return {}
        return {BW_TERM + t: float(n) for t, n in self.matcher(lang).find(doc.text).items()}

    def _found(self, doc: Document, lang: str) -> dict[str, int]:
        """Bad words of a document: stored by annotate when it has signals, else matched now (changed text)."""
        if doc.signals:
            return {k[len(BW_TERM):]: int(v) for k, v in doc.signals.items() if k.startswith(BW_TERM)}
        return self.matcher(lang).find(doc.text)

    def badword_signals(self, doc: Document) -> tuple[dict[str, float], bool]:
        """Bad-word hit counts (terms pruned by corpus frequency excluded) and whether they fail the document."""
        b = self.cfg.badwords
        lang = self.badword_lang(doc) if b.enabled else None
        if lang is None:
            return {}, False
        found = self._found(doc, lang)
        pruned = {t for t in found if (lang, t) in self.pruned or (lang, t) in self._static_pruned}
        distinct, hits = bw.score(found, frozenset(pruned))
        sig = {"rps_doc_ldnoobw_words": float(hits), "rps_doc_ldnoobw_distinct": float(distinct),
               "rps_doc_ldnoobw_pruned_hits": float(sum(found[t] for t in pruned))}
        return sig, distinct >= b.min_distinct_terms_by_lang.get(lang, b.min_distinct_terms) and not b.annotate_only

    def signals(self, doc: Document) -> tuple[dict[str, float], list[str]]:
        """All signals (stored ones reused: the annotate phase computed them) and the failing rules."""
        sig = {k: v for k, v in doc.signals.items() if not k.startswith(BW_TERM)} if doc.signals else \
            self.text_signals(doc)
        fails = self.failures(doc, sig)
        bsig, bad = self.badword_signals(doc)
        sig.update(bsig)
        if bad:
            fails.append("badwords")
        return sig, fails

    def apply(self, docs: Sequence[Document]) -> Iterable[Document | Rejection | Count]:
        for doc in docs:
            sig, fails = self.signals(doc)
            out = doc._replace(signals=sig)
            verdict = decide(sig, fails, doc.source, doc.lang, doc.id, self.cfg)
            for name in verdict.counts:
                yield Count(name)
            if verdict.drop:
                yield Rejection(out, verdict.reason, verdict.detail)
            else:
                yield out
            score = sig.get("quality_score")
            if score is not None:  # the card's score histogram (tenths) per language, after the document
                yield Count(f"score/{doc.lang or 'und'}/{min(9, int(score * 10))}")

    # ------------------------------------------------------------ corpus-level pruning
    def term_doc_keys(self, doc: Document) -> Iterator[tuple[str, str]]:
        """(lang, term) once per distinct term in ``doc`` plus (lang, "") once per doc: counted over the
        collection they give each term's document frequency within its language."""
        lang = self.badword_lang(doc)
        if lang is None:
            return
        yield lang, ""
        for t in sorted(self._found(doc, lang)):
            yield lang, t

    def compute_pruned(self, counts: Iterable[tuple[tuple[str, str], int]]) -> frozenset[tuple[str, str]]:
        counts = list(counts)
        lang_docs = {k[0]: n for k, n in counts if k[1] == ""}
        term_docs = {k: n for k, n in counts if k[1] != ""}
        b = self.cfg.badwords
        return bw.prune_set(term_docs, lang_docs, b.prune_doc_frac, b.prune_min_docs)


# ---------------------------------------------------------------- Beam wrapper

import apache_beam as beam  # noqa: E402 - Beam only below this line

from transforms.stage import (REJECTS, STATS, OneList, RunStage, StageParts, apply_stage, flatten_parts,  # noqa: E402
                              stats_key)


class RunQuality(RunStage):
    """``RunStage`` whose stage receives the corpus-level bad-word prune set as a side input."""

    def process(self, doc, pruned):
        self.stage.pruned = pruned
        yield from super().process(doc)


class TermDocKeys(beam.DoFn):
    """((lang, term), 1) once per distinct listed term in a doc, plus ((lang, ""), 1) once per doc."""

    def __init__(self, quality: Quality):
        self.quality = quality

    def setup(self) -> None:
        self.quality.setup()

    def process(self, doc):
        for key in self.quality.term_doc_keys(doc):
            yield key, 1


def stage(pcoll, recipe):
    """Whole-collection stage ``quality``: decisions from stored signals, bad words pruned by corpus frequency."""
    return flatten_parts(stage_parts(pcoll, recipe), "quality")


def stage_parts(pcoll, recipe) -> StageParts:
    """``stage`` with its stats unflattened (a phase flattens every stage's at once: ``StageParts``)."""
    cfg = recipe.quality
    q = Quality(cfg)
    keep_text = recipe.sink.rejects_keep_text
    if not (cfg.badwords.enabled and cfg.badwords.prune == "corpus"):
        out = apply_stage(pcoll, q, keep_text)
        return StageParts(out.main, (out.rejects,), (out.stats,))
    pruned = (
        pcoll
        | "quality/badword doc terms" >> beam.ParDo(TermDocKeys(q))
        | "quality/badword doc freq" >> beam.CombinePerKey(sum)
        # the terms of the recipe's lists per language: bounded by the lists, not the corpus
        | "quality/badword prune set" >> OneList(always=True, then=lambda counts: [q.compute_pruned(counts)])
    )
    res = pcoll | q.name >> beam.ParDo(RunQuality(q, keep_text), beam.pvalue.AsSingleton(pruned)).with_outputs(
        REJECTS, STATS, main="main")
    prune_stats = pruned | "quality/pruned count" >> beam.Map(
        lambda p: (stats_key("quality", "badwords_pruned_terms"), len(p)))
    return StageParts(res.main, (res[REJECTS],), (res[STATS], prune_stats))
