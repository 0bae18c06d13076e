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


# ------------------------------------------------------------------ pre-pruning
# never text: trafilatura deletes these in its own cleaning, but only on its copy of the tree, after copying it
# (twice), and readability/justext walk them again on the raw tree
# (not noscript: some pages hold their text there; not select/textarea: an unclosed one swallows the page)
_INERT = ("script", "style", "template", "svg", "math", "iframe", "object", "embed", "canvas", "video", "audio", "map",
          "button", "input", "link")
# page furniture by tag: trafilatura's cleaning deletes these too (settings.MANUALLY_CLEANED)
_LAYOUT = ("nav", "footer", "aside", "menu")
# link blocks (level "links"): a block with at least ``min_links`` links whose text is at least ``share`` link text
_LINK_BLOCKS = frozenset({"ul", "ol", "dl", "div", "table", "section", "header", "p"})


def _drop(el) -> None:
    """Remove ``el`` and its subtree, keeping its tail text in place."""
    parent = el.getparent()
    if parent is None:
        return
    if el.tail:
        prev = el.getprevious()
        if prev is None:
            parent.text = (parent.text or "") + el.tail
        else:
            prev.tail = (prev.tail or "") + el.tail
    parent.remove(el)


_TEXT_NODES = None


def _chars(el) -> int:
    """Characters of ``el``'s text, each text node stripped (``itertext`` in C: text nodes as plain strings)."""
    global _TEXT_NODES
    if _TEXT_NODES is None:
        from lxml import etree

        _TEXT_NODES = etree.XPath(".//text()", smart_strings=False)
    return sum(map(len, map(str.strip, _TEXT_NODES(el))))


def _prune_link_blocks(tree, min_links: int, share: float, max_share: float) -> None:
    """Delete blocks that are nearly all link text (menus, headline lists, tag clouds).

    One walk over the body: each element's text size, link-text size and link count are summed bottom-up on
    a stack, so the cost is linear in the page (not in page size x depth).
    """
    from lxml import etree

    body = tree.find(".//body")
    if body is None:
        return
    doomed = []
    stack = [[0, 0, 0]]  # per open element: chars, link chars, links
    for event, el in etree.iterwalk(body, events=("start", "end")):
        if event == "start":
            stack.append([len(el.text.strip()) if isinstance(el.tag, str) and el.text else 0, 0, 0])
            continue
        chars, linked, links = stack.pop()
        tag = el.tag
        if tag == "a":
            linked, links = chars, links + 1
        elif tag in _LINK_BLOCKS and links >= min_links and chars and linked >= share * chars:
            doomed.append((el, chars))
        top = stack[-1]
        top[0] += chars + (len(el.tail.strip()) if el.tail else 0)
        top[1] += linked
        top[2] += links
    total = stack[0][0]
    for el, chars in doomed:  # inner ones first: dropping them inside an outer doomed block is harmless
        if chars <= max_share * total:  # a link list that is most of the page may be its content
            _drop(el)


_PARA = ("p", "pre", "blockquote")
_MIN_PARA_CHARS = 200


def keep_main_subtree(tree, share: float):
    """Cut the body down to the smallest element holding ``share`` of the page's paragraph text (in place).

    The siblings of that element and of each of its ancestors are deleted: trafilatura then walks a tree
    that is mostly the article (its many XPath passes and fallbacks scale with the tree). Pages with little
    paragraph text (lists, br-formatted pages) are left alone. Returns (element, its paragraph characters)
    if the tree was cut, else None.
    """
    body = tree.find(".//body")
    if body is None or share <= 0:
        return None
    score: dict = {}
    total = 0
    for p in body.iter(_PARA):
        n = _chars(p)
        if not n:
            continue
        total += n
        for anc in p.iterancestors():
            score[anc] = score.get(anc, 0) + n
            if anc is body:
                break
    if total < _MIN_PARA_CHARS:
        return None
    need = share * total
    node = body
    while True:
        nxt = next((c for c in node if score.get(c, 0) >= need), None)
        if nxt is None:
            break
        node = nxt
    if node is body:
        return None
    main, main_chars = node, score[node]
    while node is not body:
        parent = node.getparent()
        for sib in list(parent):
            if sib is not node:
                _drop(sib)
        node = parent
    return main, main_chars


