"""Quality signals and rules for space-delimited languages: Gopher quality + repetition, C4, FineWeb.

The rules are the ones datatrove implements (``GopherQualityFilter``, ``GopherRepetitionFilter``,
``C4QualityFilter``, ``FineWebQualityFilter``, v0.10), re-implemented so that every number a rule
looks at is first stored as a *signal* (RedPajama-v2 style names, ``rps_doc_*`` / ``rps_lines_*``)
and the decision is a comparison of signals against recipe thresholds. Signals are computed for
every document, pass or fail, so thresholds can be re-tuned later from the Parquet alone.

Words: datatrove 0.10 tokenizes English with spaCy's rule-based tokenizer (``spacy.blank("en")``,
assigned in its ``tokenizer_assignment.csv``). ``words()`` re-implements that scheme (whitespace chunks,
prefix/suffix/infix punctuation, contractions, units after numbers, URLs and e-mails whole) without the
dependency; on the 256 English test pages 200 token lists are identical and the decisions agree on
~98% of documents (``bench/quality_vs_datatrove.py``).

Everything here is O(n) in the text length (hash sets/counters, no pairwise comparisons).
"""
from __future__ import annotations

import re
from collections import Counter
from itertools import chain
from typing import Callable, Iterable, Mapping, NamedTuple, Optional, Sequence

import regex

from transforms.quality.ngrams import Grams, dup_ngram_chars, top_ngram_chars

# ------------------------------------------------------------------ characters

# Unicode Sentence_Terminal: datatrove's TERMINAL_PUNCTUATION is this property (its 159 chars differ
# from Unicode 15's 172 only in rare Khmer/Balinese/Tangsa marks).
TERMINAL_PUNCTUATION: tuple[str, ...] = tuple(sorted(set(regex.findall(
    r"\p{Sentence_Terminal}", "".join(map(chr, range(0x2FFFF))).encode("utf-8", "ignore").decode("utf-8")))))
_PUNCT_OR_SYMBOL = regex.compile(r"[\p{P}\p{S}\p{Cc}\s]+")  # a "symbol word" is made only of these


def is_symbol_word(w: str) -> bool:
    return _PUNCT_OR_SYMBOL.fullmatch(w) is not None


class WordStats(NamedTuple):
    content: int  # words that are not symbol words
    content_chars: int  # their characters
    unique_content: int  # distinct ones
    alpha: int  # words with at least one letter


def word_stats(ws: Sequence[str]) -> WordStats:
    """Counts over a document's words, each distinct word looked at once (a word of letters only is neither a
    symbol word nor without a letter: no regex for it)."""
    content = chars = unique = alpha = 0
    for w, c in Counter(ws).items():
        if w.isalpha():
            content += c
            chars += c * len(w)
            unique += 1
            alpha += c
            continue
        if _PUNCT_OR_SYMBOL.fullmatch(w) is None:
            content += c
            chars += c * len(w)
            unique += 1
        if any(ch.isalpha() for ch in w):
            alpha += c
    return WordStats(content, chars, unique, alpha)


# ------------------------------------------------------------------ English-style words (spaCy-like)
# datatrove 0.10 tokenizes English with spaCy's rule-based tokenizer (``spacy.blank("en")``, via its
# tokenizer_assignment.csv). ``words()`` follows the same scheme without the dependency: split on
# whitespace, then peel prefix and suffix punctuation off each chunk, keep URLs/e-mails and a few
# abbreviations whole, then split infixes (letter-hyphen-letter, digit-operator-digit, a/b, a,b, "..").

_ABBREV = frozenset(
    "mr mrs ms dr prof sr jr st mt vs etc inc ltd co corp jan feb mar apr jun jul aug sep sept oct nov dec "
    "no nos vol fig figs al gen gov sen rep rev col lt sgt capt cmdr adm est approx dept univ ave blvd".split())
