"""Benchmark decontamination: matching across scripts, widths, case and whitespace on real text; the Beam stage
with benchmark files the test writes (JSONL, CSV, Parquet) from real sentences; drop, cut, caps and errors."""
from __future__ import annotations

import csv
import gzip
import json
from pathlib import Path

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from opencc import OpenCC

from pipelines.recipe import load_recipe
from schemas.document import Document
from transforms.contract import Count, Rejection
from transforms.decontam import benchmark_paths, stage
from transforms.decontam.match import Decontam, DecontamError, build_index, read_items, tokenize


# ------------------------------------------------------------------ real text
def _msra(data_dir: Path, n: int = 400) -> list[str]:
    out, cur = [], []
    with gzip.open(data_dir / "misc" / "zh-ugc" / "dh_msra.txt.gz", "rt", encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                if cur:
                    out.append("".join(cur))
                    cur = []
                    if len(out) >= n:
                        break
                continue
            cur.append(line.split()[0])
    return out


def _lingua_en(data_dir: Path) -> list[str]:
    with gzip.open(data_dir / "misc" / "langid" / "lingua-sentences" / "en.txt.gz", "rt", encoding="utf-8") as f:
        return [line.strip() for line in f if line.strip()]


def _chunks(path: Path, size: int = 2500) -> list[str]:
    paras = [p.strip() for p in path.read_text(encoding="utf-8-sig").split("\n\n") if p.strip()]
    out, buf = [], []
    for p in paras:
        buf.append(p)
        if sum(map(len, buf)) >= size:
            out.append("\n\n".join(buf))
            buf = []
    return out


@pytest.fixture(scope="module")
def text(data_dir):
    zh_items = [s for s in _msra(data_dir) if len(s) >= 40][:60]
    en_items = [s for s in _lingua_en(data_dir) if len(s.split()) >= 20][:60]
    zh_hosts = _chunks(data_dir / "books" / "gutenberg-zh" / "pg23950-0.txt")[5:45]
    en_hosts = _chunks(data_dir / "books" / "gutenberg-en" / "pg1342.txt")[5:45]
    return {"zh_items": zh_items, "en_items": en_items, "zh_hosts": zh_hosts, "en_hosts": en_hosts}


def _stage(items, **overrides) -> Decontam:
    cfg = load_recipe(None, [f"decontam.{k}={v}" for k, v in overrides.items()]).decontam
    d = Decontam(cfg)
    d.index = build_index(items, cfg.char_ngram, cfg.word_ngram, cfg.max_ngrams)
    return d


def _paste(host: str, item: str) -> str:
    mid = host.index("\n", len(host) // 2)
    return host[:mid] + "\n" + item + "\n" + host[mid:]


_FULL, _HALF = "，。：；“”（）、", ",.:;\"\"(),"


def _swap_width(s: str) -> str:
    return "".join(_HALF[_FULL.index(c)] if c in _FULL else chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in s)


def test_han_stream_is_the_dedup_key_with_offsets(text):
    from transforms.dedup.minhash import cjk_key

    host = text["zh_hosts"][0]  # Traditional script
    t = tokenize(host)
    han = "".join(chr(c) for c in t.han.tolist())
    assert han == "".join(ch for ch in cjk_key(host) if not ch.isascii())
    for i in range(0, t.han.size, 97):  # every offset points at the Han character it came from
        assert cjk_key(host[t.han_start[i]:t.han_end[i]]) == chr(int(t.han[i]))


def test_variants_of_pasted_items_are_caught(text):
    items = [("zh_task", s) for s in text["zh_items"]] + [("en_task", s) for s in text["en_items"]]
    d = _stage(items)
    s2t, s2twp = OpenCC("s2t"), OpenCC("s2twp")
    variants = {
        "verbatim": lambda s: s,
        "traditional": s2t.convert,
        "traditional_tw": s2twp.convert,
        "width": _swap_width,
        "case": lambda s: s.swapcase(),
        "whitespace": lambda s: "  ".join(s.split(" ")).replace("，", "，\n") if " " in s else " ".join(s),
    }
    for lang in ("zh", "en"):
        for name, fn in variants.items():
            caught = [bool(d.matches(_paste(text[f"{lang}_hosts"][i % 40], fn(item))))
                      for i, item in enumerate(text[f"{lang}_items"])]
            assert sum(caught) == len(caught), (lang, name, caught.count(False))
    # the reason names the task of the pasted item
    doc = Document(id="a", text=_paste(text["en_hosts"][0], text["en_items"][3]), source="web", origin="o")
    (rej,) = list(d.apply([doc]))
    assert isinstance(rej, Rejection) and rej.reason == "contaminated:en_task"


def test_short_fragments_and_clean_text_are_kept(text):
    items = [("zh", s) for s in text["zh_items"]] + [("en", s) for s in text["en_items"]]
    d = _stage(items)
    for i, item in enumerate(text["zh_items"]):
        frag = item[10:20]  # 10 characters
        assert not d.matches(_paste(text["zh_hosts"][i % 40], frag)), frag
    for i, item in enumerate(text["en_items"]):
        frag = " ".join(item.split()[4:10])  # 6 words
        assert not d.matches(_paste(text["en_hosts"][i % 40], frag)), frag
    assert not any(d.matches(h) for h in text["zh_hosts"] + text["en_hosts"])


def test_item_share_threshold_and_unmatchable_items(text):
    item = text["zh_items"][0]
    d = _stage([("t", item), ("t", "短句")])
    assert dict(d.index.stats)["benchmark_items_unmatchable/t"] == 1
    assert dict(d.index.stats)["benchmark_items/t"] == 2
    n = tokenize(item).han.size - 12  # the item's 13-grams
    half = item[: len(item) * 2 // 3]
    found = d.matches(half)
    assert found and found[0].share < 1.0
    strict = _stage([("t", item)], min_item_share=1.0)
    assert not strict.matches(half) and strict.matches(item)
    assert n > 20


def test_cut_removes_the_span_and_keeps_the_rest(text):
    item = text["en_items"][0]
    d = _stage([("t", item)], action="cut", cut_margin_chars=50, cut_min_piece_chars=100)
    host = text["en_hosts"][0]
    doc = Document(id="a", text=_paste(host, item), source="web", origin="o", signals={"x": 1.0})
    out = list(d.apply([doc]))
    (kept,) = [o for o in out if isinstance(o, Document)]
    assert item not in kept.text and kept.signals == {}
    first, last = host.split("\n")[0], host.split("\n")[-1]
    assert first in kept.text and last in kept.text
    assert Count("cut/t") in out
    # a short host: nothing long enough is left
    short = Document(id="b", text="Intro line.\n" + item + "\nOutro.", source="web", origin="o")
    (rej,) = list(d.apply([short]))
    assert rej.reason == "contaminated_short:t"


def test_benchmark_files_jsonl_csv_parquet(tmp_path, text):
    zh, en = text["zh_items"], text["en_items"]
    with open(tmp_path / "ceval.jsonl", "w", encoding="utf-8") as f:
        for s in zh[:10]:
            f.write(json.dumps({"question": s[:25], "A": s[25:], "subject": "history"}, ensure_ascii=False) + "\n")
    with open(tmp_path / "mmlu.csv", "w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, ["question", "answer"])
        w.writeheader()
        for s in en[:10]:
            w.writerow({"question": s, "answer": "B"})
    pq.write_table(pa.table({"question": zh[10:20], "choices": [["甲", "乙"]] * 10}), tmp_path / "cmmlu.parquet")
    items = list(read_items(str(tmp_path / "ceval.jsonl"), (tmp_path / "ceval.jsonl").read_bytes(),
                            ("question", "A"), "subject"))
    assert items[0] == ("history", zh[0][:25] + "\n" + zh[0][25:])
    pq_items = list(read_items("x/cmmlu.parquet", (tmp_path / "cmmlu.parquet").read_bytes(), ("question", "choices"), None))
    assert pq_items[0] == ("cmmlu", zh[10] + "\n甲\n乙")
    with pytest.raises(DecontamError, match="text_fields"):
        list(read_items("mmlu.csv", (tmp_path / "mmlu.csv").read_bytes(), ("prompt",), None))
    with pytest.raises(DecontamError, match="no file matches"):
        benchmark_paths([str(tmp_path / "missing*.jsonl")])


def _run_stage(docs, recipe, out: Path):
    with beam.Pipeline() as p:
        res = stage(p | beam.Create(docs), recipe)
        (res.main | "m" >> beam.Map(lambda d: json.dumps([d.id, d.text], ensure_ascii=False))
         | "wm" >> beam.io.WriteToText(str(out / "main")))
        (res.rejects | "r" >> beam.Map(lambda r: json.dumps([r.id, r.reason]))
         | "wr" >> beam.io.WriteToText(str(out / "rejects")))
        (res.stats | "s" >> beam.CombinePerKey(sum) | "sj" >> beam.Map(lambda kv: json.dumps(list(kv)))
         | "ws" >> beam.io.WriteToText(str(out / "stats")))

    def read(name):
        return [json.loads(line) for f in sorted(out.glob(f"{name}*")) for line in f.read_text().splitlines()]

    return read("main"), read("rejects"), {k.split("\x1f")[1]: v for k, v in read("stats")}


def test_stage_on_beam_drops_per_task(tmp_path, text):
    zh, en = text["zh_items"], text["en_items"]
    (tmp_path / "b").mkdir()
    with open(tmp_path / "b" / "ceval.jsonl", "w", encoding="utf-8") as f:
        for s in zh[:20]:
            f.write(json.dumps({"question": s}, ensure_ascii=False) + "\n")
    with open(tmp_path / "b" / "mmlu.csv", "w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, ["question"])
        w.writeheader()
        for s in en[:20]:
            w.writerow({"question": s})
    s2t = OpenCC("s2t")
    docs = [Document(id=f"zh{i}", text=_paste(text["zh_hosts"][i], s2t.convert(zh[i])), source="web", origin="o")
            for i in range(5)]
    docs += [Document(id=f"en{i}", text=_paste(text["en_hosts"][i], en[i].upper()), source="web", origin="o")
             for i in range(3)]
    docs += [Document(id=f"clean{i}", text=h, source="web", origin="o") for i, h in enumerate(text["zh_hosts"][10:20])]
    recipe = load_recipe(None, [f"decontam.benchmarks=[{tmp_path}/b/*]"])
    main, rejects, stats = _run_stage(docs, recipe, tmp_path / "out")
    assert sorted(r for r in rejects) == sorted([[f"zh{i}", "contaminated:ceval"] for i in range(5)]
                                                + [[f"en{i}", "contaminated:mmlu"] for i in range(3)])
    assert sorted(m[0] for m in main) == sorted(f"clean{i}" for i in range(10))
    assert stats["rejected/contaminated:ceval"] == 5 and stats["rejected/contaminated:mmlu"] == 3
    assert stats["benchmark_items/ceval"] == 20 and stats["benchmark_items/mmlu"] == 20
    assert stats["in"] == 18 and stats["out"] == 10


def test_stage_refuses_an_index_above_the_cap(tmp_path, text):
    (tmp_path / "big.jsonl").write_text("".join(json.dumps({"question": s}, ensure_ascii=False) + "\n"
                                                for s in text["zh_items"]), encoding="utf-8")
    recipe = load_recipe(None, [f"decontam.benchmarks=[{tmp_path}/big.jsonl]", "decontam.max_ngrams=100"])
    docs = [Document(id="a", text=text["zh_hosts"][0], source="web", origin="o")]
    with pytest.raises(Exception, match="decontam.max_ngrams"):
        _run_stage(docs, recipe, tmp_path / "out")


def test_no_benchmarks_is_a_pass_through(tmp_path, text):
    docs = [Document(id="a", text=text["zh_hosts"][0], source="web", origin="o")]
    main, rejects, stats = _run_stage(docs, load_recipe(None, []), tmp_path / "out")
    assert [m[0] for m in main] == ["a"] and rejects == [] and stats == {}
