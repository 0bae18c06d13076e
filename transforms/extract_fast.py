"""Output-preserving speed-ups of trafilatura 2.3.1 / justext 3.0.2 for ``transforms/extract.py`` (issue #20,
recipe key ``extract.fast_paths``).

Two kinds: the same computation done cheaper, and a step skipped where a bound proves it cannot change the
result. The biggest: trafilatura selects boilerplate with XPath expressions that call EXSLT ``re:test``, which
lxml runs as a Python callback per element (building a "smart" attribute string with a proxy of its element,
through lxml.html's Python class lookup); here each hot expression has a tree walk selecting the same elements
with the same regexes, and the page is parsed with a C-level class lookup. Then fewer tree copies, a readability
gate that decides before copying and bounds tighter, html2txt skipped in the escalation test where a bound
settles it, justext paragraphs without lxml.sax, a cheaper tree_cleaning and title (bench/EXTRACT.md lists them).

Everything is wired into trafilatura once per process (``install``) but acts only inside ``fast_xpaths()`` (our
calls); elsewhere trafilatura runs unchanged. It is keyed to the sources it mirrors (``SOURCES``,
``FINGERPRINTS``): with any other trafilatura/justext nothing is wired and the extractor uses plain trafilatura.
``tests/test_extract_fast.py`` checks the same text and title on real pages, with every shortcut taken and declined.
"""
from __future__ import annotations

import contextlib
import contextvars
import functools
import re
from copy import copy
from typing import Callable, Iterator, Optional

from lxml import etree
from lxml.html import HtmlComment, HtmlElement, HtmlEntity, HtmlProcessingInstruction, HTMLParser

_ACTIVE = contextvars.ContextVar("yuliao_fast_xpaths", default=False)

# trafilatura.utils.HTML_PARSER's settings, with a lookup done in C instead of HtmlElementClassLookup.lookup
_PARSER = HTMLParser(collect_ids=False, default_doctype=False, encoding="utf-8", remove_comments=True,
                     remove_pis=True)
_PARSER.set_element_class_lookup(etree.ElementDefaultClassLookup(
    element=HtmlElement, comment=HtmlComment, pi=HtmlProcessingInstruction, entity=HtmlEntity))


def load_html(html: str):
    """``trafilatura.utils.load_html`` for a decoded page, on the parser above (same tree, cheaper proxies)."""
    from lxml.html import fromstring
    from trafilatura.utils import is_dubious_html

    beginning = html[:50].lower()
    check_flag = is_dubious_html(beginning)
    html = _repair_faulty_html(html, beginning)
    tree, fallback_parse = None, False
    try:
        tree = fromstring(html, parser=_PARSER)
    except ValueError:  # "Unicode strings with encoding declaration are not supported."
        tree, fallback_parse = _from_bytes(html), True
    except Exception:  # noqa: BLE001 - as trafilatura: a page lxml cannot parse has no tree
        pass
    if (tree is None or len(tree) < 1) and not fallback_parse:
        tree = _from_bytes(html)
    if tree is not None and check_flag and len(tree) < 2:
        tree = None
    return tree


# trafilatura.utils.INVALID_XML_CHARS, as single characters: ``c in html`` is a memchr-speed scan, the regex
# was a third of the parse time on pages without any of them (nearly all)
_INVALID_XML = tuple(chr(c) for c in (*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0xFFFE, 0xFFFF))


def _repair_faulty_html(html: str, beginning: str) -> str:
    """``trafilatura.utils.repair_faulty_html`` without its two full-page passes where they change nothing."""
    from trafilatura.utils import DOCTYPE_TAG, FAULTY_HTML, INVALID_XML_CHARS

    if any(c in html for c in _INVALID_XML):
        html = INVALID_XML_CHARS.sub("", html)
    if "doctype" in beginning:  # the original splits the page at its first newline and joins it again
        nl = html.find("\n")
        first = html if nl < 0 else html[:nl]
        fixed = DOCTYPE_TAG.sub("", first, count=1)
        if nl < 0:
            html = fixed + "\n"
        elif fixed != first:
            html = fixed + html[nl:]
    for line in html[:4096].splitlines()[:4]:
        if "<html" in line and line.endswith("/>"):
            html = FAULTY_HTML.sub(r"\1>", html, count=1)
            break
    return html


def _meta_title(tree) -> Optional[str]:
    """The title trafilatura's ``examine_meta`` gives: the last og:title (not blank), else the first
    ``<meta name>`` in METANAME_TITLE (not an author name) or ``itemprop=headline``, tags stripped.
    examine_meta also normalises authors, tags, site name and image on every page; we keep only the title."""
    from trafilatura.metadata import METANAME_AUTHOR, METANAME_TITLE
    from trafilatura.utils import HTML_STRIP_TAGS

    title = None
    for head in tree.iter("head"):
        for elem in head.iterchildren("meta"):  # extract_opengraph: .//head/meta[starts-with(@property, "og:")]
            if elem.get("property") == "og:title":
                content = elem.get("content")
                if content and not content.isspace():
                    title = content
    if title:
        return title
    for elem in tree.iterfind(".//head/meta[@content]"):
        content = HTML_STRIP_TAGS.sub("", elem.get("content", "")).strip()
        if not content or "property" in elem.attrib:  # the property branch never sets the title
            continue
        if "name" in elem.attrib:
            name = elem.get("name", "").lower()
            if name in METANAME_TITLE and name not in METANAME_AUTHOR:
                return content
        elif "itemprop" in elem.attrib and elem.get("itemprop", "").lower() == "headline":
            return content
    return None


def page_title(tree) -> Optional[str]:
    """``transforms.extract.page_title``: the title part of examine_meta, and the JSON-LD pass only when that
    gave no title (trafilatura's JSON-LD pass only sets a title that is still empty; it reads no other field
    for it), then ``<title>``/``<h1>`` and the same trimming."""
    from trafilatura.metadata import extract_meta_json, extract_title
    from trafilatura.settings import Document

    meta = Document()
    meta.title = _meta_title(tree)
    if not meta.title:
        try:
            meta = extract_meta_json(tree, meta)
        except Exception:  # noqa: BLE001 - as transforms.extract.page_title
            pass
    if not meta.title:
        meta.title = extract_title(tree)
    meta.clean_and_trim()
    return meta.title


