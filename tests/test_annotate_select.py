"""Annotate once, select many: the annotation store is reused when only select settings change, recomputed when
annotate settings change or a file is damaged, resumed after a kill, extended by new inputs; and near dedup
against a published release. Every build is a real `yuliao` build on the DirectRunner."""
from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from pipelines.cli import main as yuliao
from pipelines.demo.make import write_demo_jsonl, write_demo_warc
from schemas.annotation import STORE_VERSION

QUIET = ["-q", "--no-progress", "--no-card"]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> list[str]:
    d = tmp_path_factory.mktemp("inputs")
    write_demo_warc(str(d / "demo.warc.gz"))
    write_demo_jsonl(str(d / "demo-qa.jsonl"))
    return [str(d / "demo.warc.gz"), str(d / "demo-qa.jsonl")]


def build(inputs: list[str], out: Path, cache: Path, *overrides: str, command: str = "build") -> dict:
    sets = [a for o in overrides for a in ("--set", o)]
    rc = yuliao([command, "--recipe", "demo", "--input", *inputs, "--output", str(out), "--cache", str(cache),
                 *sets, *QUIET])
    assert rc == 0
    return json.loads((out / "stats.json").read_text())


def splits(stats: dict) -> dict:
    return stats["timing"].get("annotate", {})


