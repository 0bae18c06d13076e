"""The quality decision: rule failures and the learned score together, as a pure function of stored signals.

``decide(signals, failures, source, lang, doc_id, cfg)`` needs nothing but what the annotate phase stores
(``quality_score`` and the failing rule names), so ``select`` can re-decide with other thresholds without
recomputing anything.

* no score (model off, or no model for the language): the rules decide, as before;
* only *soft* rules fail (``quality.model.soft_rules``: layout, length, vocabulary, repetition), the score is
  ``>= keep_threshold`` and the word-order signal ``order_odd_pairs`` (``order.py``) is ``<= max_odd_pairs``:
  kept, counted ``rescued/<first rule>`` — real articles that web heuristics misjudge. The score rules out
  ads and link lists, the order signal word salad; without an order signal (no table for the language) nothing
  is rescued;
* the rules pass but the score is ``< drop_threshold``: dropped as ``low_quality_score``; or the rules pass but
  ``order_odd_pairs > drop_odd_pairs``: dropped as ``word_order`` (shuffled text that passes the rules);
* ``pareto.enabled``: what would be kept is sampled GPT-3 style (keep when ``pareto(alpha) > 1 - score``),
  the draw a hash of (seed, document id), so the same input gives the same choice; dropped as ``pareto_sample``;
* ``annotate_only`` drops nothing (counts ``would_reject/<reason>``); ``exempt_sources`` likewise (``exempt/…``).
"""
from __future__ import annotations

import hashlib
import math
from typing import Mapping, NamedTuple, Optional, Sequence

SCORE = "quality_score"
ORDER = "order_odd_pairs"
LOW_SCORE = "low_quality_score"
WORD_ORDER = "word_order"
PARETO = "pareto_sample"


class Verdict(NamedTuple):
    reason: Optional[str]  # None: the document stays
    detail: Optional[str]  # failing rule names (never text), for the rejection record
    counts: tuple[str, ...]  # extra counters (rescued/…, would_reject/…, exempt/…)
    drop: bool  # reason is set and the document leaves the corpus


def pareto_keep(doc_id: str, score: float, alpha: float, seed: int) -> bool:
    """GPT-3's ``np.random.pareto(alpha) > 1 - score`` with the uniform draw taken from a hash of the id
    (inverse CDF of NumPy's Lomax/Pareto II: ``(1 - u) ** (-1 / alpha) - 1``)."""
    h = hashlib.blake2b(f"{seed}\x1f{doc_id}".encode(), digest_size=8).digest()
    u = int.from_bytes(h, "big") / 2.0 ** 64  # [0, 1)
    return math.expm1(-math.log1p(-u) / alpha) > 1.0 - score


def _threshold(by_lang: Mapping[str, float], lang: Optional[str], default: float) -> float:
    return by_lang.get(lang or "", default)


def decide(signals: Mapping[str, float], failures: Sequence[str], source: Optional[str], lang: Optional[str],
           doc_id: str, cfg) -> Verdict:
    """``cfg`` is a ``QualityConfig``; see the module docstring for the order of the checks."""
    m = cfg.model
    score = signals.get(SCORE) if m.enabled else None
    odd = signals.get(ORDER) if m.enabled else None
    reason = failures[0] if failures else None
    counts: list[str] = []
    detail = ",".join(failures[:5]) if failures else None
    if score is not None:
        if failures:
            if odd is not None and all(f in m.soft_rules for f in failures) and score >= _threshold(
                    m.keep_threshold_by_lang, lang, m.keep_threshold) and odd <= _threshold(
                    m.max_odd_pairs_by_lang, lang, m.max_odd_pairs):
                counts.append(f"rescued/{failures[0]}")
                reason = None
        elif score < _threshold(m.drop_threshold_by_lang, lang, m.drop_threshold):
            reason, detail = LOW_SCORE, SCORE
        elif odd is not None and odd > m.drop_odd_pairs:
            reason, detail = WORD_ORDER, ORDER
        if reason is None and m.pareto.enabled and not pareto_keep(doc_id, score, m.pareto.alpha, m.pareto.seed):
            reason, detail = PARETO, SCORE
    if reason is None:
        return Verdict(None, None, tuple(counts), False)
    if cfg.annotate_only:
        return Verdict(reason, detail, (*counts, f"would_reject/{reason}"), False)
    if source in cfg.exempt_sources:
        return Verdict(reason, detail, (*counts, f"exempt/{reason}"), False)
    return Verdict(reason, detail, tuple(counts), True)