_TEXT_NODES = etree.XPath(".//text()", smart_strings=False)


def visible_len(tree) -> int:
    """``len(transforms.extract.visible_text(tree, ∞, {script, style}, body_only=False))``, counted in C.

    That text is the words of every text node outside scripts and styles joined by single spaces, so its
    length is (characters in those words) + (number of words) - 1: count over all text nodes, then take
    the script and style contents back out (their tails are page text). If a script held elements, part
    of its text would stay counted: a larger length only makes the readability gate skip less.
    """
    words = " ".join(_TEXT_NODES(tree)).split()
    chars, n = sum(map(len, words)), len(words)
    for el in tree.iter("script", "style"):
        if el.text:
            words = el.text.split()
            chars, n = chars - sum(map(len, words)), n - len(words)
    return chars + n - 1 if n > 0 else 0


_CLASS_OR_ID = etree.XPath(".//*[@class or @id]")


def _words(el) -> int:
    """What ``el``'s text adds to ``visible_len``: characters plus count of its words outside scripts/styles."""
    words = " ".join(_TEXT_NODES(el)).split()
    total = sum(map(len, words)) + len(words)
    for code in el.iter("script", "style"):
        if code.text:
            words = code.text.split()
            total -= sum(map(len, words)) + len(words)
    return total


def readability_fits(tree, limit: int) -> bool:
    """True when readability's text for ``tree`` cannot be longer than ``limit``.

    Readability keeps a part of the page text, so ``visible_len(tree) <= limit`` is enough. Failing that
    (and only when the page text is at most twice the limit: the test below costs a walk of the page),
    readability deletes the subtrees whose class/id reads "unlikely" (``remove_unlikely_candidates``,
    same regexes) before it picks the article, so their words can be taken off the bound.
    """
    from trafilatura.readability_lxml import FRAME_TAGS, REGEXES

    page = visible_len(tree)
    seen = _TEXT_LEN.get()
    if seen is not None:  # the escalation test's html2txt bound may reuse it (same raw tree, not changed since)
        seen[1:] = [tree, page]
    # readability's sanitize writes "VIDEO" into video iframes: room for it (and a separator) per iframe
    total = page + 6 * int(tree.xpath("count(.//iframe)"))
    if total <= limit:
        return True
    if total > 2 * limit:
        return False
    unlikely, maybe = REGEXES["unlikelyCandidatesRe"].search, REGEXES["okMaybeItsACandidateRe"].search
    verdicts: dict = {}
    dropped: set = set()
    for el in _CLASS_OR_ID(tree):  # readability_lxml.Document.remove_unlikely_candidates
        attrs = " ".join(filter(None, (el.get("class"), el.get("id"))))
        if len(attrs) < 2 or el.tag in FRAME_TAGS:
            continue
        if attrs not in verdicts:
            low = attrs.lower()
            verdicts[attrs] = bool(unlikely(low)) and not maybe(low)
        if verdicts[attrs] and not any(a in dropped for a in el.iterancestors()):
            dropped.add(el)
            total -= _words(el)
            if total <= limit:
                return True
    return False


def _from_bytes(html: str):
    from lxml.html import fromstring

    try:
        return fromstring(html.encode("utf8", "surrogatepass"), parser=_PARSER)
    except Exception:  # noqa: BLE001 - trafilatura.utils.fromstring_bytes: None on any parser error
        return None


# ------------------------------------------------------------------ attribute helpers (XPath string semantics)
def _first(el, a: str, b: str) -> str:
    """String value of ``@a|@b``: the one of the two attributes that comes first on the element, else ""."""
    va, vb = el.get(a), el.get(b)
    if va is None:
        return vb or ""
    if vb is None:
        return va
    keys = el.keys()
    return va if keys.index(a) < keys.index(b) else vb


def _search(pattern: str, ignore_case: bool = False) -> Callable[[str], object]:
    """EXSLT ``re:test`` as lxml implements it: ``re.search`` with UNICODE (and IGNORECASE for flag 'i').

    The walks test an absent attribute as "" or skip it; both are the same only for patterns that do not
    match the empty string, which every one here must satisfy.
    """
    search = re.compile(pattern, re.UNICODE | (re.IGNORECASE if ignore_case else 0)).search
    if search(""):
        raise ValueError(f"pattern matches the empty string: {pattern!r}")
    return search


def _desc(tree, tags: tuple[str, ...]) -> Iterator:
    """``.//*[self::t1 or self::t2 …]``: descendants (not the node itself) with these tags, in document order."""
    return tree.iterdescendants(*tags) if tags else tree.iterdescendants(etree.Element)


# ------------------------------------------------------------------ the expressions
def _raw_tree_prune_0():
    t1 = _search("mvp-post-add-(?:box|wrap)|infinite-?scroll")
    t2 = _search("mvp-post-add-(?:box|wrap)")

    def select(tree) -> list:
        out = []
        for el in _desc(tree, ("div", "section", "aside")):
            i, c = el.get("id") or "", el.get("class") or ""
            if (t1(i) or t1(c)) and (el.find(".//h1") is None or t2(i) or t2(c)):
                out.append(el)
        return out
    return select


def _raw_tree_prune_1():
    def select(tree) -> list:
        return [el for el in _desc(tree, ("div", "section", "aside"))
                if "elementor-share-buttons" in (el.get("class") or "")]
    return select


def _remove_comments_and_lists():
    cid = "[Cc]omment(?!ary)|comol"
    t_id = _search(f"^(?:{cid}|disqus_thread|dsq-comments)")
    t_cls = _search("^[Cc]omment(?!ary)|(?:article|post)-comments")
    t_id2 = _search(f"^(?:{cid})")

    def select(tree) -> list:
        out = []
        for el in _desc(tree, ("div", "list", "section", "details", "ol", "ul")):
            i, c = el.get("id") or "", el.get("class") or ""
            if not (t_id(i) or t_cls(c)):
                continue
            if el.tag not in ("ol", "ul") or t_id2(i) or t_cls(c):
                out.append(el)
        return out
    return select


_DISCARD_TAGS = ("div", "item", "list", "p", "section", "span")


