"""Books → ``Document`` chunks (``source=book``): plain text (``.txt``, ``.txt.gz``) and EPUB.

Text files: encoding from the BOM, else strict UTF-8, else the recipe's candidates (GB18030, Big5,
cp1252 …) that decode strictly, charset-normalizer choosing when several do. Project Gutenberg
headers and licence footers are cut (``*** START OF … ***`` / ``*** END OF … ***`` and the older
``End of the Project Gutenberg EBook of …`` line the zh files keep). Hard-wrapped lines inside a
paragraph are joined (without a space between CJK characters), then the book is cut into
documents of at most ``chunk_chars``: at chapter headings (``第X回``, ``Chapter N`` …) first, at
paragraphs inside a long chapter, at sentence ends inside a huge paragraph.

EPUB: read in memory (never extracted to disk, so member names cannot traverse paths) after a
zip-bomb check on the declared sizes (``zipfile`` never inflates past a member's declared size);
items in spine order with ebooklib, tolerant of real non-conformance (``mimetype`` not first,
manifest items missing from the archive: skipped and counted), XHTML to text with lxml.
"""
from __future__ import annotations

import gzip
import io
import posixpath
import re
import unicodedata
import zipfile
from typing import Iterator, NamedTuple, Optional, Sequence, Union

from schemas.document import Document, doc_id
from transforms.sources.raw import SourceReject
from transforms.sources.split import Split, as_split
from transforms.contract import Count

KIND = "books"

# ---------------------------------------------------------------- encodings

_BOMS = (
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)


def decode_text(data: bytes, encodings: Sequence[str] = ("gb18030", "big5", "cp1252")) -> tuple[str, str]:
    """Decode a whole text file; returns ``(text, encoding)``. ``encoding`` ends in ``+replace``
    when no candidate decoded cleanly and undecodable bytes became U+FFFD."""
    for bom, enc in _BOMS:
        if data.startswith(bom):
            return data[len(bom):].decode(enc.replace("-sig", ""), errors="replace"), enc
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    decoded: dict[str, str] = {}
    for enc in encodings:
        try:
            decoded[enc] = data.decode(enc)
        except (UnicodeDecodeError, LookupError):
            continue
    if len(decoded) == 1:
        enc = next(iter(decoded))
        return decoded[enc], enc
    best = _guess(data, list(decoded) or list(encodings))
    if best in decoded:
        return decoded[best], best
    if decoded:  # charset-normalizer undecided: recipe order
        enc = next(iter(decoded))
        return decoded[enc], enc
    enc = best or "utf-8"
    return data.decode(enc, errors="replace"), enc + "+replace"


def _guess(data: bytes, candidates: list[str]) -> Optional[str]:
    from charset_normalizer import from_bytes

    sample = data[:200_000]
    cut = sample.rfind(b"\n")  # 0x0A is never a trail byte in GB18030/Big5: a clean cut
    if cut > 0 and len(data) > len(sample):
        sample = sample[:cut]
    best = from_bytes(sample, cp_isolation=candidates).best()
    if best is None:
        return None
    name = best.encoding.replace("_", "-").lower()
    for c in candidates:
        if c.replace("_", "-").lower() == name:
            return c
    return name


# ---------------------------------------------------------------- Project Gutenberg

_PG_START_RE = re.compile(
    r"^[ \t]*(?:\*{3}[ \t]*START OF (?:THE |THIS )?PROJECT GUTENBERG[^\n]*|\*END\*THE SMALL PRINT![^\n]*)$", re.I | re.M)
_PG_END_RE = re.compile(
    r"^[ \t]*(?:\*{3}[ \t]*END OF (?:THE |THIS )?PROJECT GUTENBERG|End of (?:the )?Project Gutenberg(?:['’]s)?[ \t]"
    r"|End of this Project Gutenberg)", re.I | re.M)
