"""`yuliao inspect`: summary table and deterministic samples of kept or rejected documents."""
from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa

from pipelines.cli import main
from pipelines.inspect import inspect_output, sample_rows, summary
from schemas.document import Document, doc_id
from schemas.outputs import Reject
from transforms.sinks import doc_counts, doc_partition, reject_to_row, write_table_atomic
from schemas.document import ARROW_SCHEMA, to_arrow_row
from schemas.outputs import REJECT_ARROW_SCHEMA
from transforms.stats import fold_stats


def _docs() -> list[Document]:
    docs = []
    for i in range(40):
        lang = "zh" if i % 2 else "en"
        text = ("中文段落。" * (20 + i)) if lang == "zh" else ("English paragraph. " * (10 + i))
        docs.append(Document(id=doc_id("test", "f", i), text=text, source="web", origin=f"f@{i}", lang=lang,
                             url=f"https://example.org/{i}", signals={"len": float(len(text))}))
    return docs


def _output(root: Path) -> Path:
    """A small output directory written with the real sink helpers (no Beam needed)."""
    docs = _docs()
    pairs = []
    parts: dict[str, list[Document]] = {}
    for d in docs[:30]:
        parts.setdefault(doc_partition(d), []).append(d)
    for part, rows in sorted(parts.items()):
        rows.sort(key=lambda d: d.id)
        write_table_atomic(str(root / "data" / part / "part-00000-of-00001.parquet"),
                           pa.Table.from_pylist([to_arrow_row(d) for d in rows], schema=ARROW_SCHEMA), "zstd", 1000)
        pairs += [(f"sink\x1f{k}", v) for k, v in doc_counts(part, rows)]
    rejects = [Reject(id=d.id, source=d.source, origin=d.origin, stage="quality",
                      reason="too_short" if i % 2 else "bad_words", url=d.url, lang=d.lang,
                      detail="n=3", text=d.text if i < 5 else None) for i, d in enumerate(docs[30:])]
    write_table_atomic(str(root / "rejects" / "quality" / "part-00000-of-00001.parquet"),
                       pa.Table.from_pylist([reject_to_row(r) for r in rejects], schema=REJECT_ARROW_SCHEMA),
                       "zstd", 1000)
    pairs += [("quality\x1fin", 40), ("quality\x1fout", 30), ("quality\x1frejected/too_short", 5),
              ("quality\x1frejected/bad_words", 5), ("sink\x1fin", 30), ("sink\x1fout", 30)]
    stats = fold_stats(pairs, ["quality", "sink"])
    (root / "stats.json").write_text(json.dumps(stats))
    return root


def test_summary_lists_stages_reasons_and_partitions(tmp_path: Path):
    out = _output(tmp_path)
    stats = json.loads((out / "stats.json").read_text())
    text = summary(stats, str(out))
    lines = text.splitlines()
    q = next(line for line in lines if line.startswith("quality"))
    assert "40" in q and "30" in q and "75.0%" in q and "bad_words 5" in q and "too_short 5" in q
    assert any(line.startswith("en/web") and " 15 " in f" {line} " for line in lines)
    assert any(line.startswith("zh/web") for line in lines)


def test_kept_sample_is_deterministic_filtered_and_truncated(tmp_path: Path):
    out = _output(tmp_path)
    a = inspect_output(str(out), lang="zh", sample=4, chars=50, seed=1)
    b = inspect_output(str(out), lang="zh", sample=4, chars=50, seed=1)
    assert a == b
    assert a.count("— id=") == 4 and "lang=en" not in a
    assert "more chars]" in a  # truncated
    assert "signals: len=" in a  # signals read back from Parquet as key/value structs
    c = inspect_output(str(out), lang="zh", sample=4, chars=50, seed=2)
    assert c != a  # another seed, another sample (15 candidates)


def test_sample_independent_of_shard_layout(tmp_path: Path):
    out = _output(tmp_path)
    files = sorted(str(p) for p in (out / "data").glob("*/*/*.parquet"))
    cols = ["id", "lang"]
    one = sample_rows(files, 5, 0, {}, cols)
    rev = sample_rows(files[::-1], 5, 0, {}, cols)
    assert [r["id"] for r in one] == [r["id"] for r in rev]


def test_rejected_sample_by_reason(tmp_path: Path, capsys):
    out = _output(tmp_path)
    assert main(["inspect", str(out), "--stage", "quality", "--reason", "too_short", "--sample", "10"]) == 0
    text = capsys.readouterr().out
    assert text.count("— id=") == 5
    assert "reason=too_short" in text and "reason=bad_words" not in text
    assert "text not kept" in text  # rejects 5..9 carry no text
    assert "English paragraph" in text or "中文段落" in text  # rejects 0..4 do


def test_no_match_says_so(tmp_path: Path):
    out = _output(tmp_path)
    text = inspect_output(str(out), reason="no_such_reason", sample=3)
    assert "0 sample document(s)" in text and "none found" in text
