"""The fast signal and normalisation paths give exactly what the plain definitions give, on real text.

Reference implementations below are the plain-Python definitions the fast code replaced (Gopher / datatrove
``find_duplicates`` / ``find_top_duplicate`` / ``find_all_duplicate``, ChineseWebText's char n-gram share, ftfy
called on the whole text): each fast function must match them on real books, reviews and sentences in 79
languages, including with every hash colliding and with mojibake made from real text."""
from __future__ import annotations

import csv
import gzip
import random
import re
from collections import Counter
from pathlib import Path

import pytest

from transforms import normalize
from transforms.quality import ngrams, rules
from transforms.quality.rules import words, word_stats
from transforms.quality.zh import char_ngram_dup_frac, zh_words


# ------------------------------------------------------------------ references (the definitions)

def ref_top(ws: list[str], n: int) -> int:
    if len(ws) < n:
        return 0
    gram, c = Counter(" ".join(ws[i:i + n]) for i in range(len(ws) - n + 1)).most_common(1)[0]
    return len(gram) * c


def ref_dup(ws: list[str], n: int) -> int:
    seen: set[str] = set()
    total, i = 0, 0
    while i < len(ws) - n + 1:
        gram = "".join(ws[i:i + n])
        if gram in seen:
            total += len(gram)
            i += n
        else:
            seen.add(gram)
            i += 1
    return total


def ref_char_dup(text: str, n: int = 13) -> float:
    s = re.sub(r"\s+", "", text.lower())
    total = len(s) - n + 1
    if total <= 0:
        return 0.0
    counts = Counter(s[i:i + n] for i in range(total))
    return sum(c for c in counts.values() if c > 1) / total


def ref_word_stats(ws: list[str]) -> tuple[int, int, int, int]:
    content = [w for w in ws if not rules.is_symbol_word(w)]
    return len(content), sum(map(len, content)), len(set(content)), sum(any(c.isalpha() for c in w) for w in ws)


# ------------------------------------------------------------------ real text

def _chunks(text: str, size: int, count: int, rng: random.Random) -> list[str]:
    starts = [rng.randrange(0, max(1, len(text) - size)) for _ in range(count)]
    return [text[s:s + size] for s in starts]


@pytest.fixture(scope="module")
def texts(data_dir: Path) -> dict[str, list[str]]:
    rng = random.Random(20)
    en = [p.read_text(encoding="utf-8") for p in sorted((data_dir / "books" / "gutenberg-en").glob("*.txt"))]
    zh = [p.read_text(encoding="utf-8") for p in sorted((data_dir / "books" / "gutenberg-zh").glob("*.txt"))]
    with open(data_dir / "misc" / "zh-ugc" / "ChnSentiCorp_htl_all.csv", encoding="utf-8") as f:
        reviews = [row[1] for row in csv.reader(f)][1:]
    en_docs = [c for t in en for c in _chunks(t, 6000, 8, rng)]
    zh_docs = [c for t in zh for c in _chunks(t, 4000, 8, rng)]
    zh_docs += ["\n".join(reviews[i:i + 40]) for i in range(0, 2000, 40)]
    # repetitive documents from the same text: a page's lines repeated (menus, footers), a paragraph pasted twice
    rep = []
    for t in en_docs[:6] + zh_docs[:6]:
        lines = t.split("\n")
        rep.append("\n".join(lines[:10] * 5 + lines[10:40] + lines[:10] * 3))
        rep.append(t[:1500] + "\n\n" + t[:1500] + t[1500:3000])
    return {"en": en_docs, "zh": zh_docs, "rep": rep}


def _word_lists(texts: dict[str, list[str]]) -> list[list[str]]:
    out = [words(t) for t in texts["en"] + texts["rep"]]
    out += [zh_words(t) for t in texts["zh"] + texts["rep"]]
    return out


# ------------------------------------------------------------------ n-grams

def test_ngram_signals_equal_the_definitions_on_real_text(texts):
    lists = _word_lists(texts)
    assert sum(ref_dup(ws, 5) > 0 for ws in lists) >= 10  # the repetitive documents do repeat
    for ws in lists:
        spaced, glued = ngrams.Grams(ws, " "), ngrams.Grams(ws)
        for n in (1, 2, 3, 4):
            assert ngrams.top_ngram_chars(spaced, n) == ref_top(ws, n)
        for n in (5, 6, 7, 8, 9, 10):
            assert ngrams.dup_ngram_chars(glued, n) == ref_dup(ws, n)
    for t in texts["zh"] + texts["rep"]:
        assert char_ngram_dup_frac(t) == ref_char_dup(t)


