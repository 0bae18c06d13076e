"""Dataset card: a real build's README parses with huggingface_hub, its numbers equal stats.json,
its configs load with `datasets`, charts are real PNGs, and rendering is byte-deterministic."""
from __future__ import annotations

import copy
import glob
import json
import re
import struct
from pathlib import Path

import pytest

from pipelines import card
from pipelines.cli import main

WARCS = ["resiliparse-cc-main-2020-34-excerpt.warc.gz", "dolma-wget-sample-0000.warc.gz"]


@pytest.fixture(scope="module")
def built(data_dir: Path, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("card") / "out"
    inputs = [str(data_dir / "web" / "warc" / w) for w in WARCS]
    assert main(["build", "--input", *inputs, "--output", str(out), "-q", "--no-progress"]) == 0
    return out


def _stats(out: Path) -> dict:
    return json.loads((out / "stats.json").read_text())


def _table(readme: str, heading: str) -> list[list[str]]:
    """Rows (cells) of the first Markdown table after ``heading``."""
    after = readme.split(heading, 1)[1]
    rows = []
    started = False
    for line in after.splitlines():
        if line.startswith("|"):
            started = True
            cells = [c.strip() for c in line.strip("|").split("|")]
            if not all(re.fullmatch(r":?-+:?", c) for c in cells):
                rows.append(cells)
        elif started:
            break
    return rows[1:]  # drop the header row


def _num(cell: str) -> int:
    return int(cell.strip("*").replace(",", ""))


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    w, h = struct.unpack(">II", data[16:24])
    return w, h


def test_card_parses_with_huggingface_hub(built: Path):
    from huggingface_hub import DatasetCard

    readme = (built / "README.md").read_text(encoding="utf-8")
    parsed = DatasetCard(readme)
    data = parsed.data.to_dict()
    stats = _stats(built)
    langs = sorted({k.split("/")[1] for k in stats["stages"]["sink"]["counters"] if k.startswith("docs/")})
    assert data["language"] == langs
    assert data["license"] == "other"  # default recipe
    assert data["task_categories"] == ["text-generation"]
    assert data["size_categories"] == ["n<1K"]
    names = [c["config_name"] for c in data["configs"]]
    assert names[0] == "default" and set(langs) <= set(names)
    # every data_files pattern matches shards that exist, and together they cover all shards
    default = data["configs"][0]["data_files"][0]["path"]
    matched = sorted({f for pat in default for f in glob.glob(str(built / pat))})
    assert matched == sorted(glob.glob(str(built / "data" / "*" / "*" / "*.parquet")))
    assert "Yuliao corpus" in parsed.text and "## Recipe" in parsed.text


def test_card_configs_load_with_datasets(built: Path, tmp_path: Path):
    datasets = pytest.importorskip("datasets")
    stats = _stats(built)
    n_zh = stats["stages"]["sink"]["counters"]["docs/zh/web"]
    # a fresh cache: datasets keys its cache on the folder name and config, so a stale cache could answer
    ds = datasets.load_dataset(str(built), "zh", split="train", cache_dir=str(tmp_path / "hf-cache"))
    assert len(ds) == n_zh
    assert set(ds["lang"]) == {"zh"}


def test_card_numbers_equal_stats(built: Path):
    readme = (built / "README.md").read_text(encoding="utf-8")
    stats = _stats(built)
    funnel = {r[0]: r for r in _table(readme, "### Funnel")}
    assert list(funnel) == stats["order"]
    for name, s in stats["stages"].items():
        row = funnel[name]
        assert _num(row[1]) == s["in"] and _num(row[2]) == s["out"]
        assert _num(row[3]) == sum(s["rejected"].values())
    # characters after langid come from the in-pipeline volume counters
    assert _num(funnel["langid"][5]) == stats["volume"]["langid"]["chars_out"]

    sink = stats["stages"]["sink"]["counters"]
    langs = {r[0]: r for r in _table(readme, "## Languages and sources")}
    for key, n in sink.items():
        if key.startswith("docs/"):
            _, lang, _source = key.split("/")
            assert _num(langs[lang][-3]) == sum(v for k, v in sink.items() if k.startswith(f"docs/{lang}/"))
            assert _num(langs[lang][-2]) == sum(v for k, v in sink.items() if k.startswith(f"chars/{lang}/"))
    assert _num(langs["**total**"][-3]) == stats["stages"]["sink"]["out"]

    reasons = _table(readme, "### Top drop reasons per stage")
    for stage, reason, n, _share in reasons:
        if reason.startswith("`"):
            assert stats["stages"][stage]["rejected"][reason.strip("`")] == _num(n)
    langid_rej = stats["stages"]["langid"]["rejected"]
    assert {r[1].strip("`") for r in reasons if r[0] == "langid"} == set(langid_rej)

    q = stats["stages"]["quality"]
    qrows = {r[0].removeprefix("model: ").strip("`"): r for r in _table(readme, "### Quality: rules and learned score")}
    assert {k: _num(r[1]) for k, r in qrows.items() if _num(r[1])} == {k: n for k, n in q["rejected"].items() if n}
    hist_total = sum(n for k, n in q["counters"].items() if k.startswith("score/"))
    assert hist_total > 0
    assert hist_total == sum(_num(m) for m in re.findall(r"of the ([\d,]+) \*\*", readme))

    if "pii" in stats["stages"]:
        pii = {r[0]: _num(r[1]) for r in _table(readme, "### Personal information") if not r[0].startswith("**")}
        expected = {k.split("/", 1)[1]: v for k, v in stats["stages"]["pii"]["counters"].items()
                    if k.startswith("replaced/")}
        assert pii == expected
    # inputs with checksums recorded by the CLI
    run = json.loads((built / "run.json").read_text())
    assert all(len(f["sha256"]) == 64 for f in run["inputs"])
    for f in run["inputs"]:
        assert f["sha256"] in readme
    assert run["versions"]["apache-beam"] in readme


def test_charts_are_real_pngs_referenced_from_card(built: Path):
    readme = (built / "README.md").read_text(encoding="utf-8")
    charts = sorted(p.name for p in (built / "charts").glob("*.png"))
    assert {"funnel.png", "lengths.png"} <= set(charts)
    if (built / "mixture.json").exists():
        assert "mixture.png" in charts
    for name in charts:
        data = (built / "charts" / name).read_bytes()
        w, h = _png_size(data)
        assert w > 300 and h > 200 and len(data) > 5000
        assert f"(charts/{name})" in readme
        assert b"Software" not in data  # no matplotlib version stamp: stable bytes


def test_rerender_is_byte_identical_and_timing_is_confined(built: Path, tmp_path: Path):
    before = {p.name: p.read_bytes() for p in [built / "README.md", *(built / "charts").glob("*.png")]}
    assert main(["card", str(built)]) == 0
    after = {p.name: p.read_bytes() for p in [built / "README.md", *(built / "charts").glob("*.png")]}
    assert before == after

    # different timing only changes the marked timing section
    stats = _stats(built)
    slower = copy.deepcopy(stats)
    for t in slower["timing"].values():
        t["ms"] = t.get("ms", 0) * 3 + 7
    inputs = card.load_inputs(str(built))
    a = card.render_readme(card.card_context(inputs, {}))
    inputs.stats = slower
    b = card.render_readme(card.card_context(inputs, {}))
    assert a != b
    head = "## Run timing"
    assert a.split(head)[0] == b.split(head)[0]


# ------------------------------------------------------------------ synthetic outputs: every section renders
def _synthetic_stats() -> dict:
    return {
        "schema_version": 1,
        "order": ["source.warc", "extract", "langid", "quality", "dedup.exact", "dedup.near", "pii", "balance",
                  "tokenize", "sink", "sink.rejects"],
        "stages": {
            "source.warc": {"in": 1000, "out": 900, "rejected": {"non_html": 100}, "counters": {"files": 3}},
            "extract": {"in": 900, "out": 880, "rejected": {"extract_empty": 20}, "counters": {}},
            "langid": {"in": 880, "out": 800, "rejected": {"lang_not_selected": 70, "lang_low_score": 10},
                       "counters": {}},
            "quality": {"in": 800, "out": 600, "rejected": {f"r{i}": 10 + i for i in range(8)} | {"too_short": 72},
                        "counters": {}},
            "dedup.exact": {"in": 600, "out": 550, "rejected": {"exact_duplicate": 50},
                            "counters": {"groups": 530}},
            "dedup.near": {"in": 550, "out": 500, "rejected": {"near_duplicate": 50},
                           "counters": {"clusters": 20, "candidate_pairs": 90}},
            "pii": {"in": 500, "out": 500, "rejected": {}, "counters": {"replaced/EMAIL": 12, "replaced/PHONE": 30,
                                                                         "replaced/ID_NUMBER": 2}},
            "balance": {"in": 500, "out": 520, "rejected": {}, "counters": {}},
            "tokenize": {"in": 520, "out": 520, "rejected": {}, "counters": {}},
            "sink": {"in": 520, "out": 520, "rejected": {}, "counters": {
                "docs/zh/web": 300, "docs/zh/encyclopedia": 120, "docs/en/web": 100,
                "chars/zh/web": 300_000, "chars/zh/encyclopedia": 200_000, "chars/en/web": 400_000,
                "tokens/zh/web": 200_000, "tokens/zh/encyclopedia": 150_000, "tokens/en/web": 100_000,
                "bytes/zh/web": 1000, "bytes/zh/encyclopedia": 1000, "bytes/en/web": 1000,
                "script/zh/web/Hans": 250, "script/zh/web/Hant": 50, "script/zh/encyclopedia/Hans": 120,
                "script_chars/zh/web/Hans": 250_000, "script_chars/zh/web/Hant": 50_000,
                "script_chars/zh/encyclopedia/Hans": 200_000,
                "len_log2/zh/web/9": 100, "len_log2/zh/web/10": 200, "len_log2/zh/encyclopedia/11": 120,
                "len_log2/en/web/12": 100, "dup_log2/zh/web/0": 280, "dup_log2/zh/web/1": 20}},
            "sink.rejects": {"in": 480, "out": 480, "rejected": {}, "counters": {}},
        },
        "timing": {"extract": {"ms": 1234}},
        "volume": {"extract": {"chars_out": 1_500_000}, "quality": {"chars_out": 1_000_000}},
    }


MIXTURE_SHAPES = [
    {"unit": "tokens", "buckets": [
        {"lang": "zh", "script": "Hans", "source": "web", "available": 200000, "target_share": 0.3,
         "achieved_share": 0.31, "rate": 0.8, "effective_epochs": 1.0},
        {"lang": "zh", "script": "Hans", "source": "encyclopedia", "available": 150000, "target_share": 0.4,
         "achieved_share": 0.36, "rate": 4.0, "note": "capped at max_epochs"},
        {"lang": "en", "source": "web", "available": 100000, "target_share": 0.3, "achieved_share": 0.33,
         "rate": 1.0}], "notes": ["zh/encyclopedia: target not met (max_epochs)"]},
    {"buckets": {"zh/web": {"available": 10, "target": {"share": 0.5}, "achieved": {"share": 0.5}},
                 "en/web": {"available": 10, "target": {"share": 0.5}, "achieved": {"share": 0.5}}}},
    {"buckets": [{"bucket": "zh/web", "available": 10, "target": 60, "achieved": 55},
                 {"bucket": "en/web", "available": 10, "target": 40, "achieved": 45}]},
]


@pytest.mark.parametrize("mixture", MIXTURE_SHAPES)
def test_mixture_shapes_give_shares(mixture):
    rows = card.mixture_rows(mixture)
    assert len(rows) >= 2
    assert all(r["target"] is not None and r["achieved"] is not None for r in rows)
    assert sum(r["target"] for r in rows) == pytest.approx(1.0)


def _write_output(root: Path, stats: dict, run: dict | None = None, mixture: dict | None = None) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "stats.json").write_text(json.dumps(stats))
    if run is not None:
        (root / "run.json").write_text(json.dumps(run))
    if mixture is not None:
        (root / "mixture.json").write_text(json.dumps(mixture))
    return root


