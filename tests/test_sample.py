"""--sample/--limit slices on real documents (the demo corpus and the shared WARCs' records): deterministic by
id, independent of order, nested across rates, exact limit, every dropped document counted."""
from __future__ import annotations

import apache_beam as beam
import pytest
from apache_beam.testing.util import assert_that, equal_to

from transforms.sample import Sampler, expected_fraction_ok, fraction


@pytest.fixture(scope="module")
def real_ids(data_dir):
    """Ids of real documents: every page record of the shared WARCs, as the WARC reader names them."""
    from warcio.archiveiterator import ArchiveIterator

    from schemas.document import doc_id

    ids = []
    for path in sorted((data_dir / "web" / "warc").glob("*.warc*")):
        with open(path, "rb") as f:
            for i, rec in enumerate(ArchiveIterator(f)):
                ids.append(doc_id("warc", f"{path.name}", rec.rec_headers.get_header("WARC-Record-ID") or i))
    assert len(set(ids)) > 500
    return sorted(set(ids))


def test_rate_is_deterministic_nested_and_close_to_rate(real_ids):
    s10, s30 = Sampler(0.1, seed=7), Sampler(0.3, seed=7)
    k10 = {i for i in real_ids if s10.keep(i)}
    k30 = {i for i in real_ids if s30.keep(i)}
    assert k10 < k30  # a larger rate keeps a superset
    assert expected_fraction_ok(len(real_ids), len(k10), 0.1) and expected_fraction_ok(len(real_ids), len(k30), 0.3)
    assert k10 == {i for i in reversed(real_ids) if s10.keep(i)}  # order does not matter
    assert k10 != {i for i in real_ids if Sampler(0.1, seed=8).keep(i)}  # the seed does


def test_limit_is_exact_and_order_independent(real_ids):
    s = Sampler(1.0, limit=25, seed=1)
    a, b = s.limit_ids(real_ids), s.limit_ids(list(reversed(real_ids)))
    assert a == b and len(a) == 25
    assert max(fraction(i, 1) for i in a) < min(fraction(i, 1) for i in set(real_ids) - set(a))


def test_bad_values_are_refused():
    with pytest.raises(ValueError, match="--sample"):
        Sampler(0.0)
    with pytest.raises(ValueError, match="--limit"):
        Sampler(limit=0)


def test_beam_slice_matches_the_plain_predicate_and_counts_every_drop(real_ids):
    from transforms.contract import stats_key
    from transforms.sample_beam import SampleDocs

    from schemas.document import Document

    s = Sampler(0.5, limit=40, seed=3)
    want = sorted(s.limit_ids(real_ids))
    n_not_sampled = sum(not s.keep(i) for i in real_ids)
    n_sampled = len(real_ids) - n_not_sampled
    with beam.Pipeline("DirectRunner") as p:
        docs = (p | beam.Create(real_ids)
                | "to docs" >> beam.Map(lambda i: Document(id=i, text="t", source="web", origin=i)))
        kept, stats = docs | SampleDocs(s)
        assert_that(kept | beam.Map(lambda d: d.id), equal_to(want), label="kept")
        assert_that(stats | beam.CombinePerKey(sum), equal_to([
            (stats_key("sample", "in"), len(real_ids)),
            (stats_key("sample", "rejected/not_sampled"), n_not_sampled),
            (stats_key("sample", "rejected/over_limit"), n_sampled - 40),
            (stats_key("sample", "out"), 40)]), label="stats")


def test_build_with_sample_and_limit_on_real_inputs(tmp_path):
    """`yuliao build --sample/--limit` on the demo inputs: unsampled records are counted, never extracted; the limit
    holds; a sampled store is never reused for a full build."""
    import json

    import pyarrow.parquet as pq

    from pipelines.cli import main as yuliao
    from pipelines.demo.make import write_demo_jsonl, write_demo_warc

    warc, jsonl = tmp_path / "demo.warc.gz", tmp_path / "demo-qa.jsonl"
    write_demo_warc(str(warc))
    write_demo_jsonl(str(jsonl))
    cache = tmp_path / "cache"

    def build(out, *flags):
        assert yuliao(["build", "--recipe", "demo", "--input", str(warc), str(jsonl), "--output", str(tmp_path / out),
                       "--cache", str(cache), "--set", "balance.enabled=false", "-q", "--no-progress", "--no-card",
                       *flags]) == 0
        stats = json.loads((tmp_path / out / "stats.json").read_text())
        ids = [r["id"] for p in (tmp_path / out / "data").rglob("*.parquet") for r in pq.read_table(p).to_pylist()]
        return stats, ids

    half, half_ids = build("half", "--sample", "0.5")
    s = half["stages"]["sample"]
    assert s["in"] == s["out"] + s["rejected"]["not_sampled"] and s["rejected"]["not_sampled"] > 0
    kept_before_extract = half["stages"]["extract"]["in"] + half["stages"]["normalize"]["in"] - half["stages"][
        "extract"]["out"]
    assert kept_before_extract <= s["out"]  # only sampled records reach extraction
    again, again_ids = build("half-again", "--sample", "0.5")
    assert sorted(again_ids) == sorted(half_ids) and again["timing"]["annotate"] == {"splits_reused": 2}
    limited, limited_ids = build("limited", "--limit", "3")
    assert 0 < len(limited_ids) <= 3 and limited["stages"]["sample.limit"]["out"] == 3
    full, full_ids = build("full")
    assert full["timing"]["annotate"] == {"splits_annotated": 2}  # the sampled stores are not a full one
    assert set(half_ids) <= set(full_ids) and len(half_ids) < len(full_ids)
