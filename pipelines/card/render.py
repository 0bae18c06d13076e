"""The card's README.md: context from the sections, the Jinja template schemas/card.md.j2, the charts."""
from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Mapping, Optional

import yaml

from pipelines.card.charts import chart_funnel, chart_lengths, chart_mixture
from pipelines.card.files import join, read_json, write_bytes
from pipelines.card.sections import (MAX_INPUT_ROWS, Partition, bin_label, cleaning_section, dedup_section, funnel,
                                     lang_source_table,
                                     length_histograms, mixture_notes, mixture_rows, mixture_unit, partitions,
                                     pii_section, quality_section, scan_data, script_split, sink_counters, size_category, top_reasons)

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



@dataclass
class CardInputs:
    output: str
    stats: dict
    run: dict = field(default_factory=dict)
    mixture: Optional[dict] = None


def load_inputs(output: str) -> CardInputs:
    stats = read_json(join(output, "stats.json"))
    if stats is None:
        raise FileNotFoundError(f"{join(output, 'stats.json')} not found: not a yuliao output directory?")
    return CardInputs(output, stats, read_json(join(output, "run.json")) or {}, read_json(join(output, "mixture.json")))


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
    # older run.json files hold the full path: show only the file name
    inputs_list = [{**f, "name": f.get("name") or str(f.get("path", "")).rsplit("/", 1)[-1]}
                   for f in run.get("inputs", [])]
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
        "cleaning": cleaning_section(stats),
        "quality": quality_section(stats),
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
        "tokenizer": run.get("tokenizer"),
        "run_recorded": bool(run),
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
                       binlabel=bin_label)
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
        path = join(output, "charts", name)
        write_bytes(path, data)
        written.append(path)
    readme = join(output, "README.md")
    write_bytes(readme, render_readme(ctx).encode("utf-8"))
    written.append(readme)
    return written