def prune_tree(tree, level: str, min_links: int, link_share: float, max_share: float) -> None:
    """Delete subtrees that cannot be main text before trafilatura runs (in place, tails kept).

    ``inert``: scripts (JSON-LD kept: trafilatura reads it), styles, embedded objects, buttons and inputs;
    ``layout``: also nav/footer/aside/menu elements holding at most ``max_share`` of the page's text;
    ``links``: also blocks of ``min_links`` links or more whose text is at least ``link_share`` link text
    (menus, headline lists, tag clouds), again only up to ``max_share`` of the page's text.
    Done once on the parsed page, so every copy trafilatura makes and every XPath pass and fallback
    extractor it runs sees the smaller tree.
    """
    if level == "off":
        return
    for el in list(tree.iter(*_INERT)):
        if el.tag == "script" and el.get("type") == "application/ld+json":
            continue
        _drop(el)
    if level == "inert":
        return
    layout = list(tree.iter(*_LAYOUT))
    if layout:
        # a nav/aside/footer holding much of the page is markup misuse (or an unclosed tag swallowing the
        # article): trafilatura's fallbacks would still find that text on the raw tree, so it stays
        total = _chars(tree)
        for el in layout:
            if _chars(el) <= max_share * total:
                _drop(el)
    if level == "links":
        _prune_link_blocks(tree, min_links, link_share, max_share)


# ------------------------------------------------------------------ Chinese boilerplate post-filter
# trafilatura keeps the tail of Chinese portal pages: credits, "related/hot news" blocks and category menus
# (precision 0.89 on our hand-labelled zh pages, recall 0.99; bench/EXTRACT.md). Cues seen on the dev half of
# the gold pages; the held-out half was not read while choosing them.
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
_ZH_CREDIT = re.compile(r"^[\[【（(]?\s*(责任编辑|责编|本文来源|文章来源|免责声明|版权所有|版权声明)\s*[:：]?")
_ZH_TAIL_CUE = re.compile(r"^(相关推荐|相关阅读|相关新闻|相关文章|延伸阅读|推荐阅读|热点新闻|热门推荐|热门文章|猜你喜欢|"
                          r"为您推荐|更多精彩|网友评论|热门评论|最新评论|上一篇|下一篇|返回首页|分享到)")
_LIST_ITEM = re.compile(r"^\s*- ")
# a headline list item ending in its date, or its date and a short category label ("… 2019-09-05 16:41 手机")
_DATED = re.compile(r"\d{4}-\d{1,2}-\d{1,2}(\s+\d{1,2}:\d{2})?(\s+\S{1,6})?\s*$")


def zh_trim(text: str) -> str:
    """Drop credit lines and the link-list tail from mostly-Chinese text (other text is returned unchanged).

    A tail is cut from the first cue line (相关推荐, 热点新闻, 上一篇, …) in the second half of the text, and
    from the end back over runs of three or more short or dated list items (headline lists, category menus).
    """
    han = len(_HAN.findall(text))
    if han < 50 or han < 0.3 * len(text):
        return text
    lines = text.split("\n")
    total = len(text)
    seen = 0
    for i, line in enumerate(lines):
        body = line.strip().lstrip("- ").strip()
        if seen > total / 2 and _ZH_TAIL_CUE.match(body) and len(body) < 40:
            lines = lines[:i]
            break
        seen += len(line) + 1
    lines = [ln for ln in lines if not _ZH_CREDIT.match(ln.strip().lstrip("- |").strip())]
    end = len(lines)
    while end and (not lines[end - 1].strip() or (_LIST_ITEM.match(lines[end - 1])
                                                  and (len(lines[end - 1]) < 42 or _DATED.search(lines[end - 1])))):
        end -= 1
    if len(lines) - end >= 3:
        lines = lines[:end]
    return "\n".join(lines).strip()