def test_ngram_signals_exact_when_every_hash_collides(texts, monkeypatch):
    """Hashes only pick candidates: with all of them equal, the strings alone decide, and the results stay."""
    monkeypatch.setattr(ngrams.Substrings, "hashes", lambda self, a, b: (a * 0).astype("uint64"))
    lists = _word_lists(texts)[::7]
    for ws in lists:
        spaced, glued = ngrams.Grams(ws, " "), ngrams.Grams(ws)
        for n in (2, 3):
            assert ngrams.top_ngram_chars(spaced, n) == ref_top(ws, n)
        for n in (5, 8):
            assert ngrams.dup_ngram_chars(glued, n) == ref_dup(ws, n)
    for t in texts["zh"][::9]:
        assert char_ngram_dup_frac(t) == ref_char_dup(t)


def test_ngram_edge_cases():
    # glued n-grams are strings: ["ab", "c"] and ["a", "bc"] are the same 2-gram "abc" (as datatrove counts them)
    ws = ["ab", "c", "x", "a", "bc"]
    assert ngrams.dup_ngram_chars(ngrams.Grams(ws), 2) == ref_dup(ws, 2) == 3
    # ties: the first of the equally frequent n-grams wins, whatever its length
    for ws in (["a", "bbb", "a", "bbb"], ["bbb", "a", "bbb", "a"], ["x"], [], ["a", "a"], ["é", "😀", "é", "😀"]):
        for n in (1, 2, 3):
            assert ngrams.top_ngram_chars(ngrams.Grams(ws, " "), n) == ref_top(ws, n), (ws, n)
            assert ngrams.dup_ngram_chars(ngrams.Grams(ws), n) == ref_dup(ws, n), (ws, n)
    assert ngrams.repeated_char_ngram_occurrences("abcabcabc", 3) == 7  # abc ×3, bca ×2, cab ×2
    assert ngrams.repeated_char_ngram_occurrences("abcdefabcx", 3) == 2  # abc ×2; the rest once
    assert ngrams.repeated_char_ngram_occurrences("ab", 3) == 0


# ------------------------------------------------------------------ words

def test_words_same_with_and_without_the_chunk_cache(texts, monkeypatch):
    docs = texts["en"] + texts["rep"]
    cold = []
    for t in docs:
        rules._CHUNKS.clear()
        cold.append(words(t))
    monkeypatch.setattr(rules, "_CHUNKS_MAX", 500)  # a small cache is emptied many times along the way
    rules._CHUNKS.clear()
    assert [words(t) for t in docs] == cold
    assert len(rules._CHUNKS) <= max(500, max(len(set(t.split())) for t in docs))
    # the cache only remembers how a chunk splits, and the short cuts for common chunk shapes ("(see", "end.")
    # split as ``_split_chunk`` does: the plain per-chunk definition gives the same tokens
    extra = " cannot. (cannot Cannot, a. Mr. ItS. NATO. Jan. e.g. U.S. (x x) “Yes end” [a] ''a a'' ‘x’ x): Dr. No."
    for t in docs + [extra]:
        out: list[str] = []
        for chunk in t.split():
            if rules._SIMPLE_ALNUM.fullmatch(chunk) and not chunk[0].isdigit() and chunk not in ("cannot", "Cannot"):
                out.append(chunk)
            else:
                rules._split_chunk(chunk, out)
        assert out == words(t)


def test_word_stats_equal_the_definitions(texts, data_dir):
    lists = _word_lists(texts)
    for lang in ("ru", "el", "ar", "hi", "ja", "ko", "th", "vi"):
        with gzip.open(data_dir / "misc" / "langid" / "lingua-sentences" / f"{lang}.txt.gz", "rt") as f:
            lists.append(words(f.read()))
    lists.append(["㆒", "...", "#", "", "a1", "½", "ǅ", "—", "‧", "x_y"])  # symbol words, numerics, titlecase
    for ws in lists:
        assert tuple(word_stats(ws)) == ref_word_stats(ws)


