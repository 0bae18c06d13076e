"""Decontamination accuracy and cost on real text (figures in bench/DECONTAM.md).

Benchmark stand-ins (no benchmark data ships): Chinese "items" are real sentences nobody here wrote — MSRA
news sentences, ChnSentiCorp hotel reviews, the lingua zh web sentences; English items are the lingua en web
sentences. Clean documents are other real text in the same registers: gne-zh / trafilatura / debian-reference
articles (trafilatura main text), the three Chinese Gutenberg novels (Traditional script) and three English
ones in ~3,000-character chunks, enwiki articles, waimai and shopping reviews and the MSRA sentences not used
as items (10-20 per document). Clean text identical to an item (the review sets repeat themselves) is left out.

* ``--sweep``: for Chinese character n = 8 … 20, clean documents matched (false positives), items long
  enough to be matched, and recall on pasted items — the table that chose ``decontam.char_ngram``.
* default: at the recipe's n, with all items in one index:
  - contaminated documents caught, per variant (``--paste-items`` matchable items per language, each in a
    random clean document): an item pasted verbatim into a clean document; in
    Traditional script (OpenCC ``s2t``; and ``s2twp``, Taiwan phrases); with full-width and half-width
    punctuation swapped; with changed case; with changed whitespace (spaces between characters / words
    doubled, line breaks inserted);
  - documents sharing only a short fragment with an item (10 Han characters / 6 words) kept;
  - clean documents kept;
  - ``cut``: share of pasted item characters removed and of the host document's own characters kept;
  - cost: µs per document of ``Decontam.apply`` (index lookups included) and the index build time.

    PYTHONPATH=. python bench/decontam.py [--sweep] [--items 1500] [--paste-items 800] [--seed 1]
"""
from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import corpora  # noqa: E402

from pipelines.recipe import Recipe  # noqa: E402
from schemas.document import Document  # noqa: E402
from transforms.decontam.match import Decontam, build_index, tokenize  # noqa: E402
from transforms.dedup.minhash import cjk_key  # noqa: E402


def _groups(texts: list[str], size: int) -> list[str]:
    return ["\n".join(texts[i:i + size]) for i in range(0, len(texts), size)]


def lingua(lang: str) -> list[str]:
    import gzip

    path = corpora.DATA / "misc" / "langid" / "lingua-sentences" / f"{lang}.txt.gz"
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [line.strip() for line in f if line.strip()]


def load(n_items: int, seed: int) -> dict:
    rng = random.Random(seed)
    msra = corpora.msra_sentences()
    rng.shuffle(msra)
    hotel = corpora.reviews("hotel")
    rng.shuffle(hotel)
    zh_items = [("msra", t) for t in msra[:n_items]] + [("hotel", t) for t in hotel[:n_items]] + \
               [("lingua_zh", t) for t in lingua("zh")]
    en_items = [("lingua_en", t) for t in lingua("en")]
    item_keys = {cjk_key(t) for _, t in zh_items} | {" ".join(t.lower().split()) for _, t in en_items}

    def clean(texts: list[str]) -> list[str]:
        return [t for t in texts if cjk_key(t) not in item_keys]

    zh_clean = ([a["text"] for a in corpora.web_articles(("zh",)) if a["text"]]
                + [c for _, c in corpora.book_chunks("zh")]
                + _groups(clean(corpora.reviews("waimai")), 10)
                + _groups(clean(corpora.reviews("shopping")), 10)
                + _groups(clean(hotel[n_items:]), 10)
                + _groups(clean(msra[n_items:]), 20))
    en_clean = ([a["text"] for a in corpora.web_articles(("en",)) if a["text"]]
                + [c for _, c in corpora.book_chunks("en")]
                + [a["text"] for a in corpora.wiki_articles()])
    return {"zh_items": zh_items, "en_items": en_items, "zh_clean": zh_clean, "en_clean": en_clean}


def cfg_for(char_n: int, word_n: int, action: str = "drop"):
    base = Recipe().decontam
    return base.model_copy(update={"char_ngram": char_n, "word_ngram": word_n, "action": action})


def stage_for(items, char_n: int, word_n: int, action: str = "drop") -> Decontam:
    cfg = cfg_for(char_n, word_n, action)
    d = Decontam(cfg)
    d.index = build_index(items, char_n, word_n, cfg.max_ngrams)
    return d


def hit(d: Decontam, text: str) -> bool:
    return bool(d.matches(text))


# ------------------------------------------------------------------ variants
_FULL = "，。！？：；（）【】“”‘’、"
_HALF = ",.!?:;()[]\"\"'',"


