"""Build the benchmark WARCs from the real pages in ../shared/data/web, with a manifest.

Every HTML page listed in ``web/manifest.jsonl.gz`` (trafilatura cache + eval pages, gne-zh,
debian-reference zh-CN/zh-TW, mozilla-readability ``source.html.gz``) becomes one WARC
``response`` record: original bytes, an HTTP header with the detected charset, the page's URL
(or a stable ``https://bench.invalid/…`` URI when the page has none) and, as Common Crawl writes it,
``WARC-Identified-Payload-Type: text/html`` (without it datatrove's ``WarcReader`` sniffs each payload
with libmagic and drops many real pages as non-HTML, which flatters its docs/s and costs it yield). Records
are gzipped one by one, as in Common Crawl, and spread over ``--shards`` files in a seeded order so each
file holds a mix of languages and sizes (both tools parallelise by file).

Variants (``bench/work/inputs/<variant>/``):

- ``unique``: each distinct page once (distinct by sha256 of the page bytes).
- ``scaled``: ``unique`` plus ``--scale - 1`` rounds of new pages, each made by concatenating two
  *distinct* pages (page i's document with page σ_r(i)'s ``<body>`` appended, σ_r a seeded
  derangement). No page or combination is ever repeated, so exact dedup removes nothing that
  ``unique`` would keep; it only makes the workload bigger with real HTML.
- ``dups``: ``unique`` plus an exact copy of every 4th page and a near copy (a boilerplate line
  changed) of every 7th — only for benchmarks about duplicates.
- ``mix``: the distinct pages whose manifest language is one of ``--langs`` (default ``zh en``: the
  languages of the target corpus; 106 zh + 256 en pages), plus pages of other languages drawn in
  manifest order up to ``--other-share`` of the result (default 0). ``unique`` is 56% German, which the
  language prefilter skips before extraction: a speed figure measured on it says little about a zh/en
  corpus. The variant is named ``mix-<langs>[-other<pct>]``.

Output is byte-identical for the same data and arguments (fixed record ids, dates, order).
``manifest.json`` lists the files (records, bytes, sha256), per-language and per-collection page
counts, the arguments and the source manifest's sha256.

    python bench/inputs.py --variant unique --shards 8
    python bench/inputs.py --variant scaled --scale 3
    python bench/inputs.py --variant mix --langs zh en --shards 4      # → bench/work/inputs/mix-zh-en
"""
from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import os
import random
import re
import sys
import uuid
from collections import Counter
from typing import Iterator, NamedTuple, Sequence

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DEFAULT_DATA = os.environ.get("YULIAO_TEST_DATA", os.path.join(ROOT, "..", "shared", "data"))
DEFAULT_OUT = os.path.join(HERE, "work", "inputs")
WARC_DATE = "2026-01-01T00:00:00Z"
_BODY = re.compile(rb"<body[^>]*>(.*)</body>", re.I | re.S)


class Page(NamedTuple):
    key: str          # sha256 of the page bytes (or of the combination)
    uri: str
    charset: str | None
    body: bytes
    collection: str
    lang: str | None


