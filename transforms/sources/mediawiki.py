"""MediaWiki XML dumps (``pages-articles``) → encyclopedia ``Document``s.

Streaming: the dump is read through ``FileSystems`` (local, gs://, s3://…), decompressed by
sniffing magic bytes (bz2 incl. multistream, xz, gzip; extensions lie, e.g. ``*.xml-p1p41242.bz2``)
and parsed with lxml ``iterparse``, each ``<page>`` freed once handled, so memory stays at one page.
lxml detects the declared encoding itself (UTF-8, UTF-16 with BOM …). Safety: a DOCTYPE is refused
(MediaWiki never writes one), entities are not resolved, nothing is fetched from the network.

Only articles are kept (namespace 0 by default, no redirects, no disambiguation pages); the other
pages are counted (``skipped/redirect``, ``skipped/namespace``…). Wikitext becomes plain text with
mwparserfromhell: templates, refs, tables, files, categories, interlanguage links and comments are
removed, links become their text, bold/italic markup is dropped, section titles stay as their own
lines (titles of sections left empty are dropped). Chinese conversion markup ``-{…}-`` is resolved
to the recipe's variant with MediaWiki's fallback order. A dump that ends mid-page (truncated
download) yields every complete page before the cut and one counted ``xml_truncated`` reject.
"""
from __future__ import annotations

import bz2
import html
import io
import lzma
import posixpath
import re
from typing import IO, Iterable, Iterator, Mapping, NamedTuple, Optional, Union
from urllib.parse import quote

from schemas.document import Document, doc_id
from transforms.sources.raw import SourceReject
from transforms.contract import Count
from transforms.sources.compressed import open_decompressed  # noqa: F401 - also used by tests
from transforms.sources.split import Split, as_split

KIND = "mediawiki"

# ---------------------------------------------------------------- zh conversion markup -{…}-

# MediaWiki LanguageConverter (ZhConverter) fallback order for each variant.
ZH_FALLBACKS: dict[str, tuple[str, ...]] = {
    "zh": ("zh-hans", "zh-hant", "zh-cn", "zh-tw", "zh-hk", "zh-sg", "zh-mo", "zh-my"),
    "zh-hans": ("zh-cn", "zh-sg", "zh-my"),
    "zh-hant": ("zh-tw", "zh-hk", "zh-mo"),
    "zh-cn": ("zh-hans", "zh-sg", "zh-my"),
    "zh-sg": ("zh-my", "zh-hans", "zh-cn"),
    "zh-my": ("zh-sg", "zh-hans", "zh-cn"),
    "zh-tw": ("zh-hant", "zh-hk", "zh-mo"),
    "zh-hk": ("zh-mo", "zh-hant", "zh-tw"),
    "zh-mo": ("zh-hk", "zh-hant", "zh-tw"),
}
ZH_VARIANTS = frozenset(ZH_FALLBACKS)
_HANT = frozenset({"zh-hant", "zh-tw", "zh-hk", "zh-mo"})
_FLAGS = frozenset({"A", "T", "R", "D", "-", "H", "N"})
_CONV_RE = re.compile(r"-\{((?:(?!-\{|\}-).)*)\}-", re.S)  # innermost -{…}- first
_RULE_RE = re.compile(r"^\s*(?:([^;]*?)=>)?\s*(zh(?:-[a-z]{2,4})?)\s*:(.*)$", re.S)


def script_of_variant(variant: str) -> str:
    return "Hant" if variant in _HANT else "Hans"


