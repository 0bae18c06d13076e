"""How tests/fixtures/extract_gold/zh.jsonl was labelled (provenance; not run by tests or the benchmark).

For each page a person read the page and chose, by hand, the element holding the article body
(``container``), elements inside it that are not article text (``drop``), lines that are not
article text (``COMMON_DROP`` and, per page, ``drop_lines``: bylines, editor/source credits, share prompts, video placeholders)
and a line from which everything is boilerplate (``cut_from``: related links, "延伸阅读",
sign-up prompts). The gold text is then the block text of that element with those removed;
the result was read through before it was committed. No extractor is involved. Title lines are
not part of the gold (extractors return the title separately). Conventions: subheadings, image
captions and "（原标题：…）" lines inside the body are kept; "责任编辑/本文来源/免责声明" lines
are dropped.

    PYTHONPATH=$PWD .venv/bin/python bench/extract_gold_zh.py > tests/fixtures/extract_gold/zh.jsonl
"""
from __future__ import annotations

import gzip
import json
import os
import re
import sys

from lxml import html as lxml_html

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from transforms.extract import decode_html  # noqa: E402

DATA = os.environ.get("YULIAO_TEST_DATA", os.path.join(ROOT, "..", "shared", "data"))

# lines that are credits or widgets wherever they appear (decided while reading the pages)
COMMON_DROP = [r"^本文来源：", r"^责任编辑[：:]", r"^（责任编辑", r"^\(责编", r"^责编[：:|]", r"^【编辑：", r"^免责声明",
               r"^【纠错】$", r"^\+1$", r"^图集$", r"^【\d】(【\d】)*$", r"^点击进入“", r"您的浏览器暂时无法播放此视频",
               r"^相关资讯请关注", r"^本文为CSDN原创文章", r"^编辑 .* 校对 ", r"^向前 向后$", r"^(自动播放|play) "]
A = "article"
# name: (group, container xpath, drop xpaths, page-specific dropped line regexes, cut_from regex, what)
SPEC: dict[str, tuple] = {
    "gne-zh/tests__163__1": ('//div[@id="endText"]', [], [], None),
    "gne-zh/tests__163__2": ('//div[@id="endText"]', [], [], None),
    "gne-zh/tests__163__3": ('//div[@id="endText"]', [], [], None),
    "gne-zh/tests__163__4": ('//div[@id="endText"]', [], [], None),
    "gne-zh/tests__163__5": ('//div[@id="endText"]', ['//div[@class="special_tag_cnt"]'], [], r"^延伸 · 推荐$"),
    "gne-zh/tests__163__6": ('//div[@id="endText"]', [], [], None),
    "gne-zh/tests__163__7": ('//div[@id="endText"]', [], [], None),
    "gne-zh/tests__163__8": ('//div[@id="endText"]', [], [], r"^延伸阅读$"),
    "gne-zh/tests__163__9": ('//div[@id="content"]', [], [], None),
    "gne-zh/tests__baijiahao__1": ('//div[@class="article-content"]', [], [], None),
    "gne-zh/tests__baijiahao__3": ('//div[@class="article-content"]', [], [], None),
    "gne-zh/tests__cjddsb__1": ('//div[@class="single-content"]', [], [], None),
    "gne-zh/tests__cjn__1": ('//div[@class="TRS_Editor"]', [], [], None),
    "gne-zh/tests__cmse__1": ('//div[@class="TRS_Editor"]', [], [], None),
    "gne-zh/tests__csdn__1": ('//div[@class="con news_content"]', [], [], None),
    "gne-zh/tests__ednchina__1": ('//div[@class="article_text"]', [], [r"^责编："], None),
    "gne-zh/tests__gamersky__gamersky": ('//div[@class="gsAreaContextArt"]', [], [], None),
    "gne-zh/tests__gsc__1": ('//div[@class="detailCon"]', [], [], None),
    "gne-zh/tests__guancha__2": ('//div[@class="content all-txt"]', [], [], None),
    "gne-zh/tests__guancha__guancha": ('//div[@class="content all-txt"]', [], [], None),
    "gne-zh/tests__huanqiu__1": ('//div[@class="a-con"]', [], [], None),
    "gne-zh/tests__ifeng__1": ('//div[starts-with(@class,"text-")]', [], [], None),
    "gne-zh/tests__ifeng__3": ('//div[@id="main_content"]', [], [], None),
    "gne-zh/tests__njxfhn__1": ('//div[@class="post-body"]', [], [], r"^责任编辑："),
    "gne-zh/tests__people__1": ('//div[@id="rwb_zw"]', [], [], None),
    "gne-zh/tests__qq__2": ('//div[@id="Cnt-Main-Article-QQ"]', [], [], None),
    "gne-zh/tests__qq__qq": ('//div[@class="content-article"]', [], [], None),
    "gne-zh/tests__sina__1": ('//div[@id="article"]', [], [], None),
    "gne-zh/tests__sina__3": ('//div[@id="artibody"]', [], [], None),
    "gne-zh/tests__sina__4": ('//div[@id="artibody"]', [], [r"^新酷产品第一时间免费试玩", r"^相关新闻：$", r"^直播2019年苹果发布会",
                                                           r"^苹果2019年秋季新品发布会：谈色彩"], None),
    "gne-zh/tests__sina__sina": ('//div[@id="article"]', [], [], None),
    "gne-zh/tests__sxmu__1": ('//div[@id="vsb_content"]', [], [], None),
    "gne-zh/tests__thepaper__2": ('//div[@class="news_txt"]', [], [], r"^编辑\|"),
    "gne-zh/tests__toutiao__3": ('//div[@class="article-content"]', [], [], None),
    "gne-zh/tests__toutiao__4": ('//div[@class="article-content"]', [], [], None),
    "gne-zh/tests__toutiao__5": ('//div[@class="article-content"]', [], [], None),
    "gne-zh/tests__wechat__2": ('//div[@id="js_content"]', [], [], None),
    "gne-zh/tests__xds__1": ('//div[@class="statuses-text"]', [], [], None),
    "gne-zh/tests__xinhuanet__1": ('//div[@id="p-detail"]', [], [], None),
    "gne-zh/tests__zsnews__1": ('/html/body/center/table/tbody/tr[1]/td/table[2]/tbody/tr[2]/td[2]/table/tbody/tr/td'
                                '/table[2]/tbody/tr[3]/td', [], [], None),
    "gne-zh/tests__zyyfy__1": ('//div[@id="div_article_content"]', [], [], None),
    # Debian Reference: the whole chapter body; the navigation header/footer and the table of contents are not
    "debian-reference-zh/zh-cn/apa.zh-cn": ('//body', ['//div[@class="navheader"]', '//div[@class="navfooter"]',
                                                        '//div[@class="toc"]'], [], None),
    "debian-reference-zh/zh-cn/pr01.zh-cn": ('//body', ['//div[@class="navheader"]', '//div[@class="navfooter"]',
                                                         '//div[@class="toc"]'], [], None),
    "debian-reference-zh/zh-tw/apa.zh-tw": ('//body', ['//div[@class="navheader"]', '//div[@class="navfooter"]',
                                                        '//div[@class="toc"]'], [], None),
    "debian-reference-zh/zh-tw/ch08.zh-tw": ('//body', ['//div[@class="navheader"]', '//div[@class="navfooter"]',
                                                         '//div[@class="toc"]'], [], None),
}
BLOCK = frozenset("p div br li h1 h2 h3 h4 h5 h6 tr section article pre blockquote table ul ol dd dt dl figcaption "
                  "header footer main td th caption".split())


