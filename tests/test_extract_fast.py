"""extract.fast_paths (transforms/extract_fast.py): the same text and title as plain trafilatura 2.3.1, and each
shortcut both taken and declined on real pages (issue #20)."""
from __future__ import annotations

import gzip
import importlib
import json
from collections import Counter
from copy import copy
from pathlib import Path

import pytest
from lxml import etree

import transforms.extract as E
import transforms.extract_fast as F
from pipelines.recipe import ExtractConfig
from transforms.extract import Extractor, decode_html

REPO = Path(__file__).resolve().parents[1]


def _pages(data_dir: Path) -> list[str]:
    """A spread of real pages: every 9th trafilatura evaluation page, the hand-labelled Chinese pages, every
    4th mozilla-readability page (about 200 pages)."""
    from tests.evaldata import eval_pages

    paths = [p for _, _, p in eval_pages(data_dir)[::9]]
    for line in (REPO / "tests" / "fixtures" / "extract_gold" / "zh.jsonl").read_text(encoding="utf-8").splitlines():
        paths.append(data_dir / json.loads(line)["path"])
    paths += sorted((data_dir / "web" / "mozilla-readability").glob("*/source.html.gz"))[::4]
    return [decode_html(gzip.decompress(p.read_bytes()), None) for p in paths]


@pytest.fixture(scope="module")
def pages(data_dir) -> list[str]:
    return _pages(data_dir)


def _readability_len(tree) -> int:
    from trafilatura.external import try_readability
    from trafilatura.utils import trim

    body = try_readability(copy(tree))
    return len(trim(etree.tostring(body, method="text", encoding="utf-8").decode("utf-8")))


def test_fast_paths_give_the_same_text_and_title_and_each_shortcut_fires_and_declines(pages, monkeypatch):
    assert F.install(), "trafilatura/justext are not the versions transforms/extract_fast.py mirrors"
    core = importlib.import_module("trafilatura.core")
    seen: Counter = Counter()

    html2txt = core.html2txt  # our bounded wrapper

    def spy_html2txt(tree, *a, **kw):
        state = F._TEXT_LEN.get()
        by_page = state is not None and state[1] is tree and state[0] >= core.ESCALATION_PAGE_SHARE * state[2]
        out = html2txt(tree, *a, **kw)
        seen["html2txt skipped" if out == "" else "html2txt run"] += 1
        if out == "":  # skipped: the escalation test must be false with the real html2txt text too
            seen["html2txt skipped by the gate's page length" if by_page else "html2txt skipped by the body"] += 1
            assert state[0] >= core.ESCALATION_PAGE_SHARE * len(html2txt.__wrapped__(tree))  # trafilatura's
        return out

    fits = F.readability_fits

    def spy_fits(tree, limit):
        ok = fits(tree, limit)
        if ok and F.visible_len(tree) > limit:  # decided by the tighter bound: check it against readability
            seen["unlikely bound used"] += 1
            assert _readability_len(tree) <= limit
        seen["readability skipped" if ok else "readability run"] += 1
        return ok

    build = F._LazyBackup.build
    recall = core._recall_retry
    monkeypatch.setattr(core, "html2txt", spy_html2txt)
    monkeypatch.setattr(F, "readability_fits", spy_fits)
    monkeypatch.setattr(F._LazyBackup, "build", lambda self: seen.update(["backup built"]) or build(self))
    monkeypatch.setattr(core, "_recall_retry", lambda *a: seen.update(["escalated"]) or recall(*a))

    fast, plain = Extractor.from_recipe(ExtractConfig()), Extractor.from_recipe(ExtractConfig(fast_paths=False))
    assert fast.fast_paths and not plain.fast_paths
    same = [fast.extract_html(h) == plain.extract_html(h) for h in pages]
    assert all(same), f"{same.count(False)} of {len(pages)} pages differ"
    print(f"\n{len(pages)} pages, shortcuts: {dict(seen)}")
    for key in ("html2txt skipped", "html2txt run", "readability skipped", "readability run", "unlikely bound used",
                "backup built", "escalated", "html2txt skipped by the gate's page length",
                "html2txt skipped by the body"):
        assert seen[key] > 0, key  # every shortcut is both taken and declined on these pages


