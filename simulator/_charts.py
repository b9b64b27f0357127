"""Charts of the simulator's HTML reports, drawn with matplotlib and returned as inline SVG text.

Only ``matplotlib.figure.Figure`` is used (no pyplot), so nothing touches the global backend of a process that
imports this module. Text is drawn as paths (matplotlib's default ``svg.fonttype``), so a report renders the same
in any browser without fonts; labels are English because the default font has no Chinese glyphs (the HTML
around each chart gives the Chinese names). Each chart gets its own ``svg.hashsalt`` so that the ids inside
several SVGs in one page do not collide, and no date is written, so the same data gives the same bytes.
Elements the tests look for carry a ``gid`` (``golive-line-N``, ``golive-label-N``, ``no-rule-N``).
"""

from __future__ import annotations

import datetime as dt
import html
import io
import re
from collections.abc import Sequence
from typing import Any

import matplotlib
from matplotlib.figure import Figure
from matplotlib.ticker import StrMethodFormatter

ARM_STYLE = {"monitored": {"color": "#1f77b4", "label": "monitored (with the rules)"},
             "unmonitored": {"color": "#d62728", "label": "unmonitored (counterfactual)", "linestyle": "--"}}
PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"]


def to_svg(fig: Figure, salt: str, label: str) -> str:
    """The figure as an ``<svg>`` element (no XML prolog) sized to its container, with an accessible label."""
    buf = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": salt, "svg.fonttype": "path"}):
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None, "Format": None, "Type": None},
                    bbox_inches="tight")
    text = buf.getvalue()
    text = text[text.index("<svg"):]
    # The RDF metadata block names the matplotlib version and URLs: not needed inline, and not version-stable.
    text = re.sub(r"\s*<metadata>.*?</metadata>", "", text, count=1, flags=re.S)
    attrs = f'<svg class="chart" role="img" aria-label="{html.escape(label)}" data-chart="{html.escape(salt)}" '
    text = re.sub(r"^<svg\s+", attrs, text, count=1)
    # Width and height in pt fix the size; a viewBox is present, so let CSS scale it instead.
    text = re.sub(r'^(<svg[^>]*?)\swidth="[^"]*"\sheight="[^"]*"', r"\1", text, count=1)
    return text


def _legend_below(ax: Any, ncol: int = 2) -> None:
    """A legend under the axes, so that it never hides a bar or a line (none when nothing was drawn)."""
    if not ax.get_legend_handles_labels()[0]:
        return
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=ncol, fontsize=8, frameon=False)


def _yuan_axis(ax: Any) -> None:
    ax.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))


def _fig(height: float = 4.0, width: float = 9.0, nrows: int = 1, ncols: int = 1) -> tuple[Figure, Any]:
    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False)
    return fig, axes


def _errs(values: Sequence[float | None], cis: Sequence[tuple[float, float] | None]) -> list[list[float]]:
    lo, hi = [], []
    for v, ci in zip(values, cis, strict=True):
        if v is None or ci is None:
            lo.append(0.0)
            hi.append(0.0)
        else:
            lo.append(max(0.0, v - ci[0]))
            hi.append(max(0.0, ci[1] - v))
    return [lo, hi]


def recall_precision(labels: list[str], recall: list[float | None], recall_ci: list[Any],
                     precision: list[float | None], precision_ci: list[Any], no_rule: list[bool]) -> str:
    """Horizontal bars per fraud pattern: recall and precision in %, Wilson 95 % whiskers; "no rule yet" marked."""
    fig, axes = _fig(height=max(2.5, 0.6 * len(labels) + 1.5))
    ax = axes[0][0]
    y = list(range(len(labels)))
    h = 0.38
    pct = [None if v is None else v * 100 for v in recall]
    pct_ci = [None if c is None else (c[0] * 100, c[1] * 100) for c in recall_ci]
    ppct = [None if v is None else v * 100 for v in precision]
    ppct_ci = [None if c is None else (c[0] * 100, c[1] * 100) for c in precision_ci]
    ax.barh([i - h / 2 for i in y], [v or 0 for v in pct], h, xerr=_errs(pct, pct_ci), capsize=3,
            color="#1f77b4", label="recall (share of the pattern's encounters flagged)")
    ax.barh([i + h / 2 for i in y], [v or 0 for v in ppct], h, xerr=_errs(ppct, ppct_ci), capsize=3,
            color="#ff7f0e", label="precision (share of the rules' flags on this pattern)")
    for i, flag in enumerate(no_rule):
        if flag:
            ax.text(2, i, "no rule yet", va="center", ha="left", fontsize=10, color="#555555",
                    style="italic", gid=f"no-rule-{i}")
    ax.set_yticks(y, labels)
    ax.invert_yaxis()
    ax.set_xlim(0, 105)
    ax.set_xlabel("percent of encounters (%)")
    ax.set_title("Recall and precision per fraud pattern (95% Wilson interval)")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2, fontsize=8, frameon=False)
    ax.grid(axis="x", alpha=0.3)
    return to_svg(fig, "recall-precision", "Recall and precision per fraud pattern")