def parquet_bytes(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*.parquet"))}


def without_timing(stats: dict) -> dict:
    return {k: v for k, v in stats.items() if k != "timing"}


@pytest.fixture(scope="module")
def first(inputs, tmp_path_factory):
    d = tmp_path_factory.mktemp("first")
    stats = build(inputs, d / "out", d / "cache")
    return d, stats


def test_first_build_annotates_every_split(first):
    _, stats = first
    assert splits(stats) == {"splits_annotated": 2}
    assert stats["stages"]["signals"]["in"] == stats["stages"]["signals"]["out"] > 0


def test_reselect_with_new_thresholds_reuses_the_store_and_equals_a_fresh_build(first, inputs, tmp_path):
    d, _ = first
    change = ("quality.zh.min_chars=400", "balance.languages={zh: 0.7, en: 0.3}")
    reused = build(inputs, tmp_path / "reused", d / "cache", *change)
    assert splits(reused) == {"splits_reused": 2}  # nothing re-extracted
    fresh = build(inputs, tmp_path / "fresh", tmp_path / "fresh-cache", *change)
    assert splits(fresh) == {"splits_annotated": 2}
    assert parquet_bytes(tmp_path / "reused") == parquet_bytes(tmp_path / "fresh")
    assert without_timing(reused) == without_timing(fresh)
    # the new threshold really applied: more Chinese documents rejected as short than with the demo's own
    assert reused["stages"]["quality"]["rejected"].get("zh_short", 0) > first[1]["stages"]["quality"]["rejected"].get(
        "zh_short", 0)


def test_annotate_then_select_equals_build(first, inputs, tmp_path):
    d, _ = first
    cache = tmp_path / "cache"
    assert yuliao(["annotate", "--recipe", "demo", "--input", *inputs, "--cache", str(cache), "-q",
                   "--no-progress"]) == 0
    stats = build(inputs, tmp_path / "out", cache, command="select")
    assert parquet_bytes(tmp_path / "out") == parquet_bytes(d / "out")
    assert without_timing(stats) == without_timing(first[1])


def test_select_refuses_inputs_missing_from_the_store(inputs, tmp_path, capsys):
    rc = yuliao(["select", "--recipe", "demo", "--input", *inputs, "--output", str(tmp_path / "o"),
                 "--cache", str(tmp_path / "empty"), *QUIET])
    assert rc == 2
    assert "not (completely) in the annotation store" in capsys.readouterr().err


def test_annotate_settings_change_recomputes(first, inputs, tmp_path):
    d, _ = first
    cache = tmp_path / "cache"
    shutil.copytree(d / "cache", cache)
    stats = build(inputs, tmp_path / "out", cache, "langid.min_score=0.5")
    assert splits(stats) == {"splits_annotated": 2}
    # old entry kept, new settings beside it (and the tokenizer facts folder)
    assert sorted(p.name == "tokenizers" for p in cache.iterdir() if p.is_dir()) == [False, False, True]


def test_damaged_store_file_is_recomputed_with_a_warning(first, inputs, tmp_path, caplog):
    d, _ = first
    cache = tmp_path / "cache"
    shutil.copytree(d / "cache", cache)
    victim = sorted(cache.rglob("demo.warc.gz-*/split-00000.docs.parquet"))[0]
    victim.write_bytes(victim.read_bytes()[: victim.stat().st_size // 2])  # truncated
    with caplog.at_level(logging.WARNING, logger="yuliao.store"):
        stats = build(inputs, tmp_path / "out", cache)
    assert splits(stats) == {"splits_annotated": 1, "splits_reused": 1}
    assert any("damaged" in r.getMessage() for r in caplog.records)
    assert parquet_bytes(tmp_path / "out") == parquet_bytes(d / "out")


def test_store_of_another_version_is_refused(first, inputs, tmp_path, capsys):
    d, _ = first
    cache = tmp_path / "cache"
    shutil.copytree(d / "cache", cache)
    marker = sorted(cache.rglob("*.done.json"))[0]
    m = json.loads(marker.read_text())
    m["store_version"] = 999
    marker.write_text(json.dumps(m))
    rc = yuliao(["build", "--recipe", "demo", "--input", *inputs, "--output", str(tmp_path / "o"),
                 "--cache", str(cache), *QUIET])
    assert rc == 2
    err = capsys.readouterr().err
    assert "version 999" in err and f"reads version {STORE_VERSION}" in err


def test_incremental_build_annotates_only_new_inputs_and_dedups_across_both(first, inputs, tmp_path):
    d, _ = first
    cache = tmp_path / "cache"
    one = build(inputs[:1], tmp_path / "one", cache)
    assert splits(one) == {"splits_annotated": 1}
    both = build(inputs, tmp_path / "both", cache)
    assert splits(both) == {"splits_annotated": 1, "splits_reused": 1}
    assert parquet_bytes(tmp_path / "both") == parquet_bytes(d / "out")


def _data_ids(out: Path) -> set[str]:
    return {r["id"] for p in (out / "data").rglob("*.parquet") for r in pq.read_table(p, columns=["id"]).to_pylist()}


@pytest.mark.parametrize("use_index", [True, False])
def test_dedup_against_a_published_release(first, inputs, tmp_path, use_index):
    d, _ = first
    no_balance = "balance.enabled=false"
    release = tmp_path / "release-1"
    build(inputs[:1], release, d / "cache", no_balance)  # release 1: the web pages
    assert (release / "index" / "minhash.json").exists()
    if not use_index:  # an older release without a signature index: its data/ text is signed again
        shutil.rmtree(release / "index")
    qa_only = build(inputs[1:], tmp_path / "qa-only", d / "cache", no_balance)
    stats = build(inputs, tmp_path / "release-2", d / "cache", no_balance, f"dedup.against=[{release}]")
    near = stats["stages"]["dedup.near"]
    released = _data_ids(release)
    assert released and near["counters"]["prior_docs"] == len(released)
    # the web pages released before (and their near copies) are dropped as prior near-duplicates; the new
    # Q&A documents are exactly what a build of them alone keeps
    assert near["rejected"]["near_duplicate_prior"] >= len(released)
    assert _data_ids(tmp_path / "release-2") == _data_ids(tmp_path / "qa-only")
    assert qa_only["stages"]["sink"]["out"] > 0


def test_killed_build_resumes_where_it_stopped(inputs, tmp_path):
    """A real build killed (SIGKILL) right after its first split is committed; the rerun annotates only the rest
    and gives the same corpus as an uninterrupted build."""
    src = tmp_path / "in"
    src.mkdir()
    for i in range(4):  # four distinct inputs, annotated one after another by the in-memory runner
        shutil.copy(inputs[0], src / f"crawl-{i}.warc.gz")
    files = sorted(str(p) for p in src.iterdir())
    cache, out = tmp_path / "cache", tmp_path / "out"
    cmd = [sys.executable, "-m", "pipelines.cli", "build", "--recipe", "demo", "--input", *files,
           "--output", str(out), "--cache", str(cache), *QUIET]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)})
    deadline = time.time() + 300
    while time.time() < deadline and not list(cache.rglob("*.done.json")) and proc.poll() is None:
        time.sleep(0.05)
    assert proc.poll() is None, "the build ended before its first split was committed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = len(list(cache.rglob("*.done.json")))
    assert 1 <= done < 4
    assert not (out / "stats.json").exists()
    assert not [p for p in cache.rglob("*.parquet") if ".done" not in p.name and not
                (p.parent / (p.name.split(".")[0] + ".done.json")).exists() and ".tmp-" not in p.name]
    resumed = build(files, out, cache)
    assert splits(resumed) == {"splits_annotated": 4 - done, "splits_reused": done}
    whole = build(files, tmp_path / "whole", tmp_path / "whole-cache")
    assert parquet_bytes(out) == parquet_bytes(tmp_path / "whole")
    assert without_timing(resumed) == without_timing(whole)


def test_stored_token_ids_are_reused_only_for_the_same_tokenizer(first, inputs, tmp_path):
    d, _ = first
    rows = [r for p in sorted((d / "cache").rglob("*.docs.parquet")) for r in pq.read_table(p).to_pylist()]
    assert rows and all(r["n_tokens"] == len(r["token_ids"]) and r["tokenizer"] for r in rows)
    reused = build(inputs, tmp_path / "reused", d / "cache", "tokenize.add_eos=false")
    fresh = build(inputs, tmp_path / "fresh", tmp_path / "cache", "tokenize.add_eos=false")
    assert parquet_bytes(tmp_path / "reused") == parquet_bytes(tmp_path / "fresh")
    assert reused["stages"]["tokenize"]["counters"]["tokens"] == fresh["stages"]["tokenize"]["counters"]["tokens"]
    # one token fewer per document than the store's ids (no EOS appended)
    assert reused["stages"]["tokenize"]["counters"]["tokens"] == (
        first[1]["stages"]["tokenize"]["counters"]["tokens"] - first[1]["stages"]["tokenize"]["out"])


