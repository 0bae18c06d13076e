"""``yuliao train-quality``: train a fastText quality classifier (reference-like vs raw web text).

    yuliao train-quality --lang zh --positive books.txt wiki.jsonl --negative crawl.parquet --output q_zh.ftz
    yuliao train-quality --default --lang zh --output transforms/quality/models/quality_zh.ftz
    yuliao train-quality --default --lang zh --order-table --output transforms/quality/models/order_zh.npz

Inputs: ``.txt[.gz]`` (one document per blank-line-separated block), ``.jsonl[.gz]`` and ``.parquet`` (the
``--text-column``, default ``text``). Documents are shuffled with ``--seed`` and ``--heldout`` of each class
is kept out of training; held-out precision/recall (at 0.5), ROC AUC and the score quantiles of each class
are printed. fastText trains with ``thread=1``, the only deterministic setting: the same inputs and seed
give the same model bytes. The model is quantised (``.ftz``, a few MB) and written with its ``.json``
input spec (``transforms.quality.model.ModelSpec``).

``--default`` trains the models shipped in the package from ``../shared/data`` (``--data``); the sources and
their licences are listed in ``DEFAULT_SOURCES`` and README.md ("Quality model"). Web pages are split by a
hash of their path: the ``train`` half feeds training, the ``eval`` half is left for bench/quality_model.py.
"""
from __future__ import annotations

import argparse
import csv
import gzip
import hashlib
import json
import os
import random
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Optional, Sequence

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the model module (regex, Beam filesystems) loads only when training: `yuliao --help` stays fast
    from transforms.quality.model import ModelSpec

# ---------------------------------------------------------------- generic inputs


def _open_text(path: str):
    return gzip.open(path, "rt", encoding="utf-8") if path.endswith(".gz") else open(path, encoding="utf-8")


def read_texts(path: str, text_column: str = "text") -> list[str]:
    """Documents of one input file (see module docstring for formats)."""
    name = path[:-3] if path.endswith(".gz") else path
    if name.endswith(".parquet"):
        import pyarrow.parquet as pq

        return [t for t in pq.read_table(path, columns=[text_column]).column(text_column).to_pylist() if t]
    if name.endswith((".jsonl", ".json")):
        with _open_text(path) as fh:
            return [t for t in (json.loads(line).get(text_column) for line in fh if line.strip()) if t]
    with _open_text(path) as fh:
        blocks = fh.read().replace("\r\n", "\n").split("\n\n")
    return [b.strip() for b in blocks if b.strip()]


# ---------------------------------------------------------------- training

def auc(pos: Sequence[float], neg: Sequence[float]) -> float:
    """ROC AUC = P(score of a random positive > a random negative), ties count half."""
    if not pos or not neg:
        return float("nan")
    ranked = sorted([(s, 1) for s in pos] + [(s, 0) for s in neg])
    rank_sum, i = 0.0, 0
    while i < len(ranked):
        j = i
        while j < len(ranked) and ranked[j][0] == ranked[i][0]:
            j += 1
        mid = (i + j + 1) / 2  # average 1-based rank of the tie group
        rank_sum += mid * sum(1 for k in range(i, j) if ranked[k][1])
        i = j
    n_pos, n_neg = len(pos), len(neg)
    return (rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def split(texts: Sequence[str], heldout: float, seed: int) -> tuple[list[str], list[str]]:
    order = list(texts)
    random.Random(seed).shuffle(order)
    n = int(round(len(order) * heldout))
    return order[n:], order[:n]


def training_rows(pos: Sequence[str], neg: Sequence[str], tokenizer: str, seed: int, heldout: float, max_chars: int,
                  keep_top: int, newlines: bool) -> tuple[list[str], "ModelSpec", list[str], list[str]]:
    """(fastText training lines, input spec, held-out positives, held-out negatives): a pure function of its
    arguments, so the same inputs and seed always give the same training file."""
    from transforms.quality.model import NEGATIVE, NEWLINE, POSITIVE, ModelSpec, token_class, tokens

    pos_train, pos_test = split(pos, heldout, seed)
    neg_train, neg_test = split(neg, heldout, seed + 1)
    toks_pos = [tokens(t, tokenizer, max_chars, newlines) for t in pos_train]  # type: ignore[arg-type]
    toks_neg = [tokens(t, tokenizer, max_chars, newlines) for t in neg_train]  # type: ignore[arg-type]
    keep: tuple[str, ...] = ()
    if keep_top:
        counts = Counter(t for ts in (*toks_pos, *toks_neg) for t in ts if t != NEWLINE)
        keep = tuple(sorted(t for t, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:keep_top]))
    spec = ModelSpec(tokenizer, max_chars, keep, newlines)  # type: ignore[arg-type]
    kept = frozenset(keep)

    def line(ts: list[str]) -> str:
        return " ".join(t if not kept or t in kept or t == NEWLINE else token_class(t) for t in ts)

    rows = [f"{POSITIVE} {line(ts)}" for ts in toks_pos] + [f"{NEGATIVE} {line(ts)}" for ts in toks_neg]
    random.Random(seed + 2).shuffle(rows)
    return [r.replace("\n", " ") for r in rows], spec, pos_test, neg_test


