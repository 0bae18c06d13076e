"""Balancing: resample (language, script, source) buckets toward the recipe's target mixture.

Why: Chinese, and its scarce high-quality sources (encyclopedia, books, Q&A), are a sliver of raw
crawl; left alone the corpus mirrors the crawl. This stage measures the supply of every bucket
after dedup, allocates a budget UniMax-style (Chung et al. 2023, Alg. 1; research/chinese.md §5):

* level 1, languages: each gets ``share × total``; a language whose supply × ``max_epochs`` is
  below that is capped (repeated ``max_epochs`` times) and the shortfall is spread over the
  others in proportion to their shares (water-filling, repeated until nothing exceeds its cap);
* level 2, sources inside a language: the same, with the recipe's per-language source shares
  (or, when the recipe names none, in proportion to supply);
* level 3, scripts inside a (language, source): one rate for all of them.

The unit is tokens (``n_tokens`` from the tokenize stage, which therefore runs before balance)
or, when tokenize is off, characters (UniMax's unit: word counts are meaningless for Chinese).

Each rate group's rate ``r = k + f`` is turned into per-document decisions without global state:
every document gets ``k`` copies (epochs 0..k-1) plus one more (epoch k) when ``u(id, seed)`` —
a 64-bit hash mapped to [0, 1) — falls in the bucket's selected range. The range is not simply
``u < f``: it is read off the group's size-weighted histogram of ``u`` (65,536 bins, built by a
CombinePerKey) so the selected amount equals ``f × supply`` to within a bin or a small document
instead of carrying Bernoulli noise — that is what keeps achieved shares within a percentage
point on small buckets (see ``extra_selection``). Down-sampled documents become ``balance_downsampled`` rejects. ``weights_only``
computes and writes the same plan but passes documents through unchanged.

Quality tiers (``balance.quality_tiers``, off by default; Nemotron-CC / Dolma 3): documents are put in
equal-count percentile tiers of a stored signal (``quality_score``) per language, from a histogram of the
signal (``TIER_BINS`` bins over [0, 1], a CombinePerKey); a tier's weight, normalised so the language's amount
is unchanged in expectation, multiplies the document's rate, and ``copies_for`` draws its extra copy from the
document's hash (Bernoulli) — see ``tier_plan``.

Everything is a pure function of (documents, recipe): the plan is built by the one step that lists the
bucket totals (a side input), and ``mixture.json`` reports supply, target,
allocation, rate and the achieved amounts measured on the stage's real output.
"""
from __future__ import annotations

import hashlib
import math
from collections import Counter
from typing import Any, Iterable, Iterator, Mapping, NamedTuple, Optional

import apache_beam as beam
from apache_beam.transforms.window import GlobalWindows

from schemas.document import Document
from transforms.deadletter import error_reason
from transforms.stage import REJECTS, STATS, CountingDoFn, OneList, Rejection, StageOutputs, to_reject

REASON = "balance_downsampled"
OTHER = "other"  # recipe key: every language (or source) the recipe does not name
HIST_BITS = 16
_EPS = 1e-9


# ---------------------------------------------------------------- per-document pieces
def bucket_of(doc: Document) -> str:
    """``lang|script|source``; missing values become ``und`` / ``-`` / ``unknown``."""
    return f"{doc.lang or 'und'}|{doc.script or '-'}|{doc.source or 'unknown'}"


def split_bucket(bucket: str) -> tuple[str, str, str]:
    lang, script, source = bucket.split("|", 2)
    return lang, script, source