_INITIALS = re.compile(r"^(?:[A-Za-z]\.)+[A-Za-z]?$")  # U.S, e.g, i.e
_KEEP_WHOLE = frozenset(["e.g.", "i.e.", "U.S.", "U.K.", "a.m.", "p.m.", "Mr.", "Mrs.", "Ms.", "Dr.", "St.", "vs.",
                         "Jr.", "Sr.", "Inc.", "Ltd.", "Co.", "Corp.", "Jan.", "Feb.", "Aug.", "Sept.", "Oct.",
                         "Nov.", "Dec.", "Prof.", "Gen.", "Gov.", "Sen.", "Rep.", "Mt.", "Ph.D.", "and/or", "''",
                         "):", ":)", "(:", ":(", ";)", ":-)", ":-(", "<3", ":P", ":D", "=)", ":/"])
_UNITS = regex.compile(r"(?<=[0-9])(?:km[²³]?|m[²³]?|dm[²³]?|cm[²³]?|mm[²³]?|ha|µm|nm|yd|in|ft|kg|g|mg|µg|t|lb|oz|m/s|"
                       r"km/h|kmh|mph|hPa|Pa|mbar|mb|MB|kb|KB|gb|GB|tb|TB|T|G|M|K|%|\$|£|€|¥|₹|\+)$")
_SYMBOL = regex.compile(r"\p{So}")
_QUOTES = "'\"”“`‘´’‚„»«「」『』（）〔〕【】《》〈〉⟦⟧"
_PUNCT = "…,:;!?¿¡()[]{}<>_#*&。？！，、；：～·"
_PREFIX_CHARS = frozenset(_QUOTES + _PUNCT + "§%=—–$£€¥₹₩₽¢")
_SUFFIX_CHARS = frozenset(_QUOTES + _PUNCT + "—–")
_CONTRACTIONS = ("n't", "n’t", "'s", "'S", "’s", "’S", "'m", "’m", "'re", "’re", "'ve", "’ve", "'ll", "’ll", "'d",
                 "’d")
_URL = re.compile(r"(?:https?://|www\.)\S+|[\w.+-]+@[\w-]+(?:\.[\w-]+)+|(?:[a-z0-9-]+\.)+(?:com|org|net|edu|gov|io|"
                  r"uk|de|fr|co|info|us)(?:/\S*)?", re.I)
_PERIOD_AFTER = re.compile(r"[0-9a-z%²\-+" + re.escape(_PUNCT + _QUOTES) + r"]$|[A-Z][A-Z]$")
_INFIX = regex.compile(r"(\.\.+|…|\p{So}|(?<=[0-9])[+\-*^](?=[0-9-])|(?<=[a-z" + re.escape(_QUOTES) + r"])\.(?=[A-Z"
                    + re.escape(_QUOTES) + r"])|(?<=[^\W\d_]),(?=[^\W\d_])|(?<=[^\W_])(?:---|--|—|–|-|~)(?=[^\W\d_])|"
                    r"(?<=[^\W_])[:<>=/](?=[^\W\d_]))")
_SIMPLE_ALNUM = re.compile(r"[^\W_]+")


def _split_chunk(s: str, out: list[str]) -> None:
    suffixes: list[str] = []
    while s:
        if s in _KEEP_WHOLE:
            break
        if s.startswith("''") and len(s) > 2:
            out.append("''")
            s = s[2:]
            continue
        if s.startswith("..") and len(s) > 2:
            n = len(s) - len(s.lstrip("."))
            out.append(s[:n])
            s = s[n:]
            continue
        if s[0] in _PREFIX_CHARS or (s[0] == "+" and not s[1:2].isdigit()) or _SYMBOL.match(s[0]):
            out.append(s[0])
            s = s[1:]
            continue
        if s.endswith("..") and len(s) > 2:
            n = len(s) - len(s.rstrip("."))
            suffixes.append(s[-n:])
            s = s[:-n]
            continue
        if len(s) > 2 and (s.endswith("''") or s.endswith("):")):
            suffixes.append(s[-2:])
            s = s[:-2]
            continue
        if (s[-1] in _SUFFIX_CHARS or _SYMBOL.match(s[-1])) and len(s) > 1:
            suffixes.append(s[-1])
            s = s[:-1]
            continue
        c = next((c for c in _CONTRACTIONS if s.endswith(c) and len(s) > len(c)), None)
        if c:
            suffixes.append(c)
            s = s[:-len(c)]
            continue
        u = _UNITS.search(s)
        if u and u.start() > 0:
            suffixes.append(u.group(0))
            s = s[:u.start()]
            continue
        if s == "cannot" or s == "Cannot":
            out.append(s[:3])
            s = s[3:]
            break
        if (s[-1] == "." and len(s) > 1 and not (len(s) == 2 and s[0].isalpha()) and _PERIOD_AFTER.search(s[:-1])
                and not _INITIALS.match(s[:-1])):
            suffixes.append(".")
            s = s[:-1]
            continue
        break
    if s:
        if s in _KEEP_WHOLE or _URL.fullmatch(s):
            out.append(s)
        else:
            out.extend(p for p in _INFIX.split(s) if p)
    out.extend(reversed(suffixes))