# ------------------------------------------------------------------ readability gate
_GATE = contextvars.ContextVar("yuliao_readability_gate", default="always")  # "always" outside our calls


def _readability_cannot_win(raw_tree, body, text: str, options, fast: bool = False) -> bool:
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
    if fast:  # the same test counted in C, and a tighter bound (transforms/extract_fast.py)
        from transforms.extract_fast import readability_fits

        return readability_fits(raw_tree, bound)
    return len(visible_text(raw_tree, bound + 1, _CODE, body_only=False)) <= bound


def _install_readability_gate() -> None:
    """Wrap trafilatura's comparison step once per process; it only acts inside ``_GATE`` (our calls)."""
    import trafilatura.core as core
    from lxml.html import HtmlElement

    original = getattr(core, "compare_extraction", None)
    if original is None or getattr(original, "yuliao_gate", False):
        return  # not there (another trafilatura than pyproject pins): no gate, readability always runs

    def compare_extraction(cleaned_tree, raw_tree, body, text, options):
        gate = _GATE.get()
        if gate == "never" or (gate == "gate" and _readability_cannot_win(raw_tree, body, text, options)):
            raw_tree = HtmlElement()  # readability of an empty page: "", so trafilatura keeps its own text
        return original(cleaned_tree, raw_tree, body, text, options)

    compare_extraction.yuliao_gate = True
    compare_extraction.yuliao_original = original
    core.compare_extraction = compare_extraction


def _fast_xpaths(on: bool):
    from transforms.extract_fast import fast_xpaths

    return fast_xpaths(on)