# ------------------------------------------------------------------ normalisation (ftfy)

def _ftfy(text: str) -> str:
    import ftfy

    return ftfy.fix_text(text, config=normalize._ftfy_config())


def test_fix_mojibake_equals_ftfy_on_real_text(texts, data_dir):
    docs = texts["en"][:10] + texts["zh"][:20] + texts["rep"]
    for lang in ("de", "fr", "ru", "el", "tr", "vi", "pl", "pt", "es", "cs", "ar", "ja"):
        with gzip.open(data_dir / "misc" / "langid" / "lingua-sentences" / f"{lang}.txt.gz", "rt") as f:
            docs.append(f.read()[:20000])
    # mojibake made from real text: UTF-8 bytes read as cp1252 / latin-1, one paragraph of a clean document
    for t in docs[:30:3]:
        bad = t[:300].encode("utf-8").decode("cp1252", "replace")
        docs.append(t[300:900] + "\n" + bad + "\n" + t[900:1500])
        docs.append(t[:200] + "\n" + t[200:400].encode("utf-8").decode("latin-1") + "\r\n" + "\x1b[31mred\x1b[0m")
    docs += ["\u00c3 is here\n\u00c3 bad", "line\u2028sep", "e\u0301 not NFC", "\ufeffbom", "", "\n\n",
             "a\n\u00c3\xa0 "]
    fixed = 0
    for t in docs:
        expect = _ftfy(t)
        assert normalize.fix_mojibake(t) == expect
        fixed += expect != t
        if normalize.ftfy_leaves_alone(t):
            assert expect == t
    assert fixed >= 15  # the mojibake cases did need ftfy
    assert sum(normalize.ftfy_leaves_alone(t) for t in docs) >= 25  # and the clean ones took the short cut


def test_mojibake_regex_needs_a_listed_character():
    """Every branch of ftfy's badness regex needs a character ``ftfy_leaves_alone`` looks for: random strings over
    the regex's own alphabet (its categories, literals, ASCII) without those characters never match it."""
    import re as stdre

    from ftfy.badness import BADNESS_RE, MOJIBAKE_CATEGORIES

    listed = normalize._ftfy_untouched()
    in_pattern = stdre.compile("[" + "".join(MOJIBAKE_CATEGORIES.values()) + "ÂÃÎÐ€œŠš¢£Ÿž\xa0\xad®©°·»–—´×²³ØÙàâó√≈‚Ä"
                               "вЂВГРСўβΆΒΓΞΟā]")
    chars = [chr(c) for c in range(0x20, 0x2600) if c not in range(0xD800, 0xE000)]
    pattern_chars = [c for c in chars if in_pattern.match(c) and not listed.search(c)] + list("aAzZ .,?!\n")
    others = [c for c in chars if not listed.search(c)]
    assert len(pattern_chars) > 100 and len(others) > 5000
    rng = random.Random(7)
    for _ in range(50000):
        s = "".join(rng.choice(pattern_chars if rng.random() < 0.8 else others) for _ in range(rng.randrange(1, 12)))
        assert BADNESS_RE.search(s) is None, repr(s)


def test_zh_words_same_with_and_without_the_token_cache(texts, monkeypatch):
    import rjieba

    from transforms.quality import zh

    docs = texts["zh"] + texts["rep"]
    plain = [[w for w in (t.strip() for t in zh._jieba_compatible(rjieba.cut(d), rjieba.has_word)) if w]
             for d in docs]  # the definition: every token post-processed in place
    monkeypatch.setattr(zh, "_TOKENS_MAX", 300)
    zh._TOKENS.clear()
    assert [zh_words(d) for d in docs] == plain
    assert [zh_words(d) for d in docs] == plain  # warm


def test_zh_character_counts_equal_the_definitions(texts):
    import regex

    from transforms.quality.zh import zh_signals

    docs = texts["zh"][:10] + [texts["zh"][0][:500] + "\x1c \n \x1f\n" + texts["zh"][1][:500] + " \x1e",
                               "\u3000\n\t 中文 \x1d\n"]
    for d in docs:
        sig = zh_signals(d, frozenset(), with_words=False)
        n_chars = len(regex.findall(r"\S", d))
        lines = [ln for ln in (x.strip() for x in d.split("\n")) if ln]
        assert sig["zh_char_count"] == n_chars
        assert sig["zh_han_count"] == len(regex.findall(r"\p{Han}", d))
        assert sig["zh_mean_line_chars"] == sum(len(regex.sub(r"\s", "", ln)) for ln in lines) / max(1, len(lines))


