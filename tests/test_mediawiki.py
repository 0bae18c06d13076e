"""MediaWiki dumps: real enwiki/bgwiki samples (../shared/data/wiki) and zhwiki-style fixtures."""
from __future__ import annotations

import bz2
import collections
import gzip
import io
import lzma
from pathlib import Path

import pytest

from tests.records import split_records

from pipelines.recipe import load_recipe
from schemas.document import Document
from transforms.sources import mediawiki as mw
from transforms.sources.raw import SourceReject
from transforms.sources.read import kind_of, reader_for
from transforms.stage import Count

FIXTURES = Path(__file__).parent / "fixtures" / "wiki"
ZH = FIXTURES / "zhwiki-sample-pages-articles.xml"
ENWIKI = "wiki/enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2"


def run(data: bytes, name: str = "zhwiki-sample.xml", *overrides: str):
    cfg = load_recipe(overrides=list(overrides)).sources.mediawiki
    return split_records(mw.read_stream(io.BytesIO(data), name, cfg))


@pytest.fixture(scope="module")
def zh_bytes() -> bytes:
    return ZH.read_bytes()


def test_zh_fixture_articles_only_and_counts(zh_bytes):
    docs, rejects, counts = run(zh_bytes)
    assert [d.title for d in docs] == ["计算机", "台灣鐵路"]
    assert rejects == []
    assert counts == {"skipped/redirect": 2, "skipped/namespace": 1, "skipped/disambiguation": 1}
    d = docs[0]
    assert d.source == "encyclopedia"
    assert d.url == "https://zh.wikipedia.org/wiki/%E8%AE%A1%E7%AE%97%E6%9C%BA"  # <base> minus its main page
    assert d.origin == "zhwiki-sample.xml#1001"
    assert d.fetched_at == "2024-01-02T03:04:05Z"
    assert d.id == mw.doc_id("mediawiki", "zhwiki-sample.xml", "1001")


def test_zh_markup_removed_and_sections_kept(zh_bytes):
    text = run(zh_bytes)[0][0].text
    assert text.startswith("计算机（Computer）是一种利用电子技术进行数据处理的机器。")  # lang-en kept, bold/links gone
    for gone in ("{{", "}}", "[[", "'''", "cite", "导论", "ENIAC", "年份", "Computer.jpg", "算盘]]", "缩略图",
                 "电子设备", "コンピュータ", "Category", "隐藏注释", "-{", "}-", "Official", "软件", "軟體"):
        assert gone not in text, gone
    lines = text.split("\n")
    assert "历史" in lines and "现代" in lines  # section titles are their own lines
    for empty_section in ("参见", "参考文献", "外部链接"):  # nothing left under them: title dropped too
        assert empty_section not in lines
    assert "<小于号>" in text  # escaped markup in the dump is text
    assert "运行不转换的内容" in text  # -{R|…}- and -{…}- shown as is


@pytest.mark.parametrize("variant,expect,absent", [
    ("zh-hans", ["计算机（", "执行程序", "全长约1,000千米", "是台湾的", "软体与网路"], ["電腦（", "程式"]),
    ("zh-cn", ["计算机（", "执行程序", "千米"], ["公里"]),
    ("zh-tw", ["電腦（", "执行程式", "全长约1,000公里", "是臺灣的", "軟體與網路"], ["千米"]),
    ("zh-hk", ["電腦（", "是臺灣的"], []),  # zh-hk → zh-hant fallback
])
def test_conversion_markup_resolved_to_variant(zh_bytes, variant, expect, absent):
    docs = run(zh_bytes, "zhwiki-sample.xml", f"sources.mediawiki.variant={variant}")[0]
    text = "\n".join(d.text for d in docs)
    for s in expect:
        assert s in text, (variant, s)
    for s in absent:
        assert s not in text, (variant, s)


