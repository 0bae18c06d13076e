"""Normalise stage: mojibake, NFC, whitespace, Chinese script, simplified keys — on real pages where it matters."""
from __future__ import annotations

import gzip
import unicodedata
from pathlib import Path

import pytest

from pipelines.recipe import ExtractConfig, NormalizeConfig
from schemas.document import Document
from transforms.extract import Extractor
from transforms.normalize import (
    Normalize, clean_whitespace, detect_script, normalize_text, simplified_key, to_simplified, to_simplified_chars,
)
from transforms.stage import Rejection


@pytest.fixture(scope="module")
def debian(data_dir: Path) -> dict[str, dict[str, str]]:
    """Extracted text of the parallel debian-reference pages: {page: {"cn": text, "tw": text}}."""
    ex = Extractor.from_recipe(ExtractConfig())
    out: dict[str, dict[str, str]] = {}
    for page in ("pr01", "ch08", "index"):
        out[page] = {}
        for var in ("cn", "tw"):
            html = gzip.open(data_dir / "web" / "debian-reference-zh" / f"zh-{var}" / f"{page}.zh-{var}.html.gz").read()
            out[page][var] = normalize_text(ex.extract_html(html.decode("utf-8"))[0])
    return out


ORIGINAL = "中文，这是“测试”！发送和接收。"


@pytest.mark.parametrize("codec", ["sloppy-windows-1252", "latin-1"])
def test_mojibake_repaired_and_fullwidth_punctuation_kept(codec):
    """UTF-8 read as windows-1252 (the way browsers/WHATWG decode it: its five undefined bytes become C1
    controls; ftfy's ``sloppy-windows-1252`` codec) or as Latin-1 keeps every byte, so it is repaired exactly,
    in the text and the title, by the stage; ftfy's width/quote fixes stay off (they would make ，“”！ ASCII)."""
    import ftfy.bad_codecs  # noqa: F401  (registers sloppy-windows-1252)

    broken = ORIGINAL.encode("utf-8").decode(codec)
    assert broken != ORIGINAL and "ä¸" in broken
    assert normalize_text(broken) == ORIGINAL
    assert normalize_text(f"第一段正常。\n\n{broken}\n\nAnd English — fine.") == \
        f"第一段正常。\n\n{ORIGINAL}\n\nAnd English — fine."  # repaired inside otherwise good text
    doc = Document(id="m", text=broken, source="web", origin="t", title=broken)
    (out,) = Normalize.from_recipe(NormalizeConfig()).apply([doc])
    assert (out.text, out.title) == (ORIGINAL, ORIGINAL)
    (raw,) = Normalize.from_recipe(NormalizeConfig(fix_mojibake=False)).apply([doc])
    assert raw.text != ORIGINAL  # the recipe switch is honoured


def test_lossy_mojibake_is_repaired_up_to_the_lost_bytes():
    """Read through Python's strict cp1252 with ``errors="replace"``, the bytes 0x9D (of ”) and 0x81 (of ！)
    are gone (each could have been one of five characters): everything else is repaired and each lost
    character becomes exactly one U+FFFD, never mojibake."""
    broken = "中文，这是“测试”！".encode("utf-8").decode("cp1252", errors="replace")
    assert normalize_text(broken) == "中文，这是“测试\ufffd\ufffd"
    assert normalize_text("中文，这是“测试”！") == "中文，这是“测试”！"  # good text is left alone


def test_nfc_and_whitespace_cleanup():
    text = "Cafe\u0301\r\n\r\n\r\n\u3000\u3000第一段\u00a0 内容\u200b \t\n\n\n\n第二段\x07"
    out = normalize_text(text)
    assert out == "Café\n\n第一段 内容\n\n第二段"
    assert unicodedata.is_normalized("NFC", out)
    assert clean_whitespace("a\n\nb") == "a\n\nb"  # paragraph breaks survive (Gopher paragraph rules)


def test_script_on_real_parallel_pages(debian):
    for page, texts in debian.items():
        assert detect_script(texts["cn"]) == "Hans", page
        assert detect_script(texts["tw"]) == "Hant", page


def test_script_traditional_book_and_non_chinese(data_dir: Path):
    book = (data_dir / "books" / "gutenberg-zh" / "pg23863-0.txt").read_text(encoding="utf-8")[:20000]
    assert detect_script(book) == "Hant"
    assert detect_script(to_simplified(book)) == "Hans"
    assert detect_script("The quick brown fox jumps over the lazy dog. " * 20) is None
    assert detect_script("これは日本語の文章です。漢字とひらがなとカタカナがあります。東京都。") is None


def test_simplified_key_is_script_width_and_punctuation_insensitive(debian):
    assert simplified_key("資料庫與軟體開發，臺灣。「ＡＢＣ」") == simplified_key("资料库与软体开发,台湾.\"abc\"")
    tw = debian["ch08"]["tw"]
    key = simplified_key(tw)
    assert detect_script(key) == "Hans"
    assert simplified_key(key) == key  # idempotent
    # the same Traditional text converted phrase-wise by OpenCC keeps (nearly) the same key
    conv = simplified_key(to_simplified(tw))
    same = sum(a == b for a, b in zip(key, conv)) / max(len(key), len(conv))
    assert same > 0.97
    assert to_simplified_chars("後來") == "后来"


def test_stage_sets_script_keeps_traditional_and_rejects_empty(debian):
    st = Normalize.from_recipe(NormalizeConfig())
    st.setup()
    docs = [Document(id="tw", text=debian["pr01"]["tw"], source="web", origin="t", title=" 標題\u3000 "),
            Document(id="e", text=" \u200b\n\u3000 ", source="web", origin="e")]
    out = list(st.apply(docs))
    assert out[0].script == "Hant" and out[0].text == debian["pr01"]["tw"] and out[0].title == "標題"
    assert isinstance(out[1], Rejection) and out[1].reason == "normalize_empty"
    t2s = list(Normalize.from_recipe(NormalizeConfig(output_t2s=True)).apply(docs[:1]))[0]
    assert t2s.script == "Hant" and detect_script(t2s.text) == "Hans"
    assert list(st.apply(docs)) == out  # deterministic