class VariantResolver:
    """Resolves ``-{…}-`` markup for one variant. When only the other script's text exists
    (e.g. only ``zh-hant`` given, variant ``zh-hans``) it is converted with OpenCC if ``convert``."""

    def __init__(self, variant: str = "zh-hans", convert: bool = True):
        if variant not in ZH_VARIANTS:
            raise ValueError(f"unknown zh variant {variant!r}")
        self.variant = variant
        self.order = (variant, *ZH_FALLBACKS[variant], "zh")
        self.convert = convert
        self._cc = None

    def _to_script(self, text: str, from_variant: str) -> str:
        if not self.convert or script_of_variant(from_variant) == script_of_variant(self.variant) or from_variant == "zh":
            return text
        if self._cc is None:
            from opencc import OpenCC  # opencc-python-reimplemented: pure Python, dictionaries in the wheel

            self._cc = OpenCC("t2s" if script_of_variant(self.variant) == "Hans" else "s2t")
        return self._cc.convert(text)

    def rules(self, body: str) -> Optional[dict[str, str]]:
        """``zh-hans:A;zh-hant:B`` → {variant: text}; None when the body is not a rule list."""
        out: dict[str, str] = {}
        last: Optional[str] = None
        for piece in body.split(";"):
            if not piece.strip():
                continue
            m = _RULE_RE.match(piece)
            if m and m.group(2) in ZH_VARIANTS:
                last = m.group(2)
                out[last] = m.group(3)
            elif last is not None:
                out[last] += ";" + piece  # a ';' inside the text (e.g. &amp;)
            elif piece.strip():
                return None
        return {k: v.strip() for k, v in out.items()} or None

    def pick(self, rules: Mapping[str, str]) -> str:
        for v in self.order:
            if v in rules:
                return rules[v]
        first = next(iter(rules))
        return self._to_script(rules[first], first)

    def resolve_one(self, inner: str) -> str:
        flags: set[str] = set()
        body = inner
        if "|" in inner:
            head, rest = inner.split("|", 1)
            cand = {f.strip() for f in head.split(";") if f.strip()}
            if cand and cand <= (_FLAGS | ZH_VARIANTS):
                flags, body = cand, rest
        if flags & {"H", "T", "-"}:
            return ""  # hidden/global rules, title rules, rule removal: nothing displayed
        if "R" in flags:
            return body
        rules = self.rules(body)
        if rules is None:
            return body  # -{text}- : shown as is, protected from conversion
        return self.pick(rules)

    def __call__(self, text: str) -> str:
        if "-{" not in text:
            return text
        for _ in range(8):  # nested markup, innermost first; bounded
            new = _CONV_RE.sub(lambda m: self.resolve_one(m.group(1)), text)
            if new == text:
                break
            text = new
        return text


# ---------------------------------------------------------------- wikitext → plain text

# tags whose content is not article prose
DROP_TAGS = frozenset({
    "ref", "references", "table", "gallery", "math", "chem", "ce", "score", "timeline", "imagemap", "graph",
    "syntaxhighlight", "source", "templatedata", "inputbox", "categorytree", "mapframe", "maplink", "hiero",
    "charinsert", "indicator", "section", "templatestyles", "style", "script", "noinclude", "includeonly",
})
# namespaces whose links are not text: Media (-2), File (6), Category (14); English and zh aliases always known
DEFAULT_LINK_DROP = frozenset({
    "file", "image", "media", "category", "文件", "檔案", "档案", "图像", "圖像", "文件", "媒体", "媒體",
    "分类", "分類", "图片", "圖片",
})
_INTERLANG_RE = re.compile(r"^[a-z]{2,3}(?:-[a-z0-9]{2,8}){0,3}$")
_MAGIC_RE = re.compile(r"__[A-Z_]{3,}__|__(?:目录|目錄|无目录|無目錄|强制目录|強制目錄|新段落链接|无编辑段落|静态重定向)__")
_EMPTY_PARENS_RE = re.compile(r"[（(]\s*[,，;；、:：]?\s*[)）]")
_SPACES_RE = re.compile(r"[ \t\u00a0\u3000]{2,}")
_HEADING = "\x01"  # marks a section title line until empty sections are pruned
_REDIRECT_RE = re.compile(r"^\s*#\s*(?:redirect|重定向|重新导向|重新導向)\b", re.I)

_COMMENT_RE = re.compile(r"<!--.*?(?:-->|$)", re.S)
_BLOCK_TAGS = ("ref|gallery|math|chem|ce|timeline|imagemap|syntaxhighlight|source|score|graph|templatedata|mapframe"
               "|maplink|hiero|templatestyles|inputbox|categorytree|references")
_SELF_CLOSING_RE = re.compile(rf"<(?:{_BLOCK_TAGS})\b[^<>]*/\s*>", re.I)
_BLOCK_RE = re.compile(rf"<({_BLOCK_TAGS})\b[^<>]*>.*?</\1\s*>", re.I | re.S)
_LEFT_TEMPLATE_RE = re.compile(r"\{\{[^{}]*\}\}")
_LEFT_LINK_RE = re.compile(r"\[\[(?:[^\[\]|]*\|)?([^\[\]|]*)\]\]")
_LEFT_TAG_RE = re.compile(r"</?(?:ref|references|span|div|small|big|sup|sub|br|center|abbr|font|u|s|del|ins|cite"
                          r"|blockquote|poem|onlyinclude|includeonly|noinclude)\b[^<>]*>", re.I)
