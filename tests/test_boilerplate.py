"""Cross-document boilerplate removal: line keys, and the Beam stage on real articles carrying real boilerplate
lines taken from a gne-zh page (navigation header, copyright footer) plus 责任编辑 and dated 来源 lines."""
from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import apache_beam as beam
import pytest

from pipelines.recipe import load_recipe
from schemas.document import Document
from transforms.boilerplate import stage
from transforms.boilerplate.lines import line_key, scope_of


def test_line_key_folds_script_width_case_digits():
    assert line_key("責任編輯：王曉", 2) == line_key("责任编辑:王晓", 2) == line_key(" 责任编辑 ： 王晓 ", 2)
    assert line_key("2019-09-07 13:43:45 来源: 证券市场红周刊", 2) == line_key("2020-01-12 08:01:02 來源：證券市場紅周刊", 2)
    assert line_key("© 1997-2019 NetEase 版权所有", 2) == line_key("© 1997-2024 NETEASE 版权所有", 2)
    assert line_key("2019-09-07", 2) is None  # digits do not count as letters
    assert line_key("一", 2) is None and line_key("登录", 2) == "登录"
    assert line_key("   ", 2) is None


def test_scope_is_the_host_or_the_source():
    d = Document(id="a", text="x", source="web", origin="o", url="https://WWW.Example.com/a?b=1")
    assert scope_of(d, "host") == "example.com" and scope_of(d, "global") == ""
    assert scope_of(d._replace(url=None), "host") == "source:web"


def _page_lines(path: Path) -> list[str]:
    import lxml.html
    from lxml import etree

    from transforms.extract import decode_html

    html = decode_html(gzip.decompress(path.read_bytes()), None)
    tree = lxml.html.fromstring(html.encode("utf-8"), parser=lxml.html.HTMLParser(encoding="utf-8"))
    etree.strip_elements(tree, "script", "style", etree.Comment, with_tail=False)
    for el in tree.iter():
        if isinstance(el.tag, str) and el.tag in ("div", "p", "li", "br", "ul", "h1", "h2", "span"):
            el.tail = "\n" + (el.tail or "")
    return [" ".join(x.split()) for x in tree.text_content().split("\n") if x.strip()]


@pytest.fixture(scope="module")
def material(data_dir):
    lines = _page_lines(data_dir / "web" / "gne-zh" / "tests__163__1.html.gz")
    footer = [x for x in lines if "版权所有" in x or "网易首页" in x]
    assert footer, "the 163 page has its copyright / home-link lines"
    boiler = footer[:3] + ["责任编辑：钟齐鸣_NF5619"]
    zh = (data_dir / "books" / "gutenberg-zh" / "pg23950-0.txt").read_text(encoding="utf-8-sig")
    en = (data_dir / "books" / "gutenberg-en" / "pg1342.txt").read_text(encoding="utf-8-sig")
    paras = [p.strip() for p in zh.split("\n\n") if len(p.strip()) > 150][20:60] + \
            [re.sub(r"\s*\n\s*", " ", p.strip()) for p in en.split("\n\n") if len(p.strip()) > 400][20:60]
    articles = ["\n".join(paras[i:i + 2]) for i in range(0, 80, 2)]
    return boiler, articles


def _doc(i: int, host: str, text: str, source: str = "web") -> Document:
    return Document(id=f"{host}-{i:02d}", text=text, source=source, origin="o", url=f"https://{host}/{i}.html",
                    signals={"s": 1.0})


def _with_boiler(boiler: list[str], article: str, i: int) -> str:
    date = f"20{10 + i % 10}-0{1 + i % 9}-1{i % 10} 1{i % 10}:2{i % 10}:00 来源：新华网"
    return "\n".join([boiler[0], date, article, boiler[-1], *boiler[1:-1]])