# the commonest chunks with punctuation, an ASCII word with one bracket/quote before or one mark after ("(see",
# "said,", "“Yes", "end)") or with a final period: ``_split_chunk`` would only peel those characters off (none
# of its whole-keeping, contraction, unit, URL or infix rules can apply to such a chunk)
_EDGED = re.compile(r"([(\[\"“‘]?)([A-Za-z]+)([,;:!?)\]\"”’]?)")
_DOTTED = re.compile(r"([A-Za-z]*(?:[a-z]|[A-Z][A-Z]))\.")  # peeled when _PERIOD_AFTER matches (≥ 2 letters)


def _chunk_tokens(chunk: str) -> tuple[str, ...]:
    if _SIMPLE_ALNUM.fullmatch(chunk) and not chunk[0].isdigit() and chunk not in ("cannot", "Cannot"):
        return (chunk,)
    m = _EDGED.fullmatch(chunk)
    if m is not None and m.group(2) not in ("cannot", "Cannot"):
        return tuple(x for x in m.groups() if x)
    m = _DOTTED.fullmatch(chunk)
    if m is not None and len(chunk) > 2 and chunk not in _KEEP_WHOLE and m.group(1) not in ("cannot", "Cannot"):
        return m.group(1), "."
    out: list[str] = []
    _split_chunk(chunk, out)
    return tuple(out)


# whitespace chunk → its tokens, for the chunks of the documents lately seen ("the,", "world." recur across
# documents; most distinct chunks are split once per document)
_CHUNKS: dict[str, tuple[str, ...]] = {}
_CHUNKS_MAX = 10_000  # entries (~2 MB); emptied when full


def words(text: str) -> list[str]:
    """English-style tokens close to datatrove's (spaCy ``en``) tokenization: punctuation tokens included."""
    return expand_cached(text.split(), _CHUNKS, _CHUNKS_MAX, _chunk_tokens)


def expand_cached(keys: Sequence[str], cache: dict[str, tuple[str, ...]], max_entries: int,
                  expand: Callable[[str], tuple[str, ...]]) -> list[str]:
    """``expand`` of every key, concatenated, each distinct key expanded once while it stays in ``cache``: words
    and tokens recur within and across documents. The cache is emptied when it would pass ``max_entries``, so
    a worker's share stays bounded whatever the corpus size."""
    missing = set(keys).difference(cache)
    if missing:
        if len(cache) + len(missing) > max_entries:
            cache.clear()
            missing = set(keys)
        for key in missing:
            cache[key] = expand(key)
    return list(chain.from_iterable(map(cache.__getitem__, keys)))


# ------------------------------------------------------------------ shared counting helpers


def find_duplicates(items: Iterable[str]) -> tuple[int, int]:
    """(number of repeated elements, characters in them) — every occurrence after the first counts."""
    seen: set[str] = set()
    dup_n = dup_chars = 0
    for x in items:
        if x in seen:
            dup_n += 1
            dup_chars += len(x)
        else:
            seen.add(x)
    return dup_n, dup_chars