def test_sentence_count_equals_the_lazy_regex_definition(texts, data_dir):
    """C4's sentence count: a boundary is ``(\\S*?)([.!?]+)closers\\s+(?=[^\\sa-z])``, not after an abbreviation."""
    boundary = re.compile(r"(\S*?)([.!?]+)[\"')\]\u201d\u2019]*\s+(?=[^\sa-z])")

    def ref(line: str) -> int:
        n = 1
        for m in boundary.finditer(line):
            word, mark = m.group(1), m.group(2)
            if mark == "." and (word.lower().rstrip(".") in rules._ABBREV or rules._INITIALS.match(word)):
                continue
            n += 1
        return n

    lines = [ln.strip() for t in texts["en"] + texts["rep"] for ln in t.split("\n") if ln.strip()]
    with gzip.open(data_dir / "misc" / "langid" / "lingua-sentences" / "en.txt.gz", "rt") as f:
        lines.append(" ".join(f.read().split("\n")[:300]))  # one long line of 300 sentences
    lines += ["Mr. Smith went. He said e.g. this. U.S. Army x.).Y a.b. C", "wait?!. Next", "x.)\u00a0.  Z",
              "Dr. Who", "end. \u3000Next", ". A", "a .B", "(i.e. X) no. 5 St. Paul"]
    assert sum(rules.count_sentences(ln) > 1 for ln in lines) > 100
    assert [rules.count_sentences(ln) for ln in lines] == [ref(ln) for ln in lines]


def test_simplified_key_equals_its_definition(texts):
    """t2s characters, NFKC, CJK punctuation → ASCII, casefold, whitespace runs → one space: with the short cuts
    (no translate without a character to translate; str.split where every whitespace is a regex \\s) the same."""
    import unicodedata

    import regex

    t2s = normalize._tables()[0]

    def ref(text: str) -> str:
        text = unicodedata.normalize("NFKC", text.translate(t2s)).translate(normalize._PUNCT_KEY)
        return regex.sub(r"\s+", " ", text.casefold()).strip()

    lines = [ln for t in texts["zh"] + texts["en"][:10] for ln in t.split("\n")]  # Traditional books, reviews
    lines += ["\x1c a  b\x1f", "ＡＢＣ　「測試」…", "  x\u3000y  ", "", "\x1d", "Straße ﬁne"]
    assert sum(ln.translate(t2s) != ln for ln in lines) > 100
    assert [normalize.simplified_key(ln) for ln in lines] == [ref(ln) for ln in lines]
    assert [normalize.to_simplified_chars(ln) for ln in lines] == [ln.translate(t2s) for ln in lines]


def test_bad_word_prefilter_never_hides_a_match(texts):
    """``TermMatcher.may_match`` only skips texts the pattern finds nothing in: real text with every list term
    pasted in, and in the case variants the case-insensitive pattern accepts (K, ſ, İ for k, s, i)."""
    from transforms.quality.badwords import matcher_for

    en, zh = matcher_for("badwords_en.txt", False), matcher_for("badwords_zh.txt", True)
    assert en._ascii
    docs = texts["en"][:20]
    for i, term in enumerate(en.terms):
        variant = term.upper().replace("K", "\u212a").replace("S", "\u017f").replace("I", "\u0130")
        docs.append(docs[i % 20][:500] + " " + (term if i % 2 else variant) + ". " + docs[i % 20][500:900])
    found = 0
    for d in docs:
        expect = {}
        for m in en.pattern.finditer(d):
            expect[m.group(0).lower()] = expect.get(m.group(0).lower(), 0) + 1
        assert en.find(d) == expect
        found += bool(expect)
    assert found >= len(en.terms)
    for i, d in enumerate(texts["zh"][:20] + [t + zh.terms[i] for i, t in enumerate(texts["zh"][:len(zh.terms)])]):
        assert bool(zh.find(d)) == bool(zh.pattern.search(zh.prepare(d)))