def test_walks_select_the_nodes_of_trafilaturas_xpaths(pages):
    """Each tree walk against its XPath, on the trees trafilatura evaluates them on (the extractor's own calls)."""
    assert F.install()
    x = importlib.import_module("trafilatura.xpaths")
    baseline = importlib.import_module("trafilatura.baseline")
    swaps = {f"{n}[{i}]": s for n in F.FINGERPRINTS if n != "BASIC_CLEAN_XPATH" for i, s in enumerate(getattr(x, n))}
    swaps["BASIC_CLEAN_XPATH"] = baseline.BASIC_CLEAN_XPATH
    hits, diffs = Counter(), []
    for name, swap in swaps.items():
        assert isinstance(swap, F._Swap), name

        def both(tree, _walk=swap.walk, _xpath=swap.xpath, _name=name):
            walked, expected = _walk(tree), _xpath(tree)
            # BODY_XPATH: trafilatura reads only the first node of these results
            if (walked[:1] != expected[:1]) if _name.startswith("BODY") else (walked != expected):
                diffs.append(_name)
            hits[_name] += bool(expected)
            return walked

        swap.walk = both
    # OVERALL_DISCARD_XPATH as prune_unwanted_sections uses it: both expressions from one fused walk
    me = importlib.import_module("trafilatura.main_extractor")
    guarded = me.prune_unwanted_nodes
    assert getattr(guarded, "yuliao_fast", False)
    xpaths = [s.xpath for s in x.OVERALL_DISCARD_XPATH]

    def spy_prune(tree, nodes, with_backup=False):
        if with_backup and nodes is x.OVERALL_DISCARD_XPATH:
            for name, found in zip(("OVERALL_DISCARD_XPATH[0]", "OVERALL_DISCARD_XPATH[1]"), both_walk(tree)):
                expected = xpaths[int(name[-2])](tree)
                if found != expected:
                    diffs.append("fused " + name)
                hits["fused " + name] += bool(expected)
        return guarded(tree, nodes, with_backup)

    both_walk = F._overall_discard_both(*F._discard_tokens())
    me.prune_unwanted_nodes = spy_prune
    try:
        ex = Extractor.from_recipe(ExtractConfig())
        for h in pages[::2]:
            ex.extract_html(h)
        # the single walks of OVERALL_DISCARD_XPATH still serve favor_precision's pruning of readability's input
        precise = Extractor.from_recipe(ExtractConfig(favor_precision=True))
        for h in pages[1::8]:
            precise.extract_html(h)
    finally:
        me.prune_unwanted_nodes = guarded
        for swap in swaps.values():
            swap.walk = swap.walk.__defaults__[0]
    assert not diffs, Counter(diffs)
    assert hits["fused OVERALL_DISCARD_XPATH[0]"] and hits["fused OVERALL_DISCARD_XPATH[1]"]
    # non-vacuous: the expressions select something on these pages (RAW_TREE_PRUNE_XPATH matches rare themes)
    assert {n for n in swaps if hits[n]} >= set(swaps) - {"RAW_TREE_PRUNE_XPATH[0]", "RAW_TREE_PRUNE_XPATH[1]"}


def test_parse_title_and_page_measures_match_trafilatura(pages):
    from trafilatura.utils import load_html, repair_faulty_html

    assert F.install()
    edge = ["<!DOCTYPE html PUBLIC '-//W3C//DTD'>x", "<!doctype html PUBLIC '-//W3C//DTD'>\n<html/>\n<p>a\x00b\x0c\ufffe",
            "<html/>\n<body>\x1fz\uffff</body>", "plain text"]
    for h in pages + edge:
        beginning = h[:50].lower()
        assert F._repair_faulty_html(h, beginning) == repair_faulty_html(h, beginning)
    for h in pages[::3]:
        ours, theirs = F.load_html(h), load_html(h)
        assert etree.tostring(ours) == etree.tostring(theirs)
        assert F.page_title(ours) == E.page_title(theirs)
        E.prune_tree(ours, "layout", 10, 0.8, 0.3)
        assert F.visible_len(ours) == len(E.visible_text(ours, 10**9, E._CODE, body_only=False))


def test_justext_paragraphs_match_lxml_sax(pages):
    """The iterwalk-fed paragraph maker gives justext the same paragraphs as lxml.sax does: same kept text."""
    external = importlib.import_module("trafilatura.external")
    from trafilatura.baseline import basic_cleaning

    assert F.install()
    kept = 0
    for h in pages[::8]:
        tree = basic_cleaning(F.load_html(h))
        with F.fast_xpaths():
            fast = external.try_justext(copy(tree), None, None)
        plain = external.try_justext(copy(tree), None, None)
        assert [p.text for p in fast] == [p.text for p in plain]
        kept += len(plain)
    assert kept > 100  # justext keeps paragraphs on these pages: the comparison is not of empty results
    assert external.ParagraphMaker is not importlib.import_module("justext.core").ParagraphMaker