def load_pages(data_dir: str) -> list[Page]:
    """Every distinct HTML page of the web manifest, sorted by sha256."""
    seen: dict[str, Page] = {}
    with gzip.open(os.path.join(data_dir, "web", "manifest.jsonl.gz"), "rt", encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            if row["sha256"] in seen:
                continue
            path = os.path.join(data_dir, row["path"])
            with open(path, "rb") as fh:
                raw = fh.read()
            body = gzip.decompress(raw) if path.endswith(".gz") else raw
            uri = row.get("url") or ""
            if not uri.startswith(("http://", "https://")):  # warcio parses HTTP headers for http(s) URIs only
                uri = "https://bench.invalid/" + row["path"].removesuffix(".gz") + ("#" + uri if uri else "")
            uri = uri.replace(" ", "%20")
            seen[row["sha256"]] = Page(row["sha256"], uri, row.get("detected_encoding"), body, row["collection"],
                                       row.get("lang"))
    return [seen[k] for k in sorted(seen)]


def _decode(page: Page) -> str:
    for enc in (page.charset, "utf-8"):
        if enc:
            try:
                return page.body.decode(enc)
            except (LookupError, UnicodeDecodeError):
                pass
    return page.body.decode("utf-8", "replace")


def combine(a: Page, b: Page) -> Page:
    """A new, distinct page: ``a``'s document with ``b``'s body content appended (UTF-8)."""
    ta, tb = _decode(a), _decode(b)
    mb = _BODY.search(tb.encode("utf-8"))
    extra = (mb.group(1) if mb else tb.encode("utf-8")).decode("utf-8")
    # drop a's <meta charset> so the UTF-8 header is the only declaration
    ta = re.sub(r"<meta[^>]+charset[^>]*>", "", ta, flags=re.I)
    idx = ta.lower().rfind("</body>")
    html = (ta[:idx] + "\n" + extra + "\n" + ta[idx:]) if idx >= 0 else ta + "\n" + extra
    body = html.encode("utf-8")
    key = hashlib.sha256(a.key.encode() + b"+" + b.key.encode()).hexdigest()
    sep = "&" if "?" in a.uri else "?"
    return Page(key, f"{a.uri}{sep}bench-with={b.key[:12]}", "utf-8", body, a.collection + "+" + b.collection, a.lang)


def derangement(n: int, rng: random.Random) -> list[int]:
    """A permutation with no fixed point (so a page is never combined with itself)."""
    while True:
        perm = list(range(n))
        rng.shuffle(perm)
        if all(i != p for i, p in enumerate(perm)):
            return perm


def mix_pages(pages: list[Page], langs: Sequence[str], other_share: float) -> list[Page]:
    """Pages in ``langs``, plus other-language pages (in their sorted order) up to ``other_share`` of the total."""
    chosen = [p for p in pages if p.lang in langs]
    if not 0.0 <= other_share < 1.0:
        raise ValueError("--other-share must be in [0, 1)")
    n_other = round(len(chosen) * other_share / (1.0 - other_share))
    return chosen + [p for p in pages if p.lang not in langs][:n_other]


def mix_name(langs: Sequence[str], other_share: float) -> str:
    return "mix-" + "-".join(langs) + (f"-other{round(100 * other_share)}" if other_share else "")


def variant_pages(pages: list[Page], variant: str, scale: int, seed: int, langs: Sequence[str] = ("zh", "en"),
                  other_share: float = 0.0) -> list[Page]:
    rng = random.Random(seed)
    if variant == "unique":
        out = list(pages)
    elif variant == "mix":
        out = mix_pages(pages, langs, other_share)
    elif variant == "scaled":
        out = list(pages)
        used: set[tuple[int, int]] = set()
        for _ in range(scale - 1):
            perm = derangement(len(pages), rng)
            while any((i, p) in used for i, p in enumerate(perm)):
                perm = derangement(len(pages), rng)
            used.update(enumerate(perm))
            out += [combine(pages[i], pages[p]) for i, p in enumerate(perm)]
    elif variant == "dups":
        out = list(pages)
        for i, p in enumerate(pages):
            if i % 4 == 0:
                out.append(p._replace(uri=p.uri + "#copy"))
            if i % 7 == 0:
                near = p.body.replace(b"</body>", b"<p>Last updated: bench</p></body>", 1)
                out.append(p._replace(key=hashlib.sha256(near).hexdigest(), uri=p.uri + "#near", body=near))
    else:
        raise ValueError(f"unknown variant {variant!r}")
    rng.shuffle(out)
    return out


def _record(writer: WARCWriter, page: Page, n: int):
    ctype = "text/html" + (f"; charset={page.charset}" if page.charset else "")
    http = StatusAndHeaders("200 OK", [("Content-Type", ctype), ("Content-Length", str(len(page.body)))],
                            protocol="HTTP/1.1")
    rid = f"<urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, page.key + ':' + str(n))}>"
    return writer.create_warc_record(page.uri, "response", payload=io.BytesIO(page.body), length=len(page.body),
                                     http_headers=http,
                                     warc_headers_dict={"WARC-Record-ID": rid, "WARC-Date": WARC_DATE,
                                                        "WARC-Identified-Payload-Type": "text/html"})


def write_variant(pages: list[Page], out_dir: str, shards: int) -> list[dict]:
    os.makedirs(out_dir, exist_ok=True)
    for old in os.listdir(out_dir):
        if old.endswith(".warc.gz"):
            os.remove(os.path.join(out_dir, old))
    files = []
    for s in range(shards):
        name = f"bench-{s:05d}-of-{shards:05d}.warc.gz"
        path = os.path.join(out_dir, name)
        chunk = pages[s::shards]
        with open(path, "wb") as fh:
            writer = WARCWriter(fh, gzip=True)
            for n, page in enumerate(chunk):
                writer.write_record(_record(writer, page, n))
        with open(path, "rb") as fh:
            digest = hashlib.sha256(fh.read()).hexdigest()
        files.append({"file": name, "records": len(chunk), "html_bytes": sum(len(p.body) for p in chunk),
                      "warc_bytes": os.path.getsize(path), "sha256": digest})
    return files


def build(variant: str, data_dir: str = DEFAULT_DATA, out_root: str = DEFAULT_OUT, shards: int = 8,
          scale: int = 3, seed: int = 20260101, limit: int = 0, langs: Sequence[str] = ("zh", "en"),
          other_share: float = 0.0) -> dict:
    pages = load_pages(data_dir)
    chosen = variant_pages(pages, variant, scale, seed, langs, other_share)
    name = mix_name(langs, other_share) if variant == "mix" else variant
    if limit:  # a small slice for smoke tests
        chosen, name = chosen[:limit], f"{variant}-{limit}"
    out_dir = os.path.join(out_root, name)
    files = write_variant(chosen, out_dir, shards)
    with open(os.path.join(data_dir, "web", "manifest.jsonl.gz"), "rb") as fh:
        src_sha = hashlib.sha256(fh.read()).hexdigest()
    manifest = {
        "variant": name, "seed": seed, "shards": shards, "scale": scale if variant == "scaled" else 1,
        **({"langs": list(langs), "other_share": other_share} if variant == "mix" else {}),
        "warc_identified_payload_type": "text/html",
        "source_manifest": "web/manifest.jsonl.gz", "source_manifest_sha256": src_sha,
        "distinct_source_pages": len(pages),
        "records": len(chosen), "html_bytes": sum(len(p.body) for p in chosen),
        "warc_bytes": sum(f["warc_bytes"] for f in files),
        "by_lang": dict(Counter(p.lang or "und" for p in chosen).most_common()),
        "by_collection": dict(Counter(p.collection for p in chosen).most_common()),
        "files": files,
    }
    with open(os.path.join(out_dir, "manifest.json"), "w", encoding="utf-8") as fh:
        json.dump(manifest, fh, indent=1, ensure_ascii=False)
    return manifest


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--variant", choices=["unique", "scaled", "dups", "mix"], action="append")
    ap.add_argument("--langs", nargs="+", default=["zh", "en"], help="mix variant: manifest languages to take")
    ap.add_argument("--other-share", type=float, default=0.0,
                    help="mix variant: share of the result drawn from other languages")
    ap.add_argument("--data", default=DEFAULT_DATA)
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--shards", type=int, default=8)
    ap.add_argument("--scale", type=int, default=3, help="scaled variant: total size in multiples of unique")
    ap.add_argument("--seed", type=int, default=20260101)
    ap.add_argument("--limit", type=int, default=0, help="keep only the first N records (smoke tests)")
    args = ap.parse_args(argv)
    for v in args.variant or ["unique"]:
        m = build(v, args.data, args.out, args.shards, args.scale, args.seed, args.limit, args.langs, args.other_share)
        print(f"{m['variant']}: {m['records']} records, {m['html_bytes'] / 1e6:.1f} MB HTML, "
              f"{m['warc_bytes'] / 1e6:.1f} MB WARC in {len(m['files'])} files → {os.path.join(args.out, m['variant'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
