"""The dataset card: ``README.md`` and ``charts/*.png`` in the output root, from the run's own files.

Inputs are only ``stats.json`` (counters computed inside the pipeline), ``run.json`` (recipe,
inputs with checksums, package versions, wall time, written by the CLI) and ``mixture.json`` (the
balance stage, if it ran). The card never re-reads the corpus unless the sink's profile counters
are missing (outputs of older builds), and then reads only Parquet columns it needs.

Rendering is deterministic: the same three files give the same README bytes and PNG bytes
(sorted keys, fixed number formats, Agg backend, PNG metadata stripped). Run timing, the one
thing that differs between reruns, is confined to the last, clearly marked section.

Works with whatever stages ran: every section renders from the counters present and says so
when its stage did not run. ``huggingface_hub`` is not needed here (tests use it to parse).
"""
from __future__ import annotations

import io
import json
import math
import posixpath
from dataclasses import dataclass, field
from importlib import metadata, resources
from typing import Any, Iterable, Mapping, Optional

import yaml

PACKAGES = ("yuliao", "apache-beam", "pyarrow", "trafilatura", "fasttext", "tokenizers", "datasketch",
            "jieba", "opencc-python-reimplemented", "warcio")
SIZE_CATEGORIES = [(1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M"),
                   (10_000_000, "1M<n<10M"), (100_000_000, "10M<n<100M"), (1_000_000_000, "100M<n<1B"),
                   (10_000_000_000, "1B<n<10B"), (100_000_000_000, "10B<n<100B"),
                   (1_000_000_000_000, "100B<n<1T")]
MAX_INPUT_ROWS = 200
TOP_REASONS = 5
CHART_DPI = 100

# what each column of the document Parquet means (schemas/document.py)
FIELDS = {
    "id": "stable document id (hash of source kind, origin and offset)",
    "text": "cleaned document text (PII replaced by typed placeholders when the pii stage ran)",
    "source": "category: web, encyclopedia, book, qa, news, …",
    "origin": "input file and record offset, dump and page id, or URL",
    "url": "page URL, when known",
    "title": "title, when known",
    "fetched_at": "ISO-8601 fetch time, when known",
    "lang": "language label from fastText lid.176",
    "lang_score": "language-ID score",
    "script": "Hans / Hant for Chinese",
    "signals": "quality signals (kept for every document, whether or not it passed)",
    "dup_cluster": "near-duplicate cluster id",
    "dup_cluster_size": "size of that cluster before deduplication",
    "pii": "PII replacements made, by type",
    "token_ids": "token ids (EOS appended), when the tokenize stage ran",
    "n_tokens": "number of tokens",
    "epoch": "0, or the repetition number when balancing repeated the document",
}


# ------------------------------------------------------------------ file access
def _join(base: str, *parts: str) -> str:
    if "://" in base:
        from apache_beam.io.filesystems import FileSystems

        return FileSystems.join(base, *parts)
    return posixpath.join(base, *parts)


def _exists(path: str) -> bool:
    if "://" in path:
        from apache_beam.io.filesystems import FileSystems

        return FileSystems.exists(path)
    import os

    return os.path.exists(path)


def _read_bytes(path: str) -> bytes:
    if "://" in path:
        from apache_beam.io.filesystems import FileSystems

        with FileSystems.open(path, compression_type="uncompressed") as f:
            return f.read()
    with open(path, "rb") as f:
        return f.read()


def _write_bytes(path: str, data: bytes) -> None:
    """Write via a temp name + rename so a reader never sees half a file."""
    import uuid

    tmp = f"{path}.tmp-{uuid.uuid4().hex}"
    if "://" in path:
        from apache_beam.io.filesystems import FileSystems

        with FileSystems.create(tmp, compression_type="uncompressed") as f:
            f.write(data)
        if FileSystems.exists(path):
            FileSystems.delete([path])
        FileSystems.rename([tmp], [path])
        return
    import os

    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def _glob(pattern: str) -> list[str]:
    if "://" in pattern:
        from apache_beam.io.filesystems import FileSystems

        return sorted(m.path for m in FileSystems.match([pattern])[0].metadata_list)
    import glob

    return sorted(glob.glob(pattern))


def read_json(path: str) -> Optional[dict]:
    return json.loads(_read_bytes(path).decode("utf-8")) if _exists(path) else None


# ------------------------------------------------------------------ run metadata (used by the CLI)
def package_versions(names: Iterable[str] = PACKAGES) -> dict[str, str]:
    out = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def sha256_of(path: str, max_bytes: int, size: int | None = None) -> Optional[str]:
    """sha256 of an input file, or None when it is larger than ``max_bytes`` (too slow to hash)."""
    import hashlib

    if size is not None and size > max_bytes:
        return None
    h = hashlib.sha256()
    if "://" in path:
        from apache_beam.io.filesystems import FileSystems

        f = FileSystems.open(path, compression_type="uncompressed")
    else:
        f = open(path, "rb")
    with f:
        read = 0
        while chunk := f.read(1 << 20):
            read += len(chunk)
            if read > max_bytes:
                return None
            h.update(chunk)
    return h.hexdigest()


# ------------------------------------------------------------------ numbers from stats.json
@dataclass(frozen=True)
class Partition:
    lang: str
    source: str
    docs: int
    chars: int
    tokens: int
    bytes: int

    @property
    def path(self) -> str:
        return f"data/{self.lang}/{self.source}/*.parquet"


def _prefixed(counters: Mapping[str, int], prefix: str) -> dict[str, int]:
    return {k[len(prefix):]: v for k, v in counters.items() if k.startswith(prefix)}


def sink_counters(stats: Mapping) -> dict[str, int]:
    return dict(stats.get("stages", {}).get("sink", {}).get("counters", {}))


def partitions(stats: Mapping, output: str | None = None) -> list[Partition]:
    """(lang, source) partitions from the sink's ``docs/<lang>/<source>`` counters; when absent
    (no counters), from the directories under ``data/``."""
    c = sink_counters(stats)
    docs = _prefixed(c, "docs/")
    if not docs and output is not None:
        for path in _glob(_join(output, "data", "*", "*", "*.parquet")):
            lang, source = path.split("/")[-3:-1]
            docs.setdefault(f"{lang}/{source}", 0)
    out = []
    for part in sorted(docs):
        if part.count("/") != 1:
            continue
        lang, source = part.split("/")
        out.append(Partition(lang, source, docs[part], c.get(f"chars/{part}", 0), c.get(f"tokens/{part}", 0),
                             c.get(f"bytes/{part}", 0)))
    return out


def size_category(n_docs: int) -> str:
    for limit, name in SIZE_CATEGORIES:
        if n_docs < limit:
            return name
    return "n>1T"


def funnel(stats: Mapping) -> list[dict]:
    """One row per stage in pipeline order: in, out, rejected, kept share, chars after the stage."""
    rows = []
    volume = stats.get("volume", {})
    sink = sink_counters(stats)
    for name in stats.get("order", sorted(stats.get("stages", {}))):
        s = stats["stages"].get(name)
        if s is None:
            continue
        n_in, n_out = int(s.get("in", 0)), int(s.get("out", 0))
        chars = volume.get(name, {}).get("chars_out")
        tokens = None
        if name == "sink":
            chars = sum(_prefixed(sink, "chars/").values()) if chars is None else chars
            tokens = sum(_prefixed(sink, "tokens/").values())
        elif name == "tokenize":
            tokens = s.get("counters", {}).get("tokens")
        rows.append({
            "stage": name,
            "in": n_in,
            "out": n_out,
            "rejected": sum(int(v) for v in s.get("rejected", {}).values()),
            "kept_pct": (100.0 * n_out / n_in) if n_in else None,
            "chars": chars,
            "tokens": tokens or None,
        })
    return rows


def top_reasons(stats: Mapping, k: int = TOP_REASONS) -> list[dict]:
    out = []
    for name in stats.get("order", []):
        rej = stats["stages"].get(name, {}).get("rejected", {})
        if not rej:
            continue
        total = sum(rej.values())
        items = sorted(rej.items(), key=lambda kv: (-kv[1], kv[0]))
        shown = [{"reason": r, "n": n, "pct": 100.0 * n / total} for r, n in items[:k]]
        other = sum(n for _, n in items[k:])
        out.append({"stage": name, "total": total, "reasons": shown, "other": other,
                    "n_other": max(0, len(items) - k)})
    return out


def lang_source_table(parts: list[Partition]) -> dict:
    langs = sorted({p.lang for p in parts})
    sources = sorted({p.source for p in parts})
    cell = {(p.lang, p.source): p for p in parts}
    rows = []
    for lang in langs:
        row = [cell.get((lang, s)) for s in sources]
        rows.append({"lang": lang, "cells": [p.docs if p else None for p in row],
                     "docs": sum(p.docs for p in row if p), "chars": sum(p.chars for p in row if p),
                     "tokens": sum(p.tokens for p in row if p)})
    totals = {"cells": [sum(p.docs for p in parts if p.source == s) for s in sources],
              "docs": sum(p.docs for p in parts), "chars": sum(p.chars for p in parts),
              "tokens": sum(p.tokens for p in parts)}
    return {"sources": sources, "rows": rows, "totals": totals}


def script_split(stats: Mapping, scan: Optional[Mapping] = None) -> list[dict]:
    """Documents and characters by script for each language that has script labels (Chinese)."""
    c = sink_counters(stats)
    docs: dict[tuple[str, str], int] = {}
    chars: dict[tuple[str, str], int] = {}
    for key, n in _prefixed(c, "script/").items():
        lang, _source, script = key.split("/", 2)
        docs[lang, script] = docs.get((lang, script), 0) + n
    for key, n in _prefixed(c, "script_chars/").items():
        lang, _source, script = key.split("/", 2)
        chars[lang, script] = chars.get((lang, script), 0) + n
    if not docs and scan:
        docs, chars = dict(scan.get("script_docs", {})), dict(scan.get("script_chars", {}))
    out = []
    for lang in sorted({lang for lang, _ in docs}):
        total = sum(n for (lg, _), n in docs.items() if lg == lang)
        rows = [{"script": s, "docs": n, "chars": chars.get((lang, s), 0), "pct": 100.0 * n / total if total else 0}
                for (lg, s), n in sorted(docs.items()) if lg == lang]
        out.append({"lang": lang, "rows": rows, "total": total})
    return out


def length_histograms(stats: Mapping, scan: Optional[Mapping] = None) -> dict[str, dict[int, int]]:
    """Per language: log2 length bin → documents, from the sink's ``len_log2`` counters."""
    out: dict[str, dict[int, int]] = {}
    for key, n in _prefixed(sink_counters(stats), "len_log2/").items():
        lang, _source, e = key.split("/", 2)
        out.setdefault(lang, {})
        out[lang][int(e)] = out[lang].get(int(e), 0) + n
    if not out and scan:
        out = {lang: dict(h) for lang, h in scan.get("len_log2", {}).items()}
    return {lang: dict(sorted(h.items())) for lang, h in sorted(out.items())}


def dedup_section(stats: Mapping) -> dict:
    """Counters of every ``dedup*`` stage, plus the cluster-size histogram of kept documents."""
    stages = []
    for name in stats.get("order", []):
        if not name.startswith("dedup"):
            continue
        s = stats["stages"][name]
        stages.append({"stage": name, "in": s.get("in", 0), "out": s.get("out", 0),
                       "removed": sum(s.get("rejected", {}).values()),
                       "counters": sorted(s.get("counters", {}).items())})
    hist: dict[int, int] = {}
    for key, n in _prefixed(sink_counters(stats), "dup_log2/").items():
        e = int(key.rsplit("/", 1)[1])
        hist[e] = hist.get(e, 0) + n
    bins = [{"label": "1" if e == 0 else f"{1 << e:,}–{(1 << (e + 1)) - 1:,}", "n": n} for e, n in sorted(hist.items())]
    return {"stages": stages, "cluster_bins": bins}


def pii_section(stats: Mapping) -> dict:
    """``replaced/<TYPE>`` counters (stage ``pii``, or any stage that reports them)."""
    by_type: dict[str, int] = {}
    stages = []
    for name in stats.get("order", []):
        c = stats["stages"][name].get("counters", {})
        found = _prefixed(c, "replaced/")
        if found:
            stages.append(name)
        for t, n in found.items():
            by_type[t] = by_type.get(t, 0) + n
    pii = stats.get("stages", {}).get("pii")
    other = sorted((k, v) for k, v in (pii or {}).get("counters", {}).items() if not k.startswith("replaced/"))
    return {"ran": pii is not None or bool(stages), "types": sorted(by_type.items(), key=lambda kv: (-kv[1], kv[0])),
            "total": sum(by_type.values()), "docs": (pii or {}).get("in"), "other": other}


def _bin_label(e: int, suffix: str = " chars") -> str:
    """Label of log2 bin e: values v with 2**e <= v < 2**(e+1) (bin 0 also holds 0)."""
    if e == 0:
        return f"0–1{suffix}"
    return f"{_short(1 << e)}–{_short((1 << (e + 1)) - 1)}{suffix}" if e < 4 else f"{_short(1 << e)}–<{_short(1 << (e + 1))}{suffix}"


def _short(n: int) -> str:
    """1024 → 1K, 1048576 → 1M, other numbers as they are."""
    if n >= 1 << 20 and n % (1 << 20) == 0:
        return f"{n >> 20}M"
    if n >= 1 << 10 and n % (1 << 10) == 0:
        return f"{n >> 10}K"
    return str(n)


# ------------------------------------------------------------------ mixture.json
_SHARE_KEYS = ("share", "fraction", "ratio")


def _share(row: Mapping, key: str) -> Optional[float]:
    """A target/achieved share from one bucket row, whatever shape the balance stage used."""
    for k in (f"{key}_share", f"{key}_fraction"):
        if isinstance(row.get(k), (int, float)):
            return float(row[k])
    v = row.get(key)
    if isinstance(v, Mapping):
        for k in _SHARE_KEYS:
            if isinstance(v.get(k), (int, float)):
                return float(v[k])
        return None
    if isinstance(v, float) and 0.0 <= v <= 1.0:
        return v
    return None


def _amount(v: Any) -> Optional[float]:
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float)):
        return float(v)
    if isinstance(v, Mapping):
        for k in ("tokens", "chars", "docs", "n"):
            if isinstance(v.get(k), (int, float)):
                return float(v[k])
    return None


