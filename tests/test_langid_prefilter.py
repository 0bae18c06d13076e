"""The language prefilter (langid.prefilter) on the real pages of ../shared/data/web: it skips most pages
in unselected languages before extraction, never a page the full path (extract → langid) would keep,
and a build gives the same data with it on or off."""
from __future__ import annotations

import copy
import gzip
import json

import pytest
from trafilatura.utils import load_html

from pipelines.recipe import ExtractConfig, load_recipe
from transforms.extract import Extractor, decode_html, visible_text
from transforms.langid import LangId, LangPrefilter


@pytest.fixture(scope="module")
def pages(data_dir):
    """(manifest row, parsed tree) of every manifest page."""
    with gzip.open(data_dir / "web" / "manifest.jsonl.gz", "rt", encoding="utf-8") as f:
        rows = sorted((json.loads(line) for line in f), key=lambda r: r["path"])
    out = []
    for row in rows:
        html = decode_html(gzip.decompress((data_dir / row["path"]).read_bytes()), row.get("detected_encoding"))
        out.append((row, html))
    return out


@pytest.fixture(scope="module")
def prefilter():
    pf = LangPrefilter.from_recipe(load_recipe("default").langid)
    pf.setup()
    return pf


def _full_path_keeps(html: str) -> bool:
    """What the pipeline without prefilter decides: extract, then the langid stage."""
    ex = Extractor.from_recipe(ExtractConfig())
    text, _ = ex.extract_html(html)
    langid = LangId.from_recipe(load_recipe("default").langid)
    from schemas.document import Document
    from transforms.stage import Rejection

    out = list(langid.apply([Document(id="x", text=text or "", source="web", origin="t")]))
    return not isinstance(out[0], Rejection)


def test_skips_most_unselected_pages_and_no_page_the_full_path_keeps(pages, prefilter):
    selected = set(load_recipe("default").langid.languages)
    skipped, other = [], 0
    for row, html in pages:
        tree = load_html(html)
        verdict = prefilter.reject(visible_text(tree)) if tree is not None else None
        if row["lang"] not in selected:
            other += 1
        if verdict:
            assert verdict[0] not in selected
            skipped.append((row, html))
    print(f"\nprefilter: skipped {len(skipped)} of {len(pages)} pages ({other} not zh/en by the manifest)")
    assert len(skipped) >= 0.85 * other
    # every skipped page whose manifest says zh/en, and a sample of the rest, goes through the full path
    suspects = [h for r, h in skipped if r["lang"] in selected] + [h for r, h in skipped[::20]]
    assert not [h for h in suspects if _full_path_keeps(h)]


def test_mixed_page_with_selected_language_goes_to_extraction(pages, prefilter):
    """German site furniture around an English post: fastText gives the page de 0.92, en 0.02."""
    html = next(h for r, h in pages if "denkanstoos-april-2012" in (r.get("url") or ""))
    text = visible_text(load_html(html), prefilter.scan_chars)
    assert prefilter.reject(text) is None
    unguarded = copy.copy(prefilter)  # guards switched off beyond what a recipe may set
    unguarded.guard, unguarded.han_guard, unguarded.min_selected_share = 1.0, 10**9, 1.1
    assert unguarded.reject(text)[0] == "de"  # the guards are what save it
    assert _full_path_keeps(html)


def _embed(host_html: str, guest_html: str) -> str:
    """The guest page's paragraphs appended to the host page's body (two real pages in one)."""
    guest = "".join(f"<p>{p.text_content()}</p>" for p in load_html(guest_html).iter("p") if p.text_content().strip())
    return host_html.replace("</body>", f"<div class='article'>{guest}</div></body>", 1)


@pytest.mark.parametrize("guest_lang", ["zh", "en"])
def test_a_selected_article_inside_a_dominant_other_language_page_is_not_skipped(pages, prefilter, guest_lang):
    host = next(h for r, h in pages if r["lang"] == "de" and len(visible_text(load_html(h))) > 9_000
                and prefilter.reject(visible_text(load_html(h), prefilter.scan_chars)))
    guest = next(h for r, h in pages if r["lang"] == guest_lang and 1_500 < r.get("text_chars", 0) < 4_000)
    mixed = visible_text(load_html(_embed(host, guest)), prefilter.scan_chars)
    assert prefilter._model.predict_top(mixed)[0][0] == "de"  # the first test alone would skip it …
    assert prefilter.reject(mixed) is None  # … the Han / slice guards keep it for extraction
    if guest_lang == "zh":
        han_only = copy.copy(prefilter)
        han_only.min_selected_share = 1.1
        assert han_only.reject(mixed) is None  # Han guard alone