def _overall_discard_0(id_tokens: str, class_tokens: str):
    t_id, t_cls = _search(id_tokens), _search(class_tokens)  # neither matches "": absent attributes are skipped

    def select(tree) -> list:
        out = []
        for el in _desc(tree, _DISCARD_TAGS):
            keys = el.keys()
            if not keys:
                continue
            get = el.get
            i, c = get("id"), get("class")
            if ((i and t_id(i)) or (c and t_cls(c)) or get("data-lp-replacement-content") is not None
                    or "nav" in (get("role") or "").replace("N", "n")
                    or "MostPopularStories" in (get("data-component") or "")
                    or "cookie" in _first(el, "id", "class")):  # re:test(…, 'cookie'): a plain substring
                out.append(el)
        return out
    return select


def _overall_discard_1(class_tokens: str):
    t_id = _search("reader-comments|akismet")
    t_cls = _search(class_tokens)  # does not match ""

    def select(tree) -> list:
        out = []
        for el in _desc(tree, ()):
            get = el.get
            i, c, s = get("id"), get("class"), get("style")
            if i is None and c is None and s is None:
                if get("aria-hidden") == "true":
                    out.append(el)
                continue
            if (c == "comments-title" or (c and t_cls(c)) or (i and t_id(i))
                    or _first(el, "id", "class").startswith("reply-")
                    or "hidden" in _first(el, "id", "style")  # re:test(@id|@style, 'hidden'): a substring
                    or (s is not None and ("display:none" in s or "display: none" in s))
                    or get("aria-hidden") == "true"):
                out.append(el)
        return out
    return select


def _overall_discard_both(id_tokens: str, class_tokens: str, hide_tokens: str) -> Callable:
    """``_overall_discard_0`` and ``_overall_discard_1`` in one pass over the tree: (nodes of the first, nodes of
    the second), each in document order, as trafilatura's ``prune_unwanted_nodes`` collects them. The tests of
    an id or class value are cached by value (a pure function of it: the cache changes no result; class lists
    repeat a lot within a page and across pages); the attribute order (``@id|@class``: the first on the
    element) is read only when an element has both."""
    t_id0, t_cls0 = _search(id_tokens), _search(class_tokens)
    t_id1, t_cls1 = _search("reader-comments|akismet"), _search(hide_tokens)
    ids: dict = {}
    classes: dict = {}
    discard_tags = frozenset(_DISCARD_TAGS)
    no = (False, False, False, False, False)  # an absent or empty value

    def id_tests(i: str) -> tuple:  # discard_0 regex, discard_1 regex, 'cookie', 'reply-' prefix, 'hidden'
        return bool(t_id0(i)), bool(t_id1(i)), "cookie" in i, i.startswith("reply-"), "hidden" in i

    def class_tests(c: str) -> tuple:
        return bool(t_cls0(c)), bool(t_cls1(c)), "cookie" in c, c.startswith("reply-"), False

    def cached(cache: dict, value: Optional[str], tests: Callable) -> tuple:
        if not value:
            return no
        v = cache.get(value)
        if v is None:
            if len(cache) >= _VERDICT_CACHE_MAX:
                cache.clear()
            v = cache[value] = tests(value)
        return v

    def select(tree) -> tuple[list, list]:
        out0, out1 = [], []
        for el in tree.iterdescendants(etree.Element):
            get = el.get
            i, c, s = get("id"), get("class"), get("style")
            if i is None and c is None and s is None:
                if el.tag in discard_tags and el.keys() and (
                        get("data-lp-replacement-content") is not None
                        or "nav" in (get("role") or "").replace("N", "n")
                        or "MostPopularStories" in (get("data-component") or "")):
                    out0.append(el)
                if get("aria-hidden") == "true":
                    out1.append(el)
                continue
            vi, vc = cached(ids, i, id_tests), cached(classes, c, class_tests)
            if i is None:  # _first(el, "id", "class")'s tests
                first = vc
            elif c is None:
                first = vi
            else:
                keys = el.keys()
                first = vi if keys.index("id") < keys.index("class") else vc
            if el.tag in discard_tags and (  # _overall_discard_0 (an element with id/class/style has keys)
                    vi[0] or vc[0] or get("data-lp-replacement-content") is not None
                    or "nav" in (get("role") or "").replace("N", "n")
                    or "MostPopularStories" in (get("data-component") or "")
                    or first[2]):  # re:test(@id|@class, 'cookie'): a substring
                out0.append(el)
            if (c == "comments-title" or vc[1] or vi[1]  # _overall_discard_1
                    or first[3]
                    or ("hidden" in (s or "") if i is None else  # re:test(@id|@style, 'hidden')
                        vi[4] if s is None else "hidden" in _first(el, "id", "style"))
                    or (s is not None and ("display:none" in s or "display: none" in s))
                    or get("aria-hidden") == "true"):
                out1.append(el)
        return out0, out1
    return select


_VERDICT_CACHE_MAX = 50_000  # id/class values remembered per process (cleared when full: bounded memory)


def _contains_any(tags: tuple[str, ...], needle: str, fold: Optional[tuple[str, str]] = None):
    """``.//*[tags][contains(@id, needle) or contains(@class, needle)]`` (with ``translate`` by ``fold``)."""
    def select(tree) -> list:
        out = []
        for el in _desc(tree, tags):
            i, c = el.get("id") or "", el.get("class") or ""
            if fold:
                i, c = i.replace(*fold), c.replace(*fold)
            if needle in i or needle in c:
                out.append(el)
        return out
    return select


def _first_match(tags: tuple[str, ...], test: Callable) -> Callable:
    """``(.//*[tags][test])[1]`` as the extractor uses it: a list holding the first match in document order
    (trafilatura takes only the first element of these results)."""
    def select(tree) -> list:
        for el in _desc(tree, tags):
            if test(el):
                return [el]
        return []
    return select


_BODY_TAGS = ("article", "div", "main", "section")


def _body_0(id_tokens: str, class_tokens: str):
    t_id, t_cls = _search(id_tokens), _search(class_tokens)

    def test(el) -> bool:
        get = el.get
        i, c = get("id"), get("class")
        return (c == "post" or c == "entry" or get("itemprop") == "articleBody" or i == "articleContent"
                or bool(t_id(i or "")) or bool(t_cls(c or "")))
    return _first_match(_BODY_TAGS, test)


def _body_1():
    def select(tree) -> list:
        el = next(tree.iterdescendants("article"), None)
        return [] if el is None else [el]
    return select