def mixture_rows(mixture: Optional[Mapping]) -> list[dict]:
    """Normalise ``mixture.json`` buckets to rows with name, available, target, achieved, rate, note."""
    if not mixture:
        return []
    buckets = mixture.get("buckets", mixture)
    items: list[tuple[str, Mapping]] = []
    if isinstance(buckets, Mapping):
        items = [(str(k), v) for k, v in sorted(buckets.items()) if isinstance(v, Mapping)]
    elif isinstance(buckets, list):
        for b in buckets:
            if not isinstance(b, Mapping):
                continue
            name = b.get("bucket") or b.get("name") or b.get("key")
            if isinstance(name, (list, tuple)):
                name = "/".join(str(x) for x in name)
            if not name:
                name = "/".join(str(b[k]) for k in ("lang", "script", "source") if b.get(k))
            items.append((str(name), b))
    rows = []
    for name, b in items:
        rows.append({
            "bucket": name,
            "available": _amount(b.get("available")),
            "target": _share(b, "target"),
            "allocated": _share(b, "allocated"),
            "achieved": _share(b, "achieved"),
            "rate": _amount(b.get("rate")),
            "epochs": _amount(b.get("effective_epochs", b.get("epochs"))),
            "note": str(b.get("note") or b.get("reason") or b.get("why") or ""),
        })
    # shares missing but amounts present: derive shares from amounts
    for key in ("target", "achieved"):
        if all(r[key] is None for r in rows):
            amounts = [_amount(b.get(key)) for _, b in items]
            total = sum(a for a in amounts if a)
            if total:
                for r, a in zip(rows, amounts):
                    r[key] = (a or 0.0) / total
    return rows