def test_shortcuts_decline_where_they_would_change_the_result():
    """Constructed pages on the wrong side of each bound: the real step runs."""
    from lxml import html as lxml_html
    from trafilatura.baseline import html2txt as real_html2txt

    assert F.install()
    core = importlib.import_module("trafilatura.core")
    article = "<p>" + "Long article sentence with words. " * 40 + "</p>"
    page = lxml_html.fromstring(f"<html><body><div class='content'>{article}</div><p>short own text</p></body></html>")
    # escalation test: a text of 14 chars is under 0.2 x the page, so html2txt must really run
    token = F._TEXT_LEN.set([14, None, 0])
    try:
        with F.fast_xpaths():
            assert core.html2txt(page) == real_html2txt(page) != ""
        F._TEXT_LEN.get()[0] = 10_000  # ... and is skipped when the text is most of any page this size
        with F.fast_xpaths():
            assert core.html2txt(page) == ""
    finally:
        F._TEXT_LEN.reset(token)
    # a page length the readability gate counted serves only the tree it was counted on
    other = lxml_html.fromstring("<html><body><p>tiny</p></body></html>")
    token = F._TEXT_LEN.set([14, other, F.visible_len(other)])
    try:
        with F.fast_xpaths():
            assert core.html2txt(page) == real_html2txt(page) != ""
        F._TEXT_LEN.get()[1:] = [page, F.visible_len(page)]  # counted on this page: 14 < 0.2 x it, still runs
        with F.fast_xpaths():
            assert core.html2txt(page) == real_html2txt(page) != ""
    finally:
        F._TEXT_LEN.reset(token)
    # readability: the article is readability's and over 2 x our text, so it must run
    assert not F.readability_fits(page, 2 * len("short own text"))
    assert _readability_len(page) > 2 * len("short own text")
    # the text sits in an "unlikely" sidebar: readability deletes it first, the bound knows
    sidebar = lxml_html.fromstring(f"<html><body><p>{'own words here ' * 40}</p>"
                                   f"<div class='sidebar'>{article}</div></body></html>")
    limit = 2 * len("own words here " * 40)
    assert F.visible_len(sidebar) > limit and F.readability_fits(sidebar, limit)
    assert _readability_len(sidebar) <= limit
    # ... unless the class also reads as content ("okMaybeItsACandidate"): readability keeps it
    kept = lxml_html.fromstring(f"<html><body><p>{'own words here ' * 40}</p>"
                                f"<div class='sidebar-content'>{article}</div></body></html>")
    assert not F.readability_fits(kept, limit)


def test_other_trafilatura_versions_get_plain_trafilatura(pages, monkeypatch):
    """The fast paths are keyed to the sources they mirror: any other source, no fast path at all."""
    assert F.same_versions()
    monkeypatch.setitem(F.SOURCES, "trafilatura.core:trafilatura_sequence", "0000000000")
    assert not F.same_versions()
    monkeypatch.setattr(F, "_INSTALLED", False)  # what install() would have decided in such a process
    ex = Extractor.from_recipe(ExtractConfig())
    assert ex.fast_paths and not ex._fast()
    plain = Extractor.from_recipe(ExtractConfig(fast_paths=False))
    assert [ex.extract_html(h) for h in pages[:10]] == [plain.extract_html(h) for h in pages[:10]]


def test_link_density_passes_delete_what_trafilatura_deletes(pages, monkeypatch):
    """delete_by_link_density with each element's text length read once per call against trafilatura's own
    function on a copy of the same subtree."""
    assert F.install()
    me = importlib.import_module("trafilatura.main_extractor")
    ours = me.delete_by_link_density
    theirs = ours.__wrapped__
    seen: Counter = Counter()

    def spy(subtree, tagname, backtracking=False, favor_precision=False):
        expected = theirs(copy(subtree), tagname, backtracking, favor_precision)
        before = len(list(subtree.iter()))
        result = ours(subtree, tagname, backtracking, favor_precision)
        assert etree.tostring(result) == etree.tostring(expected)
        seen["pass deleting" if len(list(subtree.iter())) < before else "pass keeping"] += 1
        return result

    monkeypatch.setattr(me, "delete_by_link_density", spy)
    ex = Extractor.from_recipe(ExtractConfig())
    for h in pages[::3]:
        ex.extract_html(h)
    print(f"\nlink-density passes: {dict(seen)}")
    for key in ("pass deleting", "pass keeping"):
        assert seen[key] > 0, key


def test_justext_whitespace_and_stoplist_as_justext(pages):
    """normalize_ws is justext's normalize_whitespace (on every text node of some real pages and on constructed
    runs); classify_paragraphs gets the stoplist as a frozenset only inside our calls."""
    from justext.utils import normalize_whitespace

    assert F.install()
    edge = ["", " ", "a", "  a  ", "a \n b", "a\r\nb", " \n\t \n ", "x\u3000\u00a0y", "\u2028a\u2029", "a\x0b\x0cb",
            "\n", "\r", "a \n", "\n a", "a\n\n\nb  c\td", "\u00a0\n\u00a0"]
    texts = edge + [t for h in pages[::10] for t in F.load_html(h).xpath("//text()")]
    assert len(texts) > 1000
    for t in texts:
        assert F.normalize_ws(t) == normalize_whitespace(t), repr(t)
    external = importlib.import_module("trafilatura.external")
    seen = []
    original = external.classify_paragraphs.__wrapped__
    wrapped = F._frozen_stoplist(lambda paragraphs, stoplist, *a: seen.append(type(stoplist)) or original(
        paragraphs, stoplist, *a))
    words = ("the", "and", "der")
    wrapped([], words)
    with F.fast_xpaths():
        wrapped([], words)
        wrapped([], words)
    assert seen == [tuple, frozenset, frozenset]
