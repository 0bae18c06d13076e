"""Books: real Gutenberg texts and EPUBs (../shared/data/books), encodings, chunking, hostile zips."""
from __future__ import annotations

import collections
import gzip
import io
import zipfile
from pathlib import Path

import pytest

from tests.records import split_records

from pipelines.recipe import load_recipe
from schemas.document import Document
from transforms.sources import books as bk
from transforms.sources.raw import SourceReject
from transforms.sources.read import kind_of
from transforms.stage import Count

ZH_BOOKS = ("pg23863-0.txt", "pg23950-0.txt", "pg24264-0.txt")
EN_BOOKS = ("pg11-0.txt", "pg1342.txt", "pg1661.txt")


def read(path: Path | str, *overrides: str):
    return split_records(bk.read(str(path), load_recipe(overrides=list(overrides))))


@pytest.mark.parametrize("name", EN_BOOKS)
def test_gutenberg_en_header_footer_removed(data_dir, name):
    docs, rejects, counts = read(data_dir / "books/gutenberg-en" / name)
    assert rejects == []
    assert counts["gutenberg/header_removed"] == 1 and counts["gutenberg/footer_removed"] == 1
    text = "\n".join(d.text for d in docs)
    for boiler in ("Project Gutenberg", "START OF TH", "END OF TH", "www.gutenberg", "Produced by", "License"):
        assert boiler not in text, boiler
    assert all(len(d.text) <= 8000 for d in docs)
    assert all(d.source == "book" and d.title and d.url is None for d in docs)
    assert [d.origin for d in docs] == [f"{data_dir / 'books/gutenberg-en' / name}#{i}" for i in range(len(docs))]
    assert len({d.id for d in docs}) == len(docs)


def test_gutenberg_titles_and_chapters(data_dir):
    docs = read(data_dir / "books/gutenberg-en/pg1342.txt")[0]
    assert docs[0].title == "Pride and Prejudice"
    assert docs[0].text.startswith("PRIDE AND PREJUDICE\nBy Jane Austen\nChapter 1\nIt is a truth universally")
    # hard-wrapped lines joined with a space: one paragraph per line
    assert "It is a truth universally acknowledged, that a single man in possession of a good fortune, must" \
           " be in want of a wife." in docs[0].text.split("\n")
    # chunks start at chapter headings whenever a chapter fits
    starts = sum(d.text.startswith("Chapter ") for d in docs)
    assert starts >= len(docs) * 0.4, (starts, len(docs))  # the others continue a chapter > chunk_chars


@pytest.mark.parametrize("name", ZH_BOOKS)
def test_gutenberg_zh(data_dir, name):
    docs, rejects, counts = read(data_dir / "books/gutenberg-zh" / name)
    assert rejects == [] and len(docs) > 50
    text = "\n".join(d.text for d in docs)
    assert "Project Gutenberg" not in text  # the kept closing line is cut
    assert not any(set(line) <= set("-=*_ ") for line in text.split("\n"))  # separator lines dropped
    assert all(len(d.text) <= 8000 for d in docs)
    assert sum(d.text.startswith("第") or d.text.startswith("楔子") for d in docs) >= len(docs) * 0.4
    # wrapped CJK lines joined without spaces: no line break inside a sentence of the first chapter
    first = docs[0].text.split("\n")
    assert max(len(line) for line in first) > 200


def test_zh_wrapped_sentence_joined(data_dir):
    docs = read(data_dir / "books/gutenberg-zh/pg23950-0.txt")[0]
    assert docs[0].title == "Romance of the Three Kingdoms"  # from the kept closing line
    assert "周末七國分爭，并入於秦。及秦滅之後，楚、漢分爭，又并入於漢。" in docs[0].text


@pytest.mark.parametrize("encoding", ["gb18030", "big5", "utf-16", "utf-8-sig"])
def test_encoding_detection_zh(data_dir, tmp_path, encoding):
    src = (data_dir / "books/gutenberg-zh/pg23950-0.txt").read_text(encoding="utf-8")[:60000]
    data = src.encode(encoding, errors="ignore" if encoding == "big5" else "strict")
    text, enc = bk.decode_text(data)
    assert text.replace("\ufeff", "")[:2000] == data.decode(encoding, errors="strict").replace("\ufeff", "")[:2000]
    if encoding in ("gb18030", "big5"):
        assert enc == encoding