def train(pos: Sequence[str], neg: Sequence[str], output: str, tokenizer: str, *, seed: int = 1,
          heldout: float = 0.1, max_chars: int = 3000, epoch: int = 8, lr: float = 0.05, dim: int = 32,
          word_ngrams: int = 2, minn: int = 0, maxn: int = 0, bucket: int = 200_000, cutoff: int = 100_000,
          keep_top: int = 0, newlines: bool = True, quantize: bool = True, log=print) -> dict:
    """Train, report on the held-out split, write ``output`` (+ its ``.json`` spec). Returns the report.

    fastText runs with ``thread=1`` and ``seed``, but the fasttext 0.9.3 wheel is not reproducible here: the same
    training file and seed gave different model bytes, and intermittently "Encountered NaN", in repeated runs
    (bench/QUALITY_MODEL.md). The training file itself is reproducible (``training_rows``)."""
    import fasttext

    from transforms.quality.model import QualityModel

    fasttext.FastText.eprint = lambda *a, **k: None
    rows, spec, pos_test, neg_test = training_rows(pos, neg, tokenizer, seed, heldout, max_chars, keep_top, newlines)
    n_pos_train, n_neg_train = len(pos) - len(pos_test), len(neg) - len(neg_test)
    with tempfile.TemporaryDirectory(prefix="yuliao-train-quality-") as tmp:
        train_file = os.path.join(tmp, "train.txt")
        with open(train_file, "w", encoding="utf-8") as fh:
            fh.write("\n".join(rows) + "\n")
        while True:  # fastText stops with "Encountered NaN" when training diverges: halve lr and retry
            try:
                model = fasttext.train_supervised(input=train_file, epoch=epoch, lr=lr, dim=dim, wordNgrams=word_ngrams,
                                                  minn=minn, maxn=maxn, bucket=bucket, minCount=1, loss="softmax",
                                                  thread=1, seed=seed, verbose=0)
                if quantize:
                    model.quantize(input=train_file, qnorm=True, retrain=False, cutoff=cutoff, thread=1, verbose=0)
                break
            except RuntimeError as exc:
                if "NaN" not in str(exc) or lr < 0.002:
                    raise
                log(f"fastText diverged at lr {lr}; retrying at {lr / 2}")
                lr /= 2
        Path(output).parent.mkdir(parents=True, exist_ok=True)
        model.save_model(output)
    spec.save(output)
    q = QualityModel(output)
    sp, sn = q.score(pos_test), q.score(neg_test)
    tp = sum(s >= 0.5 for s in sp)
    fp = sum(s >= 0.5 for s in sn)
    report = {"train": {"positive": n_pos_train, "negative": n_neg_train}, "lr": lr,
              "heldout": {"positive": len(sp), "negative": len(sn)},
              "precision": tp / max(1, tp + fp), "recall": tp / max(1, len(sp)), "auc": auc(sp, sn),
              "bytes": os.path.getsize(output),
              "sha256": hashlib.sha256(Path(output).read_bytes()).hexdigest()}
    log(f"{output}: {report['bytes']:,} bytes, sha256 {report['sha256'][:16]}…; train {n_pos_train} pos / "
        f"{n_neg_train} neg; held-out {len(sp)} pos / {len(sn)} neg: precision {report['precision']:.3f} "
        f"recall {report['recall']:.3f} AUC {report['auc']:.4f}")
    return report