def test_variant_resolver_rules():
    r = mw.VariantResolver("zh-tw")
    assert r("-{zh-hans:鼠标;zh-hant:滑鼠;}-") == "滑鼠"
    assert r("-{zh-cn:A;zh-hk:B;}-") == "B"  # zh-tw → zh-hant → zh-hk
    assert r("-{H|zh-hans:X;zh-hant:Y}-前") == "前"  # hidden rule shows nothing
    assert r("-{T|zh-hans:X;zh-hant:Y}-") == ""
    assert r("-{A|zh-hans:X;zh-hant:Y}-") == "Y"
    assert r("-{C++}-") == "C++"  # protected text
    assert r("-{zh-hans:A &amp; B;zh-hant:C &amp; D}-") == "C &amp; D"  # ';' inside an entity
    assert mw.VariantResolver("zh-hans")("-{zh-hant:軟體}-") == "软体"  # only the other script: OpenCC t2s
    assert mw.VariantResolver("zh-hans", convert=False)("-{zh-hant:軟體}-") == "軟體"
    with pytest.raises(ValueError):
        mw.VariantResolver("zh-xx")


def test_utf16_with_bom_declared(zh_bytes):
    xml = zh_bytes.decode("utf-8")
    data = ('<?xml version="1.0" encoding="UTF-16"?>\n' + xml).encode("utf-16")  # BOM + UTF-16LE
    assert data[:2] in (b"\xff\xfe", b"\xfe\xff")
    assert run(data)[0] == run(zh_bytes)[0]


@pytest.mark.parametrize("compress", [bz2.compress, lzma.compress, gzip.compress], ids=["bz2", "xz", "gz"])
def test_compressed_by_magic_bytes(zh_bytes, compress):
    assert run(compress(zh_bytes), "zhwiki-sample.xml")[0] == run(zh_bytes)[0]


@pytest.mark.parametrize("compress", [lambda b: b, bz2.compress, lzma.compress, gzip.compress],
                         ids=["xml", "bz2", "xz", "gz"])
def test_truncated_dump_keeps_complete_pages(zh_bytes, compress):
    cut = zh_bytes.index("<title>台灣鐵路</title>".encode()) + 30  # inside the last page
    docs, rejects, counts = run(compress(zh_bytes[:cut]))
    assert [d.title for d in docs] == ["计算机"]
    assert rejects == ["xml_truncated"]
    assert counts["skipped/redirect"] == 2


PAGE = ("<page><title>条目{i}</title><ns>0</ns><id>{i}</id><revision><timestamp>2024-01-01T00:00:00Z</timestamp>"
        "<text>第{i}个条目，'''粗体'''与[[链接|文字]]。{{{{模板}}}}</text></revision></page>\n")


def many_pages(n: int) -> bytes:
    body = "".join(PAGE.format(i=i) for i in range(n))
    return ('<mediawiki xmlns="http://www.mediawiki.org/xml/export-0.10/">' + body + "</mediawiki>").encode()


@pytest.mark.parametrize("compress", [bz2.compress, lzma.compress, gzip.compress], ids=["bz2", "xz", "gz"])
def test_cut_compressed_stream(compress):
    full = compress(many_pages(3000))
    docs, rejects, _ = run(full[: len(full) - 200], "zhwiki-x.xml.bz2")
    assert rejects == ["xml_truncated"]
    assert len(docs) < 3000
    if compress is not bz2.compress:  # bz2 yields nothing before its 900 kB block is complete
        assert len(docs) > 2000
        assert docs[5].text == "第5个条目，粗体与文字。"


def test_malformed_xml_is_counted_not_raised():
    docs, rejects, _ = run(b"<mediawiki><page><title>A</title><ns>0</ns></pag></mediawiki>" + b" " * 100)
    assert docs == [] and rejects and rejects[0] in ("xml_error", "xml_truncated")


def test_doctype_and_entities_refused():
    xxe = (b'<?xml version="1.0"?>\n<!DOCTYPE mediawiki [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
           b"<mediawiki><page><title>A</title><ns>0</ns><id>1</id><revision><text>&x;</text></revision></page>"
           b"</mediawiki>")
    lol = b'<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">' + b"".join(
        f'<!ENTITY lol{i} "{("&lol%d;" % (i - 1) if i > 1 else "&lol;") * 10}">'.encode() for i in range(1, 10)
    ) + b"]>\n<mediawiki><page><title>A</title><ns>0</ns><id>1</id><revision><text>&lol9;</text></revision></page></mediawiki>"
    for data in (xxe, lol):
        docs, rejects, _ = run(data)
        assert docs == []
        assert rejects == ["xml_doctype_forbidden"]