_PG_TITLE_RE = re.compile(r"^Title:[ \t]*(.+(?:\n[ \t]+.+)*)", re.M)
_PG_NAMED_RE = re.compile(r"Project Gutenberg(?:['’]s)?[ \t]+(?:E-?Book|Etext)?(?:[ \t]+of)?[ \t]*(.+?),[ \t]+by[ \t]", re.I)
_PRODUCED_RE = re.compile(r"^(?:Produced by|E-?text prepared by|Transcribed (?:from|by)|This e-?text was)", re.I)


class Stripped(NamedTuple):
    text: str
    title: Optional[str]
    had_header: bool
    had_footer: bool


def strip_gutenberg(text: str) -> Stripped:
    """Cut the PG header (through the START line) and everything from the END line on."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    title: Optional[str] = None
    head = text[:5000]
    m = _PG_TITLE_RE.search(head)
    if m:
        title = " ".join(m.group(1).split())
    start = _PG_START_RE.search(text)
    had_header = bool(start)
    if start:
        if title is None:
            m2 = _PG_NAMED_RE.search(text[: start.start()])
            title = m2.group(1).strip() if m2 else None
        text = text[start.end():]
    end = _PG_END_RE.search(text)
    had_footer = bool(end)
    if end:
        if title is None:
            m2 = _PG_NAMED_RE.search(text[end.start(): end.start() + 300])
            title = m2.group(1).strip() if m2 else None
        text = text[: end.start()]
    if had_header:  # "Produced by …" credit paragraph right after the header
        paras = re.split(r"\n[ \t]*\n", text.lstrip("\n"), maxsplit=3)
        for i, p in enumerate(paras[:3]):
            if _PRODUCED_RE.match(p.strip()) and len(p) < 500:
                paras.pop(i)
                text = "\n\n".join(paras)
                break
    return Stripped(text, title, had_header, had_footer)


# ---------------------------------------------------------------- unwrap + chunk

_CN_NUM = "一二三四五六七八九十百千零〇两壹贰叁肆伍陆柒捌玖拾0-9０-９"
HEADING_RE = re.compile(
    rf"^(?:第[{_CN_NUM}]{{1,8}}[回章節节卷部篇集幕折][^\n]{{0,60}}|(?:楔子|序章|序言|引子|尾聲|尾声|後記|后记)(?:[ \t　:：][^\n]{{0,40}})?"
    r"|(?:CHAPTER|Chapter|BOOK|Book|PART|Part|STAVE|Stave|ADVENTURE|LETTER|Letter)[ \t]+(?:[IVXLCDM]+|\d+|[A-Z][a-z]+)\b[^\n]{0,80}"
    r"|[IVXLC]{1,6}\.[ \t]+[A-Z][^\n]{0,80})$")
_RULE_LINE_RE = re.compile(r"^[-=_*~·.#+\u2014\u2500\u3000 \t]{4,}$")  # ----- separators: dropped
_SENT_END_RE = re.compile(r"[。！？!?…．.]['\"’”」』)）]*")


def _is_wide(ch: str) -> bool:
    return unicodedata.east_asian_width(ch) in ("W", "F")


def unwrap(lines: list[str]) -> list[str]:
    """Join hard-wrapped lines: a line near the file's wrap width continues into a next line that is
    not indented, blank or a heading. CJK on both sides joins without a space."""
    lengths = sorted(len(s.rstrip()) for s in lines if s.strip())
    if not lengths:
        return []
    width = lengths[int(len(lengths) * 0.9)]
    if width < 30:  # short-line texts (verse, lists): keep as is
        return [s.strip() for s in lines]
    out: list[str] = []
    joining = False
    for raw in lines:
        line = "" if _RULE_LINE_RE.match(raw) else raw.rstrip()
        body = line.strip()
        cont = joining and body and not line[:1].isspace() and line[:1] != "\u3000" and not HEADING_RE.match(body)
        if cont and out:
            prev = out[-1]
            sep = "" if (prev and _is_wide(prev[-1])) or _is_wide(body[0]) else " "
            out[-1] = prev + sep + body
        else:
            out.append(body)
        joining = bool(body) and len(line) >= 0.75 * width and not HEADING_RE.match(body)
    return out


def split_first(text: str, limit: int) -> tuple[str, str]:
    """Cut ``text`` after the last sentence end within ``limit`` chars (hard cut if none is near)."""
    window = text[:limit]
    cut = 0
    for m in _SENT_END_RE.finditer(window):
        cut = m.end()
    if cut < limit // 4:
        cut = limit
    return text[:cut].strip(), text[cut:].strip()


def chunk_book(text: str, chunk_chars: int, min_chars: int, unwrap_lines: bool = True) -> list[str]:
    """Chapters (at heading lines) packed greedily up to ``chunk_chars``; longer chapters cut at
    paragraphs; a last chunk shorter than ``min_chars`` joins the one before it."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    lines = unwrap(lines) if unwrap_lines else [s.strip() for s in lines]
    # paragraphs (blank lines collapse); a heading starts a new section
    sections: list[list[str]] = [[]]
    for line in lines:
        if not line:
            continue
        if HEADING_RE.match(line) and sections[-1]:
            sections.append([])
        sections[-1].append(line)
    chunks: list[str] = []
    cur: list[str] = []
    cur_len = 0

    def flush() -> None:
        nonlocal cur, cur_len
        if cur:
            chunks.append("\n".join(cur))
        cur, cur_len = [], 0

    for sec in sections:
        sec_len = sum(len(p) + 1 for p in sec)
        if cur and cur_len + sec_len > chunk_chars and cur_len >= min_chars:  # tiny front matter rides along
            flush()
        for para in sec:
            rest = para
            while rest:
                room = chunk_chars - cur_len
                if len(rest) + 1 <= room:
                    cur.append(rest)
                    cur_len += len(rest) + 1
                    break
                if cur and (cur_len >= min_chars or room < max(min_chars, 50)):
                    flush()
                    continue
                piece, rest = split_first(rest, room - 1)
                cur.append(piece)
                cur_len += len(piece) + 1
                flush()
    flush()
    if len(chunks) > 1 and len(chunks[-1]) < min_chars:
        last = chunks.pop()
        chunks[-1] = chunks[-1] + "\n" + last
    return [c for c in chunks if c.strip()]