_QUOTES_RE = re.compile(r"'{2,}")


def strip_tables(text: str) -> str:
    """Remove ``{| … |}`` tables line by line (nesting-aware): mwparserfromhell leaves malformed ones as text."""
    if "{|" not in text:
        return text
    out: list[str] = []
    depth = 0
    for line in text.split("\n"):
        s = line.lstrip()
        if s.startswith("{|"):
            depth += 1
            continue
        if depth:
            if s.startswith("|}"):
                depth -= 1
            continue
        out.append(line)
    return "\n".join(out)


def preclean(wikitext: str) -> str:
    """Cheap, robust removal of comments, refs and non-prose blocks before parsing: the parser gives up on
    unbalanced markup (and then keeps it as text), and parsing less is faster."""
    text = _COMMENT_RE.sub("", wikitext)
    text = _SELF_CLOSING_RE.sub("", text)
    text = _BLOCK_RE.sub("", text)
    return strip_tables(text)


def fallback_markup(line: str) -> str:
    """Markup the parser left as text (it bails out on unbalanced input): templates, links, tags, quotes."""
    if "{{" in line:
        for _ in range(5):
            new = _LEFT_TEMPLATE_RE.sub("", line)
            if new == line:
                break
            line = new
    if "[[" in line:
        line = _LEFT_LINK_RE.sub(r"\1", line)
    if "<" in line:
        line = _LEFT_TAG_RE.sub("", line)
    if "''" in line:
        line = _QUOTES_RE.sub(lambda m: "'" if len(m.group()) in (3, 4) else "", line)
    return line


# templates whose visible text is one of their positional arguments (1-based); others are removed
DEFAULT_TEMPLATE_TEXT: dict[str, int] = {
    "lang": 2, "link-en": 1, "le": 1, "link-ja": 1, "link-de": 1, "link-fr": 1, "ilh": 1,
    "internal link helper": 1, "tsl": 3, "nowrap": 1, "nobr": 1, "transl": 2, "readd": 1, "linktext": 1,
    "bd": 0, "nihongo": 1, "zhu": 0,
}


class WikiText:
    """Renders one page's wikitext to plain text. Configure once per dump (namespace names)."""

    def __init__(self, resolver: Optional[VariantResolver] = None, drop_link_prefixes: Iterable[str] = (),
                 template_text: Optional[Mapping[str, int]] = None):
        self.resolver = resolver
        self.drop_prefixes = DEFAULT_LINK_DROP | {p.lower() for p in drop_link_prefixes}
        self.template_text = {k.lower(): v for k, v in (template_text if template_text is not None
                                                       else DEFAULT_TEMPLATE_TEXT).items()}

    # -- node rendering
    def _render(self, code) -> str:
        import mwparserfromhell.nodes as n

        parts: list[str] = []
        for node in code.nodes:
            if isinstance(node, n.Text):
                parts.append(html.unescape(node.value) if "&" in node.value else node.value)
            elif isinstance(node, n.Wikilink):
                parts.append(self._link(node))
            elif isinstance(node, n.Tag):
                parts.append(self._tag(node))
            elif isinstance(node, n.Template):
                parts.append(self._template(node))
            elif isinstance(node, n.Heading):
                title = self._render(node.title).strip()
                parts.append(f"\n{_HEADING}{node.level}{_HEADING}{title}\n" if title else "\n")
            elif isinstance(node, n.ExternalLink):
                parts.append(self._render(node.title) if node.brackets and node.title else "")
            elif isinstance(node, n.HTMLEntity):
                try:
                    parts.append(node.normalize())
                except (ValueError, OverflowError):
                    parts.append("")
            # Comment, Argument ({{{x}}}) and anything else: nothing visible
        return "".join(parts)

    def _link(self, node) -> str:
        title = str(node.title).strip()
        if title.startswith(":"):  # [[:Category:X]], [[:en:Foo]] are visible links
            title = title[1:]
        else:
            prefix = title.split(":", 1)[0].strip().lower() if ":" in title else ""
            if prefix and (prefix in self.drop_prefixes or _INTERLANG_RE.match(prefix)):
                return ""
        if node.text is not None:
            text = self._render(node.text)
            if text.strip():
                return text
        return title

    def _tag(self, node) -> str:
        tag = str(node.tag).strip().lower()
        if tag in DROP_TAGS:
            return ""
        if tag == "br":
            return "\n"
        if tag in ("li", "dt", "dd"):  # wiki list markers (* # ; :): drop the marker, keep the line
            return "" if node.wiki_markup else self._render(node.contents) if node.contents else ""
        if tag == "hr":
            return "\n"
        if tag == "nowiki":
            return str(node.contents) if node.contents is not None else ""
        if tag in ("p", "div", "blockquote", "poem", "center"):
            return "\n" + (self._render(node.contents) if node.contents is not None else "") + "\n"
        return self._render(node.contents) if node.contents is not None else ""

    def _template(self, node) -> str:
        name = str(node.name).strip().lower().replace("_", " ")
        if name.startswith("lang-"):
            idx = 1
        else:
            idx = self.template_text.get(name)
        if not idx:
            return ""
        if node.has(str(idx)):
            return self._render(node.get(str(idx)).value).strip()
        return ""

    # -- public
    def is_disambiguation(self, code, names: frozenset[str]) -> bool:
        return any(str(t.name).strip().lower().replace("_", " ") in names for t in code.filter_templates(recursive=False))

    def parse(self, wikitext: str):
        import mwparserfromhell

        wikitext = preclean(wikitext)
        if self.resolver is not None:
            wikitext = self.resolver(wikitext)
        return mwparserfromhell.parse(wikitext)

    def to_text(self, code) -> str:
        return tidy(self._render(code))