def test_not_a_dump():
    assert run(b"<html><body>hi</body></html>")[1] == ["not_mediawiki"]
    assert run(b"")[1] in (["xml_empty"], ["xml_error"], ["xml_truncated"])


def test_wikitext_helpers():
    assert mw.strip_tables("a\n{| x\n|-\n{|\n|}\n| c\n|}\nb") == "a\nb"  # nested
    assert mw.fallback_markup("x [[A|b]] {{t|{{u}}}} y'''s <ref>") == "x b  y's "
    assert mw.site_from_name("zh_yuewiki-20240101-pages-articles.xml.bz2") == "https://zh-yue.wikipedia.org/wiki/"
    assert mw.site_from_name("enwiktionary-latest.xml") == "https://en.wiktionary.org/wiki/"
    assert mw.site_from_name("random.xml") is None
    assert mw.page_url("https://zh.wikipedia.org/wiki/", "C++ (编程 语言)") == \
        "https://zh.wikipedia.org/wiki/C%2B%2B_(%E7%BC%96%E7%A8%8B_%E8%AF%AD%E8%A8%80)"


def test_kind_by_name():
    assert kind_of("x/zhwiki-20240101-pages-articles.xml.bz2") == "mediawiki"
    assert kind_of("enwiki-latest-pages-articles1.xml-p10p30302.bz2") == "mediawiki"
    assert kind_of("a.xml.xz") == "mediawiki"


# ---------------------------------------------------------------- real dumps
def read_real(path: Path):
    recipe = load_recipe()
    out = list(reader_for("mediawiki")(str(path), recipe))
    docs = [x for x in out if isinstance(x, Document)]
    rejects = [x.reason for x in out if isinstance(x, SourceReject)]
    counts = collections.Counter()
    for x in out:
        if isinstance(x, Count):
            counts[x.name] += x.value
    return docs, rejects, counts


def test_enwiki_shortened(data_dir):
    docs, rejects, counts = read_real(data_dir / ENWIKI)
    # 206 pages: 100 redirects (one of them in ns 4), 8 disambiguation pages, the rest articles
    assert counts["skipped/redirect"] + counts["skipped/namespace"] == 100
    assert counts["skipped/disambiguation"] == 8
    assert len(docs) + sum(counts.values()) + len(rejects) == 206
    assert rejects == []
    by_title = {d.title: d for d in docs}
    a = by_title["Anarchism"]
    assert a.url == "https://en.wikipedia.org/wiki/Anarchism"
    assert a.text.startswith("Anarchism is a political philosophy")
    assert "\nHistory\n" in a.text
    total = sum(len(d.text) for d in docs)
    leftovers = sum(d.text.count(s) for d in docs for s in ("{{", "}}", "[[", "]]", "<ref", "|}", "{|", "'''"))
    assert leftovers <= 5, leftovers  # parser bail-outs on broken markup: a handful in 2.8 M chars
    assert total > 2_000_000
    assert len({d.id for d in docs}) == len(docs)


def test_enwiki_tables(data_dir):
    docs, rejects, _ = read_real(data_dir / "wiki/enwiki-table-markup.xml.bz2")
    assert len(docs) == 5 and rejects == []
    assert docs[0].url == "https://en.wikipedia.org/wiki/Constructive_vote_of_no_confidence"  # no siteinfo: from name
    for d in docs:
        for line in d.text.split("\n"):
            assert not line.startswith(("{|", "|-", "|}", "! ")), (d.title, line[:80])
        assert "wikitable" not in d.text and "colspan" not in d.text


def test_bgwiki_utf16(data_dir):
    docs, rejects, counts = read_real(data_dir / "wiki/bgwiki-latest-pages-articles-shortened.xml.bz2")
    assert rejects == [] and counts == {"skipped/namespace": 2}
    assert [d.title for d in docs] == ["Григориански календар"]
    assert docs[0].url.startswith("https://bg.wikipedia.org/wiki/%D0%93")
    assert "Григорианският календар" in docs[0].text and "\ufffd" not in docs[0].text