def _body_2(id_tokens: str, class_tokens: str):
    t_id, t_cls, full = _search(id_tokens), _search(class_tokens), _search("fulltext", ignore_case=True)

    def test(el) -> bool:
        get = el.get
        i, c = get("id"), get("class")
        return (get("role") == "article" or i in ("article", "story")
                or c in ("postarea", "art-postcontent", "text", "cell", "story")
                or bool(t_id(i or "")) or bool(full(c or "")) or bool(t_cls(c or "")))
    return _first_match(_BODY_TAGS, test)


def _body_3(id_tokens: str, class_tokens: str):
    t_id, t_cls = _search(id_tokens), _search(class_tokens)

    def test(el) -> bool:
        i, c = el.get("id") or "", el.get("class") or ""
        return (el.get("id") == "content" or el.get("class") == "content" or bool(t_id(i)) or bool(t_cls(c))
                or "main-content" in i.replace("C", "c").replace("M", "m")
                or "main-content" in c.replace("C", "c").replace("M", "m")
                or "page-content" in c.replace("C", "c").replace("P", "p"))
    return _first_match(_BODY_TAGS, test)


def _body_4():
    def select(tree) -> list:
        for el in tree.iterdescendants("article", "div", "section", "main"):
            if el.tag == "main":
                return [el]
            if ((el.get("class") or "").startswith("main") or (el.get("id") or "").startswith("main")
                    or (el.get("role") or "").startswith("main")):
                return [el]
        return []
    return select


_CLEAN_TAGS = frozenset({"aside", "fencedframe", "footer", "script", "style", "svg", "template"})


def _basic_clean(pattern: str):
    test = _search(pattern, ignore_case=True)

    def select(tree) -> list:
        out = []
        for el in _desc(tree, ()):
            tag = el.tag
            if (tag in _CLEAN_TAGS or (tag == "div" and "footer" in _first(el, "class", "id"))
                    or test(el.get("class") or "") or test(el.get("id") or "")):
                out.append(el)
        return out
    return select


# ------------------------------------------------------------------ trafilatura's cascade without avoidable copies
def bare_text(tree, options) -> Optional[str]:
    """``bare_extraction(tree, output_format="python", with_metadata=False, …)``'s text, for a
    ``trafilatura.settings.Extractor`` without language, metadata or tree-size options.

    bare_extraction copies a tree it is given (the caller may still need it); ours is not used afterwards,
    so the cascade runs on it directly: the same steps as bare_extraction for these options, one copy less.
    """
    import trafilatura.core as core

    token = _TEXT_LEN.set([None, None, 0])
    try:
        postbody, temp_text, _, temp_comments = core.trafilatura_sequence(tree, options, options.url)
        if len(temp_text) < options.min_output_size and len(temp_comments) < options.min_output_comm_size:
            raise ValueError
        if options.dedup and core.duplicate_test(postbody, options) is True:
            raise ValueError
    except (TypeError, ValueError):  # bare_extraction's "discarding data"
        return None
    finally:
        _TEXT_LEN.reset(token)
    return core.xmltotxt(postbody, options.formatting)


def direct_options(kw: dict):
    """The ``Extractor`` options bare_extraction builds from our keyword arguments, or None when
    ``bare_text`` does not cover them (or this trafilatura lacks the pieces it calls)."""
    import trafilatura.core as core
    from trafilatura.settings import DEFAULT_CONFIG, Extractor as Options

    if not all(hasattr(core, f) for f in ("trafilatura_sequence", "duplicate_test", "xmltotxt")):
        return None
    options = Options(config=DEFAULT_CONFIG, output_format="python", fast=kw["fast"],
                      precision=kw["favor_precision"], recall=kw["favor_recall"], comments=kw["include_comments"],
                      formatting=None, links=False, images=False, tables=kw["include_tables"],
                      dedup=kw["deduplicate"], lang=None, url=None, with_metadata=False, only_with_metadata=False,
                      author_blacklist=None, url_blacklist=None, date_params=None)
    return None if options.max_tree_size or options.lang or options.with_metadata else options


def _gated_extract_and_compare(original: Callable) -> Callable:
    """``core._extract_and_compare`` deciding the readability gate before copying the raw tree for
    readability (the copy is wasted when readability cannot win; the gate only reads the tree)."""
    import trafilatura.core as core

    @functools.wraps(original)
    def extract_and_compare(cleaned_tree, cleaned_tree_backup, tree, options):
        from transforms.extract import _GATE, _readability_cannot_win

        gate = _GATE.get()
        if not _ACTIVE.get() or gate == "always":
            return original(cleaned_tree, cleaned_tree_backup, tree, options)
        postbody, temp_text = core.extract_content(cleaned_tree, options)
        if not options.fast:
            compare = core.compare_extraction
            compare = getattr(compare, "yuliao_original", compare)  # past transforms.extract's gate wrapper
            skip = (gate == "never"  # or compare_extraction returns before readability (its recall bypass)
                    or (options.focus == "recall" and len(temp_text) > options.min_extracted_size * 10)
                    or _readability_cannot_win(tree, postbody, temp_text, options, True))
            raw = HtmlElement() if skip else copy(tree)  # readability of an empty page: "", ours is kept
            postbody, temp_text = compare(cleaned_tree_backup, raw, postbody, temp_text, options)
        seen = _TEXT_LEN.get()
        if seen is not None and seen[0] is None:  # the main cascade's text (the recall retry comes later)
            seen[0] = len(temp_text)
        return postbody, temp_text

    extract_and_compare.yuliao_fast = True
    return extract_and_compare