def test_synthetic_card_has_every_section(tmp_path: Path):
    from huggingface_hub import DatasetCard

    run = {"recipe": {"name": "zh-test", "license": "cc-by-4.0", "description": "A test corpus."},
           "recipe_yaml": "name: zh-test\nlicense: cc-by-4.0\n",
           "inputs": [{"path": "a.warc.gz", "kind": "warc", "size": 10, "sha256": "ab" * 32},
                      {"path": "big.warc.gz", "kind": "warc", "size": 10**12, "sha256": None}],
           "versions": {"apache-beam": "2.77.0", "yuliao": "0.1.0"}, "timing": {"wall_seconds": 1.5}}
    out = _write_output(tmp_path / "o", _synthetic_stats(), run, MIXTURE_SHAPES[0])
    card.render_card(str(out))
    readme = (out / "README.md").read_text(encoding="utf-8")
    data = DatasetCard(readme).data.to_dict()
    assert data["license"] == "cc-by-4.0" and data["language"] == ["en", "zh"]
    names = [c["config_name"] for c in data["configs"]]
    assert names == ["default", "en", "zh", "en-web", "zh-encyclopedia", "zh-web"]
    zh = next(c for c in data["configs"] if c["config_name"] == "zh")
    assert zh["data_files"][0]["path"] == ["data/zh/encyclopedia/*.parquet", "data/zh/web/*.parquet"]

    scripts = {r[0]: r for r in _table(readme, "### Chinese script split")}
    assert _num(scripts["Hans"][1]) == 370 and _num(scripts["Hant"][1]) == 50 and scripts["Hant"][2] == "11.9%"
    reasons = [r for r in _table(readme, "### Top drop reasons per stage") if r[0] == "quality"]
    assert reasons[0][1] == "`too_short`" and reasons[-1][1] == "4 other reasons"
    assert sum(_num(r[2]) for r in reasons) == sum(_synthetic_stats()["stages"]["quality"]["rejected"].values())
    dedup = {r[0]: r for r in _table(readme, "### Deduplication")}
    assert _num(dedup["dedup.near"][3]) == 50 and "clusters: 20" in dedup["dedup.near"][4]
    assert "| 2–3 | 20 |" in readme  # kept docs from clusters of size 2-3
    pii = {r[0]: r[1] for r in _table(readme, "### Personal information")}
    assert pii == {"PHONE": "30", "EMAIL": "12", "ID_NUMBER": "2", "**total**": "**44**"}
    mix = {r[0]: r for r in _table(readme, "### Mixture")}
    assert mix["zh/Hans/encyclopedia"][2] == "40.00%" and mix["zh/Hans/encyclopedia"][4] == "36.00%"
    assert "capped at max_epochs" in readme and "target not met" in readme
    assert "not computed" in readme and "ab" * 32 in readme
    assert "quality-filtered, deduplicated, PII-scrubbed, balanced, tokenised" in readme
    assert {p.name for p in (out / "charts").glob("*.png")} == {"funnel.png", "mixture.png", "lengths.png"}


