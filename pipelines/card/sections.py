"""Numbers for the card, computed from stats.json (and mixture.json); no drawing, no templating."""
from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any, Mapping, Optional

from pipelines.card.files import glob_files, join, read_bytes

SIZE_CATEGORIES = [(1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M"),
                   (10_000_000, "1M<n<10M"), (100_000_000, "10M<n<100M"), (1_000_000_000, "100M<n<1B"),
                   (10_000_000_000, "1B<n<10B"), (100_000_000_000, "10B<n<100B"),
                   (1_000_000_000_000, "100B<n<1T")]
MAX_INPUT_ROWS = 200
TOP_REASONS = 5


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
        for path in glob_files(join(output, "data", "*", "*", "*.parquet")):
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


def cleaning_section(stats: Mapping) -> dict:
    """Cross-document boilerplate removal and benchmark decontamination, from their stats counters."""
    st = stats.get("stages", {})
    b = st.get("boilerplate")
    boiler = None
    if b is not None:
        c = b.get("counters", {})
        boiler = {"in": b.get("in", 0), "docs_changed": c.get("docs_changed", 0),
                  "lines_removed": c.get("lines_removed", 0), "chars_removed": c.get("chars_removed", 0),
                  "frequent_lines": c.get("frequent_lines", 0),
                  "too_short": b.get("rejected", {}).get("boilerplate_too_short", 0)}
    d = st.get("decontam")
    tasks: dict[str, dict[str, int]] = {}
    if d is not None:
        c = d.get("counters", {})
        for reason, n in d.get("rejected", {}).items():
            kind, _, task = reason.partition(":")
            tasks.setdefault(task or reason, {})[kind] = n
        for key, n in c.items():
            kind, _, task = key.partition("/")
            if task and kind in ("cut", "benchmark_items", "benchmark_items_unmatchable"):
                tasks.setdefault(task, {})[kind] = n
    rows = [{"task": t, "n_items": v.get("benchmark_items", 0), "unmatchable": v.get("benchmark_items_unmatchable", 0),
             "dropped": v.get("contaminated", 0) + v.get("contaminated_short", 0), "cut": v.get("cut", 0)}
            for t, v in sorted(tasks.items())]
    return {"boilerplate": boiler, "decontam_ran": d is not None, "decontam_in": (d or {}).get("in", 0),
            "tasks": rows}


SCORE_BINS = 10  # quality_score histogram: tenths, counted by the quality stage as ``score/<lang>/<bin>``
MODEL_REASONS = ("low_quality_score", "word_order", "pareto_sample")


def quality_section(stats: Mapping) -> dict:
    """The quality stage: ``quality_score`` histogram per language (all documents it judged, from its
    ``score/<lang>/<bin>`` counters), and per rule and for the model how many documents each dropped (the
    rejection reason is the first failing rule) and how many failing rules the model overrode (``rescued/``)."""
    q = stats.get("stages", {}).get("quality")
    if q is None:
        return {"ran": False, "histograms": [], "rules": [], "model": []}
    c = q.get("counters", {})
    rejected = q.get("rejected", {})
    hists: dict[str, list[int]] = {}
    for key, n in _prefixed(c, "score/").items():
        lang, _, b = key.rpartition("/")
        if lang and b.isdigit() and int(b) < SCORE_BINS:
            hists.setdefault(lang, [0] * SCORE_BINS)[int(b)] += n
    histograms = []
    for lang, bins in sorted(hists.items()):
        total = sum(bins)
        histograms.append({"lang": lang, "total": total, "bins": [
            {"label": f"{i / SCORE_BINS:.1f}–{(i + 1) / SCORE_BINS:.1f}", "n": n,
             "pct": 100.0 * n / total if total else 0.0} for i, n in enumerate(bins)]})
    rescued = _prefixed(c, "rescued/")
    would = _prefixed(c, "would_reject/")
    exempt = _prefixed(c, "exempt/")
    names = sorted((set(rejected) | set(rescued) | set(would) | set(exempt)) - set(MODEL_REASONS))
    rules = [{"rule": r, "dropped": rejected.get(r, 0), "rescued": rescued.get(r, 0),
              "not_dropped": would.get(r, 0) + exempt.get(r, 0)} for r in names]
    rules.sort(key=lambda x: (-x["dropped"], -x["rescued"], x["rule"]))
    model = [{"reason": r, "dropped": rejected.get(r, 0), "not_dropped": would.get(r, 0) + exempt.get(r, 0)}
             for r in MODEL_REASONS if r in rejected or r in would or r in exempt]
    return {"ran": True, "in": q.get("in", 0), "histograms": histograms, "rules": rules, "model": model,
            "rescued_total": sum(rescued.values())}


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


def bin_label(e: int, suffix: str = " chars") -> str:
    """Label of log2 bin e: values v with 2**e <= v < 2**(e+1) (bin 0 also holds 0)."""
    if e == 0:
        return f"0–1{suffix}"
    return f"{short_number(1 << e)}–{short_number((1 << (e + 1)) - 1)}{suffix}" if e < 4 else f"{short_number(1 << e)}–<{short_number(1 << (e + 1))}{suffix}"


def short_number(n: int) -> str:
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


def mixture_unit(mixture: Optional[Mapping]) -> str:
    unit = (mixture or {}).get("unit")
    return unit if isinstance(unit, str) and unit else "tokens"


def mixture_notes(mixture: Optional[Mapping]) -> list[str]:
    notes = (mixture or {}).get("notes")
    return [str(n) for n in notes] if isinstance(notes, list) else []


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
    for path in glob_files(join(output, "data", "*", "*", "*.parquet")):
        lang = path.split("/")[-3]
        if seen.get(lang, 0) >= max_rows_per_lang:
            continue
        table = pq.read_table(io.BytesIO(read_bytes(path)), columns=["script", "text"])
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