def _fast_tree_cleaning(original: Callable) -> Callable:
    """``htmlprocessing.tree_cleaning`` of trafilatura 2.3.1 with two cheaper steps: the deletion loop skips
    the tags the page does not have (it scanned the whole tree once per tag, ~50 tags), and ``prune_html``
    selects its empty elements in C (``e.text is None and len(e) == 0`` is ``not(node())``)."""
    import trafilatura.htmlprocessing as hp
    from copy import deepcopy

    empty = etree.XPath(".//*[not(node())][" + " or ".join(f"self::{t}" for t in sorted(hp.CUT_EMPTY_ELEMS)) + "]")

    @functools.wraps(original)
    def tree_cleaning(tree, options):
        if not _ACTIVE.get():
            return original(tree, options)
        hp.recover_math(tree)
        cleaning_list, stripping_list = hp.MANUALLY_CLEANED.copy(), hp.MANUALLY_STRIPPED.copy()
        clean_forms = "form" in cleaning_list
        if clean_forms:
            cleaning_list.remove("form")
        if not options.tables:
            cleaning_list.extend(["table", "td", "th", "tr"])
        else:
            for elem in tree.iter("figure", "table"):
                if elem.find(".//table") is not None if elem.tag == "figure" else elem.get("role") in ("presentation", "none"):
                    elem.tag = "div"
        if options.images:
            cleaning_list = [e for e in cleaning_list if e not in hp.PRESERVE_IMG_CLEANING]
            stripping_list.remove("img")
        hp.strip_tags(tree, stripping_list)
        tcopy = None
        if (
            options.focus == "recall"
            and tree.find(".//p") is not None
            and ("p" in cleaning_list or not any(next(p.iterancestors(cleaning_list), tree) is tree for p in tree.iter("p")))
        ):
            tcopy = deepcopy(tree)
        present = {el.tag for el in tree.iter(*cleaning_list)}  # one scan; deleting creates no element
        for expression in cleaning_list:
            if expression in present:
                for element in tree.iter(expression):
                    hp.delete_element(element)
        if tcopy is not None and tree.find(".//p") is None:
            tree = tcopy
        if clean_forms:
            hp._handle_forms(tree)
        tails = options.focus != "precision"  # prune_html
        for element in empty(tree):
            hp.delete_element(element, keep_tail=tails)
        return tree

    return tree_cleaning


class _LazyBackup:
    """Stands in for ``_prepare_tree``'s copy of the cleaned, not yet converted tree. Only justext reads it
    (in ``compare_extraction``, on a few pages), so it is rebuilt from the raw tree when asked for:
    ``tree_cleaning(copy(tree))`` again, the same tree, since the raw tree is not changed in between."""

    __slots__ = ("tree", "options")

    def __init__(self, tree, options):
        self.tree, self.options = tree, options

    def build(self):
        import trafilatura.core as core

        return core.tree_cleaning(copy(self.tree), self.options)


def _lazy_prepare_tree(original: Callable) -> Callable:
    import trafilatura.core as core

    @functools.wraps(original)
    def prepare_tree(tree, options, url):
        if not _ACTIVE.get() or options.comments:  # comments: the backup is also re-converted for forums
            return original(tree, options, url)
        cleaned = core.tree_cleaning(copy(tree), options)
        return core.convert_tags(cleaned, options, url), _LazyBackup(tree, options)
    return prepare_tree


def _justext_reading_backup(original: Callable) -> Callable:
    @functools.wraps(original)
    def justext_rescue(tree, options):
        return original(tree.build() if isinstance(tree, _LazyBackup) else tree, options)
    return justext_rescue


# [length of trafilatura_sequence's current text, raw tree, its visible_len] for the escalation test that follows
# the cascade: the length set by the first _extract_and_compare of a bare_text call, updated where the baseline
# rescue replaces that text; the tree and its page length recorded by readability_fits.
_TEXT_LEN: contextvars.ContextVar = contextvars.ContextVar("yuliao_text_len", default=None)


def _tracked_baseline(original: Callable) -> Callable:
    """``core.baseline`` noting the text length the sequence keeps after its rescue step."""
    @functools.wraps(original)
    def baseline(tree):
        result = original(tree)
        seen = _TEXT_LEN.get()
        if _ACTIVE.get() and seen is not None and seen[0] is not None and result[2] > seen[0]:
            seen[0] = len(result[1])  # trafilatura_sequence: ``if b_len > len(temp_text): temp_text = b_text``
        return result
    return baseline


def _bounded_html2txt(original: Callable) -> Callable:
    """``core.html2txt`` as the escalation test uses it: ``len(text) < ESCALATION_PAGE_SHARE *
    len(html2txt(tree))``. When the text is already at least that share of an upper bound of the page text,
    the test is false whatever html2txt returns, so "" stands in for it (html2txt copies and cleans the tree).

    Bound: html2txt is the words of the cleaned body's text joined by single spaces; cleaning only removes
    subtrees (scripts and styles among them) and characters, and the spaces it adds at block boundaries
    split words only where two text nodes meet, so it is at most ``visible_len(body)``, which is at most
    ``visible_len(tree)`` (its words are a subset of the page's): the readability gate counted that one on the
    same raw tree earlier in the cascade (nothing changes that tree in between), so it is tried first and the
    body counted only when it does not settle the test.
    """
    import trafilatura.core as core

    @functools.wraps(original)
    def html2txt(tree, *args, **kw):
        seen = _TEXT_LEN.get()
        if _ACTIVE.get() and not args and not kw and seen is not None and seen[0]:
            if seen[1] is tree and seen[0] >= core.ESCALATION_PAGE_SHARE * seen[2]:
                return ""
            body = tree.find(".//body")
            if seen[0] >= core.ESCALATION_PAGE_SHARE * visible_len(tree if body is None else body):
                return ""
        return original(tree, *args, **kw)
    return html2txt


def _guarded_overall_discard(original: Callable, nodelist: list, both: Callable) -> Callable:
    """``htmlprocessing.prune_unwanted_nodes`` as ``prune_unwanted_sections`` calls it first
    (``OVERALL_DISCARD_XPATH``, ``with_backup=True``: collect the nodes of both expressions, then delete the
    outermost unless that removes over 6/7 of the text), with both expressions' nodes from one walk."""
    import trafilatura.htmlprocessing as hp

    @functools.wraps(original)
    def prune_unwanted_nodes(tree, nodes, with_backup=False):
        if not (with_backup and nodes is nodelist and _ACTIVE.get()):
            return original(tree, nodes, with_backup)
        first, second = both(tree)
        matches = dict.fromkeys(first + second)
        outer = [elem for elem in matches if not any(a in matches for a in elem.iterancestors())]
        old_len = len(tree.text_content())
        if old_len - sum(len(elem.text_content()) for elem in outer) > old_len / 7:
            for elem in outer:
                hp.delete_element(elem)
        return tree

    prune_unwanted_nodes.yuliao_fast = True
    return prune_unwanted_nodes