# ---------------------------------------------------------------- the default recipe of sources

# (what, path under --data, licence); README.md "Quality model" repeats this table
DEFAULT_SOURCES = {
    "zh": {
        "positive": [
            ("Project Gutenberg Chinese novels, chunked (t2s/s2t: half the chunks in the other script)",
             "books/gutenberg-zh", "public domain"),
            ("MSRA NER news sentences grouped into paragraphs", "misc/zh-ugc/dh_msra.txt.gz",
             "MSRA/SIGHAN 2006, research use"),
            ("main text of the train half of Chinese web pages (x5)", "web/gne-zh, web/mozilla-readability, "
             "web/trafilatura", "page content (c) the sites"),
            ("Leipzig corpora sentences (lingua test set), 3-10 per document", "misc/langid/lingua-sentences/zh.txt.gz",
             "CC BY 4.0"),
        ],
        "negative": [
            ("user reviews (hotel, food delivery, shopping), 1-15 per document, half as many as positives",
             "misc/zh-ugc/*.csv*", "SophonPlus/ChnSentiCorp, no explicit licence, research redistribution"),
            ("boilerplate (page text outside the main text) of the train half of Chinese pages",
             "web/gne-zh, web/mozilla-readability", "page content (c) the sites"),
            ("order-0 token resampling of positive training text (``resampled``: no word order)",
             "(generated)", "-"),
        ],
    },
    "en": {
        "positive": [
            ("Project Gutenberg English books, chunked", "books/gutenberg-en", "public domain"),
            ("English Wikipedia articles (gensim test dump)", "wiki/enwiki-latest-*.bz2", "CC BY-SA 3.0/4.0"),
            ("main text of the train half of English trafilatura/readability pages", "web/trafilatura",
             "page content (c) the sites"),
        ],
        "negative": [
            ("boilerplate of the train half of English pages", "web/trafilatura, web/mozilla-readability",
             "page content (c) the sites"),
            ("order-0 token resampling of positive training text", "(generated)", "-"),
        ],
    },
}


def page_half(path: str) -> str:
    """``train`` or ``eval``: a stable split of web pages by a hash of their path in the shared data."""
    return "train" if hashlib.sha256(path.encode()).digest()[0] % 2 == 0 else "eval"


def web_rows(data: Path, lang: str) -> list[dict]:
    with gzip.open(data / "web" / "manifest.jsonl.gz", "rt", encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh]
    cols = ("gne-zh", "gne-zh-listpage", "mozilla-readability", "trafilatura") if lang == "zh" else (
        "trafilatura", "mozilla-readability")
    return sorted((r for r in rows if r.get("lang") == lang and r["collection"] in cols), key=lambda r: r["path"])


def page_texts(data: Path, row: dict, extractor) -> tuple[str, list[str]]:
    """(main text, boilerplate lines) of one page: text nodes of the body that the main text does not contain."""
    from trafilatura.utils import load_html

    from transforms.extract import decode_html
    from transforms.normalize import normalize_text

    html = decode_html(gzip.open(data / row["path"]).read(), row.get("detected_encoding"))
    tree = load_html(html)
    main, _ = extractor.extract_tree(tree) if tree is not None else (None, None)
    main = normalize_text(main or "")
    boiler: list[str] = []
    if tree is not None:
        body = tree.find(".//body")
        for el in (body if body is not None else tree).iter():
            if not isinstance(el.tag, str) or el.tag in ("script", "style", "noscript", "template"):
                continue
            for t in (el.text, el.tail):
                t = " ".join((t or "").split())
                if len(t) >= 2 and t not in main:
                    boiler.append(t)
    return main, boiler