def swap_width(text: str) -> str:
    """Full-width punctuation → ASCII and ASCII punctuation/letters/digits → full-width."""
    out = []
    for ch in text:
        if ch in _FULL:
            out.append(_HALF[_FULL.index(ch)])
        elif "!" <= ch <= "~":
            out.append(chr(ord(ch) + 0xFEE0))
        else:
            out.append(ch)
    return "".join(out)


def change_case(text: str) -> str:
    return text.swapcase() if any(c.isalpha() and c.isascii() for c in text) else text.upper()


def change_space(text: str, rng: random.Random) -> str:
    """Whitespace changed: between words (text with spaces) each space becomes a double space, a line break
    or a tab; in Chinese (no spaces) spaces and line breaks are inserted between characters."""
    if " " in text:
        return "".join(rng.choice(("  ", "\n", "\t", " \n ")) if ch == " " else ch for ch in text)
    out = []
    for ch in text:
        out.append(ch)
        r = rng.random()
        if r < 0.05:
            out.append("\n")
        elif r < 0.15:
            out.append(" ")
    return "".join(out)


_OPENCC: dict = {}


def _convert(config: str, text: str) -> str:
    import opencc

    if config not in _OPENCC:
        _OPENCC[config] = opencc.OpenCC(config)
    return _OPENCC[config].convert(text)


def variants(text: str, rng: random.Random) -> dict[str, str]:
    return {"verbatim": text, "traditional": _convert("s2t", text),
            "traditional_tw": _convert("s2twp", text), "punct_width": swap_width(text),
            "case": change_case(text), "whitespace": change_space(text, rng)}