def test_quality_section_histogram_and_drops_per_rule(tmp_path: Path):
    stats = _synthetic_stats()
    stats["stages"]["quality"]["rejected"] = {"zh_short": 30, "gopher_short_doc": 5, "low_quality_score": 7,
                                              "word_order": 3}
    stats["stages"]["quality"]["counters"] = {
        "score/zh/0": 10, "score/zh/9": 30, "score/zh/5": 60, "score/en/3": 4,
        "rescued/zh_line_punct_char_ratio": 6, "rescued/zh_short": 2, "exempt/zh_short": 1}
    out = _write_output(tmp_path / "o", stats)
    card.render_card(str(out))
    readme = (out / "README.md").read_text(encoding="utf-8")
    rules = {r[0]: r for r in _table(readme, "### Quality: rules and learned score")}
    assert [_num(c) for c in rules["`zh_short`"][1:]] == [30, 2, 1]
    assert [_num(c) for c in rules["`zh_line_punct_char_ratio`"][1:]] == [0, 6, 0]
    assert _num(rules["model: `low_quality_score`"][1]) == 7 and _num(rules["model: `word_order`"][1]) == 3
    assert "`low_quality_score`" not in [r[0] for r in rules.values()]  # model reasons are not listed as rules
    after = readme.split("**zh** documents the quality stage judged", 1)[1]
    rows = []
    for line in after.splitlines()[1:]:
        if line.startswith("| 0.") or line.startswith("| 1."):
            rows.append([c.strip() for c in line.strip("|").split("|")])
        elif rows:
            break
    assert [r[0] for r in rows] == [f"{i / 10:.1f}–{(i + 1) / 10:.1f}" for i in range(10)]
    assert [_num(r[1]) for r in rows] == [10, 0, 0, 0, 0, 60, 0, 0, 0, 30]
    assert rows[5][2] == "60.0%"
    assert "100 **zh** documents" in readme and "4 **en** documents" in readme