def web_corpus(data: Path, lang: str, cache: Optional[Path] = None) -> list[dict]:
    """Every page of ``lang``: {path, collection, half, main, boiler}; cached as JSONL (extraction is slow)."""
    if cache is not None and cache.exists():
        with gzip.open(cache, "rt", encoding="utf-8") as fh:
            return [json.loads(line) for line in fh]
    from pipelines.recipe import load_recipe
    from transforms.extract import Extractor

    ex = Extractor.from_recipe(load_recipe().extract)
    ex.setup()
    out = []
    for r in web_rows(data, lang):
        main, boiler = page_texts(data, r, ex)
        out.append({"path": r["path"], "collection": r["collection"], "half": page_half(r["path"]),
                    "main": main, "boiler": boiler})
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        with gzip.open(cache, "wt", encoding="utf-8") as fh:
            fh.write("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in out))
    return out


def boilerplate_docs(lines: Sequence[str], rng: random.Random, lo: int = 8, hi: int = 40) -> list[str]:
    """Consecutive boilerplate lines cut into documents of ``lo``..``hi`` lines (a page's menus and link lists)."""
    docs, i = [], 0
    while i < len(lines):
        n = rng.randint(lo, hi)
        docs.append("\n".join(lines[i:i + n]))
        i += n
    return docs


def resampled(texts: Sequence[str], tokenizer: str, rng: random.Random, n: int) -> list[str]:
    """Order-0 text: tokens drawn independently from the pooled token counts of ``texts``, lines of 5–40 tokens.
    A *training* generator only; bench/quality_model.py's junk (within-line shuffles, ads, link lists) is
    made by different code from held-out text."""
    from transforms.quality.model import to_fasttext_line

    pool: list[str] = []
    for t in texts:
        pool.extend(to_fasttext_line(t, tokenizer, 3000).replace(" _nl_ ", " ").split(" "))  # type: ignore[arg-type]
    sep = "" if tokenizer.startswith("zh") else " "
    out = []
    for _ in range(n):
        lines = [sep.join(rng.choice(pool) for _ in range(rng.randint(5, 40))) for _ in range(rng.randint(3, 20))]
        out.append("\n".join(lines))
    return out


def _msra_paragraphs(path: Path, rng: random.Random) -> list[str]:
    sents, cur = [], []
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            line = line.rstrip("\n")
            if not line.strip():
                if cur:
                    sents.append("".join(cur))
                    cur = []
                continue
            cur.append(line.split("\t")[0].split(" ")[0] if line[0] not in " \t" else " ")
    if cur:
        sents.append("".join(cur))
    docs, i = [], 0
    while i < len(sents):  # documents of 3-15 paragraphs of 1-4 sentences (news paragraphs are short), in order
        paras = []
        for _ in range(rng.randint(3, 15)):
            n = rng.randint(1, 4)
            paras.append("".join(sents[i:i + n]))
            i += n
        docs.append("\n".join(p for p in paras if p))
    return [d for d in docs if d]


def _lingua(data: Path, lang: str, rng: random.Random) -> list[str]:
    """Leipzig-corpora sentences (lingua's test set, CC BY 4.0) in documents of 3-10 lines."""
    with gzip.open(data / "misc" / "langid" / "lingua-sentences" / f"{lang}.txt.gz", "rt", encoding="utf-8") as fh:
        sents = [s.strip() for s in fh if s.strip()]
    docs, i = [], 0
    while i < len(sents):
        n = rng.randint(3, 10)
        docs.append("\n".join(sents[i:i + n]))
        i += n
    return docs


def _reviews(data: Path, rng: random.Random) -> list[str]:
    groups: dict[str, list[str]] = {}
    for name in ("ChnSentiCorp_htl_all.csv", "waimai_10k.csv", "online_shopping_10_cats.csv.gz"):
        p = data / "misc" / "zh-ugc" / name
        with _open_text(str(p)) as fh:
            for row in csv.DictReader(fh):
                text = (row.get("review") or "").strip().lstrip("\ufeff")
                if text:
                    groups.setdefault(row.get("cat") or name, []).append(text)
    docs = []
    for key in sorted(groups):  # a comment thread: 1-15 reviews of one category, one per line
        items = groups[key]
        i = 0
        while i < len(items):
            n = rng.randint(1, 15)
            docs.append("\n".join(items[i:i + n]))
            i += n
    return docs


def _books(folder: Path, chunk: int = 2000) -> list[str]:
    from transforms.sources.books import chunk_book, strip_gutenberg

    docs = []
    for p in sorted(folder.glob("*.txt")):
        text = strip_gutenberg(p.read_text(encoding="utf-8", errors="replace")).text
        docs += chunk_book(text, chunk, 200)
    return docs


def _wiki_en(data: Path) -> list[str]:
    from pipelines.recipe import MediaWikiConfig
    from transforms.sources.mediawiki import iter_dump, open_decompressed, pages_to_documents
    from schemas.document import Document

    out = []
    for p in sorted((data / "wiki").glob("enwiki-*.bz2")):
        with open(p, "rb") as fh:
            for item in pages_to_documents(iter_dump(open_decompressed(fh)), str(p), MediaWikiConfig()):
                if isinstance(item, Document) and len(item.text) > 200:
                    out.append(item.text)
    return out


# how the shipped models are trained (bench/quality_model_params.py compares the alternatives): Chinese as single
# characters with the 500 most frequent kept (others → their class) and lines joined; English as words with the
# 300 most frequent kept, line breaks as tokens; order-0 resampled negatives as a share of the positives
DEFAULT_TRAINING = {
    "zh": dict(tokenizer="zh_chars", keep_top=500, newlines=False, resampled_share=0.2, max_chars=1500),
    "en": dict(tokenizer="words", keep_top=300, newlines=True, resampled_share=1.0, max_chars=3000),
}


def default_corpus(data: Path, lang: str, cache_dir: Path, seed: int = 1) -> tuple[list[str], list[str]]:
    """(positives, negatives) of the shipped model for ``lang`` (see ``DEFAULT_SOURCES``)."""
    rng = random.Random(seed)
    web = [d for d in web_corpus(data, lang, cache_dir / f"web_{lang}.jsonl.gz") if d["half"] == "train"]
    boiler = []
    for d in web:
        boiler += boilerplate_docs(d["boiler"], rng)
    if lang == "zh":
        from opencc import OpenCC

        t2s, s2t = OpenCC("t2s"), OpenCC("s2t")
        books = [t2s.convert(b) if rng.random() < 0.5 else b for b in _books(data / "books" / "gutenberg-zh")]
        msra = _msra_paragraphs(data / "misc" / "zh-ugc" / "dh_msra.txt.gz", rng)
        msra = [s2t.convert(m) if rng.random() < 0.2 else m for m in msra]
        # modern web/news prose is scarce here: the web main texts count 5 times, Leipzig sentences in groups
        web_main = [d["main"] for d in web if len(d["main"]) >= 200 and d["collection"] != "gne-zh-listpage"]
        pos = books + msra + _lingua(data, "zh", rng) + web_main * 5
        reviews = _reviews(data, rng)
        rng.shuffle(reviews)
        reviews = [s2t.convert(r) if rng.random() < 0.2 else r for r in reviews[: len(pos) // 2]]
        neg = reviews + boiler
        tok = "zh_chars"
    else:
        pos = _books(data / "books" / "gutenberg-en") + _wiki_en(data) + [d["main"] for d in web if d["main"]]
        neg = boiler
        tok = "words"
    share = float(DEFAULT_TRAINING[lang]["resampled_share"])  # type: ignore[arg-type]
    neg += resampled(pos, tok, rng, max(200, int(len(pos) * share)))
    return pos, neg


ZH_GROUP = ("zh", "yue", "wuu")

# the shipped word-order tables (transforms/quality/order.py): Chinese as rjieba words (chunk-shuffled Chinese keeps
# most character pairs but breaks words), others as lowercased words; every pair seen once kept. Counted over
# 3,000-character prefixes; Chinese documents are scored on 1,500 (segmentation is the cost: bench/QUALITY_MODEL.md)
ORDER_TABLE = {
    "zh": dict(tokenizer="zh_words", vocab=30000, min_pair=1, max_chars=3000, score_chars=1500),
    "en": dict(tokenizer="words", vocab=20000, min_pair=1, max_chars=3000),
}


def build_order_table(texts: Sequence[str], output: str, tokenizer: str, vocab: int, min_pair: int,
                      max_chars: int, score_chars: Optional[int] = None, log=print) -> dict:
    """Count the bigram table of reference ``texts`` (duplicates counted once) and write it (``.npz``).
    Counting is exact: the same texts give the same table."""
    from transforms.quality.order import count_table, save_table

    texts = list(dict.fromkeys(texts))
    table = count_table(texts, tokenizer, max_chars, vocab, min_pair, score_chars)
    Path(output).parent.mkdir(parents=True, exist_ok=True)
    save_table(table, output)
    rep = {"documents": len(texts), "tokens": int(table["unigram"].sum()), "pairs": int(len(table["pair_keys"])),
           "bytes": os.path.getsize(output)}
    log(f"{output}: {rep}")
    return rep


# ---------------------------------------------------------------- command line

def add_arguments(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--lang", required=True, help="language the model is for (zh, en, …)")
    ap.add_argument("--positive", nargs="*", default=[], metavar="FILE", help="reference-like documents")
    ap.add_argument("--negative", nargs="*", default=[], metavar="FILE", help="raw web / low-quality documents")
    ap.add_argument("--default", action="store_true", help="the shipped model's sources from --data")
    ap.add_argument("--data", default=os.environ.get("YULIAO_TEST_DATA", "../shared/data"),
                    help="shared data root for --default (env YULIAO_TEST_DATA)")
    ap.add_argument("--cache", default="bench/work/quality_model", help="extracted-page cache for --default")
    ap.add_argument("--output", required=True, help="model path (.ftz); its input spec goes to <name>.json")
    ap.add_argument("--text-column", default="text")
    ap.add_argument("--tokenizer", choices=("words", "zh_chars", "zh_jieba", "zh_words"), default=None,
                    help="default: zh_chars for zh/yue/wuu, words otherwise")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--heldout", type=float, default=0.1)
    ap.add_argument("--max-chars", type=int, default=None, help="scored prefix (default 3000; --default: per language)")
    ap.add_argument("--epoch", type=int, default=8)
    ap.add_argument("--lr", type=float, default=0.05)
    ap.add_argument("--dim", type=int, default=32)
    ap.add_argument("--word-ngrams", type=int, default=2)
    ap.add_argument("--minn", type=int, default=0)
    ap.add_argument("--maxn", type=int, default=0)
    ap.add_argument("--keep-top", type=int, default=None, metavar="K",
                    help="keep the K most frequent tokens, others become their class (HAN/LAT/NUM/SYM); 0: all "
                    "(default: 0, or the shipped model's setting with --default)")
    ap.add_argument("--no-newlines", dest="newlines", action="store_false",
                    help="join lines: the score ignores layout (default for zh/yue/wuu)")
    ap.add_argument("--newlines", dest="newlines", action="store_true")
    ap.set_defaults(newlines=None)
    ap.add_argument("--no-quantize", dest="quantize", action="store_false")
    ap.add_argument("--order-table", action="store_true",
                    help="write the word-order bigram table (.npz) of the positives to --output instead of a model")


def cmd_train_quality(args: argparse.Namespace) -> int:
    if args.default:
        pos, neg = default_corpus(Path(args.data), args.lang, Path(args.cache), args.seed)
    else:
        if not args.positive or (not args.negative and not args.order_table):
            raise ValueError("train-quality needs --positive and --negative files (or --default)")
        pos = [t for p in args.positive for t in read_texts(p, args.text_column)]
        neg = [t for p in args.negative for t in read_texts(p, args.text_column)]
    if args.order_table:
        params = dict(ORDER_TABLE.get(args.lang) or ORDER_TABLE["zh" if args.lang in ZH_GROUP else "en"])
        if args.tokenizer:
            params["tokenizer"] = args.tokenizer
        build_order_table(pos, args.output, **params)
        return 0
    shipped = DEFAULT_TRAINING.get(args.lang, {}) if args.default else {}
    tok = args.tokenizer or shipped.get("tokenizer") or ("zh_chars" if args.lang in ZH_GROUP else "words")
    keep_top = args.keep_top if args.keep_top is not None else shipped.get("keep_top", 0)
    newlines = args.newlines if args.newlines is not None else shipped.get("newlines", args.lang not in ZH_GROUP)
    max_chars = args.max_chars or shipped.get("max_chars", 3000)
    report = train(pos, neg, args.output, tok, seed=args.seed, heldout=args.heldout, max_chars=max_chars,
                   epoch=args.epoch, lr=args.lr, dim=args.dim, word_ngrams=args.word_ngrams, minn=args.minn,
                   maxn=args.maxn, keep_top=keep_top, quantize=args.quantize, newlines=newlines)
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(ap)
    sys.exit(cmd_train_quality(ap.parse_args()))