def paste(host: str, insert: str, rng: random.Random) -> str:
    """``insert`` as its own paragraph at a random paragraph break of ``host`` (or mid-text when none)."""
    breaks = [i for i in range(len(host)) if host[i] == "\n"] or [len(host) // 2]
    at = rng.choice(breaks)
    return host[:at] + "\n" + insert + "\n" + host[at:]


def fragment(text: str, zh: bool, rng: random.Random) -> str | None:
    """A 10-Han-character or 6-word piece of ``text`` (None when the item is shorter)."""
    t = tokenize(text)
    if zh:
        if t.han.size < 10:
            return None
        i = rng.randrange(t.han.size - 9)
        return text[int(t.han_start[i]):int(t.han_end[i + 9])]
    if t.words.size < 6:
        return None
    i = rng.randrange(t.words.size - 5)
    return text[int(t.word_start[i]):int(t.word_end[i + 5])]


# ------------------------------------------------------------------ measurements
def sweep(data: dict, seed: int) -> list[dict]:
    """Chinese n × min_item_share: clean documents matched, items matchable, pasted items caught per variant."""
    rows = []
    zh_items = data["zh_items"]
    rng = random.Random(seed)
    sample = [t for _, t in zh_items]
    rng.shuffle(sample)
    hosts = data["zh_clean"]
    pasted = []  # (variant, tokens of a clean document with the variant pasted in, item Han length)
    for t in sample[:200]:
        host = rng.choice(hosts)
        for name, v in variants(t, rng).items():
            pasted.append((name, tokenize(paste(host, v, rng)), tokenize(t).han.size))
    clean = [tokenize(t) for t in hosts]
    for n in (8, 10, 13, 15, 20):
        index = build_index(zh_items, n, 13, 10**9)
        long_items = [t for _, t in zh_items if tokenize(t).han.size >= n]
        for share in (1e-9, 0.3, 0.5, 0.8):
            d = Decontam(cfg_for(n, 13).model_copy(update={"min_item_share": share, "min_shared_ngrams": 10**6}))
            d.index = index
            fp = sum(bool(d.matches_tokens(t)) for t in clean)
            caught: dict[str, list[int]] = {}
            for name, toks, size in pasted:
                if size >= n:
                    c = caught.setdefault(name, [0, 0])
                    c[0] += bool(d.matches_tokens(toks))
                    c[1] += 1
            rows.append({"char_ngram": n, "min_item_share": round(share, 2), "clean_docs": len(hosts),
                         "clean_matched_pct": round(100 * fp / len(hosts), 3),
                         "items_matchable_pct": round(100 * len(long_items) / len(zh_items), 1),
                         "caught_pct": {k: round(100 * a / b, 1) for k, (a, b) in caught.items()}})
            print(json.dumps(rows[-1]), flush=True)
    return rows


def measure(data: dict, seed: int, char_n: int, word_n: int, paste_items: int) -> dict:
    rng = random.Random(seed)
    items = data["zh_items"] + data["en_items"]
    t0 = time.perf_counter()
    d = stage_for(items, char_n, word_n)
    build_s = time.perf_counter() - t0
    out: dict = {"char_ngram": char_n, "word_ngram": word_n, "items": len(items),
                 "index_ngrams": int(d.index.keys.size), "index_build_s": round(build_s, 2)}
    unmatch = {k.split("/", 1)[1]: v for k, v in d.index.stats if k.startswith("benchmark_items_unmatchable/")}
    out["items_unmatchable"] = unmatch

    res: dict = {}
    for lang in ("zh", "en"):
        hosts = data[f"{lang}_clean"]
        usable = [t for task, t in data[f"{lang}_items"] if item_matchable(t, char_n, word_n)]
        usable = random.Random(seed).sample(usable, min(paste_items, len(usable)))
        pasted = {}
        for text in usable:
            host = rng.choice(hosts)
            for name, v in variants(text, rng).items():
                ok = hit(d, paste(host, v, rng))
                c = pasted.setdefault(name, [0, 0])
                c[0] += ok
                c[1] += 1
        res[lang] = {"items_used": len(usable),
                     "caught_pct": {k: round(100 * a / b, 2) for k, (a, b) in pasted.items()}}
        frags = [f for f in (fragment(t, lang == "zh", rng) for _, t in data[f"{lang}_items"]) if f]
        kept = sum(not hit(d, paste(rng.choice(hosts), f, rng)) for f in frags)
        res[lang]["fragment_docs"] = len(frags)
        res[lang]["fragment_kept_pct"] = round(100 * kept / len(frags), 2)
        clean_kept = sum(not hit(d, t) for t in hosts)
        res[lang]["clean_docs"] = len(hosts)
        res[lang]["clean_kept_pct"] = round(100 * clean_kept / len(hosts), 3)
    out["results"] = res

    # cut: item characters removed, host characters kept
    cut = Decontam(cfg_for(char_n, word_n, "cut"))
    cut.index = d.index
    removed = own = own_total = n_docs = n_rej = 0
    for lang in ("zh", "en"):
        hosts = [h for h in data[f"{lang}_clean"] if len(h) >= 2000]
        for _, text in data[f"{lang}_items"][:300]:
            if not item_matchable(text, char_n, word_n):
                continue
            host = rng.choice(hosts)
            doc = Document(id="x", text=paste(host, text, rng), source="web", origin="x")
            res_items = list(cut.apply([doc]))
            n_docs += 1
            kept_docs = [r for r in res_items if isinstance(r, Document)]
            if not kept_docs:
                n_rej += 1
                continue
            new = kept_docs[0].text
            removed += text not in new
            own_total += len(host)
            own += _overlap_chars(host, new)
    out["cut"] = {"docs": n_docs, "rejected": n_rej, "item_removed_pct": round(100 * removed / max(1, n_docs - n_rej), 2),
                  "host_chars_kept_pct": round(100 * own / max(1, own_total), 2)}

    # cost per clean document (tokenize + hash + lookup)
    docs = [Document(id=str(i), text=t, source="web", origin="x") for i, t in
            enumerate(data["zh_clean"] + data["en_clean"])]
    t0 = time.process_time()  # CPU time: the machine is shared, wall time would count other jobs
    for i in range(0, len(docs), 256):
        list(d.apply(docs[i:i + 256]))
    dt = time.process_time() - t0
    chars = sum(len(x.text) for x in docs)
    out["cost"] = {"docs": len(docs), "cpu_us_per_doc": round(1e6 * dt / len(docs), 1),
                   "mean_chars": round(chars / len(docs)), "cpu_us_per_kchar": round(1e9 * dt / chars, 1)}
    return out


def item_matchable(text: str, char_n: int, word_n: int) -> bool:
    t = tokenize(text)
    return t.han.size >= char_n or t.words.size >= word_n


def _overlap_chars(host: str, new: str) -> int:
    """Characters of ``host``'s lines still present in ``new`` (line by line)."""
    present = set(new.split("\n"))
    return sum(len(line) for line in host.split("\n") if line.strip() in present or line in present)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sweep", action="store_true")
    ap.add_argument("--items", type=int, default=1500, help="MSRA sentences and hotel reviews used as items (each)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--paste-items", type=int, default=800, help="items per language pasted in every variant")
    ap.add_argument("--out", default=str(corpora.ROOT / "bench" / "work" / "results" / "decontam.jsonl"))
    args = ap.parse_args()
    data = load(args.items, args.seed)
    print(json.dumps({k: len(v) for k, v in data.items()}), flush=True)
    cfg = Recipe().decontam
    result = {"sweep": sweep(data, args.seed)} if args.sweep else measure(data, args.seed, cfg.char_ngram,
                                                                           cfg.word_ngram, args.paste_items)
    result["args"] = vars(args)
    print(json.dumps(result, ensure_ascii=False, indent=1))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "a", encoding="utf-8") as f:
        f.write(json.dumps(result, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