def doc_amount(doc: Document, unit: str) -> int:
    """Size of a document in the mixture unit. Without ``n_tokens`` under the token unit we fall
    back to characters / 4 (UniMax's conversion) rather than failing."""
    if unit == "tokens":
        return doc.n_tokens if doc.n_tokens is not None else max(1, len(doc.text) // 4)
    return len(doc.text)


def unit_hash(doc_id: str, seed: int) -> int:
    """64-bit hash of (seed, id): the document's fixed lottery ticket for every sampling decision."""
    h = hashlib.blake2b(f"{seed}\x1f{doc_id}".encode("utf-8", "surrogatepass"), digest_size=8)
    return int.from_bytes(h.digest(), "big")


def hist_bin(h: int, bits: int = HIST_BITS) -> int:
    return h >> (64 - bits)


class BucketTotals(NamedTuple):
    docs: int
    amount: int
    hist: Mapping[int, int]  # bin of u → amount in that bin (sparse)


def merge_totals(parts: Iterable[BucketTotals]) -> BucketTotals:
    docs = amount = 0
    hist: Counter = Counter()
    for p in parts:
        docs += p.docs
        amount += p.amount
        hist.update(p.hist)
    return BucketTotals(docs, amount, dict(hist))


# ---------------------------------------------------------------- allocation (pure)
def water_fill(total: float, shares: Mapping[str, float], caps: Mapping[str, float]) -> dict[str, float]:
    """Split ``total`` in proportion to ``shares`` with per-key ``caps``; whatever a capped key cannot
    take goes to the uncapped ones, again in proportion to their shares (UniMax's loop). Keys with
    share 0 get 0. The result may sum to less than ``total`` when every key is capped."""
    alloc = {k: 0.0 for k in shares}
    active = sorted(k for k, s in shares.items() if s > 0)
    remaining = float(total)
    while active and remaining > _EPS:
        s_sum = sum(shares[k] for k in active)
        capped = [k for k in active if remaining * shares[k] / s_sum >= caps.get(k, 0.0) - _EPS]
        if not capped:
            for k in active:
                alloc[k] = remaining * shares[k] / s_sum
            break
        for k in capped:
            alloc[k] = float(caps.get(k, 0.0))
            remaining -= alloc[k]
        active = [k for k in active if k not in capped]
    return alloc


def _greedy(bins: list[int], hist: Mapping[int, int], need: float, forced: Optional[int] = None
            ) -> tuple[set, float]:
    """Take bins in hash order while they fit ``need`` (after ``forced``, if given); then add the
    smallest skipped bin if that lands closer. Returns (selected bins, selected amount)."""
    chosen: set = set()
    cum = 0.0
    if forced is not None:
        chosen.add(forced)
        cum = float(hist[forced])
    skipped: list[tuple[int, int]] = []
    for b in bins:
        if b == forced:
            continue
        m = hist[b]
        if cum + m <= need:
            chosen.add(b)
            cum += m
        else:
            skipped.append((m, b))
    if skipped:
        m, b = min(skipped)
        if abs(cum + m - need) < abs(need - cum):
            chosen.add(b)
            cum += m
    return chosen, cum


def extra_selection(hist: Mapping[int, int], need: float, tries: int = 3) -> tuple[int, frozenset]:
    """Which hash bins get the extra copy so their documents weigh as close as possible to ``need``.

    Bins are taken in hash order while they fit; after the first bin that would overshoot, later
    bins are still taken when they fit the remaining gap, and the smallest skipped bin is added if
    that lands closer. With many documents per bin this is the plain hash threshold ``u < f``; with
    few, it keeps the amount within a small document of ``need`` instead of within half of whichever
    document straddles the threshold. Because one very large document can still spoil that, the
    same walk is also tried with each of the ``tries`` largest bins taken first, and the closest
    result wins (ties: the plain walk). The cost, in tiny buckets only, is a slight preference for
    small documents at the tail of the walk. Returned as ``bin < prefix_end or bin in extras``."""
    if need <= 0:
        return 0, frozenset()
    bins = sorted(hist)
    total = sum(hist.values())
    if need >= total:
        return (1 << HIST_BITS), frozenset()
    best, best_cum = _greedy(bins, hist, need)
    for _, f in sorted(((-hist[b], b) for b in bins))[:tries]:
        cand, cum = _greedy(bins, hist, need, forced=f)
        if abs(cum - need) < abs(best_cum - need) - 1e-9:
            best, best_cum = cand, cum
    prefix_end = 0
    while prefix_end < len(bins) and bins[prefix_end] in best:
        prefix_end += 1
    end = bins[prefix_end] if prefix_end < len(bins) else (1 << HIST_BITS)
    return end, frozenset(b for b in best if b > end)


class BucketPlan(NamedTuple):
    rate: float  # amount multiplier: allocated / available
    copies: int  # every document gets this many copies …
    prefix_end: int  # … plus one more when its hash bin is < prefix_end …
    extras: frozenset = frozenset()  # … or in this set of later bins


def _group_shares(keys: list[str], supply: Mapping[str, float], recipe_shares: Mapping[str, float] | None
                  ) -> tuple[dict[str, str], dict[str, float]]:
    """Map each key to its group (itself, or ``other`` when the recipe does not name it) and give each
    group its target share; without recipe shares, shares follow supply (one common rate)."""
    if not recipe_shares:
        tot = sum(supply[k] for k in keys)
        return {k: k for k in keys}, {k: (supply[k] / tot if tot else 0.0) for k in keys}
    group = {k: (k if k in recipe_shares else OTHER) for k in keys}
    shares = {g: float(s) for g, s in recipe_shares.items()}
    for g in set(group.values()):
        shares.setdefault(g, 0.0)
    return group, shares


def plan_mixture(totals: Mapping[str, BucketTotals], cfg: Any, unit: str, seed: int) -> dict:
    """The whole allocation: per-bucket plans (``plans``: bucket → BucketPlan) and the report rows of
    mixture.json (everything but the achieved columns). ``cfg`` is the recipe's balance section."""
    n_max = float(cfg.max_epochs)
    buckets = sorted(totals)
    avail = {b: float(totals[b].amount) for b in buckets}
    total_available = sum(avail.values())
    notes: list[str] = []

    # level 1: languages
    langs_of = {b: split_bucket(b)[0] for b in buckets}
    lang_supply: Counter = Counter()
    for b in buckets:
        lang_supply[langs_of[b]] += avail[b]
    lang_group, lang_shares = _group_shares(sorted(lang_supply), lang_supply, dict(cfg.languages))
    lsupply: Counter = Counter()
    for lang, g in lang_group.items():
        lsupply[g] += lang_supply[lang]

    # level 2: sources inside each language group (recipe source shares are keyed by language group)
    src_group: dict[str, str] = {}  # bucket → level-2 group name
    src_shares: dict[str, dict[str, float]] = {}
    src_supply: dict[str, Counter] = {}
    for lg in sorted(set(lang_group.values()) | set(lang_shares)):
        members = [b for b in buckets if lang_group[langs_of[b]] == lg]
        recipe_src = dict(cfg.sources.get(lg, {})) if lg in cfg.sources else None
        if recipe_src:
            keys = sorted({split_bucket(b)[2] for b in members})
            sup = Counter()
            for b in members:
                sup[split_bucket(b)[2]] += avail[b]
            grp, shares = _group_shares(keys, sup, recipe_src)
            for b in members:
                src_group[b] = grp[split_bucket(b)[2]]
        else:  # no source targets: every source (lang.source inside `other`) of the group at one common rate
            def name(b: str, lg: str = lg) -> str:
                return split_bucket(b)[2] if lg != OTHER else f"{langs_of[b]}.{split_bucket(b)[2]}"

            keys = sorted({name(b) for b in members})
            sup = Counter()
            for b in members:
                sup[name(b)] += avail[b]
            grp, shares = _group_shares(keys, sup, None)
            for b in members:
                src_group[b] = grp[name(b)]
        gsup: Counter = Counter()
        for b in members:
            gsup[src_group[b]] += avail[b]
        src_shares[lg] = shares
        src_supply[lg] = gsup

    # leaf target shares (language share × source share), used for the exact fit and the report
    leaf_share = {(lg, sg): lang_shares.get(lg, 0.0) * s for lg, ss in src_shares.items() for sg, s in ss.items()}

    budget = float(cfg.total) if cfg.total is not None else total_available
    total = budget
    if cfg.fit == "exact":  # largest total at which every supplied target share is met within max_epochs
        # groups without supply cannot be met at any total: their shares go to their siblings (renormalise)
        l_live = {lg: sh for lg, sh in lang_shares.items() if sh > 0 and lsupply.get(lg, 0.0) > 0}
        l_sum = sum(l_live.values())
        limits = []
        for lg, lsh in l_live.items():
            s_live = {sg: sh for sg, sh in src_shares[lg].items() if sh > 0 and src_supply[lg].get(sg, 0.0) > 0}
            s_sum = sum(s_live.values())
            limits += [n_max * src_supply[lg][sg] / ((lsh / l_sum) * (sh / s_sum)) for sg, sh in s_live.items()]
        if limits and min(limits) < total:
            total = min(limits)
            notes.append(f"fit=exact: total lowered from {budget:.0f} to {total:.0f} {unit} so every target "
                         f"share is met within max_epochs={cfg.max_epochs:g}")

    lang_caps = {g: n_max * lsupply.get(g, 0.0) for g in lang_shares}
    lang_alloc = water_fill(total, lang_shares, lang_caps)
    capacity = sum(lang_caps.values())
    if total > capacity + 0.5:
        notes.append(f"total {total:.0f} {unit} exceeds what supply allows ({capacity:.0f} = supply × max_epochs "
                     f"{cfg.max_epochs:g}); every bucket is at its cap")

    group_alloc: dict[tuple[str, str], float] = {}
    for lg, shares in src_shares.items():
        caps = {sg: n_max * src_supply[lg].get(sg, 0.0) for sg in shares}
        for sg, a in water_fill(lang_alloc.get(lg, 0.0), shares, caps).items():
            group_alloc[(lg, sg)] = a

    # extra copies are selected over the whole rate group (all scripts of a language/source group share
    # one rate), so a group's selection has all its documents to choose from, not one script's few
    group_hist: dict[tuple[str, str], Counter] = {}
    for b in buckets:
        group_hist.setdefault((lang_group[langs_of[b]], src_group[b]), Counter()).update(totals[b].hist)
    selection: dict[tuple[str, str], tuple[int, frozenset]] = {}

    plans: dict[str, BucketPlan] = {}
    rows = []
    for b in buckets:
        lang, script, source = split_bucket(b)
        lg, sg = lang_group[lang], src_group[b]
        gsup = src_supply[lg][sg]
        rate = group_alloc.get((lg, sg), 0.0) / gsup if gsup else 0.0
        rate = min(rate, n_max)
        copies = int(math.floor(rate + _EPS))
        frac = max(0.0, rate - copies)
        if (lg, sg) not in selection:
            selection[(lg, sg)] = extra_selection(group_hist[(lg, sg)], frac * gsup) if frac > _EPS else (0, frozenset())
        prefix_end, extras = selection[(lg, sg)]
        plans[b] = BucketPlan(rate, copies, prefix_end, extras)
        t_share = leaf_share.get((lg, sg), 0.0) * (avail[b] / gsup if gsup else 0.0)
        rows.append({
            "lang": lang, "script": None if script == "-" else script, "source": source,
            "lang_group": lg, "source_group": sg, "docs": totals[b].docs, "available": int(avail[b]),
            "target_share": t_share, "target": t_share * total, "allocated": rate * avail[b], "rate": rate,
            "copies": copies, "extra_fraction": frac,
        })

    # notes on groups whose target could not be met
    group_notes: dict[tuple[str, str], str] = {}
    for lg, s in lang_shares.items():
        want = s * total
        if s > 0 and lsupply.get(lg, 0.0) == 0:
            group_notes[(lg, "*")] = f"language group {lg!r}: no supply; its share {s:g} went to the other languages"
        elif s > 0 and lang_alloc.get(lg, 0.0) < want * (1 - 1e-6) - 0.5:
            group_notes[(lg, "*")] = (f"language group {lg!r}: supply {lsupply[lg]:.0f} × max_epochs {cfg.max_epochs:g} "
                                      f"= {lang_caps[lg]:.0f} < target {want:.0f} {unit}; capped, shortfall spread "
                                      f"over the other languages")
        elif s == 0 and lsupply.get(lg, 0.0) > 0:
            group_notes[(lg, "*")] = f"language group {lg!r}: no target share in the recipe; dropped"
    for (lg, sg), a in group_alloc.items():
        s = src_shares[lg][sg]
        want = s * lang_alloc.get(lg, 0.0)
        sup = src_supply[lg].get(sg, 0.0)
        if s > 0 and sup == 0:
            group_notes[(lg, sg)] = f"{lg}/{sg}: no supply; its share {s:g} went to the other sources of {lg}"
        elif s > 0 and a < want * (1 - 1e-6) - 0.5:
            group_notes[(lg, sg)] = (f"{lg}/{sg}: supply {sup:.0f} × max_epochs {cfg.max_epochs:g} < target {want:.0f} "
                                     f"{unit}; repeated {cfg.max_epochs:g}×, shortfall spread over the other sources")
        elif s == 0 and sup > 0 and lang_alloc.get(lg, 0.0) > 0:
            group_notes[(lg, sg)] = f"{lg}/{sg}: no target share for this source in the recipe; dropped"
    for r in rows:
        n = [group_notes[k] for k in ((r["lang_group"], "*"), (r["lang_group"], r["source_group"])) if k in group_notes]
        r["note"] = "; ".join(n) if n else None
    for k in sorted(group_notes):
        notes.append(group_notes[k])

    return {
        "plans": plans,
        "report": {
            "unit": unit, "seed": seed, "max_epochs": cfg.max_epochs, "fit": cfg.fit, "budget": cfg.total,
            "mode": "weights_only" if cfg.weights_only else "sample",
            "total_available": int(total_available), "total_target": total,
            "targets": {"languages": dict(cfg.languages), "sources": {k: dict(v) for k, v in cfg.sources.items()}},
            "language_groups": {lg: {"target_share": lang_shares.get(lg, 0.0), "available": lsupply.get(lg, 0.0),
                                     "allocated": lang_alloc.get(lg, 0.0), "note": group_notes.get((lg, "*"))}
                                for lg in sorted(lang_shares)},
            "source_groups": {f"{lg}/{sg}": {"target_share_in_lang": src_shares[lg][sg],
                                            "target_share": leaf_share[(lg, sg)],
                                            "available": src_supply[lg].get(sg, 0.0),
                                            "allocated": group_alloc.get((lg, sg), 0.0),
                                            "note": group_notes.get((lg, sg))}
                              for lg, sg in sorted(group_alloc)},
            "buckets": rows,
            "notes": notes,
        },
    }


TIER_BINS = 1000  # signal histogram resolution for the tier cut points


def signal_bin(value: float) -> int:
    """Histogram bin of a signal value in [0, 1] (values outside are clipped)."""
    return min(TIER_BINS - 1, max(0, int(float(value) * TIER_BINS)))


def tier_plan(hists: Mapping[str, Mapping[int, tuple[int, int]]], weights: tuple[float, ...]) -> dict:
    """Per language: ``(cuts, weights)``. ``hists``: lang → {signal bin: (docs, amount)}. ``cuts[i]`` is the first
    bin of tier ``i + 1`` (equal document counts per tier, as far as bins allow); the weights are divided by
    their amount-weighted mean, so sum(amount × weight) over the language equals its amount."""
    k = len(weights)
    out = {}
    for lang, hist in sorted(hists.items()):
        n_docs = sum(d for d, _ in hist.values())
        cuts, seen, tier = [], 0, 1
        amount_in = [0.0] * k
        for b in sorted(hist):
            while tier < k and seen >= tier * n_docs / k:
                cuts.append(b)
                tier += 1
            d, a = hist[b]
            amount_in[len(cuts)] += a
            seen += d
        cuts += [TIER_BINS] * (k - 1 - len(cuts))
        total = sum(amount_in)
        mean = sum(a * w for a, w in zip(amount_in, weights)) / total if total else 1.0
        out[lang] = (tuple(cuts), tuple(w / mean if mean else 1.0 for w in weights))
    return out


def tier_weight(doc: Document, tiers: Optional[Mapping], signal: str) -> float:
    """The document's tier weight (1 without tiers, without the signal, or for a language without a histogram)."""
    if not tiers:
        return 1.0
    value = (doc.signals or {}).get(signal)
    entry = tiers.get(doc.lang or "und")
    if value is None or entry is None:
        return 1.0
    cuts, weights = entry
    b = signal_bin(value)
    return weights[sum(1 for c in cuts if b >= c)]


def copies_for(doc: Document, plan: Optional[BucketPlan], seed: int, weight: float = 1.0,
               max_epochs: float = math.inf) -> int:
    """How many times ``doc`` appears in the balanced corpus (0 = down-sampled). A tier ``weight`` other than 1
    scales the bucket rate (capped at ``max_epochs``) and draws the fractional copy from the document's hash."""
    if plan is None:
        return 1
    if weight != 1.0:
        rate = min(plan.rate * weight, max_epochs)
        copies = int(math.floor(rate + _EPS))
        u = unit_hash(doc.id, seed) / 2.0 ** 64
        return copies + (1 if u < rate - copies - _EPS else 0)
    extra = 0
    if plan.prefix_end or plan.extras:
        b = hist_bin(unit_hash(doc.id, seed))
        extra = 1 if b < plan.prefix_end or b in plan.extras else 0
    return plan.copies + extra


def _r(x: float, nd: int = 6) -> float:
    return round(float(x), nd)


def mixture_report(report: Mapping, achieved: Mapping[str, tuple[int, int]]) -> dict:
    """Add the achieved columns (measured on the stage output: bucket → (docs, amount)) to the plan
    report, roll them up to language and source groups, and round floats for a stable file."""
    rows = []
    total_achieved = sum(a for _, a in achieved.values())
    total_target = report["total_target"]
    total_alloc = sum(r["allocated"] for r in report["buckets"])
    lang_ach: Counter = Counter()
    src_ach: Counter = Counter()
    for r in report["buckets"]:
        key = f"{r['lang']}|{r['script'] or '-'}|{r['source']}"
        docs, amount = achieved.get(key, (0, 0))
        lang_ach[r["lang_group"]] += amount
        src_ach[f"{r['lang_group']}/{r['source_group']}"] += amount
        row = dict(r)
        row.update(achieved=amount, achieved_docs=docs,
                   allocated_share=r["allocated"] / total_alloc if total_alloc else 0.0,
                   achieved_share=amount / total_achieved if total_achieved else 0.0,
                   effective_epochs=amount / r["available"] if r["available"] else 0.0)
        rows.append({k: (_r(v) if isinstance(v, float) else v) for k, v in row.items()})
    langs = {}
    for lg, g in report["language_groups"].items():
        a = lang_ach.get(lg, 0)
        langs[lg] = {"target_share": _r(g["target_share"]), "available": int(g["available"]),
                     "target": _r(g["target_share"] * total_target), "allocated": _r(g["allocated"]),
                     "allocated_share": _r(g["allocated"] / total_alloc if total_alloc else 0.0), "achieved": a, "achieved_share": _r(a / total_achieved if total_achieved else 0.0),
                     "rate": _r(g["allocated"] / g["available"]) if g["available"] else 0.0, "note": g["note"]}
    srcs = {}
    for key, g in report["source_groups"].items():
        lg = key.split("/", 1)[0]
        a = src_ach.get(key, 0)
        la = lang_ach.get(lg, 0)
        lalloc = report["language_groups"][lg]["allocated"]
        srcs[key] = {"target_share_in_lang": _r(g["target_share_in_lang"]), "target_share": _r(g["target_share"]),
                     "available": int(g["available"]), "allocated": _r(g["allocated"]),
                     "allocated_share_in_lang": _r(g["allocated"] / lalloc if lalloc else 0.0), "achieved": a,
                     "achieved_share_in_lang": _r(a / la if la else 0.0),
                     "achieved_share": _r(a / total_achieved if total_achieved else 0.0),
                     "rate": _r(g["allocated"] / g["available"]) if g["available"] else 0.0, "note": g["note"]}
    out = {k: v for k, v in report.items() if k not in ("buckets", "language_groups", "source_groups")}
    out.update(total_target=_r(total_target), total_allocated=_r(total_alloc), total_achieved=total_achieved,
               languages=langs, sources=srcs,
               buckets=rows, schema_version=1,
               weights={f"{r['lang']}|{r['script'] or '-'}|{r['source']}": r["rate"] for r in rows})
    return out


# ---------------------------------------------------------------- Beam wrapper
class _TotalsFn(beam.CombineFn):
    """Per bucket: document count, amount and the size-weighted histogram of hash bins."""

    def create_accumulator(self):
        return [0, 0, {}]

    def add_input(self, acc, item):
        amount, b = item
        acc[0] += 1
        acc[1] += amount
        acc[2][b] = acc[2].get(b, 0) + amount
        return acc

    def merge_accumulators(self, accs):
        out = self.create_accumulator()
        for a in accs:
            out[0] += a[0]
            out[1] += a[1]
            for b, m in a[2].items():
                out[2][b] = out[2].get(b, 0) + m
        return out

    def extract_output(self, acc):
        return BucketTotals(acc[0], acc[1], acc[2])


ACHIEVED = "achieved"


class _Decide(CountingDoFn):
    """Apply the plan (side input) to each document: drop, keep, or repeat with epochs 1, 2, … With
    ``achieved_unit``, also what it kept per bucket, ``(bucket, (docs, amount))`` summed per bundle on ACHIEVED
    (for mixture.json: no step of its own)."""

    stage = "balance"

    def __init__(self, seed: int, weights_only: bool, keep_text: bool, signal: str = "quality_score",
                 max_epochs: float = math.inf, achieved_unit: Optional[str] = None):
        self.seed, self.weights_only, self.keep_text = seed, weights_only, keep_text
        self.signal, self.max_epochs, self.achieved_unit = signal, max_epochs, achieved_unit

    def start_bundle(self) -> None:
        super().start_bundle()
        self._achieved: dict[str, list[int]] = {}

    def finish_bundle(self) -> Iterator:
        yield from super().finish_bundle()
        for bucket, (docs, amount) in sorted(self._achieved.items()):
            yield beam.pvalue.TaggedOutput(ACHIEVED, GlobalWindows.windowed_value((bucket, (docs, amount))))

    def process(self, doc: Document, plan: Mapping, tiers: Optional[Mapping] = None) -> Iterator:
        self._counts["in"] += 1
        try:
            bplan = plan["plans"].get(bucket_of(doc))
            w = tier_weight(doc, tiers, self.signal)
            n = 1 if self.weights_only else copies_for(doc, bplan, self.seed, w, self.max_epochs)
        except Exception as exc:  # noqa: BLE001 - dead-letter this document, not the bundle
            reason = error_reason(exc)
            self._counts[f"rejected/{reason}"] += 1
            yield beam.pvalue.TaggedOutput(REJECTS, to_reject("balance", Rejection(doc, reason), self.keep_text))
            return
        if n == 0:
            self._counts[f"rejected/{REASON}"] += 1
            rej = Rejection(doc, REASON, f"rate={bplan.rate:.4f}")
            yield beam.pvalue.TaggedOutput(REJECTS, to_reject("balance", rej, self.keep_text))
            return
        self._counts["out"] += n
        if n > 1:
            self._counts["repeated_copies"] += n - 1
        if self.achieved_unit is not None:
            acc = self._achieved.setdefault(bucket_of(doc), [0, 0])
            acc[0] += n
            acc[1] += n * doc_amount(doc, self.achieved_unit)
        for e in range(n):
            yield doc._replace(epoch=e) if e else doc


def _write_mixture(_, achieved_list, plan, path: str) -> Iterator[dict]:
    from transforms.sinks import write_json_atomic

    data = mixture_report(plan["report"], {k: v for k, v in achieved_list})
    write_json_atomic(path, data)
    yield data


def _by_lang(kvs) -> dict[str, dict[int, tuple[int, int]]]:
    out: dict[str, dict[int, tuple[int, int]]] = {}
    for (lang, b), v in kvs:
        out.setdefault(lang, {})[b] = tuple(v)
    return out


class Balance(beam.PTransform):
    """docs → StageOutputs(balanced docs, rejects, stats); writes ``<output>/mixture.json`` when given."""


    def __init__(self, cfg, unit: str, seed: int, output: Optional[str] = None, keep_text: bool = False):
        super().__init__(label="balance")
        self.cfg, self.unit, self.seed, self.output, self.keep_text = cfg, unit, seed, output, keep_text

    def expand(self, docs):
        cfg, unit, seed = self.cfg, self.unit, self.seed
        # the plan is made by the step that lists the bucket totals (OneList ``then``): no step of its own
        plan = (
            docs
            | "Measure" >> beam.Map(lambda d: (bucket_of(d), (doc_amount(d, unit), hist_bin(unit_hash(d.id, seed)))))
            | "Bucket totals" >> beam.CombinePerKey(_TotalsFn())
            | "Plan" >> OneList(always=True, then=lambda kvs: [plan_mixture(dict(kvs), cfg, unit, seed)])
        )
        side = {"plan": beam.pvalue.AsSingleton(plan)}
        qt = cfg.quality_tiers
        if qt.enabled:
            signal, weights = qt.signal, tuple(qt.weights)
            tiers = (
                docs
                | "Tier signal" >> beam.FlatMap(lambda d: [] if (d.signals or {}).get(signal) is None else [
                    ((d.lang or "und", signal_bin(d.signals[signal])), (1, doc_amount(d, unit)))])
                | "Tier bins" >> beam.CombinePerKey(beam.combiners.TupleCombineFn(sum, sum))
                | "Tier plan" >> OneList(always=True, then=lambda kvs: [tier_plan(_by_lang(kvs), weights)])
            )
            side["tiers"] = beam.pvalue.AsSingleton(tiers)
        achieved_unit = unit if self.output is not None else None
        res = docs | "Decide" >> beam.ParDo(
            _Decide(seed, cfg.weights_only, self.keep_text, qt.signal, cfg.max_epochs, achieved_unit), **side
        ).with_outputs(REJECTS, STATS, ACHIEVED, main="main")
        self.mixture = None
        if self.output is not None:
            from transforms.sinks import join

            achieved = res[ACHIEVED] | "Sum achieved" >> beam.CombinePerKey(beam.combiners.TupleCombineFn(sum, sum))
            # what OneList(always=True) gives, with the plan as a second side input: one step lists and writes
            self.mixture = (
                docs.pipeline
                | "Achieved start" >> beam.Impulse()
                | "Write mixture.json" >> beam.FlatMap(_write_mixture, beam.pvalue.AsList(achieved),
                                                       plan=beam.pvalue.AsSingleton(plan),
                                                       path=join(self.output, "mixture.json"))
            )
        return StageOutputs(res.main, res[REJECTS], res[STATS])


def from_recipe(recipe, output: Optional[str] = None) -> Balance:
    """Whole-collection stage ``balance``; writes ``mixture.json`` under ``output`` when given.
    Unit ``auto``: tokens when the tokenize stage is on (it runs before balance), else characters."""
    cfg = recipe.balance
    tok = getattr(recipe, "tokenize", None)
    unit = cfg.unit if cfg.unit != "auto" else ("tokens" if tok is not None and tok.enabled else "chars")
    return Balance(cfg, unit, recipe.seed, output, recipe.sink.rejects_keep_text)


def stage(pcoll, recipe, output: Optional[str] = None) -> StageOutputs:
    return pcoll | from_recipe(recipe, output)