def false_positives(decoy_labels: list[str], decoy_rates: list[float | None], decoy_cis: list[Any],
                    scene_labels: list[str], scene_values: list[float | None], scene_cis: list[Any]) -> str:
    """Left: each decoy's false-positive rate (%); right: false positives per 10,000 honest encounters per scene."""
    fig, axes = _fig(height=max(3.0, 0.5 * max(len(decoy_labels), len(scene_labels)) + 1.8), width=11, ncols=2)
    ax = axes[0][0]
    vals = [None if v is None else v * 100 for v in decoy_rates]
    cis = [None if c is None else (c[0] * 100, c[1] * 100) for c in decoy_cis]
    ax.barh(range(len(decoy_labels)), [v or 0 for v in vals], xerr=_errs(vals, cis), capsize=3, color="#9467bd")
    ax.set_yticks(range(len(decoy_labels)), decoy_labels)
    ax.invert_yaxis()
    ax.set_xlabel("decoy encounters flagged (%)")
    ax.set_title("False-positive rate per decoy (honest look-alike)")
    ax.grid(axis="x", alpha=0.3)
    ax = axes[0][1]
    ax.bar(range(len(scene_labels)), [v or 0 for v in scene_values], yerr=_errs(scene_values, scene_cis),
           capsize=4, color="#8c564b")
    ax.set_xticks(range(len(scene_labels)), scene_labels)
    ax.set_ylabel("false positives per 10,000 honest encounters")
    ax.set_title("False positives per 10,000 honest encounters, by scene")
    ax.grid(axis="y", alpha=0.3)
    return to_svg(fig, "false-positives", "False positives per decoy and per scene")


def money(labels: list[str], values: list[float], colors: list[str]) -> str:
    """Bars of money amounts in yuan (refused, recovered, fraud paid, fraud prevented)."""
    fig, axes = _fig(height=4.0)
    ax = axes[0][0]
    bars = ax.bar(range(len(labels)), values, color=colors)
    ax.bar_label(bars, labels=[f"{v:,.0f}" for v in values], fontsize=8, padding=2)
    ax.set_xticks(range(len(labels)), labels, rotation=15, ha="right", rotation_mode="anchor")
    ax.set_ylabel("yuan")
    _yuan_axis(ax)
    ax.set_title("Refused and recovered amounts, fraud paid and prevented")
    ax.grid(axis="y", alpha=0.3)
    ax.margins(y=0.15)
    return to_svg(fig, "money", "Refused and recovered amounts")


def audit_workload(months: list[str], confirmed: list[int], cleared: list[int], capacity: list[int | None],
                   backlog: list[int | None]) -> str:
    """Stacked bars of audits done per month (confirmed / cleared), the capacity as a step line, the backlog."""
    fig, axes = _fig(height=4.0)
    ax = axes[0][0]
    x = list(range(len(months)))
    ax.bar(x, confirmed, color="#2ca02c", label="audits done: fraud confirmed")
    ax.bar(x, cleared, bottom=confirmed, color="#bcbd22", label="audits done: cleared (honest)")
    if any(c is not None for c in capacity):
        ax.step(x, [c if c is not None else float("nan") for c in capacity], where="mid", color="#d62728",
                linewidth=2, label="monthly audit capacity")
    if any(b is not None for b in backlog):
        ax.plot(x, [b if b is not None else float("nan") for b in backlog], color="#7f7f7f", marker="o",
                label="backlog (leads waiting at month end)")
    ax.set_xticks(x, months, rotation=45 if len(months) > 8 else 0)
    ax.set_xlabel("month")
    ax.set_ylabel("audits (count)")
    ax.set_title("Audit workload against capacity, by month")
    _legend_below(ax)
    ax.grid(axis="y", alpha=0.3)
    return to_svg(fig, "audit", "Audit workload against capacity")


def month_dates(months: list[str]) -> list[dt.date]:
    """A month "YYYY-MM" is drawn at its 15th, so that a go-live on the 1st falls between two months' points."""
    return [dt.date(int(m[:4]), int(m[5:7]), 15) for m in months]


