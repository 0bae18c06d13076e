"""Chinese word segmentation for the quality signals: ``rjieba`` (jieba-rs) vs ``jieba``, tokens and speed.

    python bench/jieba_compat.py

Texts: the visible text of every gne-zh, debian-reference-zh and mozilla-readability page, the three Gutenberg
Chinese novels and the first 3,000 hotel reviews of misc/zh-ugc (../shared/data). Prints how many documents and
tokens ``transforms.quality.zh.zh_words`` (rjieba) segments differently from ``jieba.lcut`` (same stripping), and
the CPU seconds of each (``time.process_time``, one pass each, after both dictionaries are loaded).
"""
from __future__ import annotations

import difflib
import glob
import gzip
import logging
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
DATA = os.environ.get("YULIAO_TEST_DATA", os.path.join(ROOT, "..", "shared", "data"))


def texts() -> list[str]:
    from trafilatura.utils import load_html

    from transforms.extract import decode_html, visible_text

    out = []
    pages = (sorted(glob.glob(f"{DATA}/web/gne-zh/*")) + sorted(glob.glob(f"{DATA}/web/debian-reference-zh/*/*"))
             + sorted(glob.glob(f"{DATA}/web/mozilla-readability/*/source.html.gz")))
    for path in pages:
        with open(path, "rb") as f:
            body = f.read()
        tree = load_html(decode_html(gzip.decompress(body) if path.endswith(".gz") else body, None))
        if tree is not None:
            out.append(visible_text(tree, 10**7))
    for path in sorted(glob.glob(f"{DATA}/books/gutenberg-zh/*")):
        with open(path, encoding="utf-8") as f:
            out.append(f.read())
    with open(f"{DATA}/misc/zh-ugc/ChnSentiCorp_htl_all.csv", encoding="utf-8") as f:
        out.append("\n".join(f.read().splitlines()[:3000]))
    return out


def main() -> int:
    import jieba

    from transforms.quality.zh import zh_words

    jieba.setLogLevel(logging.CRITICAL)
    jieba.initialize()
    zh_words("预热")  # load rjieba's dictionary outside the timing
    docs = texts()
    same = tokens = differing = 0
    t_jieba = t_rjieba = 0.0
    for text in docs:
        t0 = time.process_time()
        a = [w for w in (t.strip() for t in jieba.lcut(text)) if w]
        t1 = time.process_time()
        b = zh_words(text)
        t2 = time.process_time()
        t_jieba, t_rjieba = t_jieba + t1 - t0, t_rjieba + t2 - t1
        tokens += len(a)
        same += a == b
        if a != b:
            ops = difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes()
            differing += sum(max(i2 - i1, j2 - j1) for op, i1, i2, j1, j2 in ops if op != "equal")
    chars = sum(map(len, docs))
    print(f"{len(docs)} documents, {chars:,} characters, {tokens:,} jieba tokens")
    print(f"identical documents: {same}/{len(docs)}; differing tokens: {differing}")
    print(f"CPU s: jieba {t_jieba:.2f}, rjieba {t_rjieba:.2f} ({t_jieba / max(t_rjieba, 1e-9):.1f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
