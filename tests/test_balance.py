"""Balance stage: UniMax-style allocation, hash-calibrated per-document decisions, mixture.json."""
from __future__ import annotations

import json
import random
from collections import Counter

import apache_beam as beam
import pytest
from apache_beam.testing.test_pipeline import TestPipeline as BeamTestPipeline

from pipelines.recipe import BalanceConfig, RecipeError, load_recipe
from schemas.document import Document
from transforms.balance import (
    REASON,
    Balance,
    BucketTotals,
    bucket_of,
    copies_for,
    extra_selection,
    doc_amount,
    hist_bin,
    mixture_report,
    plan_mixture,
    signal_bin,
    tier_plan,
    tier_weight,
    unit_hash,
    water_fill,
)

SEED = 1234
PP = 0.01  # one percentage point


def synthetic(n_scale: int = 1) -> list[Document]:
    """A crawl-like supply: lots of en and zh web, little zh encyclopedia/book, a sliver of yue."""
    rng = random.Random(7)
    spec = [  # (lang, script, source, docs, mean chars)
        ("en", None, "web", 3000, 900),
        ("en", None, "book", 200, 1500),
        ("zh", "Hans", "web", 1500, 700),
        ("zh", "Hant", "web", 300, 700),
        ("zh", "Hans", "encyclopedia", 120, 600),
        ("zh", "Hans", "book", 300, 1200),
        ("yue", "Hant", "web", 150, 400),
    ]
    docs = []
    for lang, script, source, n, mean in spec:
        for i in range(n * n_scale):
            size = max(20, int(rng.expovariate(1 / mean)))
            docs.append(Document(id=f"{lang}-{script}-{source}-{i}", text="字" * size, source=source,
                                 origin=f"synthetic:{i}", lang=lang, script=script, n_tokens=size // 2 + 1))
    return docs


def totals_of(docs, unit="chars", seed=SEED) -> dict[str, BucketTotals]:
    acc: dict[str, list] = {}
    for d in docs:
        a = acc.setdefault(bucket_of(d), [0, 0, Counter()])
        amt = doc_amount(d, unit)
        a[0] += 1
        a[1] += amt
        a[2][hist_bin(unit_hash(d.id, seed))] += amt
    return {b: BucketTotals(n, amt, dict(h)) for b, (n, amt, h) in acc.items()}


def run_plan(docs, cfg, unit="chars", seed=SEED):
    """Plan + per-document decisions without Beam (the Beam path is checked against this)."""
    plan = plan_mixture(totals_of(docs, unit, seed), cfg, unit, seed)
    achieved: dict[str, list] = {}
    out = []
    for d in docs:
        n = copies_for(d, plan["plans"][bucket_of(d)], seed)
        for e in range(n):
            out.append(d._replace(epoch=e))
            a = achieved.setdefault(bucket_of(d), [0, 0])
            a[0] += 1
            a[1] += doc_amount(d, unit)
    return plan, mixture_report(plan["report"], {k: tuple(v) for k, v in achieved.items()}), out


ZH_HEAVY = dict(languages={"zh": 0.5, "en": 0.4, "other": 0.1},
                sources={"zh": {"web": 0.5, "encyclopedia": 0.25, "book": 0.25}}, max_epochs=4)


# ---------------------------------------------------------------- pure allocation
def test_water_fill_proportional_caps_and_redistribution():
    assert water_fill(100, {"a": 0.5, "b": 0.5}, {"a": 1e9, "b": 1e9}) == {"a": 50, "b": 50}
    # a can take only 10: its 40 go to b and c in proportion to their shares (3:1)
    got = water_fill(100, {"a": 0.5, "b": 0.375, "c": 0.125}, {"a": 10, "b": 1e9, "c": 1e9})
    assert got["a"] == 10 and got["b"] == pytest.approx(67.5) and got["c"] == pytest.approx(22.5)
    # cascading caps: b is capped only after a's surplus arrives
    got = water_fill(100, {"a": 0.6, "b": 0.2, "c": 0.2}, {"a": 20, "b": 35, "c": 1e9})
    assert got == pytest.approx({"a": 20, "b": 35, "c": 45})
    # everything capped: less than the total is allocated, nobody above its cap
    assert water_fill(100, {"a": 0.5, "b": 0.5}, {"a": 10, "b": 20}) == {"a": 10, "b": 20}
    assert water_fill(100, {"a": 1.0, "z": 0.0}, {"a": 1e9, "z": 1e9})["z"] == 0


def test_extra_selection_skips_a_straddling_large_document():
    hist = {0: 10, 1: 10, 2: 1000, 3: 10, 4: 10, 5: 10}
    # a plain hash threshold could only select 20 or 1020; skipping bin 2 reaches 40
    assert extra_selection(hist, 45) == (2, frozenset({3, 4}))
    assert extra_selection(hist, 0) == (0, frozenset())
    assert extra_selection(hist, 10_000)[0] == 1 << 16  # everything
    assert extra_selection({0: 5, 1: 5, 2: 5}, 10) == (2, frozenset())
    # one document far larger than the rest: the walk that takes it first lands closest (50 vs 40 for 55)
    assert extra_selection({0: 10, 1: 10, 2: 10, 3: 50, 4: 10}, 55) == (0, frozenset({3}))


def test_achieved_shares_within_one_point_and_caps_respected():
    docs = synthetic()
    cfg = BalanceConfig(**ZH_HEAVY)
    plan, mix, out = run_plan(docs, cfg)
    langs, srcs = mix["languages"], mix["sources"]
    # yue ("other") is scarce: capped at max_epochs, with a note saying why
    assert langs["other"]["rate"] == pytest.approx(4.0) and "max_epochs" in langs["other"]["note"]
    assert langs["other"]["achieved_share"] < 0.1
    # zh and en take other's shortfall in proportion to their targets (5:4) and hit that within 1 pp
    for lg in ("zh", "en"):
        assert langs[lg]["note"] is None
        assert abs(langs[lg]["achieved_share"] - langs[lg]["allocated_share"]) < PP
    assert langs["zh"]["allocated_share"] / langs["en"]["allocated_share"] == pytest.approx(0.5 / 0.4)
    # zh encyclopedia is scarce → 4 epochs; web and book share the rest 2:1 as the recipe's 0.5:0.25
    enc = srcs["zh/encyclopedia"]
    assert enc["rate"] == pytest.approx(4.0) and "max_epochs" in enc["note"]
    assert srcs["zh/web"]["allocated"] / srcs["zh/book"]["allocated"] == pytest.approx(2.0)
    for key in ("zh/web", "zh/book"):
        assert abs(srcs[key]["achieved_share_in_lang"] - srcs[key]["allocated_share_in_lang"]) < PP
    # per rate group: achieved within a small document of the allocation (not within the largest);
    # per bucket (a script inside a group) within the largest; caps respected
    mean_doc = sum(len(d.text) for d in docs) / len(docs)
    for key, g in srcs.items():
        assert abs(g["achieved"] - g["allocated"]) <= mean_doc, key
    for b in mix["buckets"]:
        assert b["rate"] <= cfg.max_epochs + 1e-9
        assert abs(b["achieved"] - b["allocated"]) <= max(len(d.text) for d in docs), b
    per_doc = Counter(d.id for d in out)
    assert max(per_doc.values()) <= cfg.max_epochs
    # repeated copies carry epochs 0..n-1, exactly once each
    epochs: dict[str, list] = {}
    for d in out:
        epochs.setdefault(d.id, []).append(d.epoch)
    assert all(sorted(v) == list(range(len(v))) for v in epochs.values())


def test_targets_met_exactly_when_supply_allows():
    """Every bucket supplied well enough: achieved == recipe target share within 1 pp, no notes."""
    docs = [d for d in synthetic() if d.lang != "yue" and d.source != "encyclopedia"]
    cfg = BalanceConfig(languages={"zh": 0.6, "en": 0.4}, sources={"zh": {"web": 0.7, "book": 0.3}})
    _, mix, _ = run_plan(docs, cfg)
    assert mix["notes"] == []
    for lg, t in cfg.languages.items():
        assert abs(mix["languages"][lg]["achieved_share"] - t) < PP
    for src, t in cfg.sources["zh"].items():
        assert abs(mix["sources"][f"zh/{src}"]["achieved_share_in_lang"] - t) < PP
    # English has no source targets: its sources keep their natural proportions (one common rate)
    en_rates = {b["source"]: b["rate"] for b in mix["buckets"] if b["lang"] == "en"}
    assert en_rates["web"] == pytest.approx(en_rates["book"])
    # Hans and Hant zh web share their source's rate
    zh_web = [b["rate"] for b in mix["buckets"] if b["lang"] == "zh" and b["source"] == "web"]
    assert len(zh_web) == 2 and zh_web[0] == pytest.approx(zh_web[1])


def test_fit_exact_and_budget():
    docs = synthetic()
    exact = BalanceConfig(**ZH_HEAVY, fit="exact")
    _, mix, _ = run_plan(docs, exact)
    for lg, t in exact.languages.items():
        assert abs(mix["languages"][lg]["achieved_share"] - t) < PP
    assert mix["total_target"] < mix["total_available"] and any("fit=exact" in n for n in mix["notes"])
    # a target bucket without any supply does not drag the exact total to zero
    no_enc = [d for d in docs if d.source != "encyclopedia"]
    _, mix, _ = run_plan(no_enc, exact)
    assert mix["total_achieved"] > 0.05 * mix["total_available"]
    for lg, t in exact.languages.items():
        assert abs(mix["languages"][lg]["achieved_share"] - t) < PP
    assert "no supply" in mix["sources"]["zh/encyclopedia"]["note"]
    budget = 600_000
    _, mix, _ = run_plan(docs, BalanceConfig(**ZH_HEAVY, total=budget))
    assert abs(mix["total_achieved"] - budget) / budget < PP


def test_no_targets_keeps_everything_and_unlisted_get_dropped_with_note():
    docs = synthetic()[:500] + [d for d in synthetic() if d.lang == "yue"][:50]
    _, mix, out = run_plan(docs, BalanceConfig())
    assert len(out) == len(docs) and all(b["rate"] == 1.0 for b in mix["buckets"])
    _, mix, out = run_plan(docs, BalanceConfig(languages={"en": 1.0}))
    assert not any(d.lang == "yue" for d in out)
    assert "no target share" in mix["languages"]["other"]["note"]


def test_decisions_depend_only_on_id_and_seed():
    docs = synthetic()
    cfg = BalanceConfig(**ZH_HEAVY)
    _, m1, out1 = run_plan(docs, cfg)
    _, m2, out2 = run_plan(list(reversed(docs)), cfg)
    assert sorted(d.id + str(d.epoch) for d in out1) == sorted(d.id + str(d.epoch) for d in out2)
    assert json.dumps(m1, sort_keys=True) == json.dumps(m2, sort_keys=True)
    _, _, out3 = run_plan(docs, cfg, seed=99)
    assert sorted(d.id + str(d.epoch) for d in out1) != sorted(d.id + str(d.epoch) for d in out3)


def test_recipe_validation():
    with pytest.raises(RecipeError, match="balance.languages"):
        load_recipe(None, ["balance.languages={zh: 0.6, en: 0.6}"])
    with pytest.raises(RecipeError, match="sources"):
        load_recipe(None, ["balance.sources={zh: {web: 0.2}}"])
    r = load_recipe("zh_heavy")
    assert r.balance.languages["zh"] == 0.5 and r.balance.max_epochs == 4


# ---------------------------------------------------------------- Beam
def _dump(items, path):
    with open(path, "w") as f:
        json.dump(sorted(items), f)


def _make_docs(_, step: int, reverse: bool):
    docs = synthetic()[::step]
    return list(reversed(docs)) if reverse else docs


def _run_beam(step, reverse, cfg, unit, out_dir):
    """Docs are generated inside the pipeline: ``beam.Create`` would pickle (and bz2) them into the graph."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with BeamTestPipeline(runner="DirectRunner") as p:
        docs = p | beam.Create([0]) | beam.FlatMap(_make_docs, step, reverse)
        res = docs | Balance(cfg, unit, SEED, str(out_dir))
        (res.main | "kept" >> beam.Map(lambda d: (d.id, d.epoch, d.text)) | "kl" >> beam.combiners.ToList()
         | "kw" >> beam.Map(_dump, str(out_dir / "kept.json")))
        (res.rejects | "rej" >> beam.Map(lambda r: (r.id, r.reason, r.stage)) | "rl" >> beam.combiners.ToList()
         | "rw" >> beam.Map(_dump, str(out_dir / "rej.json")))
        (res.stats | beam.CombinePerKey(sum) | "sl" >> beam.combiners.ToList()
         | "sw" >> beam.Map(_dump, str(out_dir / "stats.json")))
    load = lambda name: [tuple(x) for x in json.loads((out_dir / name).read_text())]  # noqa: E731
    return load("kept.json"), load("rej.json"), dict(load("stats.json")), (out_dir / "mixture.json").read_bytes()


def test_beam_stage_matches_plan_and_reruns_identically(tmp_path):
    docs = synthetic()[::3]  # ~1,900 docs keeps the DirectRunner quick
    cfg = BalanceConfig(**ZH_HEAVY)
    kept, rej, stats, mix_bytes = _run_beam(3, False, cfg, "tokens", tmp_path / "a")
    _, mix, out = run_plan(docs, cfg, unit="tokens")
    assert kept == sorted((d.id, d.epoch, d.text) for d in out)
    mix_file = json.loads(mix_bytes)
    assert mix_file["unit"] == "tokens" and mix_file["languages"] == mix["languages"]
    assert mix_file["buckets"] == mix["buckets"] and mix_file["weights"]
    # every input leaves: kept (possibly repeated) or rejected as balance_downsampled, counted
    kept_ids = {k[0] for k in kept}
    assert {r[0] for r in rej} == {d.id for d in docs} - kept_ids
    assert all(r[1:] == (REASON, "balance") for r in rej)
    key = "balance\x1f"
    assert stats[key + "in"] == len(docs) and stats[key + "out"] == len(kept)
    assert stats[key + f"rejected/{REASON}"] == len(rej)
    assert stats[key + "repeated_copies"] == len(kept) - len(kept_ids)
    again = _run_beam(3, True, cfg, "tokens", tmp_path / "b")
    assert again == (kept, rej, stats, mix_bytes)


def test_weights_only_passes_documents_through(tmp_path):
    docs = synthetic()[::6]
    cfg = BalanceConfig(**ZH_HEAVY, weights_only=True)
    kept, rej, _, mix_bytes = _run_beam(6, False, cfg, "chars", tmp_path)
    assert kept == sorted((d.id, 0, d.text) for d in docs) and rej == []
    mix = json.loads(mix_bytes)
    assert mix["mode"] == "weights_only"
    assert mix["languages"]["other"]["rate"] == pytest.approx(4.0)  # the weights are still computed
    assert mix["total_achieved"] == mix["total_available"]


# ---------------------------------------------------------------- quality tiers
def _scored(docs: list[Document]) -> list[Document]:
    """Each document gets a quality_score from its id's hash (uniform in [0, 1))."""
    return [d._replace(signals={"quality_score": unit_hash(d.id, 99) / 2.0 ** 64}) for d in docs]


def _tier_hists(docs, unit):
    hists: dict[str, dict[int, list[int]]] = {}
    for d in docs:
        h = hists.setdefault(d.lang or "und", {}).setdefault(signal_bin(d.signals["quality_score"]), [0, 0])
        h[0] += 1
        h[1] += doc_amount(d, unit)
    return {lang: {b: tuple(v) for b, v in h.items()} for lang, h in hists.items()}


def test_tier_plan_cuts_percentiles_and_keeps_the_amount():
    docs = _scored(synthetic()[::2])
    weights = (0.5, 1.0, 1.0, 1.5, 2.0)
    tiers = tier_plan(_tier_hists(docs, "chars"), weights)
    for lang in ("en", "zh"):
        mine = [d for d in docs if d.lang == lang]
        by_tier = Counter(tier_weight(d, tiers, "quality_score") for d in mine)
        # five equal-count tiers (to within a histogram bin's documents)
        assert sorted(by_tier.values())[0] >= len(mine) / 5 * 0.9
        w = tiers[lang][1]
        assert w[0] < w[1] == w[2] < w[3] < w[4] and w[4] / w[0] == pytest.approx(4.0)
        # normalised: sum(amount x weight) = amount
        assert sum(doc_amount(d, "chars") * tier_weight(d, tiers, "quality_score") for d in mine) == pytest.approx(
            sum(doc_amount(d, "chars") for d in mine))
    no_signal = docs[0]._replace(signals={})
    assert tier_weight(no_signal, tiers, "quality_score") == 1.0


def test_quality_tiers_favour_high_scores_and_are_off_by_default(tmp_path):
    assert BalanceConfig().quality_tiers.enabled is False
    docs = _scored(synthetic()[::6])
    cfg = BalanceConfig(**ZH_HEAVY, quality_tiers={"enabled": True, "weights": (0.0, 1.0, 3.0)})
    plan = plan_mixture(totals_of(docs, "chars"), cfg, "chars", SEED)
    tiers = tier_plan(_tier_hists(docs, "chars"), (0.0, 1.0, 3.0))
    copies = {d.id: copies_for(d, plan["plans"][bucket_of(d)], SEED, tier_weight(d, tiers, "quality_score"),
                               cfg.max_epochs) for d in docs}
    low = [d for d in docs if tier_weight(d, tiers, "quality_score") == 0.0]
    high = [d for d in docs if tier_weight(d, tiers, "quality_score") > 1.0]
    assert low and all(copies[d.id] == 0 for d in low)  # weight 0: the bottom third is dropped
    mean = lambda ds: sum(copies[d.id] for d in ds) / len(ds)  # noqa: E731
    assert mean(high) > 1.5 * mean(docs)
    # the Beam stage applies the same decisions
    out_dir = tmp_path / "beam"
    out_dir.mkdir()
    with BeamTestPipeline(runner="DirectRunner") as p:
        res = (p | beam.Create([0]) | beam.FlatMap(lambda _: _scored(synthetic()[::6]))
               | Balance(cfg, "chars", SEED, str(out_dir)))
        (res.main | beam.Map(lambda d: d.id) | beam.combiners.Count.PerElement() | beam.combiners.ToList()
         | beam.Map(_dump, str(out_dir / "kept.json")))
    kept = dict(tuple(x) for x in json.loads((out_dir / "kept.json").read_text()))
    assert kept == {i: n for i, n in copies.items() if n}