def test_visible_text_skips_scripts_styles_and_comments():
    tree = load_html("<html><head><title>T</title></head><body><p>a<b>b</b>c</p><script>x()</script>tail"
                     "<style>p{}</style><!-- note --><div>d</div>end</body></html>")
    assert visible_text(tree) == "a b c tail d end"
    assert visible_text(tree, limit=5) == "a b c"


def test_recipe_switches(pages):
    """``langid.prefilter=false`` (or langid off) really extracts a page the prefilter would skip."""
    from schemas.document import Document
    from transforms.sources.raw import RawPage
    from transforms.stage import Rejection

    def extractor(overrides=(), with_langid=True):
        r = load_recipe("default", list(overrides))
        ex = Extractor.from_recipe(r.extract, r.langid if with_langid else None)
        ex.setup()
        return ex

    on = extractor()
    switched_off = [extractor(["langid.prefilter=false"]), extractor(["langid.enabled=false"]),
                    extractor(with_langid=False)]
    assert on.prefilter is not None and all(ex.prefilter is None for ex in switched_off)
    row, html = next((row, html) for row, html in pages if row["lang"] == "de")  # a real German page
    page = RawPage(id="de", origin=row["path"], source="web", url=row.get("url"), fetched_at=None,
                   content_type="text/html", charset="utf-8", body=html.encode("utf-8"))
    (skipped,) = on.apply([page])
    assert isinstance(skipped, Rejection) and skipped.reason == "lang_prefilter" and skipped.detail == "de"
    for ex in switched_off:
        (doc,) = ex.apply([page])
        assert isinstance(doc, Document) and len(doc.text) > 200


def test_build_data_identical_with_and_without_prefilter(tmp_path, data_dir):
    from tests.runners import RUNNER_MODES, run_build

    warcs = [str(data_dir / "web" / "warc" / name) for name in
             ("resiliparse-cc-main-2020-34-excerpt.warc.gz", "dolma-wget-sample-0000.warc.gz")]
    on, off = tmp_path / "on", tmp_path / "off"
    args = RUNNER_MODES["direct_in_memory"] + ["--no-card"]
    run_build(warcs, on, args, recipe="default")
    run_build(warcs, off, args, recipe="default", overrides=["langid.prefilter=false"])
    files = sorted(p.relative_to(on) for p in (on / "data").rglob("*.parquet"))
    assert files and files == sorted(p.relative_to(off) for p in (off / "data").rglob("*.parquet"))
    for f in files:
        assert (on / f).read_bytes() == (off / f).read_bytes()
    s_on = json.loads((on / "stats.json").read_text())["stages"]
    s_off = json.loads((off / "stats.json").read_text())["stages"]
    skipped = s_on["extract"]["rejected"].get("lang_prefilter", 0)
    assert skipped > 0
    lang_rejects = lambda s: sum(s["langid"]["rejected"].values())  # noqa: E731
    assert lang_rejects(s_on) + skipped == lang_rejects(s_off)


def test_reading_visible_text_on_demand_gives_the_same_verdicts(pages, prefilter):
    """``reject`` given a function reads ``max_chars`` of a page for test 1 and the rest only for tests 2–3: the
    verdicts are those of the whole ``scan_chars`` text, on every page (the mixed page reaches tests 2–3)."""
    reads: list[int] = []

    def lazy(tree):
        def visible(limit: int) -> str:
            reads.append(limit)
            return visible_text(tree, limit)
        return visible

    verdicts = 0
    for _, html in pages[::3]:
        tree = load_html(html)
        if tree is None:
            continue
        expect = prefilter.reject(visible_text(tree, prefilter.scan_chars))
        assert prefilter.reject(lazy(tree)) == expect
        verdicts += expect is not None
    assert verdicts >= 100
    assert reads.count(prefilter.scan_chars) >= verdicts  # a rejected page was read in full ...
    assert reads.count(min(prefilter.scan_chars, prefilter._model.max_chars)) == len(pages[::3])  # ... all once short
