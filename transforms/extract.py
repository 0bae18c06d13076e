"""HTML → main text with trafilatura; plain-text payloads pass through decoded.

Charset order: HTTP/WARC header → ``<meta>`` in the first 4 KB → detection (charset-normalizer)
→ UTF-8 with replacement. Pages larger than ``max_html_bytes`` are rejected before parsing
(bounded memory and time on pathological pages).
"""
from __future__ import annotations

import codecs
import contextvars
import re
from typing import Iterable, Optional, Sequence

from schemas.document import Document
from transforms.langid import LangPrefilter
from transforms.sources.raw import RawPage
from transforms.contract import Rejection

_META_CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?\s*([A-Za-z0-9_\-:.]+)", re.I)
# common mislabels: a page declaring gb2312/gbk is nearly always gb18030 in practice (superset)
_UPGRADE = {"gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "big5": "big5hkscs", "iso-8859-1": "cp1252",
            "latin-1": "cp1252", "ascii": "cp1252", "us-ascii": "cp1252"}


def _codec(name: Optional[str]) -> Optional[str]:
    if not name:
        return None
    name = _UPGRADE.get(name.strip().lower(), name.strip().lower())
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def decode_html(body: bytes, header_charset: Optional[str]) -> str:
    """Decode a page by header, then meta, then detection; never raises."""
    candidates: list[str] = []
    if body.startswith(codecs.BOM_UTF8):
        candidates.append("utf-8-sig")
    elif body[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        candidates.append("utf-16")
    for c in (_codec(header_charset), None):
        if c:
            candidates.append(c)
    m = _META_CHARSET.search(body[:4096])
    if m:
        c = _codec(m.group(1).decode("ascii", "ignore"))
        if c:
            candidates.append(c)
    for c in candidates:
        try:
            return body.decode(c)
        except (UnicodeDecodeError, LookupError):
            continue
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(body[:200_000]).best()
    if best is not None and best.encoding:
        return body.decode(best.encoding, errors="replace")
    return body.decode("utf-8", errors="replace")


def page_title(tree) -> Optional[str]:
    """The title trafilatura's metadata pass would give (meta tags, then JSON-LD, then ``<title>``/``<h1>``).

    We keep only text and title, so we run just the title part of ``extract_metadata`` instead of
    ``with_metadata=True``: the full pass also searches the page date (htmldate, with dateparser's
    per-locale regexes), author, site name, categories and tags, and was about 60% of extraction time
    in the profile (bench/RESULTS.md). Text and titles are identical on all benchmark pages; it also
    drops trafilatura's dependence on the wall clock (its date search is bounded by today).
    """
    from trafilatura.metadata import examine_meta, extract_meta_json, extract_title

    meta = examine_meta(tree)
    try:
        meta = extract_meta_json(tree, meta)
    except Exception:  # noqa: BLE001 - trafilatura guards this call the same way (bugs in JSON-LD parsing)
        pass
    if not meta.title:
        meta.title = extract_title(tree)
    meta.clean_and_trim()
    return meta.title


_INVISIBLE = frozenset({"script", "style", "noscript", "template", "head"})
_CODE = frozenset({"script", "style"})


def visible_text(tree, limit: int = 10_000, skip: frozenset[str] = _INVISIBLE, body_only: bool = True) -> str:
    """Whitespace-folded text of the page body (boilerplate included, scripts and styles not), cut at
    ``limit`` characters: the cheap whole-page text the language prefilter looks at."""
    from lxml import etree

    root = tree.find(".//body") if body_only else None
    if root is None:
        root = tree
    parts: list[str] = []
    size = 0
    walk = etree.iterwalk(root, events=("start", "end"))
    for event, el in walk:
        if event == "start":
            visible = isinstance(el.tag, str) and el.tag not in skip  # not a comment, PI, script…
            if not visible:
                walk.skip_subtree()  # its "end" event still comes, with the tail
            chunk = el.text if visible else None
        else:
            chunk = el.tail if el is not root else None
        if chunk and not chunk.isspace():
            parts.append(" ".join(chunk.split()))
            size += len(parts[-1]) + 1  # the joined text is size - 1 long (no separator after the last part)
            if size > limit:  # joined text >= limit: enough (``>=`` here stopped one character short, issue #20)
                break
    return " ".join(parts)[:limit]


# ------------------------------------------------------------------ readability gate
_GATE = contextvars.ContextVar("yuliao_readability_gate", default=False)


def _readability_cannot_win(raw_tree, body, text: str, options) -> bool:
    """True when trafilatura would not take readability's output over its own, whatever it is.

    ``compare_extraction`` prefers readability only if its text is over twice as long as ours, ours is
    empty, or ours has no paragraph text / more tables than paragraphs (or in recall mode). Readability
    keeps a subset of the page's text, so when the whole page (scripts and styles aside) is at most twice
    our text, running it (15% of extraction time, bench/RESULTS.md) cannot change the result.
    """
    if not text or options.focus == "recall":
        return False
    if not body.xpath(".//p//text()") or len(body.findall(".//table")) > len(body.findall(".//p")):
        return False
    bound = 2 * len(text)
    return len(visible_text(raw_tree, bound + 1, _CODE, body_only=False)) <= bound


def _install_readability_gate() -> None:
    """Wrap trafilatura's comparison step once per process; it only acts inside ``_GATE`` (our calls)."""
    import trafilatura.core as core
    from lxml.html import HtmlElement

    original = core.compare_extraction
    if getattr(original, "yuliao_gate", False):
        return

    def compare_extraction(cleaned_tree, raw_tree, body, text, options):
        if _GATE.get() and _readability_cannot_win(raw_tree, body, text, options):
            raw_tree = HtmlElement()  # readability of an empty page: "", so trafilatura keeps its own text
        return original(cleaned_tree, raw_tree, body, text, options)

    compare_extraction.yuliao_gate = True
    core.compare_extraction = compare_extraction


class Extractor:
    """Stage ``extract``: ``RawPage`` in, ``Document`` out."""

    name = "extract"
    batch_size = 1

    def __init__(self, max_html_bytes: int, include_comments: bool, include_tables: bool, favor_precision: bool,
                 favor_recall: bool, deduplicate: bool, min_extracted_chars: int, passthrough: bool, fast: bool,
                 prefilter: Optional[LangPrefilter], readability_gate: bool):
        """Values come from the recipe's ``extract`` section (``from_recipe``); defaults live only there."""
        self.max_html_bytes = max_html_bytes
        self.options = dict(include_comments=include_comments, include_tables=include_tables,
                            favor_precision=favor_precision, favor_recall=favor_recall, deduplicate=deduplicate,
                            fast=fast)
        self.min_extracted_chars = min_extracted_chars
        self.passthrough = passthrough  # extract disabled: payloads are only decoded
        self.prefilter = prefilter  # language decided on the whole page before extraction (langid.prefilter)
        self.readability_gate = readability_gate and not fast

    @classmethod
    def from_recipe(cls, cfg, langid_cfg=None) -> "Extractor":
        """``langid_cfg`` (the recipe's ``langid`` section) turns on the language prefilter if it says so."""
        prefilter = LangPrefilter.from_recipe(langid_cfg) if langid_cfg is not None and cfg.enabled else None
        return cls(cfg.max_html_bytes, cfg.include_comments, cfg.include_tables, cfg.favor_precision,
                   cfg.favor_recall, cfg.deduplicate, cfg.min_extracted_chars, passthrough=not cfg.enabled,
                   fast=cfg.fast, prefilter=prefilter, readability_gate=cfg.readability_gate)

    def setup(self) -> None:
        import trafilatura  # noqa: F401 - import once per worker

        from transforms.quiet import quiet_libraries

        quiet_libraries()
        if self.prefilter is not None:
            self.prefilter.setup()

    def extract_html(self, html: str) -> tuple[Optional[str], Optional[str]]:
        """(text, title) of a page's main content."""
        from trafilatura.utils import load_html

        return self.extract_tree(load_html(html))

    def extract_tree(self, tree) -> tuple[Optional[str], Optional[str]]:
        """(text, title) of a parsed page's main content."""
        import trafilatura

        if tree is None:
            return None, None
        title = page_title(tree)  # on the pristine tree; bare_extraction prunes a copy
        if self.readability_gate:
            _install_readability_gate()  # once per process (idempotent), so also without setup()
        token = _GATE.set(self.readability_gate)
        try:
            doc = trafilatura.bare_extraction(tree, output_format="python", with_metadata=False, **self.options)
        finally:
            _GATE.reset(token)
        if doc is None:
            return None, None
        if not isinstance(doc, dict):
            doc = doc.as_dict()
        return doc.get("text"), title

    def _doc(self, page: RawPage, text: str, title: Optional[str]) -> Document:
        return Document(id=page.id, text=text, source=page.source, origin=page.origin, url=page.url,
                        title=title, fetched_at=page.fetched_at)

    def apply(self, pages: Sequence[RawPage]) -> Iterable[Document | Rejection]:
        for page in pages:
            empty = self._doc(page, "", None)
            if len(page.body) > self.max_html_bytes:
                yield Rejection(empty, "html_too_large")
                continue
            if page.content_type == "text/plain" or self.passthrough:
                text, title = decode_html(page.body, page.charset or "utf-8"), None
            else:
                from trafilatura.utils import load_html

                tree = load_html(decode_html(page.body, page.charset))
                skip = (self.prefilter.reject(visible_text(tree, self.prefilter.scan_chars))
                        if self.prefilter and tree is not None else None)
                if skip:
                    lang, score = skip
                    yield Rejection(empty._replace(lang=lang, lang_score=round(score, 4)), "lang_prefilter", lang)
                    continue
                text, title = self.extract_tree(tree)
            if not text or len(text.strip()) < self.min_extracted_chars:
                yield Rejection(empty, "extract_empty")
                continue
            yield self._doc(page, text, title)