def _run(docs, overrides, out: Path):
    recipe = load_recipe(None, overrides)
    with beam.Pipeline() as p:
        res = stage(p | beam.Create(docs), recipe)
        (res.main | "m" >> beam.Map(lambda d: json.dumps([d.id, d.text, dict(d.signals)], ensure_ascii=False))
         | "wm" >> beam.io.WriteToText(str(out / "main")))
        (res.rejects | "r" >> beam.Map(lambda r: json.dumps([r.id, r.reason]))
         | "wr" >> beam.io.WriteToText(str(out / "rejects")))
        (res.stats | "s" >> beam.CombinePerKey(sum) | "sj" >> beam.Map(lambda kv: json.dumps(list(kv)))
         | "ws" >> beam.io.WriteToText(str(out / "stats")))

    def read(name):
        return [json.loads(x) for f in sorted(out.glob(f"{name}*")) for x in f.read_text(encoding="utf-8").splitlines()]

    return {m[0]: m for m in read("main")}, read("rejects"), {k.split("\x1f")[1]: v for k, v in read("stats")}


def test_repeated_lines_removed_per_host_articles_kept(tmp_path, material):
    boiler, arts = material
    docs = [_doc(i, "news.example.com", _with_boiler(boiler, arts[i], i)) for i in range(10)]  # 10 > 6 docs
    docs += [_doc(i, "small.example.org", _with_boiler(boiler, arts[10 + i], i)) for i in range(3)]  # only 3
    docs += [_doc(i, "copies.example.net", _with_boiler(boiler, arts[20], 0)) for i in range(8)]  # one text, 8 urls
    docs += [_doc(0, "news.example.com", "\n".join(boiler) + "\n短文。")._replace(id="stub")]
    docs += [Document(id=f"book{i}", text=_with_boiler(boiler, arts[30 + i], i), source="book", origin="o")
             for i in range(8)]
    main, rejects, stats = _run(docs, [], tmp_path)

    for i in range(10):
        _, text, signals = main[f"news.example.com-{i:02d}"]
        assert text == arts[i], i  # every boilerplate line (and the dated source line) gone, the article whole
        assert signals == {}  # text changed: stored annotations invalidated
    for i in range(3):
        _, text, signals = main[f"small.example.org-{i:02d}"]
        assert text == _with_boiler(boiler, arts[10 + i], i) and signals == {"s": 1.0}
    for i in range(8):  # exact copies count once: left to dedup, not emptied here
        assert main[f"copies.example.net-{i:02d}"][1] == _with_boiler(boiler, arts[20], 0)
    for i in range(8):  # exempt source
        assert main[f"book{i}"][1] == _with_boiler(boiler, arts[30 + i], i)
    assert rejects == [["stub", "boilerplate_too_short"]]
    assert stats["lines_removed"] == 10 * (len(boiler) + 1) + len(boiler)
    assert stats["docs_changed"] == 11 and stats["rejected/boilerplate_too_short"] == 1
    assert stats["in"] == len(docs) and stats["out"] == len(docs) - 1


def test_global_scope_and_paragraph_unit(tmp_path, material):
    boiler, arts = material
    docs = [_doc(i, f"site{i}.example.com", _with_boiler(boiler, arts[i], i)) for i in range(8)]
    main, _, _ = _run(docs, [], tmp_path / "host")
    assert all(main[d.id][1] == d.text for d in docs)  # one document per host: nothing repeats within a host
    main, _, stats = _run(docs, ["boilerplate.scope=global"], tmp_path / "global")
    assert all(main[f"site{i}.example.com-{i:02d}"][1] == arts[i] for i in range(8))
    # paragraph unit: the blocks are separated by blank lines; a repeated block goes, the article stays
    para = [_doc(i, "p.example.com", "\n\n".join([boiler[0], arts[i], "\n".join(boiler[1:])])) for i in range(8)]
    main, _, _ = _run(para, ["boilerplate.unit=paragraph"], tmp_path / "para")
    assert all(main[d.id][1] == arts[i] for i, d in enumerate(para))