_PARA_SPLIT = re.compile(r"\n{2,}")
_LINE_SPLIT = re.compile(r"\n+")


def repetition_signals(text: str, ws: Sequence[str], top_ns: Iterable[int], dup_ns: Iterable[int],
                       prefix: str = "rps_doc_") -> dict[str, float]:
    """Gopher repetition signals (Rae et al. 2021, Table A1) as fractions of ``len(text)``."""
    n_chars = max(1, len(text))
    paras = _PARA_SPLIT.split(text.strip())
    p_dup, p_chars = find_duplicates(paras)
    lines = _LINE_SPLIT.split(text)
    l_dup, l_chars = find_duplicates(lines)
    sig = {
        f"{prefix}frac_dup_paragraphs": p_dup / len(paras),
        f"{prefix}frac_chars_dup_paragraphs": p_chars / n_chars,
        f"{prefix}frac_dup_lines": l_dup / len(lines),
        f"{prefix}frac_chars_dup_lines": l_chars / n_chars,
    }
    spaced, glued = Grams(ws, " "), Grams(ws)
    for n in top_ns:
        sig[f"{prefix}frac_chars_top_{n}gram"] = top_ngram_chars(spaced, n) / n_chars
    for n in dup_ns:
        sig[f"{prefix}frac_chars_dupe_{n}grams"] = dup_ngram_chars(glued, n) / n_chars
    return sig


def line_stats(text: str, stop_chars: tuple[str, ...]) -> tuple[list[str], dict[str, float]]:
    """FineWeb line signals shared by both language families (non-empty lines, not re-stripped)."""
    lines = [ln for ln in text.split("\n") if ln.strip()]
    n = max(1, len(lines))
    return lines, {"rps_lines_ending_with_terminal_punctuation_mark": sum(ln.endswith(stop_chars) for ln in lines) / n}


# ------------------------------------------------------------------ C4

_CITATION = re.compile(r"\[\d*]|\[edit]|\[citation needed]")
_C4_END = (".", "?", "!", '"', "'")
_POLICY = ("terms of use", "privacy policy", "cookie policy", "uses cookies", "use of cookies", "use cookies")
# sentence boundary inside a line: terminal mark(s), optional closers, space, then a non-lowercase start
# (the word before the marks is the rest of its whitespace-delimited chunk: read back from the match, which is faster
# than a leading lazy ``(\S*?)`` group the regex engine retries at every character of every word)
_SENT_BOUNDARY = re.compile(r"([.!?]+)[\"')\]\u201d\u2019]*\s+(?=[^\sa-z])")


def count_sentences(line: str) -> int:
    """Punkt-like sentence count of one line: boundaries after .!? not preceded by an abbreviation."""
    n = 1
    for m in _SENT_BOUNDARY.finditer(line):
        if m.group(1) == ".":
            k = s = m.start()
            while k and not line[k - 1].isspace():
                k -= 1
            word = line[k:s]
            if word.lower().rstrip(".") in _ABBREV or _INITIALS.match(word):
                continue
        n += 1
    return n


def c4_signals(text: str, max_word_length: int = 1000, remove_citations: bool = True,
               filter_no_terminal_punct: bool = True, min_words_per_line: int = 3, filter_javascript: bool = True,
               filter_policy: bool = True) -> dict[str, float]:
    """C4 line rules (Raffel et al. 2020 + TFDS ``c4_utils``) as datatrove applies them: sentences are
    counted over lines that survive the line filters; lorem ipsum / curly bracket are doc flags, seen
    only in surviving lines (as in datatrove)."""
    n_lines = kept = js = policy = 0
    sentences = lorem = curly = 0
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        n_lines += 1
        ws = line.split()
        if max_word_length != -1 and len(line) > max_word_length and any(len(w) > max_word_length for w in ws):
            continue
        if remove_citations and "[" in line:
            line = _CITATION.sub("", line)
        if filter_no_terminal_punct and (not line.endswith(_C4_END) or line.endswith("...")):
            continue
        if len(ws) < min_words_per_line:
            continue
        low = line.lower()
        if "lorem ipsum" in low:
            lorem = lorem or (2 if curly else 1)
        if filter_javascript and "javascript" in low:
            js += 1
            continue
        if "{" in line:
            curly = curly or (2 if lorem else 1)
        if filter_policy and any(p in low for p in _POLICY):
            policy += 1
            continue
        kept += 1
        sentences += count_sentences(line)
    return {
        "rps_doc_num_sentences": float(sentences),
        "rps_doc_lorem_ipsum": float(lorem),  # 1: seen first, 2: seen after a curly bracket
        "rps_doc_curly_bracket": float(curly),
        "rps_lines_javascript_counts": float(js),
        "rps_lines_policy_counts": float(policy),
        "rps_lines_c4_kept_frac": kept / max(1, n_lines),
    }


