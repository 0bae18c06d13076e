"""The card's PNG charts (matplotlib Agg, no metadata: same numbers, same bytes)."""
from __future__ import annotations

import io
from typing import Optional

from pipelines.card.sections import short_number

CHART_DPI = 100

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
        ax.legend(frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0))
        return _png(fig)


def chart_mixture(rows: list[dict], unit: str = "tokens") -> Optional[bytes]:
    with _style():
        fig = mixture_figure(rows, unit)
        return None if fig is None else _png(fig)


def mixture_figure(rows: list[dict], unit: str = "tokens"):
    """The mixture chart as a matplotlib Figure (tests measure where the legend and bars are)."""
    rows = [r for r in rows if r["target"] is not None or r["achieved"] is not None]
    if not rows:
        return None
    with _style():
        fig = _figure(min(14.0, max(5.0, 0.9 * len(rows) + 3)), 4.2)
        ax = fig.add_subplot(111)
        x = list(range(len(rows)))
        tgt = [100 * (r["target"] or 0) for r in rows]
        ach = [100 * (r["achieved"] or 0) for r in rows]
        series = [("target", tgt, "#c9d6e8")]
        if any(r.get("allocated") is not None and r["allocated"] != r["target"] for r in rows):
            # shortfalls of capped/empty buckets were redistributed: show what each bucket was allocated
            series.append(("allocated", [100 * (r.get("allocated") or 0) for r in rows], "#8fa9cf"))
        series.append(("achieved", ach, "#2f5d9e"))
        w = 0.8 / len(series) if len(rows) > 2 else 0.25  # one or two buckets: bars of a readable width
        for k, (label, ys, color) in enumerate(series):
            offset = (k - (len(series) - 1) / 2) * w
            ax.bar([i + offset for i in x], ys, width=w, color=color, edgecolor="#2f5d9e", label=label)
        last = (len(series) - 1) / 2 * w
        for i, a in enumerate(ach):
            ax.text(i + last, a, f"{a:.1f}", ha="center", va="bottom", fontsize=8)
        ax.set_xticks(x, [r["bucket"] for r in rows], rotation=30 if len(rows) > 4 else 0, ha="right" if len(rows) > 4 else "center")
        ax.set_ylabel(f"share of {unit} (%)")
        ax.set_ylim(0, max([y for _, ys, _ in series for y in ys] + [1]) * 1.15)
        ax.set_xlim(-0.6 if len(rows) > 2 else -0.75, len(rows) - (0.4 if len(rows) > 2 else 0.25))
        ax.set_title("Mixture: target vs achieved", loc="left")
        # outside the axes: with one bucket the bars fill the plot and an inside legend covers them
        ax.legend(frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0))
        return fig


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
        ax.set_xticks(bins, [short_number(1 << b) for b in bins], rotation=45 if len(bins) > 10 else 0)
        ax.set_xlim(lo - 0.5, hi + 0.5)  # one or two bins: points not on the frame
        ax.set_xlabel("document length in characters (log2 bins, lower edge)")
        ax.set_ylabel("share of the language's documents (%)")
        ax.set_ylim(bottom=0)
        ax.set_title("Document length by language", loc="left")
        ax.legend(frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0))
        return _png(fig)

