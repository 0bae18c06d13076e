"""``yuliao inspect OUTPUT``: a summary a person can read, and sample documents to eyeball.

Shows the funnel (in/out and top reasons per stage) and the language × source partitions from
``stats.json``, then N sample documents: kept ones from ``data/`` by default, or rejected ones
from ``rejects/`` when ``--stage`` / ``--reason`` is given. The sample is deterministic for a
seed (documents with the smallest ``blake2b(seed, id)`` win), independent of shard layout. Text is
truncated; rejects carry text only when the recipe set ``sink.rejects_keep_text``.
"""
from __future__ import annotations

import hashlib
import io
import textwrap
from typing import Optional

from pipelines.card import glob_files, join, load_inputs, partitions, read_bytes, top_reasons
from transforms.sinks import safe


def summary(stats: dict, output: str | None = None) -> str:
    lines = [f"{'stage':<16}{'in':>12}{'out':>12}{'kept':>8}  top drop reasons"]
    reasons = {r["stage"]: r for r in top_reasons(stats, k=3)}
    for name in stats.get("order", []):
        s = stats["stages"][name]
        kept = f"{100 * s['out'] / s['in']:.1f}%" if s.get("in") else "—"
        r = reasons.get(name)
        why = ", ".join(f"{x['reason']} {x['n']:,}" for x in r["reasons"]) if r else ""
        if r and r["other"]:
            why += f", +{r['other']:,} other"
        lines.append(f"{name:<16}{s.get('in', 0):>12,}{s.get('out', 0):>12,}{kept:>8}  {why}")
    parts = partitions(stats, output)
    if parts:
        lines += ["", f"{'partition':<28}{'docs':>12}{'chars':>16}{'tokens':>16}"]
        for p in parts:
            lines.append(f"{p.lang + '/' + p.source:<28}{p.docs:>12,}{p.chars:>16,}{p.tokens:>16,}")
    return "\n".join(lines)


def _rank(seed: int, doc_id: str) -> bytes:
    return hashlib.blake2b(f"{seed}\x1f{doc_id}".encode(), digest_size=8).digest()


def _read(path: str, columns: list[str], filters=None):
    import pyarrow.parquet as pq

    src = path if "://" not in path else io.BytesIO(read_bytes(path))
    return pq.read_table(src, columns=columns, filters=filters)


def sample_rows(files: list[str], n: int, seed: int, where: dict[str, str], columns: list[str]) -> list[dict]:
    """Deterministic sample of ``n`` rows matching ``where`` (column == value) from Parquet ``files``:
    a first pass over the id and filter columns picks the ids, a second reads only those rows."""
    if n <= 0:
        return []
    filters = [(k, "=", v) for k, v in sorted(where.items())] or None
    ranked: list[tuple[bytes, str, str]] = []
    for path in files:
        t = _read(path, ["id"], filters)
        ranked.extend((_rank(seed, i), i, path) for i in t.column("id").to_pylist())
    chosen = sorted(ranked)[:n]
    rows: list[dict] = []
    by_file: dict[str, list[str]] = {}
    for _, i, path in chosen:
        by_file.setdefault(path, []).append(i)
    order = {i: k for k, (_, i, _) in enumerate(chosen)}
    for path, ids in sorted(by_file.items()):
        t = _read(path, columns, [("id", "in", ids)] + (filters or []))
        rows.extend(t.to_pylist())
    rows.sort(key=lambda r: (order.get(r["id"], n), r.get("epoch") or 0))
    seen, out = set(), []
    for r in rows:  # repeated copies (epoch > 0) of one document: show it once
        if r["id"] not in seen:
            seen.add(r["id"])
            out.append(r)
    return out[:n]


def _truncate(text: Optional[str], chars: int) -> str:
    if text is None:
        return "    (text not kept: set sink.rejects_keep_text: true in the recipe to keep PII-scrubbed text of rejects)"
    t = text if len(text) <= chars else text[:chars].rstrip() + f" […{len(text) - chars:,} more chars]"
    return textwrap.indent(t, "    ")


def _fmt_signals(signals) -> str:
    if not signals:
        return ""
    if isinstance(signals, dict):
        items = signals
    else:  # Arrow map or list<struct<key, value>> as read back by pyarrow
        items = {(e["key"], e["value"]) if isinstance(e, dict) else tuple(e) for e in signals}
        items = dict(sorted(items))
    return ", ".join(f"{k}={v:.3g}" if isinstance(v, (int, float)) else f"{k}={v}"
                     for k, v in sorted(items.items())[:12])


def format_doc(row: dict, chars: int) -> str:
    head = [f"id={row['id']}"]
    for k in ("lang", "script", "source", "stage", "reason", "n_tokens", "epoch"):
        if row.get(k) not in (None, ""):
            head.append(f"{k}={row[k]}")
    lines = ["— " + " ".join(head)]
    if row.get("url"):
        lines.append(f"  url: {row['url']}")
    lines.append(f"  origin: {row.get('origin')}")
    if row.get("detail"):
        lines.append(f"  detail: {row['detail']}")
    sig = _fmt_signals(row.get("signals"))
    if sig:
        lines.append(f"  signals: {sig}")
    lines.append(_truncate(row.get("text"), chars))
    return "\n".join(lines)


def inspect_output(output: str, stage: str | None = None, reason: str | None = None, lang: str | None = None,
                   source: str | None = None, sample: int = 3, chars: int = 600, seed: int = 0) -> str:
    inputs = load_inputs(output)
    parts = [summary(inputs.stats, output)]
    if sample <= 0:
        return "\n".join(parts)
    where: dict[str, str] = {}
    if lang:
        where["lang"] = lang
    if source:
        where["source"] = source
    if stage or reason:
        if reason:
            where["reason"] = reason
        if stage:
            where["stage"] = stage
        pattern = join(output, "rejects", safe(stage) if stage else "*", "*.parquet")
        columns = ["id", "source", "origin", "stage", "reason", "url", "lang", "signals", "detail", "text"]
        what = f"rejected{' by ' + stage if stage else ''}{' for ' + reason if reason else ''}"
    else:
        pattern = join(output, "data", safe(lang) if lang else "*", safe(source) if source else "*", "*.parquet")
        columns = ["id", "text", "source", "origin", "url", "lang", "script", "signals", "n_tokens", "epoch"]
        what = "kept"
    files = glob_files(pattern)
    rows = sample_rows(files, sample, seed, where, columns)
    filt = "".join(f" {k}={v}" for k, v in sorted(where.items()) if k not in ("stage", "reason"))
    parts.append("")
    parts.append(f"{len(rows)} sample document(s), {what}{filt} (seed {seed}):")
    if not rows:
        parts.append("  none found" + ("" if files else f" (no files match {pattern})"))
    for r in rows:
        parts.append(format_doc(r, chars))
    return "\n".join(parts)