def test_encoding_detection_gbk_simplified_and_cp1252():
    zh = "第一回 话说天下大势，分久必合，合久必分。周末七国分争，并入于秦。" * 50
    assert bk.decode_text(zh.encode("gbk")) == (zh, "gb18030")
    en = "The café’s naïve owner said “hello” — twice. " * 50
    text, enc = bk.decode_text(en.encode("cp1252"))
    assert (text, enc) == (en, "cp1252")
    assert bk.decode_text("plain ascii".encode()) == ("plain ascii", "utf-8")


def test_txt_gz_and_short(tmp_path):
    body = ("Chapter 1\n\n" + "A line of prose that goes on for a while. " * 300 + "\n\nChapter 2\n\n" +
            "Another paragraph of words. " * 300)
    p = tmp_path / "book.txt.gz"
    p.write_bytes(gzip.compress(body.encode()))
    assert kind_of(str(p)) == "books"
    docs, rejects, _ = read(p, "sources.books.chunk_chars=20000")
    assert rejects == [] and [d.text.split("\n")[0] for d in docs] == ["Chapter 1", "Chapter 2"]
    assert docs[0].title == "book"
    short = tmp_path / "short.txt"
    short.write_text("tiny")
    assert read(short)[1] == ["too_short"]


def test_chunking_limits():
    para = "这是一个很长的句子。" * 500  # 5000 chars, one paragraph
    chunks = bk.chunk_book("第一章 开始\n" + para + "\n第二章 继续\n" + para, 1200, 100)
    assert all(len(c) <= 1200 for c in chunks)
    assert all(c.endswith("。") for c in chunks[:-1])  # cut at sentence ends
    assert "".join(chunks).count("这是一个很长的句子。") == 1000  # nothing lost
    assert chunks[0].startswith("第一章 开始")


# ---------------------------------------------------------------- EPUB
@pytest.mark.parametrize("name,title,min_chars", [
    ("alice.epub", "Alice's Adventures in Wonderland", 40_000),
    ("idpf-childrens-literature.epub", "Children's Literature", 200_000),
    ("idpf-wasteland.epub", "The Waste Land", 20_000),
    ("moby-dick.epub", "Moby-Dick", 1_000_000),  # `mimetype` not the first member
])
def test_epubs(data_dir, name, title, min_chars):
    docs, rejects, _ = read(data_dir / "books/epub" / name)
    assert rejects == []
    assert docs[0].title == title
    assert sum(len(d.text) for d in docs) > min_chars
    assert all(len(d.text) <= 8000 for d in docs)
    text = "\n".join(d.text for d in docs)
    assert "<p" not in text and "</" not in text and "Project Gutenberg License" not in text


def test_moby_dick_spine_order(data_dir):
    text = "\n".join(d.text for d in read(data_dir / "books/epub/moby-dick.epub")[0])
    i1, i2, i3 = text.find("Call me Ishmael"), text.find("Chapter 2. The Carpet-Bag"), text.find("Epilogue")
    assert 0 < i1 < i2 < i3
    assert "Call me Ishmael. Some years ago—never mind how long precisely" in text