def tidy(raw: str) -> str:
    """Whitespace, leftovers of removed markup, and section titles whose section is empty."""
    raw = _MAGIC_RE.sub("", raw)
    items: list[tuple[int, str]] = []  # (heading level or 0, text)
    for line in raw.split("\n"):
        if line.startswith(_HEADING):
            _, level, title = line.split(_HEADING, 2)
            items.append((int(level), title.strip()))
            continue
        line = _SPACES_RE.sub(" ", _EMPTY_PARENS_RE.sub("", fallback_markup(line))).strip()
        if line.strip(" ,.;:，。；：、|-*#'\"") == "":
            line = ""
        items.append((0, line))
    # drop a heading when what follows it (up to a heading of the same or higher rank) is empty
    kept: list[tuple[int, str]] = []
    next_level: Optional[int] = None  # level of the next kept heading; 0 = text follows; None = end
    for level, text in reversed(items):
        if level:
            if next_level is None or (next_level and next_level <= level):
                continue
            kept.append((level, text))
            next_level = level
        else:
            kept.append((0, text))
            if text:
                next_level = 0
    kept.reverse()
    out: list[str] = []
    for level, text in kept:
        if level:
            if out and out[-1] != "":
                out.append("")
            out.append(text)
        elif text:
            out.append(text)
        elif out and out[-1] != "":
            out.append("")
    return "\n".join(out).strip()


# ---------------------------------------------------------------- XML streaming


class Page(NamedTuple):
    id: str
    ns: int
    title: str
    redirect: bool
    timestamp: Optional[str]
    text: str


class SiteInfo(NamedTuple):
    base: Optional[str]  # e.g. https://zh.wikipedia.org/wiki/  (the main page stripped off)
    dbname: Optional[str]
    lang: Optional[str]
    namespaces: dict[int, str]