# ---------------------------------------------------------------- EPUB

_BLOCK_TAGS = frozenset({
    "p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "li", "blockquote", "pre", "tr", "table", "section",
    "article", "header", "footer", "aside", "dd", "dt", "dl", "ul", "ol", "figure", "figcaption", "hr", "br",
    "title", "body", "caption", "nav",
})
_DROP_TAGS = ("script", "style", "head", "svg", "math", "noscript", "object", "iframe")
_WS_RE = re.compile(r"[ \t\r\n\f\v]+")


def xhtml_to_text(content: bytes) -> str:
    """Block-aware text of an XHTML chapter: one line per paragraph/heading, inline whitespace collapsed."""
    from lxml import etree, html

    if not content or not content.strip():
        return ""
    parser = html.HTMLParser(remove_comments=True, remove_pis=True, no_network=True, recover=True)
    try:
        root = html.document_fromstring(content, parser=parser)
    except (etree.ParserError, ValueError):
        return ""
    etree.strip_elements(root, *_DROP_TAGS, with_tail=False)
    body = root.find("body")
    if body is None:
        body = root
    parts: list[str] = []

    def walk(el) -> None:
        tag = el.tag.rsplit("}", 1)[-1].lower() if isinstance(el.tag, str) else ""
        block = tag in _BLOCK_TAGS
        if block:
            parts.append("\n")
        if el.text and tag != "":
            parts.append(el.text if tag == "pre" else _WS_RE.sub(" ", el.text))
        for child in el:
            walk(child)
        if block:
            parts.append("\n")
        if el.tail:
            parts.append(_WS_RE.sub(" ", el.tail))

    try:
        walk(body)
    except RecursionError:  # pathologically deep markup: flat text rather than a lost chapter
        parts = [" ".join(body.itertext())]
    lines = [re.sub(r"[ \t]+", " ", s).strip() for s in "".join(parts).split("\n")]
    return "\n".join(s for s in lines if s)


