"""Quality signals and rules for Chinese (zh, yue, wuu): characters and segmenter words, not whitespace.

English rules misfire on Chinese (research/chinese.md §2): a whitespace "word" is a whole sentence,
English stop words never occur, ``\\b`` does not fire next to Han characters, and ``。！？；…`` end
sentences. So:

* length, Han share and line length are measured in **characters** (ChineseWebText: > 200 chars,
  Han share ≥ 0.3, mean line length ≥ 10);
* word rules use **jieba** tokens, as FineWeb-2 does for ``cmn_Hani`` (datatrove's spaCy ``zh``
  tokenizer runs jieba), with FineWeb-2's re-tuned thresholds: 50 words, mean word length 1–5,
  alpha-word share 0.735, ≥ 2 of its 22 Chinese stop words, newline/word ≤ 0.178, duplicate-line
  share 0.287, top 2/3/4-gram 0.256/0.201/0.171, duplicate 5..10-gram 0.198 … 0.127 (on jieba words);
* a **character** n-gram repetition check (ChineseWebText's 13-gram share ≤ 0.5) that does not
  depend on segmentation;
* a line **ends a sentence** if it ends in ``。！？；…`` (or ASCII ``.!?;``, or any Unicode
  Sentence_Terminal), closing quotes/brackets after the mark allowed (``……。」`` counts), which
  datatrove's ``endswith`` misses.

Words come from rjieba (jieba-rs, the same dictionary and HMM; ``zh_words``), only for documents in the Chinese
group, once per document; its dictionary loads on the first such document of a worker.
"""
from __future__ import annotations

from functools import partial
from typing import Mapping, Optional, Sequence

import regex

from transforms.quality.ngrams import repeated_char_ngram_occurrences
from transforms.quality.rules import (
    TERMINAL_PUNCTUATION, expand_cached, find_duplicates, ngram_failures, repetition_signals, word_stats, _over,
    _under,
)

HAN = regex.compile(r"\p{Han}")
_HAN_RUN = regex.compile(r"\p{Han}+")
_STRIP_NOT_SPACE = regex.compile(r"[\x1c-\x1f]")  # whitespace to str.strip, not to \s
_SPACE = regex.compile(r"\s+")
ZH_SENTENCE_END = "。！？；…!?;."
_CLOSERS = "”’」』）)》〉】\"' |"  # closing quotes/brackets; " |" ends extracted table rows
_LINE_END = tuple(sorted(set(ZH_SENTENCE_END) | set(TERMINAL_PUNCTUATION)))
_SENTENCE_MARKS = regex.compile(r"[。！？；!?;]+|…+|\.(?=\s|$)")
_CLAUSE = regex.compile(r"\p{Han}[，。；！？]\p{Han}")  # clause punctuation between Han chars: running prose
_BULLETS = ("•", "-", "·", "●", "○", "■", "□", "▪", "※", "➢", "◆", "★")

# FineWeb-2 cmn_Hani stop words (fineweb-2/configs/cmn_Hani.yml); mixes Simplified and Traditional forms.
FINEWEB2_ZH_STOP_WORDS: tuple[str, ...] = (
    "的", "年", "在", "月", "是", "和", "日", "了", "於", "·", "為", "有", "被", "人", "中", "为", "他", "與", "後",
    "也", "而", "由")

_jieba = None


def load_jieba():
    """Import and initialise jieba once per process (builds the prefix dict from its packaged dict)."""
    global _jieba
    if _jieba is None:
        import logging

        import jieba

        jieba.setLogLevel(logging.CRITICAL)
        jieba.initialize()
        _jieba = jieba
    return _jieba


# jieba's own split of a non-Han run it has no dictionary word for (``jieba.finalseg.re_skip``): jieba-rs keeps
# "2019-09-07" or "..." whole where jieba yields "2019", "-", "09", … and "..."
_JIEBA_SKIP = regex.compile(r"([a-zA-Z0-9]+(?:\.\d+)?%?)")


def _jieba_compatible(words: list[str], has_word) -> list[str]:
    out: list[str] = []
    for w in words:
        if len(w) > 1 and not w.isalnum() and not HAN.search(w) and not has_word(w):
            out.extend(x for x in _JIEBA_SKIP.split(w) if x)
        else:
            out.append(w)
    return out


def _token_words(tok: str, has_word) -> tuple[str, ...]:
    """What one rjieba token becomes: split as jieba splits it, stripped, whitespace tokens dropped."""
    return tuple(w for w in (t.strip() for t in _jieba_compatible([tok], has_word)) if w)