class DumpError(Exception):
    """A dump that cannot be read on (``reason`` is the counted reject reason)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def _local(tag) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _child_text(elem, name: str) -> Optional[str]:
    for c in elem:
        if _local(c.tag) == name:
            return c.text
    return None


def iter_dump(stream: IO[bytes], max_page_bytes: int = 10_000_000) -> Iterator[Union[SiteInfo, Page]]:
    """Yield the ``SiteInfo`` (if present) then every ``Page`` of an (uncompressed) XML byte stream.

    Raises ``DumpError`` for a DOCTYPE, a truncated or malformed document (after the complete pages)."""
    from lxml import etree

    parser = etree.iterparse(stream, events=("start", "end"), resolve_entities=False, no_network=True,
                             load_dtd=False, huge_tree=max_page_bytes > 9_000_000, remove_comments=True,
                             remove_pis=True)
    root = None
    depth = 0
    try:
        for event, elem in parser:
            if event == "start":
                depth += 1
                if root is None:
                    root = elem
                    di = elem.getroottree().docinfo
                    if di.doctype or di.internalDTD is not None:
                        raise DumpError("xml_doctype_forbidden")
                    if _local(elem.tag) != "mediawiki":
                        raise DumpError("not_mediawiki")
                continue
            depth -= 1
            name = _local(elem.tag)
            if name == "siteinfo":
                yield _siteinfo(elem, root)
                _free(elem)
            elif name == "page":
                yield _page(elem)
                _free(elem)
    except etree.XMLSyntaxError:
        # cut-off dumps end inside open elements with nothing left to read; anything else is malformed
        try:
            at_end = stream.read(1) == b""
        except Exception:  # noqa: BLE001 - a broken compressed tail is a truncation too
            at_end = True
        raise DumpError("xml_truncated" if depth > 0 and at_end else "xml_error") from None
    except EOFError:  # bz2/lzma/gzip stream cut off
        raise DumpError("xml_truncated") from None
    except (lzma.LZMAError, OSError) as exc:
        raise DumpError(f"compressed_error:{type(exc).__name__}") from None
    if root is None:
        raise DumpError("xml_empty")


def _free(elem) -> None:
    elem.clear(keep_tail=False)
    parent = elem.getparent()
    if parent is not None:
        while elem.getprevious() is not None:
            del parent[0]


def _siteinfo(elem, root) -> SiteInfo:
    base = _child_text(elem, "base")
    if base and "/" in base.split("://", 1)[-1]:
        base = base[: base.rindex("/") + 1]
    namespaces: dict[int, str] = {}
    for c in elem:
        if _local(c.tag) == "namespaces":
            for ns in c:
                try:
                    namespaces[int(ns.get("key"))] = (ns.text or "").strip()
                except (TypeError, ValueError):
                    continue
    lang = root.get("{http://www.w3.org/XML/1998/namespace}lang") if root is not None else None
    return SiteInfo(base or None, _child_text(elem, "dbname"), lang, namespaces)


def _page(elem) -> Page:
    title = (_child_text(elem, "title") or "").strip()
    pid = (_child_text(elem, "id") or "").strip()
    ns_text = _child_text(elem, "ns")
    redirect = False
    revision = None
    for c in elem:
        name = _local(c.tag)
        if name == "redirect":
            redirect = True
        elif name == "revision":
            revision = c  # full-history dumps: the last revision is the current one
    text, ts = "", None
    if revision is not None:
        text = _child_text(revision, "text") or ""
        ts = _child_text(revision, "timestamp")
    try:
        ns = int(ns_text) if ns_text is not None else None
    except ValueError:
        ns = None
    return Page(pid, ns if ns is not None else -999, title, redirect, ts, text)


# ---------------------------------------------------------------- pages → documents

_DB_RE = re.compile(r"^([a-z][a-z_\-]*?)(wiki|wiktionary|wikisource|wikibooks|wikiquote|wikinews|wikivoyage)\b")
_PROJECT_HOST = {"wiki": "wikipedia", "wiktionary": "wiktionary", "wikisource": "wikisource", "wikibooks": "wikibooks",
                 "wikiquote": "wikiquote", "wikinews": "wikinews", "wikivoyage": "wikivoyage"}


def site_from_name(name: str) -> Optional[str]:
    """``zhwiki-20240101-pages-articles.xml.bz2`` → ``https://zh.wikipedia.org/wiki/`` (dumps without siteinfo)."""
    m = _DB_RE.match(posixpath.basename(name).lower())
    if not m or m.group(1) in ("common", "meta", "species"):
        return None
    return f"https://{m.group(1).replace('_', '-')}.{_PROJECT_HOST[m.group(2)]}.org/wiki/"


def page_url(base: Optional[str], title: str) -> Optional[str]:
    if not base:
        return None
    return base + quote(title.replace(" ", "_"), safe=";:@$!*(),/~")  # MediaWiki's wfUrlencode set