def _memo_delete_by_link_density(original: Callable) -> Callable:
    """``htmlprocessing.delete_by_link_density`` (with its ``link_density_test`` and ``collect_link_info``) with
    the trimmed text length of each element read once per call: it tests every div (list, p) of the subtree and
    each test re-reads the text of every link below it, so a link under five nested divs was read five times.
    The tree does not change during a call (the deletions come after the loop), so a length read once holds."""
    import trafilatura.htmlprocessing as hp
    from trafilatura.utils import trim

    def link_test(element, favor_precision: bool, size: Callable) -> tuple[bool, bool]:
        links = element.findall(".//ref")
        if not links:
            return False, False
        if element.find(".//graphic") is not None:  # preserve image containers
            return False, False
        elemlen = size(element)
        if len(links) == 1:
            link_len = size(links[0])
            if link_len > (10 if favor_precision else 100) and link_len > elemlen * 0.9:
                return True, False
        if element.tag == "p":
            limitlen = 60 if element.getnext() is None else 30
        elif element.getnext() is None:
            limitlen = 300
        else:
            limitlen = 100
        if elemlen < limitlen:
            lengths = [n for n in map(size, links) if n]  # collect_link_info: links with text
            if not lengths:
                return True, False
            short = sum(1 for n in lengths if n < 10)
            return sum(lengths) > elemlen * 0.8 or (len(lengths) > 1 and short / len(lengths) > 0.8), True
        if len(links) > 4:
            lengths = [n for n in map(size, links) if n]
            linklen = sum(lengths)
            if (linklen > elemlen * hp.LINK_FARM_RATIO and linklen < 100 * len(lengths)
                    and not hp.is_paragraph_listing(links)):
                return True, False
        return False, False

    @functools.wraps(original)
    def delete_by_link_density(subtree, tagname, backtracking=False, favor_precision=False):
        if not _ACTIVE.get():
            return original(subtree, tagname, backtracking, favor_precision)
        sizes: dict = {}

        def size(el) -> int:  # len(trim(el.text_content())), once per element
            n = sizes.get(el)
            if n is None:
                n = sizes[el] = len(trim(el.text_content()))
            return n

        deletions = []
        len_threshold = 200 if favor_precision else 100
        depth_threshold = 1 if favor_precision else 3
        for elem in subtree.iter(tagname):
            result, short_with_links = link_test(elem, favor_precision, size)
            if result or (backtracking and short_with_links and len(elem) >= depth_threshold
                          and size(elem) < len_threshold):
                parent = elem.getparent()
                if tagname == "p" and parent is not None and parent.tag in ("item", "td", "th"):
                    continue
                deletions.append(elem)
        for elem in dict.fromkeys(deletions):
            hp.delete_element(elem)
        return subtree

    delete_by_link_density.yuliao_fast = True
    return delete_by_link_density


# ------------------------------------------------------------------ justext without lxml.sax
_NL_RUN = re.compile(r"\s*[\n\r]\s*")
_BLANK_RUN = re.compile(r"[^\S\n\r]+")


def normalize_ws(text: str) -> str:
    """``justext.utils.normalize_whitespace`` without its Python callback per whitespace run: a run holding a
    line break becomes one LF, any other run one space. (The first pattern matches exactly the runs holding a
    line break, from their first character, whole; the runs left after it hold none.)"""
    if "\n" in text or "\r" in text:
        text = _NL_RUN.sub("\n", text)
    return _BLANK_RUN.sub(" ", text)


def _frozen_stoplist(original: Callable) -> Callable:
    """``justext.core.classify_paragraphs`` given trafilatura's stoplist (a tuple of every language's stopwords,
    ~20k) as a frozenset of the same words: classify_paragraphs passes it to an ``lru_cache``d function, which
    hashed the whole tuple on every call (tuples do not keep their hash, frozensets do) — 4 ms per justext run.
    The set it builds from either is the same."""
    frozen: dict = {}

    @functools.wraps(original)
    def classify_paragraphs(paragraphs, stoplist, *args, **kw):
        if _ACTIVE.get() and type(stoplist) is tuple:
            hit = frozen.get(id(stoplist))
            if hit is None or hit[0] is not stoplist:
                if len(frozen) > 8:  # a handful of stoplists per process at most: bounded anyway
                    frozen.clear()
                hit = frozen[id(stoplist)] = (stoplist, frozenset(stoplist))
            stoplist = hit[1]
        return original(paragraphs, stoplist, *args, **kw)
    return classify_paragraphs


class _CachedParagraph:
    """Mixin for justext's Paragraph: its ``text`` (re-joined and re-normalised on every access, several
    times per paragraph during classification) is computed once after the last ``append_text``, and its
    DOM path strings only when read (justext starts a paragraph at every block tag; most get no text and
    are dropped, but each formatted two path strings)."""

    _text = None

    def __init__(self, path):  # justext.paragraph.Paragraph.__init__, with the path kept as a snapshot
        # (tag, order, children) triples: tag and order never change
        self._path = path if type(path) is tuple else tuple(path._elements)
        self.text_nodes = []
        self.chars_count_in_links = 0
        self.tags_count = 0
        self.class_type = ""

    @property
    def dom_path(self):  # PathInfo.dom
        return ".".join(e[0] for e in self._path)

    @property
    def xpath(self):  # PathInfo.xpath
        return "/" + "/".join("%s[%d]" % e[:2] for e in self._path)

    @property
    def text(self):  # Paragraph.text
        if self._text is None:
            self._text = normalize_ws("".join(self.text_nodes).strip())
        return self._text

    def append_text(self, text):  # Paragraph.append_text
        self._text = None
        text = normalize_ws(text)
        self.text_nodes.append(text)
        return text

    def stopwords_count(self, stopwords):
        return sum(map(stopwords.__contains__, map(str.lower, self.text.split())))


