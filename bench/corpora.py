"""Real text for the decontamination and boilerplate benchmarks, from ../shared/data (nothing downloaded).

* ``web_pages(langs)``: (url, html) of the manifest's pages in those languages.
* ``web_articles(langs)``: trafilatura's main text of those pages, cached in ``bench/work/corpora/``.
* ``book_chunks(lang)``: Project Gutenberg books cut into ~3,000-character chunks at paragraph breaks.
* ``msra_sentences()``: the MSRA NER news sentences (one character a line in the file).
* ``reviews(name)``: user reviews from ``misc/zh-ugc`` (hotel, waimai, shopping).
* ``wiki_articles()``: plain text of the enwiki sample (markup removed by our MediaWiki reader).
"""
from __future__ import annotations

import csv
import gzip
import io
import json
import os
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("YULIAO_DATA", ROOT.parent.parent / "shared" / "data"))
if not DATA.exists():
    DATA = Path("/work/shared/data")
WORK = ROOT / "bench" / "work" / "corpora"


def _manifest() -> Iterator[dict]:
    with gzip.open(DATA / "web" / "manifest.jsonl.gz", "rt", encoding="utf-8") as f:
        for line in f:
            yield json.loads(line)


def web_pages(langs: tuple[str, ...], collections: tuple[str, ...] | None = None) -> list[dict]:
    """Manifest rows (with ``html``) of pages in ``langs``, sorted by path."""
    out = []
    for row in _manifest():
        if row.get("lang") not in langs or (collections and row["collection"] not in collections):
            continue
        raw = gzip.decompress((DATA / row["path"]).read_bytes())
        from transforms.extract import decode_html

        row = dict(row, html=decode_html(raw, row.get("detected_encoding")))
        out.append(row)
    return sorted(out, key=lambda r: r["path"])


def web_articles(langs: tuple[str, ...]) -> list[dict]:
    """``{path, collection, url, lang, text}`` per page: trafilatura main text (default settings), cached."""
    WORK.mkdir(parents=True, exist_ok=True)
    cache = WORK / f"articles-{'-'.join(langs)}.jsonl"
    if cache.exists():
        return [json.loads(line) for line in cache.read_text(encoding="utf-8").splitlines()]
    import trafilatura

    rows = []
    for page in web_pages(langs):
        text = trafilatura.extract(page["html"], include_comments=False, include_tables=True) or ""
        rows.append({k: page.get(k) for k in ("path", "collection", "url", "lang")} | {"text": text})
    cache.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return rows


def book_chunks(lang: str, chunk_chars: int = 3000) -> list[tuple[str, str]]:
    """(book file, chunk) for the Gutenberg books of ``lang`` ('zh' or 'en'), paragraphs kept whole."""
    folder = DATA / "books" / ("gutenberg-zh" if lang == "zh" else "gutenberg-en")
    out = []
    for path in sorted(folder.glob("*.txt")):
        text = path.read_text(encoding="utf-8-sig", errors="replace").replace("\r\n", "\n")
        buf: list[str] = []
        size = 0
        for para in text.split("\n\n"):
            para = para.strip()
            if not para:
                continue
            buf.append(para)
            size += len(para)
            if size >= chunk_chars:
                out.append((path.name, "\n\n".join(buf)))
                buf, size = [], 0
        if buf:
            out.append((path.name, "\n\n".join(buf)))
    return out


def msra_sentences() -> list[str]:
    out, cur = [], []
    with gzip.open(DATA / "misc" / "zh-ugc" / "dh_msra.txt.gz", "rt", encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line.strip():
                if cur:
                    out.append("".join(cur))
                    cur = []
                continue
            cur.append(line.split("\t")[0] if "\t" in line else line.split(" ")[0])
    if cur:
        out.append("".join(cur))
    return out


def reviews(name: str) -> list[str]:
    """Review texts of ``hotel`` (ChnSentiCorp), ``waimai`` or ``shopping`` (online_shopping_10_cats)."""
    folder = DATA / "misc" / "zh-ugc"
    if name == "shopping":
        f = io.TextIOWrapper(gzip.open(folder / "online_shopping_10_cats.csv.gz"), encoding="utf-8-sig")
    else:
        f = open(folder / {"hotel": "ChnSentiCorp_htl_all.csv", "waimai": "waimai_10k.csv"}[name],
                 encoding="utf-8-sig")
    with f:
        return [(r.get("review") or "").strip().lstrip("\ufeff") for r in csv.DictReader(f) if (r.get("review") or "").strip()]


def wiki_articles() -> list[dict]:
    """``{url, text}`` of the enwiki sample's articles, through our MediaWiki reader (redirects skipped)."""
    from pipelines.recipe import Recipe
    from schemas.document import Document
    from transforms.sources import mediawiki

    path = DATA / "wiki" / "enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2"
    with open(path, "rb") as f:
        return [{"url": d.url, "text": d.text} for d in mediawiki.read_stream(f, str(path), Recipe().sources.mediawiki)
                if isinstance(d, Document)]


_BLOCK = {"p", "div", "br", "li", "ul", "ol", "dl", "dt", "dd", "tr", "table", "h1", "h2", "h3", "h4", "h5", "h6",
          "section", "article", "header", "footer", "nav", "aside", "form", "blockquote", "pre", "hr", "main",
          "figure", "figcaption", "address", "center"}


def page_lines(html: str) -> list[str]:
    """Visible lines of a whole page (boilerplate included): a line break at every block element, as a
    browser's text view would give; scripts, styles and comments dropped."""
    import lxml.html
    from lxml import etree

    tree = lxml.html.fromstring(html.encode("utf-8"), parser=lxml.html.HTMLParser(encoding="utf-8"))
    etree.strip_elements(tree, "script", "style", "noscript", "template", etree.Comment, with_tail=False)
    for el in tree.iter():
        if isinstance(el.tag, str) and el.tag.lower() in _BLOCK:
            el.tail = "\n" + (el.tail or "")
            if el.tag.lower() == "br":
                continue
            el.text = "\n" + (el.text or "")
    lines = (" ".join(line.split()) for line in tree.text_content().split("\n"))
    return [line for line in lines if line]