def namespace_of(title: str, namespaces: Mapping[int, str]) -> int:
    """For dumps without ``<ns>``: the namespace whose name prefixes the title, else 0."""
    if ":" in title:
        prefix = title.split(":", 1)[0].strip().lower()
        for key, name in namespaces.items():
            if key and name and name.lower() == prefix:
                return key
    return 0


def dump_name(path: str) -> str:
    return posixpath.basename(path.replace("\\", "/"))


def pages_to_documents(items: Iterable[Union[SiteInfo, Page]], name: str, cfg) -> Iterator[Union[Document, SourceReject, Count]]:
    """Turn parsed dump items into documents, counted skips and rejects (Beam-free; see ``read``). ``name``
    (the dump's path relative to its input root) keys ids and origins."""
    resolver = VariantResolver(cfg.variant, cfg.convert_fallback) if cfg.resolve_variants else None
    site = SiteInfo(None, None, None, {})
    wiki = WikiText(resolver, (), cfg.template_text)
    disamb = frozenset(t.lower().replace("_", " ") for t in cfg.disambiguation_templates)
    allowed = frozenset(cfg.namespaces)
    for item in items:
        if isinstance(item, SiteInfo):
            site = item
            drop = [site.namespaces.get(k, "") for k in (-2, 6, 14)]
            wiki = WikiText(resolver, [d for d in drop if d], cfg.template_text)
            continue
        page = item
        ns = page.ns if page.ns != -999 else namespace_of(page.title, site.namespaces)
        if ns not in allowed:
            yield Count("skipped/namespace")
            continue
        if page.redirect or _REDIRECT_RE.match(page.text):
            yield Count("skipped/redirect")
            continue
        origin = f"{name}#{page.id}"
        base = cfg.site_url or site.base or site_from_name(site.dbname or "") or site_from_name(dump_name(name))
        url = page_url(base, page.title)
        if len(page.text.encode("utf-8", "surrogatepass")) > cfg.max_page_bytes:
            yield SourceReject(origin, url, "page_too_large")
            continue
        try:
            code = wiki.parse(page.text)
            if disamb and wiki.is_disambiguation(code, disamb):
                yield Count("skipped/disambiguation")
                continue
            text = wiki.to_text(code)
        except Exception as exc:  # noqa: BLE001 - one bad page must not end the dump
            yield SourceReject(origin, url, f"wikitext_error:{type(exc).__name__}")
            continue
        if len(text) < cfg.min_chars:
            yield SourceReject(origin, url, "too_short")
            continue
        yield Document(
            id=doc_id(KIND, name, page.id or page.title),
            text=text,
            source=cfg.source,
            origin=origin,
            url=url,
            title=page.title or None,
            fetched_at=page.timestamp,
        )


def read_stream(raw: IO[bytes], name: str, cfg) -> Iterator[Union[Document, SourceReject, Count]]:
    """Documents of one dump stream; a truncated/malformed dump ends with one counted reject."""
    yield from _documents(open_decompressed(raw), name, cfg)


def _documents(stream: IO[bytes], name: str, cfg, where: Optional[str] = None
               ) -> Iterator[Union[Document, SourceReject, Count]]:
    holder: list[str] = []

    def items() -> Iterator[Union[SiteInfo, Page]]:
        try:
            yield from iter_dump(stream, cfg.max_page_bytes)
        except DumpError as exc:
            holder.append(exc.reason)

    yield from pages_to_documents(items(), name, cfg)
    if holder:
        yield SourceReject(where or name, None, holder[0])


# ---------------------------------------------------------------- multistream dumps
# ``*-pages-articles-multistream.xml.bz2`` is a series of bz2 streams: the first holds ``<mediawiki>`` and
# ``<siteinfo>``, each next one 100 ``<page>``s, the last ``</mediawiki>``; ``*-multistream-index.txt.bz2``
# lists ``offset:page_id:title`` with the byte offset of each page's stream. A split is a run of streams read
# by seeking to its first offset; every split but the first reads the header stream again (a few kB) for the
# siteinfo, and every split but the last ends with a closing ``</mediawiki>`` of its own.

_INDEX_NAMES = [(re.compile(r"-multistream\.xml\.bz2$"), "-multistream-index.txt.bz2"),
                (re.compile(r"-multistream(\d*)\.xml-(p\d+p\d+)\.bz2$"), r"-multistream-index\1.txt-\2.bz2")]