def _go_lives(ax: Any, go_lives: list[dict[str, Any]]) -> None:
    for i, g in enumerate(go_lives):
        when = dt.date.fromisoformat(g["date"])
        ax.axvline(when, color="#333333", linestyle=":", linewidth=1.5, gid=f"golive-line-{i}")
        label = f"go-live: {g['scene']}" + (f" ({g['group']})" if g.get("group") else "")
        ax.text(when, 0.98 - 0.08 * (i % 4), " " + label, transform=ax.get_xaxis_transform(), ha="left",
                va="top", fontsize=8, color="#333333", gid=f"golive-label-{i}")


def _month_axis(ax: Any, dates: list[dt.date]) -> None:
    ax.set_xticks(dates, [d.strftime("%Y-%m") for d in dates], rotation=45 if len(dates) > 8 else 0)
    ax.set_xlabel("month")


def series(key: str, title: str, ylabel: str, arms: dict[str, tuple[list[str], list[float | None]]],
           go_lives: list[dict[str, Any]]) -> str:
    """One monthly series, one line per arm (monitored vs unmonitored), each go-live a labelled vertical line."""
    fig, axes = _fig(height=3.6)
    ax = axes[0][0]
    all_months: set[str] = set()
    for i, (arm, (months, values)) in enumerate(sorted(arms.items())):
        style = dict(ARM_STYLE.get(arm, {"color": PALETTE[i % len(PALETTE)], "label": arm}))
        ax.plot(month_dates(months), [float("nan") if v is None else v for v in values], marker="o", **style)
        all_months |= set(months)
    _go_lives(ax, go_lives)
    _month_axis(ax, month_dates(sorted(all_months)))
    ax.set_ylabel(ylabel)
    if "yuan" in ylabel:
        _yuan_axis(ax)
    ax.set_title(title)
    _legend_below(ax)
    ax.grid(alpha=0.3)
    return to_svg(fig, f"series-{key}", title)


def grouped_bars(key: str, title: str, ylabel: str, categories: list[str],
                 groups: dict[str, tuple[list[float | None], list[tuple[float, float] | None]]]) -> str:
    """Bars per category, one colour per group (policy), whiskers = the 95 % interval over replications."""
    fig, axes = _fig(height=4.0, width=max(7.0, 1.2 * len(categories) + 3))
    ax = axes[0][0]
    n = max(1, len(groups))
    w = 0.8 / n
    for j, (name, (means, cis)) in enumerate(groups.items()):
        x = [i - 0.4 + w * (j + 0.5) for i in range(len(categories))]
        ax.bar(x, [m or 0 for m in means], w, yerr=_errs(means, cis), capsize=3, color=PALETTE[j % len(PALETTE)],
               label=name)
    rot = 20 if len(categories) > 2 else 0
    ax.set_xticks(range(len(categories)), categories, rotation=rot, ha="right" if rot else "center",
                  rotation_mode="anchor")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False, title="policy")
    if "yuan" in ylabel:
        _yuan_axis(ax)
    ax.grid(axis="y", alpha=0.3)
    return to_svg(fig, f"compare-{key}", title)


def series_band(key: str, title: str, ylabel: str,
                groups: dict[str, tuple[list[str], list[float], list[float | None], list[float | None]]],
                go_lives: list[dict[str, Any]]) -> str:
    """Mean monthly series per group (policy) with its 95 % band over replications; go-lives of each group."""
    fig, axes = _fig(height=3.8)
    ax = axes[0][0]
    all_months: set[str] = set()
    for j, (name, (months, mean, lo, hi)) in enumerate(groups.items()):
        dates = month_dates(months)
        color = PALETTE[j % len(PALETTE)]
        ax.plot(dates, mean, marker="o", color=color, label=f"{name}: mean")
        if any(v is not None for v in lo):
            ax.fill_between(dates, [float("nan") if v is None else v for v in lo],
                            [float("nan") if v is None else v for v in hi], color=color, alpha=0.2,
                            label=f"{name}: 95% interval")
        all_months |= set(months)
    _go_lives(ax, go_lives)
    _month_axis(ax, month_dates(sorted(all_months)))
    ax.set_ylabel(ylabel)
    if "yuan" in ylabel:
        _yuan_axis(ax)
    ax.set_title(title)
    _legend_below(ax)
    ax.grid(alpha=0.3)
    return to_svg(fig, f"compare-series-{key}", title)