def block_lines(el) -> list[str]:
    """Text of ``el`` as lines, one per block element, whitespace folded (scripts and styles skipped)."""
    out: list[str] = []
    cur: list[str] = []

    def flush() -> None:
        s = " ".join("".join(cur).split())
        cur.clear()
        if s:
            out.append(s)

    def walk(e) -> None:
        if not isinstance(e.tag, str) or e.tag in ("script", "style", "noscript"):
            if e.tail:
                cur.append(e.tail)
            return
        if e.tag in BLOCK:
            flush()
        if e.text:
            cur.append(e.text)
        for c in e:
            walk(c)
        if e.tag in BLOCK:
            flush()
        if e.tail and e is not el:
            cur.append(e.tail)

    walk(el)
    flush()
    return out


def label(name: str) -> dict:
    xpath, drops, drop_lines, cut_from = SPEC[name]
    path = f"web/{name}.html.gz"
    with open(os.path.join(DATA, path), "rb") as f:
        html = re.sub(r"^\s*<\?xml[^>]*>", "", decode_html(gzip.decompress(f.read()), None))
    tree = lxml_html.fromstring(html)
    for d in drops:
        for e in tree.xpath(d):
            e.drop_tree()
    lines = [line for e in tree.xpath(xpath) for line in block_lines(e)]
    if cut_from:
        cut = next((i for i, line in enumerate(lines) if re.search(cut_from, line)), len(lines))
        lines = lines[:cut]
    lines = [line for line in lines if not any(re.search(r, line) for r in COMMON_DROP + drop_lines)]
    lines = [re.sub(r"(返回腾讯网首页>>|返回富达，查看更多)$", "", line) for line in lines]
    group = "zh"
    return {"path": path, "group": group, "gold": "text", "container": xpath, "drop": drops,
            "drop_lines": drop_lines, "cut_from": cut_from,
            "what": "article body chosen by hand (container), minus credits/widgets/related links; title excluded",
            "text": "\n".join(line for line in lines if line)}


if __name__ == "__main__":
    for name in SPEC:
        print(json.dumps(label(name), ensure_ascii=False))