INDEX_RE = re.compile(r"-multistream-index\d*\.txt(?:-p\d+p\d+)?\.bz2$")


def index_path(path: str) -> Optional[str]:
    """The multistream index Wikimedia publishes beside ``path``, by its naming convention (None: not multistream)."""
    for pattern, repl in _INDEX_NAMES:
        if pattern.search(path):
            return pattern.sub(repl, path)
    return None


def stream_offsets(index: IO[bytes]) -> list[int]:
    """Distinct stream offsets of a (bz2) index file, ascending; one int per 100 pages, read streaming."""
    offsets: list[int] = []
    with bz2.BZ2File(index) as f:
        for line in f:
            head = line.split(b":", 1)[0]
            if head.isdigit():
                off = int(head)
                if not offsets or off != offsets[-1]:
                    offsets.append(off)
    return sorted(set(offsets))


def plan(path: str, kind: str, name: str, size: int, recipe) -> list[Split]:
    """One split per ``sources.wiki_streams_per_split`` streams when the dump's index exists; else one split."""
    from apache_beam.io.filesystems import FileSystems

    whole = [Split(path, kind, name, size)]
    idx = index_path(path)
    if idx is None or not FileSystems.exists(idx):
        return whole
    with FileSystems.open(idx, compression_type="uncompressed") as f:
        offsets = [o for o in stream_offsets(f) if 0 < o < size]
    step = recipe.sources.wiki_streams_per_split
    if len(offsets) <= step:
        return whole
    starts = [0, *offsets[step::step]]  # the first split also reads the header stream (bytes before offsets[0])
    return [Split(path, kind, name, size, i, start, starts[i + 1] if i + 1 < len(starts) else None)
            for i, start in enumerate(starts)]


class _Limited(io.RawIOBase):
    """At most ``n`` bytes of ``raw`` from its current position."""

    def __init__(self, raw: IO[bytes], n: Optional[int]):
        self.raw, self.left = raw, n

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        want = len(b) if self.left is None else min(len(b), self.left)
        data = self.raw.read(want) if want else b""
        b[:len(data)] = data
        if self.left is not None:
            self.left -= len(data)
        return len(data)


class _Chain(io.RawIOBase):
    """Byte streams read one after another (header stream + page streams + closing tag) as one XML stream."""

    def __init__(self, *parts: IO[bytes]):
        self.parts = list(parts)

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        while self.parts:
            data = self.parts[0].read(len(b))
            if data:
                b[:len(data)] = data
                return len(data)
            self.parts.pop(0)
        return 0


def _header(raw: IO[bytes]) -> bytes:
    """The decompressed first bz2 stream of a multistream dump (``<mediawiki …><siteinfo>…</siteinfo>``)."""
    d, out = bz2.BZ2Decompressor(), []
    raw.seek(0)
    while not d.eof:
        chunk = raw.read(65536)
        if not chunk:
            raise DumpError("xml_truncated")
        out.append(d.decompress(chunk, 1 << 24))
        if sum(map(len, out)) >= 1 << 24:  # a header is a few kB; this is not a multistream dump
            raise DumpError("multistream_header_too_large")
    return b"".join(out)


def read(split: Split | str, recipe) -> Iterator[Union[Document, SourceReject, Count]]:
    """READERS entry point (``kind = mediawiki``): a whole dump, or one run of streams of a multistream dump."""
    from apache_beam.io.filesystems import FileSystems

    split = as_split(split, KIND)
    cfg = recipe.sources.mediawiki
    with FileSystems.open(split.path, compression_type="uncompressed") as raw:
        if split.start == 0 and split.stop is None:
            yield from read_stream(raw, split.name, cfg)
            return
        where = f"{split.name}@{split.start}"
        head = b""
        if split.start > 0:  # the first split starts at 0 and holds the header stream itself
            try:
                head = _header(raw)
            except DumpError as exc:
                yield SourceReject(where, None, exc.reason)
                return
            raw.seek(split.start)
        pages = io.BufferedReader(_Limited(raw, None if split.stop is None else split.stop - split.start))
        tail = io.BytesIO(b"" if split.stop is None else b"</mediawiki>")
        stream = io.BufferedReader(_Chain(io.BytesIO(head), bz2.BZ2File(pages), tail))
        yield from _documents(stream, split.name, cfg, where)