class EpubText(NamedTuple):
    title: Optional[str]
    chapters: list[str]  # text per spine item, in spine order, empty ones dropped
    missing: int  # manifest items absent from the archive
    skipped: int  # spine items that are not XHTML, not found, or navigation


class EpubRejected(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def check_zip(zf: zipfile.ZipFile, max_total: int, max_ratio: float) -> None:
    """Zip-bomb guard on declared sizes; ``zipfile`` stops inflating at the declared size, so
    checking them bounds what is read."""
    total = 0
    for info in zf.infolist():
        total += info.file_size
        if info.file_size > 1_000_000 and info.file_size > max_ratio * max(info.compress_size, 1):
            raise EpubRejected("epub_zip_bomb")
    if total > max_total:
        raise EpubRejected("epub_too_large")


def read_epub_bytes(data: bytes, max_total: int = 300_000_000, max_ratio: float = 200.0) -> EpubText:
    from ebooklib import epub

    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise EpubRejected("epub_bad_zip") from None
    check_zip(zf, max_total, max_ratio)
    missing: list[str] = []

    class Reader(epub.EpubReader):
        """ebooklib's reader, made tolerant: manifest items absent from the archive read as empty
        (and are counted) instead of failing the book; the TOC is not needed."""

        _tolerant = False

        def read_file(self, name):
            name = posixpath.normpath(name)
            try:
                return self.zf.read(name)
            except KeyError:
                if not self._tolerant:
                    raise
                missing.append(name)
                return b""

        def _load_manifest(self):
            self._tolerant = True
            try:
                super()._load_manifest()
            finally:
                self._tolerant = False

        def _load_spine(self):
            spine = self.container.find("{%s}spine" % epub.NAMESPACES["OPF"])  # noqa: UP031
            self.book.spine = [(t.get("idref"), t.get("linear", "yes")) for t in spine] if spine is not None else []

        def _parse_nav(self, *args, **kwargs):
            return None

    try:
        book = Reader(io.BytesIO(data), options={"ignore_ncx": True}).load()
    except EpubRejected:
        raise
    except Exception as exc:  # noqa: BLE001 - ebooklib raises many kinds on broken packages
        raise EpubRejected(f"epub_error:{type(exc).__name__}") from None
    titles = book.get_metadata("DC", "title")
    title = titles[0][0].strip() if titles and titles[0] and titles[0][0] else None
    missing_set = {posixpath.normpath(m) for m in missing}
    chapters: list[str] = []
    skipped = 0
    for idref, _linear in book.spine:
        item = book.get_item_with_id(idref)
        if item is None or isinstance(item, epub.EpubNav) or item.media_type not in (
                "application/xhtml+xml", "text/html", "application/x-dtbook+xml"):
            skipped += 1
            continue
        if not item.get_content():  # missing from the archive (read as empty) or empty
            skipped += 1
            continue
        text = xhtml_to_text(item.get_content())
        if text and is_gutenberg_boilerplate(text):
            skipped += 1
            continue
        if text:
            chapters.append(text)
    return EpubText(title, chapters, len(missing_set), skipped)


def is_gutenberg_boilerplate(text: str) -> bool:
    """PG EPUBs carry the header and licence as their own spine items."""
    head = text[:400]
    return ("Project Gutenberg" in head and ("EBook" in head or "eBook" in head or "License" in head)) or bool(
        _PG_START_RE.search(text[:2000]) or _PG_END_RE.search(head))


# ---------------------------------------------------------------- files → documents


def _documents(chunks: list[str], path: str, title: Optional[str], cfg) -> Iterator[Document]:
    for i, chunk in enumerate(chunks):  # id from the path: book file names (pg1342.txt) repeat across folders
        yield Document(id=doc_id(KIND, path, i), text=chunk, source=cfg.source, origin=f"{path}#{i}", title=title)


def _title_from_name(path: str) -> str:
    name = posixpath.basename(path.replace("\\", "/"))
    for suffix in (".txt.gz", ".txt", ".epub"):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return name


def text_book(data: bytes, path: str, cfg) -> Iterator[Union[Document, SourceReject, Count]]:
    text, enc = decode_text(data, cfg.encodings)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    yield Count(f"encoding/{enc}")
    title = None
    if cfg.strip_gutenberg:
        s = strip_gutenberg(text)
        text, title = s.text, s.title
        if s.had_header:
            yield Count("gutenberg/header_removed")
        if s.had_footer:
            yield Count("gutenberg/footer_removed")
    chunks = chunk_book(text, cfg.chunk_chars, cfg.min_chars, cfg.unwrap_lines)
    if not chunks or sum(len(c) for c in chunks) < cfg.min_chars:
        yield SourceReject(path, None, "too_short")
        return
    yield from _documents(chunks, path, title or _title_from_name(path), cfg)


def epub_book(data: bytes, path: str, cfg) -> Iterator[Union[Document, SourceReject, Count]]:
    try:
        book = read_epub_bytes(data, cfg.max_epub_uncompressed_bytes, cfg.max_epub_ratio)
    except EpubRejected as exc:
        yield SourceReject(path, None, exc.reason)
        return
    if book.missing:
        yield Count("epub/missing_items", book.missing)
    if book.skipped:
        yield Count("epub/skipped_items", book.skipped)
    # each spine item is a chapter: join with a blank line and let the chunker pack them
    chunks: list[str] = []
    cur = ""
    for ch in book.chapters:
        for piece in ([ch] if len(ch) <= cfg.chunk_chars else chunk_book(ch, cfg.chunk_chars, 0, unwrap_lines=False)):
            if cur and len(cur) + len(piece) + 1 > cfg.chunk_chars:
                chunks.append(cur)
                cur = ""
            cur = f"{cur}\n{piece}" if cur else piece
    if cur:
        chunks.append(cur)
    if len(chunks) > 1 and len(chunks[-1]) < cfg.min_chars:
        last = chunks.pop()
        chunks[-1] += "\n" + last
    if not chunks or sum(len(c) for c in chunks) < cfg.min_chars:
        yield SourceReject(path, None, "too_short")
        return
    yield from _documents(chunks, path, book.title or _title_from_name(path), cfg)


def read_bounded(stream, limit: int) -> Optional[bytes]:
    """At most ``limit`` bytes; None when there is more (too large to handle)."""
    data = stream.read(limit + 1)
    return None if len(data) > limit else data


def read(split: Split | str, recipe) -> Iterator[Union[Document, SourceReject, Count]]:
    """READERS entry point (``kind = books``): ``.txt``, ``.txt.gz``, ``.epub``; one split per file, ids and
    origins from ``split.name``."""
    from apache_beam.io.filesystems import FileSystems

    split = as_split(split, "books")
    path = split.name
    cfg = recipe.sources.books
    with FileSystems.open(split.path, compression_type="uncompressed") as raw:
        data = read_bounded(raw, cfg.max_file_bytes)
    if data is None:
        yield SourceReject(path, None, "file_too_large")
        return
    if data[:2] == b"\x1f\x8b":
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as gz:
            data = read_bounded(gz, cfg.max_file_bytes)
        if data is None:
            yield SourceReject(path, None, "file_too_large")
            return
    if data[:4] == b"PK\x03\x04" or path.lower().endswith(".epub"):
        yield from epub_book(data, path, cfg)
    else:
        yield from text_book(data, path, cfg)