# ------------------------------------------------------------------ all space-delimited signals

_BULLETS = ("•", "-")


def space_signals(text: str, stop_words: frozenset[str], top_ns: Iterable[int] = (2, 3, 4),
                  dup_ns: Iterable[int] = (5, 6, 7, 8, 9, 10), c4: Optional[Mapping] = None,
                  short_line_length: int = 30) -> dict[str, float]:
    """Every Gopher/C4/FineWeb signal of one document (empty text → only ``rps_doc_char_count``)."""
    sig: dict[str, float] = {"rps_doc_char_count": float(len(text))}
    if not text.strip():
        return sig
    ws = words(text)
    n_words = max(1, len(ws))
    st = word_stats(ws)
    lines = text.splitlines() or [""]
    sig.update({
        "rps_doc_word_count": float(st.content),
        "rps_doc_mean_word_length": (st.content_chars / st.content) if st.content else 0.0,
        "rps_doc_symbol_to_word_ratio": text.count("#") / n_words,
        "rps_doc_ellipsis_to_word_ratio": (text.count("...") + text.count("…")) / n_words,
        "rps_doc_frac_lines_start_with_bullet": sum(ln.lstrip().startswith(_BULLETS) for ln in lines) / len(lines),
        "rps_doc_frac_lines_end_with_ellipsis": sum(ln.rstrip().endswith(("...", "…")) for ln in lines) / len(lines),
        "rps_doc_frac_alpha_words": st.alpha / n_words,
        "rps_doc_stop_words": float(len(stop_words.intersection(ws))),
        "rps_doc_frac_unique_words": st.unique_content / max(1, st.content),
    })
    sig.update(repetition_signals(text, ws, top_ns, dup_ns))
    sig.update(c4_signals(text, **(c4 or {})))
    fw_lines, fw = line_stats(text, TERMINAL_PUNCTUATION)
    sig.update(fw)
    sig["rps_lines_frac_short"] = sum(len(ln) <= short_line_length for ln in fw_lines) / max(1, len(fw_lines))
    sig["rps_doc_frac_chars_dup_lines_fw"] = find_duplicates(fw_lines)[1] / max(1, len(text.replace("\n", "")))
    sig["rps_doc_newline_to_word_ratio"] = text.count("\n") / n_words
    return sig


# ------------------------------------------------------------------ decisions


def _over(v: Optional[float], limit: Optional[float]) -> bool:
    return limit is not None and v is not None and v > limit


def _under(v: Optional[float], limit: Optional[float]) -> bool:
    return limit is not None and v is not None and v < limit


def ngram_failures(sig: Mapping[str, float], signal_prefix: str, reason_prefix: str,
                   top_n_grams: Mapping[int, float], dup_n_grams: Mapping[int, float]) -> list[str]:
    """Gopher n-gram repetition rules, shared by the space-delimited and the Chinese rule sets."""
    out = []
    for n, limit in sorted(top_n_grams.items()):
        if _over(sig.get(f"{signal_prefix}_frac_chars_top_{n}gram"), limit):
            out.append(f"{reason_prefix}_top_{n}_gram")
    for n, limit in sorted(dup_n_grams.items()):
        if _over(sig.get(f"{signal_prefix}_frac_chars_dupe_{n}grams"), limit):
            out.append(f"{reason_prefix}_dup_{n}_grams")
    return out