def _fast_paragraph_maker(base):
    """justext's ParagraphMaker fed by one ``iterwalk`` instead of ``lxml.sax.saxify`` (same events, in the
    same order, for a tree without processing instructions beside its root), its handler inlined."""
    import justext.core as jcore

    paragraph_cls = type("Paragraph", (_CachedParagraph, jcore.Paragraph), {})

    class ParagraphMaker(base):
        @classmethod
        def make_paragraphs(cls, root):
            """The handler's steps written into one loop (no method call per SAX event): ``startElementNS``,
            ``endElementNS``, ``characters``, ``_start_new_pragraph`` and ``PathInfo.append``/``pop``, in the
            order saxify would call them."""
            if not _ACTIVE.get() or not isinstance(root, etree._Element) or _has_pi_siblings(root):
                return base.make_paragraphs(root)
            paragraph_tags = jcore.PARAGRAPH_TAGS
            paragraphs: list = []
            path: list = []  # PathInfo._elements
            para = paragraph_cls(())
            link = br = False
            for event, el in etree.iterwalk(root, events=("start", "end")):
                tag = el.tag
                if not isinstance(tag, str):
                    if tag is not etree.Comment and tag is not etree.ProcessingInstruction:
                        return base.make_paragraphs(root)  # an entity node: let saxify deal with it
                    if event != "end":
                        continue
                    content = el.tail  # saxify reports only the tail (a PI event is a no-op)
                else:
                    name = etree.QName(tag).localname if tag[0] == "{" else tag
                    if event == "start":
                        if path:  # PathInfo.append (a path without elements counts from a fresh dict)
                            children = path[-1][2]
                            order = children[name] = children.get(name, 0) + 1
                        else:
                            order = 1
                        path.append((name, order, {}))
                        if name in paragraph_tags or (name == "br" and br):
                            if name == "br":
                                para.tags_count -= 1
                            if para.text:  # _start_new_pragraph: ``paragraph and contains_text()``
                                paragraphs.append(para)
                            para = paragraph_cls(tuple(path))
                        else:
                            br = name == "br"
                            if br:
                                para.append_text(" ")
                            elif name == "a":
                                link = True
                            para.tags_count += 1
                        content = el.text
                    else:
                        path.pop()
                        if name in paragraph_tags:
                            if para.text:
                                paragraphs.append(para)
                            para = paragraph_cls(tuple(path))
                        if name == "a":
                            link = False
                        content = el.tail
                if not content or content.isspace():  # characters: is_blank
                    continue
                text = para.append_text(content)
                if link:
                    para.chars_count_in_links += len(text)
                br = False
            if para.text:  # endDocument
                paragraphs.append(para)
            return paragraphs

    return ParagraphMaker


def _has_pi_siblings(root) -> bool:
    for sib in (root.getprevious(), root.getnext()):
        if sib is not None and sib.tag is etree.ProcessingInstruction:
            return True
    return False


# ------------------------------------------------------------------ wiring
class _Swap:
    """Stands in for one trafilatura XPath object: the tree walk while active, the XPath otherwise."""

    def __init__(self, xpath, walk: Callable[[object], list]):
        self.xpath, self.walk, self.path = xpath, walk, xpath.path

    def __call__(self, tree, **kw) -> list:
        if _ACTIVE.get() and not kw:
            return self.walk(tree)
        return self.xpath(tree, **kw)

    def __str__(self) -> str:
        return str(self.xpath)


def _norm(path: str) -> str:
    return " ".join(path.split())


def _discard_tokens() -> tuple[str, str, str]:
    """The id and class alternations of ``OVERALL_DISCARD_XPATH``'s first expression and the class alternation of
    its second (trafilatura 2.3.1; the fingerprints below check the expression texts)."""
    import trafilatura.xpaths as x

    ad_id = x._alt(x._OVERALL_DISCARD_BOTH_TOKENS + x._OVERALL_DISCARD_ID_TOKENS)
    ad_cls = x._alt(x._OVERALL_DISCARD_BOTH_TOKENS + x._OVERALL_DISCARD_CLASS_TOKENS)
    hide_cls = ("^hide-|comments-title|nocomments|-reply-|message|akismet|suggest-links|-hide-|hide-print| hidden"
                "| hide|noprint|notloaded")
    return ad_id, ad_cls, hide_cls


def _walks() -> dict[str, Callable]:
    """Normalised XPath text → tree walk, for the expressions of trafilatura 2.3.1 we replace."""
    import trafilatura.xpaths as x

    ad_id, ad_cls, hide_cls = _discard_tokens()
    expected = {
        "RAW_TREE_PRUNE_XPATH": [_raw_tree_prune_0(), _raw_tree_prune_1()],
        "REMOVE_COMMENTS_AND_LISTS_XPATH": [_remove_comments_and_lists()],
        "OVERALL_DISCARD_XPATH": [_overall_discard_0(ad_id, ad_cls), _overall_discard_1(hide_cls)],
        "TEASER_DISCARD_XPATH": [_contains_any(_DISCARD_TAGS, "teaser", ("T", "t"))],
        "DISCARD_IMAGE_ELEMENTS": [_contains_any(_DISCARD_TAGS, "caption")],
        "BODY_XPATH": [
            _body_0(x._alt(x._ARTICLE_CONTENT_ID_TOKENS), x._alt(x._ARTICLE_CONTENT_CLASS_TOKENS)),
            _body_1(),
            _body_2(x._alt(x._STORY_ID_TOKENS), x._alt(x._STORY_CLASS_TOKENS)),
            _body_3(x._alt(x._MAIN_CONTENT_ID_TOKENS), x._alt(x._MAIN_CONTENT_CLASS_TOKENS)),
            _body_4(),
        ],
    }
    return expected


# sha1 prefixes of the (whitespace-normalised) expression texts the walks were written from, trafilatura 2.3.1:
# a list whose texts differ keeps its XPaths
FINGERPRINTS: dict[str, list[str]] = {
    "RAW_TREE_PRUNE_XPATH": ["f1e18cc2", "12b073cc"],
    "REMOVE_COMMENTS_AND_LISTS_XPATH": ["98cf8952"],
    "OVERALL_DISCARD_XPATH": ["f3dbdb23", "8d16edbf"],
    "TEASER_DISCARD_XPATH": ["c0b22696"],
    "DISCARD_IMAGE_ELEMENTS": ["6bf0a57a"],
    "BODY_XPATH": ["0673ee2f", "91b22f3d", "0a4c7447", "1c6c9214", "ccb0a361"],
    "BASIC_CLEAN_XPATH": ["841f8efc"],
}


def _fingerprint(path: str) -> str:
    import hashlib

    return hashlib.sha1(_norm(path).encode()).hexdigest()[:8]