# rjieba token → its words (most tokens recur within and across documents); emptied when full
_TOKENS: dict[str, tuple[str, ...]] = {}
_TOKENS_MAX = 20_000  # entries (~5 MB)


def zh_words(text: str) -> list[str]:
    """jieba tokens without whitespace tokens (datatrove ``strip_strings``); punctuation tokens kept.

    Segmented by ``rjieba`` (jieba-rs: the same dictionary and HMM, in Rust), ~20x faster than jieba and
    token-for-token identical to ``jieba.lcut`` on 230 documents / 2.4M tokens of the shared Chinese pages, books
    and reviews once non-Han runs are split as jieba splits them (``bench/jieba_compat.py``). Each distinct token
    is post-processed once per worker."""
    import rjieba

    return expand_cached(rjieba.cut(text), _TOKENS, _TOKENS_MAX, partial(_token_words, has_word=rjieba.has_word))


def char_ngram_dup_frac(text: str, n: int = 13) -> float:
    """ChineseWebText repetition: share of char n-grams (lowercased, whitespace removed) whose count > 1."""
    s = _SPACE.sub("", text.lower())
    total = len(s) - n + 1
    if total <= 0:
        return 0.0
    return repeated_char_ngram_occurrences(s, n) / total


_TRAILING_PAREN = regex.compile(r"[（(][^（）()\n]{1,30}[）)]$")  # "……。（德清县发改局）": attribution after the end


def _ends_sentence(line: str) -> bool:
    line = line.rstrip(" |")
    return _TRAILING_PAREN.sub("", line).rstrip(_CLOSERS).endswith(_LINE_END) or line.rstrip(_CLOSERS).endswith(_LINE_END)