def test_minimal_output_renders_without_run_json_or_sink_counters(tmp_path: Path):
    from huggingface_hub import DatasetCard

    stats = {"schema_version": 1, "order": ["source.jsonl", "sink"], "timing": {},
             "stages": {"source.jsonl": {"in": 0, "out": 0, "rejected": {}, "counters": {}},
                        "sink": {"in": 0, "out": 0, "rejected": {}, "counters": {}}}}
    out = _write_output(tmp_path / "o", stats)
    card.render_card(str(out))
    readme = (out / "README.md").read_text(encoding="utf-8")
    data = DatasetCard(readme).data.to_dict()
    assert data["language"] == ["und"] and "configs" not in data
    assert "PII scrubbing did not run" in readme and "Deduplication did not run" in readme
    assert "Package versions were not recorded" in readme


def test_size_categories():
    assert card.size_category(0) == "n<1K"
    assert card.size_category(999) == "n<1K"
    assert card.size_category(1000) == "1K<n<10K"
    assert card.size_category(5 * 10**7) == "10M<n<100M"


def test_partition_profile_counts_scripts_lengths_and_clusters():
    from schemas.document import Document
    from transforms.profile import log2_bin, partition_profile

    docs = [Document(id="a", text="汉" * 300, source="web", origin="o", lang="zh", script="Hans", dup_cluster_size=1),
            Document(id="b", text="漢" * 1000, source="web", origin="o", lang="zh", script="Hant", dup_cluster_size=3),
            Document(id="c", text="", source="web", origin="o", lang="zh")]
    got = dict(partition_profile("zh/web", docs))
    assert got == {"len_log2/zh/web/8": 1, "len_log2/zh/web/9": 1, "len_log2/zh/web/0": 1,
                   "script/zh/web/Hans": 1, "script/zh/web/Hant": 1,
                   "script_chars/zh/web/Hans": 300, "script_chars/zh/web/Hant": 1000,
                   "dup_log2/zh/web/0": 1, "dup_log2/zh/web/1": 1}
    assert [log2_bin(n) for n in (0, 1, 2, 3, 4, 1023, 1024)] == [0, 0, 1, 1, 2, 9, 10]


def test_sha256_of_respects_the_size_limit(tmp_path: Path):
    import hashlib

    f = tmp_path / "x.bin"
    f.write_bytes(b"x" * 5000)
    assert card.sha256_of(str(f), 10_000) == hashlib.sha256(b"x" * 5000).hexdigest()
    assert card.sha256_of(str(f), 4_000) is None  # size unknown up front: stops reading past the limit
    assert card.sha256_of(str(f), 4_000, size=5000) is None