# sha1 prefixes of the source of every trafilatura/justext function whose steps this module mirrors or whose
# behaviour its shortcuts rely on (trafilatura 2.3.1, justext 3.0.2): any other source, no fast paths at all
SOURCES = {
    "trafilatura.utils:load_html": "6b704c6711",
    "trafilatura.utils:repair_faulty_html": "e2c5230791",
    "trafilatura.utils:fromstring_bytes": "4c91113711",
    "trafilatura.core:bare_extraction": "256616fcd1",
    "trafilatura.core:trafilatura_sequence": "0dc10fc965",
    "trafilatura.core:_extract_and_compare": "0403601160",
    "trafilatura.core:_prepare_tree": "bfc95d6a60",
    "trafilatura.htmlprocessing:tree_cleaning": "c7babdd89e",
    "trafilatura.htmlprocessing:prune_html": "ff46ba5a92",
    "trafilatura.htmlprocessing:prune_unwanted_nodes": "8eda45b1b1",
    "trafilatura.main_extractor:prune_unwanted_sections": "d8b49b8a2d",
    "trafilatura.htmlprocessing:delete_by_link_density": "dfc3f7a066",
    "trafilatura.htmlprocessing:link_density_test": "a142e301f1",
    "trafilatura.htmlprocessing:collect_link_info": "7c8333e92e",
    "trafilatura.utils:trim": "c82a80d00e",
    "trafilatura.xml:delete_element": "fb2c130b17",
    "trafilatura.external:compare_extraction": "11bd9fcbac",
    "trafilatura.external:try_justext": "a9b7a6b17f",
    "trafilatura.external:justext_rescue": "e13eeb6cce",
    "trafilatura.readability_lxml:Document": "05c6e9d17c",
    "trafilatura.baseline:html2txt": "f944bfbfa1",
    "trafilatura.baseline:_spaced_text": "cbda97290f",
    "trafilatura.baseline:basic_cleaning": "192f4d035e",
    "trafilatura.metadata:extract_meta_json": "8e95bc2a60",
    "trafilatura.metadata:examine_meta": "95e16d8d42",
    "trafilatura.metadata:extract_opengraph": "7e060d71fe",
    "trafilatura.settings:Document": "9f58aed0b3",
    "trafilatura.json_metadata:process_parent": "05b7ad1fbd",
    "trafilatura.json_metadata:extract_json_parse_error": "34d81ff8cf",
    "justext.core:ParagraphMaker": "20dba31fcd",
    "justext.core:PathInfo": "4eea518bf7",
    "justext.paragraph:Paragraph": "1c1d8705d5",
    "justext.core:classify_paragraphs": "4f28a11ca4",
    "justext.core:define_stoplist": "2a6bfb59bb",
    "justext.utils:normalize_whitespace": "280ce30026",
}


def _source_fingerprint(name: str) -> Optional[str]:
    import hashlib
    import importlib
    import inspect

    module, _, attr = name.partition(":")
    try:
        obj = importlib.import_module(module)
        for part in attr.split("."):
            obj = getattr(obj, part)
        return hashlib.sha1(inspect.getsource(obj).encode()).hexdigest()[:10]
    except (ImportError, AttributeError, OSError, TypeError):
        return None


def same_versions() -> bool:
    """Whether the installed trafilatura/justext are the ones this module was written against."""
    import importlib

    x = importlib.import_module("trafilatura.xpaths")
    settings = importlib.import_module("trafilatura.settings")
    paths = {name: [_fingerprint(e.path) for e in getattr(x, name, [])] for name in FINGERPRINTS
             if name != "BASIC_CLEAN_XPATH"}
    paths["BASIC_CLEAN_XPATH"] = [_fingerprint(settings.BASIC_CLEAN_XPATH.path)]
    ws = getattr(importlib.import_module("justext.utils"), "MULTIPLE_WHITESPACE_PATTERN", None)  # normalize_ws
    return (paths == FINGERPRINTS and all(_source_fingerprint(n) == h for n, h in SOURCES.items())
            and ws is not None and ws.pattern == r"\s+" and ws.flags == re.UNICODE)


_INSTALLED: Optional[bool] = None


def install() -> bool:
    """Wire the fast paths into trafilatura once per process; False (nothing wired) for other versions.

    Everything wired here acts only inside ``fast_xpaths()``; other callers in the process get trafilatura
    unchanged.
    """
    global _INSTALLED
    if _INSTALLED is not None:
        return _INSTALLED
    import importlib

    _INSTALLED = same_versions()
    if not _INSTALLED:
        return False
    baseline = importlib.import_module("trafilatura.baseline")  # the package exports a function of that name
    core = importlib.import_module("trafilatura.core")
    external = importlib.import_module("trafilatura.external")
    settings = importlib.import_module("trafilatura.settings")
    x = importlib.import_module("trafilatura.xpaths")
    for name, fns in _walks().items():
        lst = getattr(x, name)
        lst[:] = [_Swap(e, fn) for e, fn in zip(lst, fns)]  # in place: main_extractor and core hold these lists
    main_extractor = importlib.import_module("trafilatura.main_extractor")
    main_extractor.delete_by_link_density = _memo_delete_by_link_density(main_extractor.delete_by_link_density)
    main_extractor.prune_unwanted_nodes = _guarded_overall_discard(
        main_extractor.prune_unwanted_nodes, x.OVERALL_DISCARD_XPATH, _overall_discard_both(*_discard_tokens()))
    baseline.BASIC_CLEAN_XPATH = _Swap(settings.BASIC_CLEAN_XPATH, _basic_clean(settings._COOKIE_CONSENT_RE))
    core._extract_and_compare = _gated_extract_and_compare(core._extract_and_compare)
    core._prepare_tree = _lazy_prepare_tree(core._prepare_tree)
    core.tree_cleaning = _fast_tree_cleaning(core.tree_cleaning)
    core.baseline = _tracked_baseline(core.baseline)
    core.html2txt = _bounded_html2txt(core.html2txt)
    external.justext_rescue = _justext_reading_backup(external.justext_rescue)
    external.ParagraphMaker = _fast_paragraph_maker(external.ParagraphMaker)
    external.classify_paragraphs = _frozen_stoplist(external.classify_paragraphs)
    return True


@contextlib.contextmanager
def fast_xpaths(on: bool = True):
    """Inside: trafilatura's swapped expressions run as tree walks (in this thread/context only)."""
    token = _ACTIVE.set(on)
    try:
        yield
    finally:
        _ACTIVE.reset(token)