def test_store_token_ids_read_as_uint32_arrays_equal_the_stored_lists(first, tmp_path):
    """``store.read_rows`` gives token ids as ``array.array`` (cheap to pickle through select's shuffles): the same
    rows, in the same column order, with the same ids as Arrow's own conversion, null and empty lists and the
    largest uint32 included, across batch boundaries (sliced list arrays)."""
    from array import array

    import pyarrow as pa

    from transforms import store

    d, _ = first
    paths = sorted((d / "cache").rglob("*.docs.parquet"))
    real = pa.concat_tables([pq.read_table(p) for p in paths])
    extra = pa.table({"id": ["a", "b", "c"], "token_ids": pa.array([None, [], [0, 2**32 - 1, 7]], pa.list_(pa.uint32()))})
    for table in (real, extra):
        pq.write_table(table, tmp_path / "t.parquet")
        marker = {"files": {"docs": {"file": "t.parquet", "rows": table.num_rows}}}
        got = list(store.read_rows(str(tmp_path), marker, "docs", batch_rows=2))
        want = table.to_pylist()
        assert [list(r) for r in got] == [list(r) for r in want]
        ids = [c for c in ("token_ids", "pii_token_ids") if c in table.column_names]
        assert all(isinstance(r[c], array) or r[c] is None for r in got for c in ids)
        assert [{**r, **{c: None if r[c] is None else list(r[c]) for c in ids}} for r in got] == want
    assert sum(r["token_ids"] is not None for r in real.to_pylist()) > 0
    assert sum(r["pii_token_ids"] is not None for r in real.to_pylist()) > 0  # the demo has PII


def test_reselect_uses_stored_pii_spans_and_never_loads_the_tokenizer(first, inputs, tmp_path, monkeypatch):
    """A re-select takes PII spans and the scrubbed text's token ids from the store: it neither scans for PII nor
    loads the tokenizer (the launcher reads the tokenizer's facts from the store too), and writes the same bytes
    as a select that had to scan and encode (a store annotated without PII spans)."""
    from transforms import pii as pii_module
    from transforms import tokenize as tokenize_module

    d, first_stats = first
    assert first_stats["stages"]["pii"]["counters"]["docs_with_pii"] > 0  # the demo has PII to scrub
    rows = [r for p in sorted((d / "cache").rglob("*.docs.parquet")) for r in pq.read_table(p).to_pylist()]
    with_pii = [r for r in rows if r["pii_spans"]]
    assert with_pii and all(r["pii_settings"] and r["pii_n_tokens"] == len(r["pii_token_ids"]) for r in with_pii)
    assert list((d / "cache" / "tokenizers").glob("*.json"))  # facts kept by the first build

    # the store annotated without PII: select scans every document and encodes the scrubbed texts
    rc = yuliao(["annotate", "--recipe", "demo", "--input", *inputs, "--cache", str(tmp_path / "no-spans"),
                 "--set", "pii.enabled=false", "-q", "--no-progress"])
    assert rc == 0
    scanned = build(inputs, tmp_path / "scanned", tmp_path / "no-spans", command="select")

    loads, scans = [], []
    real_init, real_find = tokenize_module.TokenizerModel.__init__, pii_module.PiiScrubber.find

    def counting_init(self, *a, **k):
        loads.append(1)
        real_init(self, *a, **k)

    def counting_find(self, text):
        scans.append(len(text))
        return real_find(self, text)

    from transforms import resources
    resources.forget_shared()  # a tokenizer an earlier test left in this process would hide a load
    monkeypatch.setattr(tokenize_module.TokenizerModel, "__init__", counting_init)
    monkeypatch.setattr(pii_module.PiiScrubber, "find", counting_find)
    reused = build(inputs, tmp_path / "reused", d / "cache", command="select")
    assert loads == []
    titles = sum(len(r["title"] or "") > 0 for r in rows)
    assert len(scans) <= titles  # titles are short and still scanned; no document text is
    assert parquet_bytes(tmp_path / "reused") == parquet_bytes(tmp_path / "scanned")
    assert without_timing(reused) == without_timing(scanned)
    # a changed PII setting ignores the stored spans: documents are scanned again (and re-encoded)
    other = build(inputs, tmp_path / "other", d / "cache", "pii.placeholders={EMAIL: '[email]'}", command="select")
    assert loads and len(scans) > titles
    assert other["stages"]["pii"]["counters"] == reused["stages"]["pii"]["counters"]