class Extractor:
    """Stage ``extract``: ``RawPage`` in, ``Document`` out."""

    name = "extract"
    batch_size = 1

    def __init__(self, max_html_bytes: int, include_comments: bool, include_tables: bool, favor_precision: bool,
                 favor_recall: bool, deduplicate: bool, min_extracted_chars: int, passthrough: bool, fast: bool,
                 prefilter: Optional[LangPrefilter], readability_gate: bool, prune: str, readability: bool,
                 zh_trim: bool, link_block_min_links: int, link_block_share: float, prune_max_share: float,
                 main_share: float,
                 fast_route_share: float, fast_route_recheck: float, fast_paths: bool):
        """Values come from the recipe's ``extract`` section (``from_recipe``); defaults live only there."""
        self.max_html_bytes = max_html_bytes
        self.options = dict(include_comments=include_comments, include_tables=include_tables,
                            favor_precision=favor_precision, favor_recall=favor_recall, deduplicate=deduplicate,
                            fast=fast)
        self.min_extracted_chars = min_extracted_chars
        self.passthrough = passthrough  # extract disabled: payloads are only decoded
        self.prefilter = prefilter  # language decided on the whole page before extraction (langid.prefilter)
        self.readability_gate = readability_gate and not fast
        self.prune = prune  # "off" | "inert" | "layout" | "links": prune_tree before trafilatura
        self.zh_trim = zh_trim  # zh_trim on mostly-Chinese results
        self.link_block_min_links, self.link_block_share = link_block_min_links, link_block_share
        self.prune_max_share = prune_max_share
        self.main_share = main_share  # > 0: keep_main_subtree before trafilatura
        self.fast_route_share = fast_route_share  # > 0: trafilatura fast on pages whose main element is this dense
        self.fast_route_recheck = fast_route_recheck  # ... and full if the fast text < this x its paragraph text
        self.readability = readability  # False: trafilatura's readability comparison never runs (justext still can)
        self.fast_paths = fast_paths  # transforms/extract_fast.py: same text, cheaper parse and XPath passes
        self._direct: dict = {}  # our trafilatura options -> its Extractor options (fast_paths), never mutated

    @classmethod
    def from_recipe(cls, cfg, langid_cfg=None) -> "Extractor":
        """``langid_cfg`` (the recipe's ``langid`` section) turns on the language prefilter if it says so."""
        prefilter = LangPrefilter.from_recipe(langid_cfg) if langid_cfg is not None and cfg.enabled else None
        return cls(cfg.max_html_bytes, cfg.include_comments, cfg.include_tables, cfg.favor_precision,
                   cfg.favor_recall, cfg.deduplicate, cfg.min_extracted_chars, passthrough=not cfg.enabled,
                   fast=cfg.fast, prefilter=prefilter, readability_gate=cfg.readability_gate, prune=cfg.prune,
                   readability=cfg.readability, zh_trim=cfg.zh_trim,
                   link_block_min_links=cfg.link_block_min_links, link_block_share=cfg.link_block_share,
                   prune_max_share=cfg.prune_max_share,
                   main_share=cfg.main_share, fast_route_share=cfg.fast_route_share,
                   fast_route_recheck=cfg.fast_route_recheck, fast_paths=cfg.fast_paths)

    def setup(self) -> None:
        import trafilatura  # noqa: F401 - import once per worker

        from transforms.quiet import quiet_libraries

        quiet_libraries()
        if self.prefilter is not None:
            self.prefilter.setup()

    def extract_html(self, html: str) -> tuple[Optional[str], Optional[str]]:
        """(text, title) of a page's main content."""
        return self.extract_tree(self.parse(html))

    def _fast(self) -> bool:
        """fast_paths, if this trafilatura is the version they were written for (else plain trafilatura)."""
        if self.fast_paths:
            from transforms.extract_fast import install

            return install()  # once per process (idempotent)
        return False

    def parse(self, html: str):
        """The page's lxml tree as trafilatura's ``load_html`` builds it (None if it is not HTML)."""
        if self._fast():
            from transforms.extract_fast import load_html
        else:
            from trafilatura.utils import load_html
        return load_html(html)

    def extract_tree(self, tree) -> tuple[Optional[str], Optional[str]]:
        """(text, title) of a parsed page's main content."""
        if tree is None:
            return None, None
        if self._fast():
            from transforms.extract_fast import page_title as fast_title

            title = fast_title(tree)  # the same title, without the JSON-LD pass where it cannot set one
        else:
            title = page_title(tree)  # on the pristine tree; bare_extraction prunes a copy
        prune_tree(tree, self.prune, self.link_block_min_links, self.link_block_share, self.prune_max_share)
        main = keep_main_subtree(tree, self.main_share)
        # router: a page whose main element is mostly paragraphs is an article trafilatura's fallbacks rarely
        # change; it runs in fast mode, and again in full mode if the fast text is short for that element
        routed = (main is not None and self.fast_route_share > 0 and not self.options["fast"]
                  and main[1] >= self.fast_route_share * _chars(main[0]))
        text = self._trafilatura(tree, dict(self.options, fast=True) if routed else self.options)
        if routed and len(text or "") < self.fast_route_recheck * main[1]:
            text = self._trafilatura(tree, self.options)
        if text and self.zh_trim:
            text = zh_trim(text)
        return text, title

    def _trafilatura(self, tree, options: dict) -> Optional[str]:
        import trafilatura

        if self.readability_gate or not self.readability:
            _install_readability_gate()  # once per process (idempotent), so also without setup()
        direct = None
        fast = self._fast()
        if fast:
            from transforms.extract_fast import bare_text, direct_options

            key = tuple(sorted(options.items()))
            if key not in self._direct:  # trafilatura's option object, built once (0.2 ms each, config reads)
                self._direct[key] = direct_options(options)
            direct = self._direct[key]
        token = _GATE.set("never" if not self.readability else "gate" if self.readability_gate else "always")
        try:
            with _fast_xpaths(fast):
                if direct is not None:  # bare_extraction's steps without its copy of our tree
                    return bare_text(tree, direct)
                doc = trafilatura.bare_extraction(tree, output_format="python", with_metadata=False, **options)
        finally:
            _GATE.reset(token)
        if doc is None:
            return None
        return (doc if isinstance(doc, dict) else doc.as_dict()).get("text")

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
                tree = self.parse(decode_html(page.body, page.charset))
                skip = (self.prefilter.reject(lambda limit: visible_text(tree, limit))
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
