"""Chinese word signals segment with rjieba (jieba-rs); they must stay token-for-token what jieba gives, since
FineWeb-2's Chinese thresholds were tuned on jieba words."""
from __future__ import annotations

import gzip
import logging

import pytest

from transforms.quality.zh import zh_words


@pytest.fixture(scope="module")
def jieba_words():
    import jieba

    jieba.setLogLevel(logging.CRITICAL)
    jieba.initialize()
    return lambda text: [w for w in (t.strip() for t in jieba.lcut(text)) if w]


def _page_text(path) -> str:
    from trafilatura.utils import load_html

    from transforms.extract import decode_html, visible_text

    return visible_text(load_html(decode_html(gzip.decompress(path.read_bytes()), None)), 10**7)


def test_real_pages_segment_as_jieba(data_dir, jieba_words):
    # news pages full of dates, phone numbers, URLs, "C++"/"AT&T"; a forum; a technical manual page
    pages = sorted((data_dir / "web" / "gne-zh").glob("*.html.gz"))[:25]
    assert len(pages) == 25
    for page in pages:
        text = _page_text(page)
        assert zh_words(text) == jieba_words(text), page.name


def test_mixed_runs_split_like_jieba(jieba_words):
    text = "发布时间：2019-09-07 17:32，电话027-66668888，见www.people.com.cn与C++、AT&T……价格9.98-13.88元。"
    words = zh_words(text)
    assert words == jieba_words(text)
    assert "2019-09-07" not in words and "C++" in words  # jieba-rs alone keeps the date whole