# ------------------------------------------------------------------ fallback scan of data/ (old outputs)
def scan_data(output: str, max_rows_per_lang: int = 200_000) -> dict:
    """Script split and length histogram from the Parquet shards; only used when stats.json lacks the
    sink profile counters. Reads the ``lang``, ``script`` and ``text`` columns, at most
    ``max_rows_per_lang`` rows per language (first shards in name order, so it is deterministic)."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    len_hist: dict[str, dict[int, int]] = {}
    sdocs: dict[tuple[str, str], int] = {}
    schars: dict[tuple[str, str], int] = {}
    seen: dict[str, int] = {}
    for path in _glob(_join(output, "data", "*", "*", "*.parquet")):
        lang = path.split("/")[-3]
        if seen.get(lang, 0) >= max_rows_per_lang:
            continue
        table = pq.read_table(io.BytesIO(_read_bytes(path)), columns=["script", "text"])
        lengths = pc.utf8_length(table.column("text")).to_pylist()
        scripts = table.column("script").to_pylist()
        for n, s in zip(lengths[: max_rows_per_lang - seen.get(lang, 0)], scripts):
            e = max(0, int(n).bit_length() - 1)
            len_hist.setdefault(lang, {})
            len_hist[lang][e] = len_hist[lang].get(e, 0) + 1
            if s:
                sdocs[lang, s] = sdocs.get((lang, s), 0) + 1
                schars[lang, s] = schars.get((lang, s), 0) + n
        seen[lang] = seen.get(lang, 0) + len(lengths)
    return {"len_log2": len_hist, "script_docs": sdocs, "script_chars": schars}


# ------------------------------------------------------------------ charts
def _figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=CHART_DPI)
    FigureCanvasAgg(fig)
    return fig


def _png(fig) -> bytes:
    buf = io.BytesIO()
    # no Software/date metadata, so the bytes depend only on the drawing
    fig.savefig(buf, format="png", dpi=CHART_DPI, metadata={"Software": None}, bbox_inches="tight",
                pad_inches=0.15)
    return buf.getvalue()


def _style():
    import matplotlib

    return matplotlib.rc_context({"font.family": "DejaVu Sans", "font.size": 10, "axes.spines.top": False,
                                  "axes.spines.right": False, "svg.hashsalt": "yuliao"})


def chart_funnel(rows: list[dict]) -> Optional[bytes]:
    rows = [r for r in rows if r["stage"] != "sink.rejects"]
    if not rows:
        return None
    with _style():
        fig = _figure(8, 0.5 * len(rows) + 1.4)
        ax = fig.add_subplot(111)
        names = [r["stage"] for r in rows][::-1]
        ins = [r["in"] for r in rows][::-1]
        outs = [r["out"] for r in rows][::-1]
        y = list(range(len(rows)))
        ax.barh(y, ins, height=0.75, color="#c9d6e8", label="in")
        ax.barh(y, outs, height=0.45, color="#2f5d9e", label="out")
        top = max(ins + outs) or 1
        for yi, n_in, n_out in zip(y, ins, outs):
            ax.text(max(n_in, n_out) + top * 0.01, yi, f"{n_out:,} / {n_in:,}", va="center", fontsize=8.5)
        ax.set_yticks(y, names)
        ax.set_xlim(0, top * 1.28)
        ax.set_xlabel("documents (out / in)")
        ax.set_title("Documents through each stage", loc="left")
        ax.legend(loc="lower right", frameon=False)
        return _png(fig)


def mixture_unit(mixture: Optional[Mapping]) -> str:
    unit = (mixture or {}).get("unit")
    return unit if isinstance(unit, str) and unit else "tokens"


def mixture_notes(mixture: Optional[Mapping]) -> list[str]:
    notes = (mixture or {}).get("notes")
    return [str(n) for n in notes] if isinstance(notes, list) else []


def chart_mixture(rows: list[dict], unit: str = "tokens") -> Optional[bytes]:
    rows = [r for r in rows if r["target"] is not None or r["achieved"] is not None]
    if not rows:
        return None
    with _style():
        fig = _figure(max(6.0, 0.9 * len(rows) + 2), 4.2)
        ax = fig.add_subplot(111)
        x = list(range(len(rows)))
        tgt = [100 * (r["target"] or 0) for r in rows]
        ach = [100 * (r["achieved"] or 0) for r in rows]
        series = [("target", tgt, "#c9d6e8")]
        if any(r.get("allocated") is not None and r["allocated"] != r["target"] for r in rows):
            # shortfalls of capped/empty buckets were redistributed: show what each bucket was allocated
            series.append(("allocated", [100 * (r.get("allocated") or 0) for r in rows], "#8fa9cf"))
        series.append(("achieved", ach, "#2f5d9e"))
        w = 0.8 / len(series)
        for k, (label, ys, color) in enumerate(series):
            offset = (k - (len(series) - 1) / 2) * w
            ax.bar([i + offset for i in x], ys, width=w, color=color, edgecolor="#2f5d9e", label=label)
        last = (len(series) - 1) / 2 * w
        for i, a in enumerate(ach):
            ax.text(i + last, a, f"{a:.1f}", ha="center", va="bottom", fontsize=8)
        ax.set_xticks(x, [r["bucket"] for r in rows], rotation=30 if len(rows) > 4 else 0, ha="right" if len(rows) > 4 else "center")
        ax.set_ylabel(f"share of {unit} (%)")
        ax.set_ylim(0, max([y for _, ys, _ in series for y in ys] + [1]) * 1.15)
        ax.set_title("Mixture: target vs achieved", loc="left")
        ax.legend(frameon=False)
        return _png(fig)


def chart_lengths(hists: dict[str, dict[int, int]]) -> Optional[bytes]:
    hists = {k: v for k, v in hists.items() if sum(v.values())}
    if not hists:
        return None
    lo = min(min(h) for h in hists.values())
    hi = max(max(h) for h in hists.values())
    bins = list(range(lo, hi + 1))
    colors = ["#2f5d9e", "#d0743c", "#3c9d5d", "#9c4fa8", "#a88b2f", "#4fa3a8", "#7a7a7a"]
    with _style():
        fig = _figure(8, 4.2)
        ax = fig.add_subplot(111)
        for i, (lang, h) in enumerate(sorted(hists.items())):
            total = sum(h.values())
            ys = [100.0 * h.get(b, 0) / total for b in bins]
            ax.plot(bins, ys, marker="o", ms=4, lw=1.6, color=colors[i % len(colors)], label=f"{lang} ({total:,} docs)")
        ax.set_xticks(bins, [_short(1 << b) for b in bins], rotation=45 if len(bins) > 10 else 0)
        ax.set_xlabel("document length in characters (log2 bins, lower edge)")
        ax.set_ylabel("share of the language's documents (%)")
        ax.set_ylim(bottom=0)
        ax.set_title("Document length by language", loc="left")
        ax.legend(frameon=False)
        return _png(fig)


# ------------------------------------------------------------------ context + rendering
@dataclass
class CardInputs:
    output: str
    stats: dict
    run: dict = field(default_factory=dict)
    mixture: Optional[dict] = None


def load_inputs(output: str) -> CardInputs:
    stats = read_json(_join(output, "stats.json"))
    if stats is None:
        raise FileNotFoundError(f"{_join(output, 'stats.json')} not found: not a yuliao output directory?")
    return CardInputs(output, stats, read_json(_join(output, "run.json")) or {}, read_json(_join(output, "mixture.json")))


def _yaml_header(recipe: Mapping, parts: list[Partition], n_docs: int) -> str:
    langs = sorted({p.lang for p in parts})
    by_lang: dict[str, list[str]] = {}
    for p in parts:
        by_lang.setdefault(p.lang, []).append(p.path)
    configs: list[dict] = []
    if parts:
        configs.append({"config_name": "default", "default": True,
                        "data_files": [{"split": "train", "path": sorted(p.path for p in parts)}]})
        for lang in langs:
            configs.append({"config_name": lang, "data_files": [{"split": "train", "path": sorted(by_lang[lang])}]})
        if len(parts) > len(langs):  # per-source configs only add something when a language has several
            for p in parts:
                configs.append({"config_name": f"{p.lang}-{p.source}",
                                "data_files": [{"split": "train", "path": p.path}]})
    meta: dict[str, Any] = {
        "pretty_name": f"Yuliao corpus: {recipe.get('name', 'default')}",
        "license": recipe.get("license", "other"),
        "language": langs or ["und"],
        "multilinguality": "multilingual" if len(langs) > 1 else "monolingual",
        "size_categories": [size_category(n_docs)],
        "task_categories": ["text-generation"],
        "task_ids": ["language-modeling"],
        "tags": ["pretraining", "yuliao"],
    }
    if configs:
        meta["configs"] = configs
    return yaml.safe_dump(meta, allow_unicode=True, sort_keys=False, width=1000).rstrip("\n")


def card_context(inputs: CardInputs, charts: Mapping[str, bool]) -> dict:
    stats, run = inputs.stats, inputs.run
    recipe = run.get("recipe", {})
    parts = partitions(stats, inputs.output)
    need_scan = bool(parts) and not any(k.startswith("len_log2/") for k in sink_counters(stats))
    scan = scan_data(inputs.output) if need_scan else None
    table = lang_source_table(parts)
    inputs_list = run.get("inputs", [])
    timing = stats.get("timing", {})
    return {
        "header": _yaml_header(recipe, parts, table["totals"]["docs"]),
        "name": recipe.get("name", "default"),
        "description": (recipe.get("description") or "").strip(),
        "license": recipe.get("license", "other"),
        "parts": parts,
        "table": table,
        "funnel": funnel(stats),
        "reasons": top_reasons(stats),
        "scripts": script_split(stats, scan),
        "scan_note": need_scan,
        "lengths": length_histograms(stats, scan),
        "dedup": dedup_section(stats),
        "pii": pii_section(stats),
        "mixture": mixture_rows(inputs.mixture),
        "has_mixture": inputs.mixture is not None,
        "mixture_unit": mixture_unit(inputs.mixture),
        "mixture_notes": mixture_notes(inputs.mixture),
        "stages": list(stats.get("order", [])),
        "has_dedup": any(s.startswith("dedup") for s in stats.get("order", [])),
        "recipe_yaml": (run.get("recipe_yaml") or (yaml.safe_dump(recipe, allow_unicode=True, sort_keys=False)
                                                   if recipe else "")).rstrip("\n"),
        "inputs": inputs_list[:MAX_INPUT_ROWS],
        "inputs_more": max(0, len(inputs_list) - MAX_INPUT_ROWS),
        "inputs_total_bytes": sum(int(f.get("size") or 0) for f in inputs_list),
        "versions": sorted((run.get("versions") or {}).items()),
        "versions_recorded": bool(run.get("versions")),
        "fields": list(FIELDS.items()),
        "charts": dict(charts),
        "timing": sorted((k, v["ms"]) for k, v in timing.items() if "ms" in v),
        "wall_seconds": (run.get("timing") or {}).get("wall_seconds"),
        "schema_version": stats.get("schema_version"),
    }


def _fmt_int(v: Any) -> str:
    if v is None:
        return "—"
    return f"{int(v):,}"


def _fmt_pct(v: Any, digits: int = 1) -> str:
    return "—" if v is None else f"{v:.{digits}f}%"


def _fmt_share(v: Any) -> str:
    return "—" if v is None else f"{100 * v:.2f}%"


def _fmt_num(v: Any) -> str:
    if v is None:
        return "—"
    if float(v).is_integer():
        return f"{int(v):,}"
    return f"{v:.4g}"


def _fmt_bytes(n: Any) -> str:
    if n is None:
        return "—"
    n = int(n)
    for unit, div in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= div:
            return f"{n / div:.1f} {unit}"
    return f"{n} B"


def _md(v: Any) -> str:
    """Escape a value for a Markdown table cell."""
    return str(v).replace("|", "\\|").replace("\n", " ")


def template_env():
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FunctionLoader(lambda name: resources.files("schemas").joinpath(name).read_text("utf-8")),
        undefined=jinja2.StrictUndefined, keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True,
        autoescape=False)
    env.filters.update(int=_fmt_int, pct=_fmt_pct, share=_fmt_share, num=_fmt_num, size=_fmt_bytes, md=_md,
                       binlabel=_bin_label)
    return env


def render_readme(context: Mapping) -> str:
    import re

    text = template_env().get_template("card.md.j2").render(**context)
    text = "\n".join(line.rstrip() for line in text.splitlines()).strip("\n") + "\n"
    return re.sub(r"\n{3,}", "\n\n", text)


def render_charts(inputs: CardInputs, context: Mapping | None = None) -> dict[str, bytes]:
    stats = inputs.stats
    out = {}
    f = chart_funnel(funnel(stats))
    if f:
        out["funnel.png"] = f
    m = chart_mixture(mixture_rows(inputs.mixture), mixture_unit(inputs.mixture))
    if m:
        out["mixture.png"] = m
    hists = context["lengths"] if context else length_histograms(stats)
    lp = chart_lengths(hists)
    if lp:
        out["lengths.png"] = lp
    return out


def render_card(output: str) -> list[str]:
    """Write ``README.md`` and ``charts/*.png`` into ``output``; returns the paths written."""
    inputs = load_inputs(output)
    # context first (may need a data scan for lengths), then charts, then the README that links them
    ctx = card_context(inputs, {})
    charts = render_charts(inputs, ctx)
    ctx["charts"] = {name: True for name in charts}
    written = []
    for name, data in sorted(charts.items()):
        path = _join(output, "charts", name)
        _write_bytes(path, data)
        written.append(path)
    readme = _join(output, "README.md")
    _write_bytes(readme, render_readme(ctx).encode("utf-8"))
    written.append(readme)
    return written