def _epub(members: dict[str, bytes], compression=zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


CONTAINER = (b'<?xml version="1.0"?><container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">'
             b'<rootfiles><rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/>'
             b"</rootfiles></container>")
OPF = (b'<?xml version="1.0"?><package xmlns="http://www.idpf.org/2007/opf" version="3.0" unique-identifier="id">'
       b'<metadata xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>\xe6\xb5\x8b\xe8\xaf\x95\xe4\xb9\xa6</dc:title>'
       b'<dc:identifier id="id">x</dc:identifier></metadata><manifest>'
       b'<item id="c1" href="c1.xhtml" media-type="application/xhtml+xml"/>'
       b'<item id="c2" href="missing.xhtml" media-type="application/xhtml+xml"/>'
       b'<item id="c3" href="c3.xhtml" media-type="application/xhtml+xml"/>'
       b'<item id="img" href="gone.png" media-type="image/png"/>'
       b'</manifest><spine><itemref idref="c3"/><itemref idref="c2"/><itemref idref="c1"/></spine></package>')


def _xhtml(body: str) -> bytes:
    return ('<?xml version="1.0" encoding="utf-8"?><html xmlns="http://www.w3.org/1999/xhtml"><head><title>t</title>'
            f"<style>p {{color: red}}</style></head><body>{body}</body></html>").encode()


def test_epub_missing_items_and_spine_order(tmp_path):
    data = _epub({
        "META-INF/container.xml": CONTAINER, "OEBPS/content.opf": OPF,  # no mimetype at all
        "OEBPS/c1.xhtml": _xhtml("<h1>第二章</h1><p>后来的\n  故事。</p>" + "<p>段落。</p>" * 100),
        "OEBPS/c3.xhtml": _xhtml("<h1>第一章</h1><p>最初的<b>故事</b>。<script>evil()</script>尾巴</p>"),
    })
    p = tmp_path / "book.epub"
    p.write_bytes(data)
    docs, rejects, counts = read(p)
    assert rejects == []
    assert counts["epub/missing_items"] == 2 and counts["epub/skipped_items"] == 1
    assert docs[0].title == "测试书"
    text = docs[0].text
    assert text.startswith("第一章\n最初的故事。尾巴\n第二章\n后来的 故事。")
    assert "evil" not in text and "color" not in text


def test_epub_zip_bomb_and_garbage(tmp_path):
    bomb = _epub({"META-INF/container.xml": CONTAINER, "OEBPS/content.opf": OPF, "OEBPS/c1.xhtml": b"\0" * 50_000_000})
    assert len(bomb) < 200_000
    p = tmp_path / "bomb.epub"
    p.write_bytes(bomb)
    assert read(p)[1] == ["epub_zip_bomb"]
    big = tmp_path / "big.epub"
    big.write_bytes(_epub({"a": b"x" * 3_000_000}, zipfile.ZIP_STORED))
    assert read(big, "sources.books.max_epub_uncompressed_bytes=1000000")[1] == ["epub_too_large"]
    bad = tmp_path / "bad.epub"
    bad.write_bytes(b"PK\x03\x04 not really a zip")
    assert read(bad)[1] == ["epub_bad_zip"]
    traversal = tmp_path / "trav.epub"
    traversal.write_bytes(_epub({"../../etc/evil": b"x", "META-INF/container.xml": CONTAINER}))
    assert read(traversal)[1][0].startswith("epub_error")  # no OPF: refused, nothing written anywhere
    assert not (tmp_path.parent.parent / "etc" / "evil").exists()


def test_file_too_large(tmp_path):
    p = tmp_path / "x.txt"
    p.write_text("a" * 5000)
    assert read(p, "sources.books.max_file_bytes=1000")[1] == ["file_too_large"]


# ---------------------------------------------------------------- end to end
def stats_out(out: Path, stage: str) -> int:
    import json

    return json.loads((out / "stats.json").read_text())["stages"][stage]["out"]


def test_build_wiki_and_books_end_to_end(data_dir, tmp_path):
    """`yuliao build` (DirectRunner) over a wiki dump, a zh wiki fixture, a truncated dump, a book and a bad EPUB."""
    import json

    import pyarrow.parquet as pq

    from pipelines.cli import main

    fixture = Path(__file__).parent / "fixtures" / "wiki" / "zhwiki-sample-pages-articles.xml"
    raw = fixture.read_bytes()
    cut = tmp_path / "zhwiki-cut-pages-articles.xml"
    cut.write_bytes(raw[: raw.index("<title>台灣鐵路</title>".encode()) + 30])
    bad = tmp_path / "bad.epub"
    bad.write_bytes(b"PK\x03\x04 broken")
    out = tmp_path / "out"
    inputs = [str(data_dir / "wiki/enwiki-table-markup.xml.bz2"), str(fixture), str(cut),
              str(data_dir / "books/gutenberg-en/pg11-0.txt"), str(bad)]
    assert main(["build", "--input", *inputs, "--output", str(out), "-q"]) == 0
    tables = {p.relative_to(out / "data").parent.as_posix(): pq.read_table(p).to_pylist()
              for p in (out / "data").rglob("*.parquet")}
    assert {"en/encyclopedia", "en/book"} <= set(tables)
    assert {r["source"] for r in tables["en/encyclopedia"]} == {"encyclopedia"}
    assert {r["source"] for r in tables["en/book"]} == {"book"}
    assert len(tables["en/book"]) >= 20  # 24 chunks leave the reader; later stages may drop a few
    assert stats_out(out, "source.books") == 24
    titles = {r["title"] for r in tables["en/encyclopedia"]}
    assert "Constructive vote of no confidence" in titles
    stats = json.loads((out / "stats.json").read_text())["stages"]
    assert stats["source.mediawiki"]["rejected"] == {"xml_truncated": 1}
    assert stats["source.mediawiki"]["counters"]["skipped/redirect"] == 4  # 2 in the fixture, 2 before the cut
    assert stats["source.books"]["rejected"] == {"epub_bad_zip": 1}
    assert stats["source.mediawiki"]["out"] == 5 + 2 + 1
    rejects = [r for p in (out / "rejects").rglob("*.parquet") for r in pq.read_table(p).to_pylist()]
    assert {(r["stage"], r["reason"]) for r in rejects} >= {("source.mediawiki", "xml_truncated"),
                                                            ("source.books", "epub_bad_zip")}