def space_failures(sig: Mapping[str, float], cfg) -> list[str]:
    """All failing rules, in datatrove's FineWeb pipeline order (repetition, quality, C4, FineWeb).
    ``cfg`` is a ``SpaceQualityConfig`` (gopher / repetition / c4 / fineweb sections)."""
    if "rps_doc_word_count" not in sig:
        return ["quality_empty"]
    out: list[str] = []
    r = cfg.repetition
    if r.enabled:
        for key, name, limit in (("frac_dup_paragraphs", "dup_para_frac", r.dup_para_frac),
                                 ("frac_chars_dup_paragraphs", "dup_para_char_frac", r.dup_para_char_frac),
                                 ("frac_dup_lines", "dup_line_frac", r.dup_line_frac),
                                 ("frac_chars_dup_lines", "dup_line_char_frac", r.dup_line_char_frac)):
            if _over(sig[f"rps_doc_{key}"], limit):
                out.append(f"gopher_rep_{name}")
        out += ngram_failures(sig, "rps_doc", "gopher_rep", r.top_n_grams, r.dup_n_grams)
    g = cfg.gopher
    if g.enabled:
        if _under(sig["rps_doc_word_count"], g.min_doc_words):
            out.append("gopher_short_doc")
        if _over(sig["rps_doc_word_count"], g.max_doc_words):
            out.append("gopher_long_doc")
        if sig["rps_doc_word_count"]:
            if _under(sig["rps_doc_mean_word_length"], g.min_avg_word_length):
                out.append("gopher_below_avg_word_length")
            if _over(sig["rps_doc_mean_word_length"], g.max_avg_word_length):
                out.append("gopher_above_avg_word_length")
        if _over(sig["rps_doc_symbol_to_word_ratio"], g.max_symbol_word_ratio):
            out.append("gopher_too_many_hashes")
        if _over(sig["rps_doc_ellipsis_to_word_ratio"], g.max_symbol_word_ratio):
            out.append("gopher_too_many_ellipsis")
        if _over(sig["rps_doc_frac_lines_start_with_bullet"], g.max_bullet_lines_ratio):
            out.append("gopher_too_many_bullets")
        if _over(sig["rps_doc_frac_lines_end_with_ellipsis"], g.max_ellipsis_lines_ratio):
            out.append("gopher_too_many_end_ellipsis")
        if _under(sig["rps_doc_frac_alpha_words"], g.min_alpha_words_ratio):
            out.append("gopher_below_alpha_threshold")
        if _under(sig["rps_doc_stop_words"], g.min_stop_words):
            out.append("gopher_few_stop_words")
    c = cfg.c4
    if c.enabled:
        lorem, curly = sig["rps_doc_lorem_ipsum"], sig["rps_doc_curly_bracket"]
        if c.filter_lorem_ipsum and lorem and not (c.filter_curly_bracket and curly == 1):
            out.append("c4_lorem_ipsum")
        elif c.filter_curly_bracket and curly:
            out.append("c4_curly_bracket")
        elif c.min_num_sentences != -1 and sig["rps_doc_num_sentences"] < c.min_num_sentences:
            out.append("c4_too_few_sentences")
    f = cfg.fineweb
    if f.enabled:
        lp = sig["rps_lines_ending_with_terminal_punctuation_mark"]
        if lp < f.line_punct_thr and not (lp == 0 and f.line_punct_exclude_zero):
            out.append("fineweb_line_punct_ratio")
        if _over(sig["rps_lines_frac_short"], f.short_line_thr):
            out.append("fineweb_short_line_ratio")
        if _over(sig["rps_doc_frac_chars_dup_lines_fw"], f.char_duplicates_ratio):
            out.append("fineweb_char_dup_ratio")
        if _over(sig["rps_doc_newline_to_word_ratio"], f.new_line_ratio):
            out.append("fineweb_list_ratio")
    return out