def zh_signals(text: str, stop_words: frozenset[str], top_ns: Sequence[int] = (2, 3, 4),
               dup_ns: Sequence[int] = (5, 6, 7, 8, 9, 10), char_ngram: int = 13,
               with_words: bool = True, word_max_chars: Optional[int] = None) -> dict[str, float]:
    """Every Chinese signal of one document; ``with_words=False`` skips jieba (word signals absent).
    Word signals of texts longer than ``word_max_chars`` are measured on a prefix cut at a line end
    (ratios as is, counts scaled to the whole text), so a huge document costs no more than the prefix."""
    n_chars = len(text) - sum(map(len, _SPACE.findall(text)))  # runs, not characters: fewer matches
    sig: dict[str, float] = {"rps_doc_char_count": float(len(text)), "zh_char_count": float(n_chars)}
    if not n_chars:
        return sig
    n_han = sum(map(len, _HAN_RUN.findall(text)))
    lines = [ln.strip() for ln in text.split("\n")]
    lines = [ln for ln in lines if ln]
    n_lines = max(1, len(lines))
    ends = [_ends_sentence(ln) for ln in lines]
    # the lines' non-space characters are the text's, unless str.strip removed one that regex's \s does not match
    line_chars = n_chars if _STRIP_NOT_SPACE.search(text) is None else sum(len(_SPACE.sub("", ln)) for ln in lines)
    sig.update({
        "zh_han_count": float(n_han),
        "zh_han_ratio": n_han / n_chars,
        "zh_line_count": float(len(lines)),
        "zh_mean_line_chars": line_chars / n_lines,
        "zh_frac_lines_end_sentence": sum(ends) / n_lines,
        "zh_frac_chars_lines_end_sentence": sum(len(ln) for ln, e in zip(lines, ends) if e) / max(1, sum(map(len, lines))),
        "zh_frac_chars_prose_lines": sum(len(ln) for ln, e in zip(lines, ends) if e or _CLAUSE.search(ln))
        / max(1, sum(map(len, lines))),
        "zh_sentence_count": float(len(_SENTENCE_MARKS.findall(text))),
        "zh_frac_lines_start_with_bullet": sum(ln.startswith(_BULLETS) for ln in lines) / n_lines,
        "zh_frac_lines_end_with_ellipsis": sum(ln.endswith(("...", "…")) for ln in lines) / n_lines,
        "zh_frac_chars_dup_lines_fw": find_duplicates(lines)[1] / max(1, len(text.replace("\n", ""))),
        f"zh_frac_char_{char_ngram}gram_dup": char_ngram_dup_frac(text, char_ngram),
    })
    if not with_words:
        return sig
    scale = 1.0
    if word_max_chars and len(text) > word_max_chars:
        cut = text.rfind("\n", 0, word_max_chars)
        text = text[:cut if cut > word_max_chars // 2 else word_max_chars]
        scale = float(sig["rps_doc_char_count"]) / len(text)
        sig["zh_words_prefix_chars"] = float(len(text))
    ws = zh_words(text)
    n_words = max(1, len(ws))
    st = word_stats(ws)
    sig.update({
        "zh_word_count": round(st.content * scale),
        "zh_mean_word_length": (st.content_chars / st.content) if st.content else 0.0,
        "zh_symbol_to_word_ratio": text.count("#") / n_words,
        "zh_ellipsis_to_word_ratio": (text.count("...") + text.count("…")) / n_words,
        "zh_frac_alpha_words": st.alpha / n_words,
        "zh_stop_words": float(len(stop_words.intersection(ws))),
        "zh_newline_to_word_ratio": text.count("\n") / n_words,
    })
    sig.update(repetition_signals(text, ws, top_ns, dup_ns, prefix="zh_"))
    return sig


def zh_failures(sig: Mapping[str, float], cfg) -> list[str]:
    """All failing Chinese rules, cheapest first. ``cfg`` is a ``ZhQualityConfig``."""
    if not sig.get("zh_char_count"):
        return ["quality_empty"]
    out: list[str] = []
    if _under(sig["zh_char_count"], cfg.min_chars):
        out.append("zh_short")
    if _over(sig["zh_char_count"], cfg.max_chars):
        out.append("zh_long")
    if _under(sig["zh_han_ratio"], cfg.min_han_ratio):
        out.append("zh_low_han_ratio")
    if _under(sig["zh_mean_line_chars"], cfg.min_mean_line_chars):
        out.append("zh_short_lines")
    if _under(sig["zh_frac_lines_end_sentence"], cfg.min_line_punct_ratio):
        out.append("zh_line_punct_ratio")
    if _under(sig["zh_frac_chars_lines_end_sentence"], cfg.min_line_punct_char_ratio):
        out.append("zh_line_punct_char_ratio")
    if _under(sig["zh_sentence_count"], cfg.min_sentences):
        out.append("zh_few_sentences")
    if _over(sig["zh_frac_lines_start_with_bullet"], cfg.max_bullet_lines_ratio):
        out.append("zh_too_many_bullets")
    if _over(sig["zh_frac_lines_end_with_ellipsis"], cfg.max_ellipsis_lines_ratio):
        out.append("zh_too_many_end_ellipsis")
    if _over(sig["zh_frac_chars_dup_lines_fw"], cfg.char_duplicates_ratio):
        out.append("zh_char_dup_ratio")
    if _over(sig.get(f"zh_frac_char_{cfg.char_ngram}gram_dup"), cfg.max_char_ngram_dup_frac):
        out.append("zh_char_repetition")
    if "zh_word_count" not in sig:
        return out
    if _under(sig["zh_word_count"], cfg.min_words):
        out.append("zh_few_words")
    if _over(sig["zh_word_count"], cfg.max_words):
        out.append("zh_too_many_words")
    if sig["zh_word_count"] and (_under(sig["zh_mean_word_length"], cfg.min_avg_word_length)
                                 or _over(sig["zh_mean_word_length"], cfg.max_avg_word_length)):
        out.append("zh_avg_word_length")
    if _over(sig["zh_symbol_to_word_ratio"], cfg.max_symbol_word_ratio):
        out.append("zh_too_many_hashes")
    if _over(sig["zh_ellipsis_to_word_ratio"], cfg.max_symbol_word_ratio):
        out.append("zh_too_many_ellipsis")
    if _under(sig["zh_frac_alpha_words"], cfg.min_alpha_words_ratio):
        out.append("zh_below_alpha_threshold")
    if _under(sig["zh_stop_words"], cfg.min_stop_words):
        out.append("zh_few_stop_words")
    if _over(sig["zh_newline_to_word_ratio"], cfg.new_line_ratio):
        out.append("zh_list_ratio")
    if _over(sig["zh_frac_dup_lines"], cfg.dup_line_frac):
        out.append("zh_dup_line_frac")
    if _over(sig["zh_frac_dup_paragraphs"], cfg.dup_para_frac):
        out.append("zh_dup_para_frac")
    out += ngram_failures(sig, "zh", "zh", cfg.top_n_grams, cfg.dup_n_grams)
    return out


def needs_words(cfg) -> bool:
    """Whether any enabled rule looks at jieba words (if none, jieba is never run)."""
    return any(v is not None for v in (cfg.min_words, cfg.max_words, cfg.min_avg_word_length,
                                        cfg.max_avg_word_length, cfg.min_alpha_words_ratio, cfg.min_stop_words,
                                        cfg.new_line_ratio, cfg.dup_line_frac)) or bool(cfg.top_n_grams or
                                                                                      cfg.dup_n_grams)


def first_reason(failures: Sequence[str]) -> Optional[str]:
    return failures[0] if failures else None
