"""Two or more policies side by side, with confidence intervals over replications (issue 13, point 8).

A policy 政策方案 (a scenario file: rule release, thresholds, roll-out, audit capacity …) is run N times with
different seeds; each run is a run directory. :func:`summarise` computes every run's metrics, takes each headline
figure's mean over the replications with a Student-t 95 % interval, and the difference of every other policy
against the first (B − A) with its interval. When both policies were run on the same seeds (common random numbers:
the same people fall ill on the same days under both policies) the difference is taken seed by seed (a paired t
interval, much narrower); otherwise Welch's interval for two independent samples. With one replication there is no
interval, and the report says so.

:func:`compare` writes the HTML page (tables + grouped bars with whiskers + the monthly fund spending of each policy
with its band); :func:`compare_table` renders the same figures for a console.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from simulator import _charts
from simulator.metrics import Metrics, compute, read_run

# ---------------------------------------------------------------------------------------------------------------
# Student t (no scipy dependency: the regularised incomplete beta by its continued fraction, Numerical Recipes 6.4)


def _betacf(a: float, b: float, x: float) -> float:
    tiny = 1e-300
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 400):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-15:
            break
    return h


def _betainc(a: float, b: float, x: float) -> float:
    """The regularised incomplete beta function I_x(a, b)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    lbt = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(lbt) * _betacf(a, b, x) / a
    return 1.0 - math.exp(lbt) * _betacf(b, a, 1.0 - x) / b


def t_cdf(t: float, df: float) -> float:
    """P(T ≤ t) for Student's t with ``df`` degrees of freedom (df may be fractional, as Welch's is)."""
    tail = 0.5 * _betainc(df / 2.0, 0.5, df / (df + t * t))
    return 1.0 - tail if t >= 0 else tail


def t_quantile(p: float, df: float) -> float:
    """The p-quantile of Student's t (bisection on :func:`t_cdf`; p in (0.5, 1))."""
    if not 0.5 <= p < 1.0:
        raise ValueError("p must be in [0.5, 1)")
    lo, hi = 0.0, 1.0
    while t_cdf(hi, df) < p:
        hi *= 2.0
    for _ in range(200):
        mid = (lo + hi) / 2.0
        if t_cdf(mid, df) < p:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-13 * max(1.0, hi):
            break
    return (lo + hi) / 2.0


# ---------------------------------------------------------------------------------------------------------------
# Intervals


@dataclass
class Estimate:
    """Mean over ``n`` replications with a 95 % interval (None when n < 2: no interval from one replication)."""

    n: int
    mean: float | None
    sd: float | None
    lo: float | None
    hi: float | None
    method: str = "t"

    @property
    def ci(self) -> tuple[float, float] | None:
        return None if self.lo is None or self.hi is None else (self.lo, self.hi)


def _clean(values: Sequence[float | None]) -> list[float]:
    return [float(v) for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]


def mean_ci(values: Sequence[float | None], level: float = 0.95) -> Estimate:
    """Mean with the Student-t interval mean ± t(1−α/2, n−1) · s / √n; missing values are left out."""
    xs = _clean(values)
    n = len(xs)
    if n == 0:
        return Estimate(0, None, None, None, None)
    mean = sum(xs) / n
    if n == 1:
        return Estimate(1, mean, None, None, None, "one replication: no interval")
    sd = math.sqrt(sum((x - mean) ** 2 for x in xs) / (n - 1))
    half = t_quantile(1 - (1 - level) / 2, n - 1) * sd / math.sqrt(n)
    return Estimate(n, mean, sd, mean - half, mean + half)


def diff_ci(a: Sequence[float | None], b: Sequence[float | None], *, paired: bool, level: float = 0.95) -> Estimate:
    """B − A with a 95 % interval: paired (seed by seed, the t interval of the differences) or Welch's."""
    if paired:
        diffs = [None if x is None or y is None else y - x for x, y in zip(a, b, strict=True)]
        est = mean_ci(diffs, level)
        est.method = "paired t (same seeds)" if est.n >= 2 else est.method
        return est
    xa, xb = _clean(a), _clean(b)
    if not xa or not xb:
        return Estimate(0, None, None, None, None, "no data")
    ma, mb = sum(xa) / len(xa), sum(xb) / len(xb)
    if len(xa) < 2 or len(xb) < 2:
        return Estimate(min(len(xa), len(xb)), mb - ma, None, None, None, "one replication: no interval")
    va = sum((x - ma) ** 2 for x in xa) / (len(xa) - 1)
    vb = sum((x - mb) ** 2 for x in xb) / (len(xb) - 1)
    se2 = va / len(xa) + vb / len(xb)
    d = mb - ma
    if se2 == 0:
        return Estimate(min(len(xa), len(xb)), d, 0.0, d, d, "Welch t")
    df = se2 ** 2 / ((va / len(xa)) ** 2 / (len(xa) - 1) + (vb / len(xb)) ** 2 / (len(xb) - 1))
    half = t_quantile(1 - (1 - level) / 2, df) * math.sqrt(se2)
    return Estimate(min(len(xa), len(xb)), d, math.sqrt(se2), d - half, d + half, f"Welch t (df {df:.2f})")


# ---------------------------------------------------------------------------------------------------------------
# Headline figures of one run


@dataclass(frozen=True)
class Figure:
    """One headline figure: a key, a label for people, its unit and the chart family it is drawn in."""

    key: str
    label: str
    unit: str
    family: str


def headline_figures(m: Metrics) -> list[tuple[Figure, float | None]]:
    """The figures compared across policies, in a fixed order, with this run's value (None when not defined)."""
    out: list[tuple[Figure, float | None]] = []
    for p in m.fraud_patterns():
        if p.status == "ok" or p.rules:
            out.append((Figure(f"recall:{p.id}", f"recall {p.id}", "%", "recall"),
                        None if p.recall is None else p.recall * 100))
            out.append((Figure(f"precision:{p.id}", f"precision {p.id}", "%", "precision"),
                        None if p.precision is None else p.precision * 100))
    for p in m.decoys():
        out.append((Figure(f"fp_rate:{p.id}", f"false-positive rate {p.id}", "%", "decoy"),
                    None if p.fp_rate is None else p.fp_rate * 100))
    out.append((Figure("fp_per_10k", "false positives per 10k honest", "per 10k", "fp"), m.false_positives.per_10k))
    for scene, r in m.false_positives_per_scene.items():
        out.append((Figure(f"fp_per_10k:{scene}", f"false positives per 10k honest, {scene}", "per 10k", "fp"),
                    r.per_10k))
    out.append((Figure("honest_refused_per_10k", "honest settlements refused per 10k", "per 10k", "fp"),
                m.burden.refused.per_10k))
    mo = m.money
    for key, label, value in (("refused_fraud", "refused on fraud", mo.refused_fraud),
                              ("refused_honest", "refused on honest", mo.refused_honest),
                              ("recovered_total", "recovered by audits", mo.recovered_total),
                              ("fraud_paid", "fraud paid", mo.fraud_paid),
                              ("fraud_prevented", "fraud prevented", mo.fraud_prevented)):
        out.append((Figure(key, label, "yuan", "money"), value))
    out.append((Figure("audits_done", "audits done", "count", "audit"), float(m.audit.done)))
    out.append((Figure("audit_confirmed_share", "audits confirming fraud", "%", "audit"),
                None if m.audit.confirmed_share is None else m.audit.confirmed_share * 100))
    fund = {arm: data.get("fund_spending") for arm, data in m.series.items()}
    if fund.get("monitored") is not None:
        total = sum(v or 0 for v in fund["monitored"])
        out.append((Figure("fund_spending", "fund spending, monitored arm", "yuan", "fund"), total))
        if fund.get("unmonitored") is not None:
            saved = sum(v or 0 for v in fund["unmonitored"]) - total
            out.append((Figure("fund_saved", "fund spending saved vs unmonitored", "yuan", "fund"), saved))
    return out


# ---------------------------------------------------------------------------------------------------------------
# Comparison


@dataclass
class FigureRow:
    figure: Figure
    per_group: dict[str, Estimate]
    diffs: dict[str, Estimate]  # group name (not the baseline) -> B − A


@dataclass
class Comparison:
    """The figures of every policy (mean, interval) and each policy's difference from the first (the baseline)."""

    groups: list[str]
    seeds: dict[str, list[int | None]]
    paired: dict[str, bool]
    rows: list[FigureRow]
    fund_series: dict[str, tuple[list[str], list[float], list[float | None], list[float | None]]]
    go_lives: dict[str, list[dict[str, Any]]]
    scenarios: dict[str, list[str]] = field(default_factory=dict)

    @property
    def baseline(self) -> str:
        return self.groups[0]

    def row(self, key: str) -> FigureRow:
        return next(r for r in self.rows if r.figure.key == key)


def summarise(groups: dict[str, list[Path]]) -> Comparison:
    """Metrics of every run directory, summarised per policy (``groups``: policy name → its replications)."""
    if len(groups) < 2:
        raise ValueError("compare needs at least two policies")
    names = list(groups)
    metrics = {g: [compute(read_run(Path(d))) for d in dirs] for g, dirs in groups.items()}
    if any(not ms for ms in metrics.values()):
        raise ValueError("every policy needs at least one run directory")
    seeds = {g: [m.run.get("seed") for m in ms] for g, ms in metrics.items()}
    base = names[0]
    # Paired when both policies ran the same set of seeds: the runs are then matched seed by seed.
    paired = {g: (None not in seeds[g] and len(set(seeds[g])) == len(seeds[g])
                  and sorted(seeds[g]) == sorted(seeds[base])) for g in names[1:]}
    values: dict[str, dict[str, dict[int | None, float | None]]] = {}
    order: list[Figure] = []
    seen: set[str] = set()
    for g, ms in metrics.items():
        values[g] = {}
        for i, m in enumerate(ms):
            seed = m.run.get("seed") if None not in seeds[g] else i
            for fig, v in headline_figures(m):
                if fig.key not in seen:
                    seen.add(fig.key)
                    order.append(fig)
                values[g].setdefault(fig.key, {})[seed] = v
    rows = []
    for fig in order:
        per = {g: mean_ci(list(values[g].get(fig.key, {}).values())) for g in names}
        diffs = {}
        for g in names[1:]:
            a, b = values[base].get(fig.key, {}), values[g].get(fig.key, {})
            if paired[g]:
                common = sorted(set(a) & set(b))
                diffs[g] = diff_ci([a[s] for s in common], [b[s] for s in common], paired=True)
            else:
                diffs[g] = diff_ci(list(a.values()), list(b.values()), paired=False)
        rows.append(FigureRow(fig, per, diffs))
    fund_series = {g: _fund_band(ms) for g, ms in metrics.items()}
    go = {g: ms[0].run.get("go_lives") or [] for g, ms in metrics.items()}
    scen = {g: sorted({str(m.run.get("scenario")) for m in ms}) for g, ms in metrics.items()}
    return Comparison(names, seeds, paired, rows, fund_series, go, scen)


def _fund_band(ms: list[Metrics]) -> tuple[list[str], list[float], list[float | None], list[float | None]]:
    """Monitored-arm fund spending per month: mean and 95 % band over the replications (months all runs have)."""
    per_run = []
    for m in ms:
        arm = m.series.get("monitored") or next(iter(m.series.values()), {})
        per_run.append(dict(zip(arm.get("month", []), arm.get("fund_spending", []), strict=True)))
    months = sorted(set.intersection(*(set(r) for r in per_run))) if per_run else []
    mean, lo, hi = [], [], []
    for month in months:
        est = mean_ci([r[month] for r in per_run])
        mean.append(est.mean if est.mean is not None else float("nan"))
        lo.append(est.lo)
        hi.append(est.hi)
    return months, mean, lo, hi


# ---------------------------------------------------------------------------------------------------------------
# Output


def _fmt(v: float | None, unit: str) -> str:
    if v is None:
        return "-"
    if unit == "yuan":
        return f"{v:,.0f}"
    return f"{v:,.2f}" if abs(v) < 1000 else f"{v:,.0f}"


def _fmt_est(e: Estimate, unit: str) -> str:
    if e.mean is None:
        return "-"
    text = _fmt(e.mean, unit)
    if e.ci is not None:
        text += f" [{_fmt(e.lo, unit)}, {_fmt(e.hi, unit)}]"
    elif e.n == 1:
        text += " (n=1, no interval)"
    return text


def comparison_rows(c: Comparison) -> tuple[list[str], list[list[str]]]:
    """Header and rows: figure, unit, each policy's mean [95 % CI], and each B − A [95 % CI]."""
    header = ["figure", "unit"] + [f"{g} (n={len(c.seeds[g])})" for g in c.groups]
    header += [f"{g} - {c.baseline}" for g in c.groups[1:]]
    rows = []
    for r in c.rows:
        u = r.figure.unit
        rows.append([r.figure.label, u] + [_fmt_est(r.per_group[g], u) for g in c.groups]
                    + [_fmt_est(r.diffs[g], u) for g in c.groups[1:]])
    return header, rows


def compare_table(source: Comparison | dict[str, list[Path]]) -> str:
    """The comparison as a plain-text table for a console (accepts a :class:`Comparison` or the groups)."""
    c = source if isinstance(source, Comparison) else summarise(source)
    header, rows = comparison_rows(c)
    widths = [max(len(header[i]), *(len(r[i]) for r in rows)) if rows else len(header[i]) for i in range(len(header))]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip(),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    notes = []
    for g in c.groups[1:]:
        how = "paired by seed (same seeds)" if c.paired[g] else "Welch (different seeds)"
        notes.append(f"{g} - {c.baseline}: {how}")
    return "\n".join(lines + [""] + notes) + "\n"


_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI","Noto Sans CJK SC","Microsoft YaHei",sans-serif;margin:2em auto;
max-width:1150px;color:#222;line-height:1.45;padding:0 1em}h2{margin-top:1.8em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:.9em}th,td{border:1px solid #ccc;padding:.25em .5em;text-align:left}
th{background:#f3f3f3}figure{margin:1.2em 0}figure svg.chart{width:100%;height:auto;max-width:1100px;display:block}
figcaption{color:#444;font-size:.92em}.muted{color:#666}
"""

_FAMILIES = [
    ("recall", "Recall per fraud pattern 查全率", "Recall per fraud pattern (mean, 95% CI over seeds)", "recall (%)",
     "Mean recall over the replications of each policy; whiskers are 95 % Student-t intervals over seeds."),
    ("precision", "Precision per fraud pattern 查准率", "Precision per fraud pattern (mean, 95% CI over seeds)",
     "precision (%)", "Mean precision over replications; whiskers are 95 % intervals over seeds."),
    ("decoy", "False-positive rate per decoy 诱饵误报率", "False-positive rate per decoy (mean, 95% CI)",
     "decoy encounters flagged (%)",
     "Share of each honest look-alike's encounters flagged, mean over replications with 95 % intervals."),
    ("fp", "False positives and refusals per 10,000 honest encounters 误报",
     "False positives and refusals per 10,000 honest encounters", "per 10,000 honest encounters",
     "Lower is better. Whiskers: 95 % intervals over seeds."),
    ("money", "Money 资金", "Money over the run (mean, 95% CI)", "yuan",
     "Refused, recovered, fraud paid and fraud prevented over the run, mean per replication (yuan)."),
]


def build_html(c: Comparison) -> str:
    """The comparison page (a complete, self-contained HTML document)."""
    e = html.escape
    header, rows = comparison_rows(c)
    table = ("<table><thead><tr>" + "".join(f"<th>{e(h)}</th>" for h in header) + "</tr></thead><tbody>"
             + "".join("<tr>" + "".join(f"<td>{e(v)}</td>" for v in r) + "</tr>" for r in rows)
             + "</tbody></table>")
    policies = "".join(
        f"<li><b>{e(g)}</b>: scenario {e(', '.join(c.scenarios.get(g, [])))}, {len(c.seeds[g])} replication(s), "
        f"seeds {e(', '.join(str(s) for s in c.seeds[g]))}</li>" for g in c.groups)
    methods = "".join(
        f"<li>{e(g)} − {e(c.baseline)}: "
        + ("paired by seed (both policies ran the same seeds, so each seed's difference is taken and the interval "
           "is the t interval of those differences)" if c.paired[g] else
           "Welch's interval (the policies ran different seeds)") + "</li>" for g in c.groups[1:])
    charts = []
    for family, title, chart_title, ylabel, caption in _FAMILIES:
        fam_rows = [r for r in c.rows if r.figure.family == family]
        if not fam_rows:
            continue
        cats = [r.figure.label.replace("recall ", "").replace("precision ", "").replace("false-positive rate ", "")
                for r in fam_rows]
        data = {g: ([r.per_group[g].mean for r in fam_rows], [r.per_group[g].ci for r in fam_rows])
                for g in c.groups}
        svg = _charts.grouped_bars(family, chart_title, ylabel, cats, data)
        charts.append(f"<h2>{e(title)}</h2><figure>{svg}<figcaption>{e(caption)}</figcaption></figure>")
    go = [dict(g, scene=f"{name}: {g['scene']}") for name in c.groups for g in c.go_lives.get(name, [])]
    charts.append("<h2>Monthly fund spending 基金支出</h2><figure>"
                  + _charts.series_band("fund", "Fund spending per month, monitored arm (mean and 95% band)",
                                        "yuan per month", c.fund_series, go)
                  + "<figcaption>Each line is one policy's mean monthly fund spending over its replications; the "
                    "shaded band is the 95 % Student-t interval over seeds (none with one replication). Dotted "
                    "vertical lines mark each policy's go-lives.</figcaption></figure>")
    title = "Policy comparison 政策对比 — " + " vs ".join(c.groups)
    return ("<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
            f"<title>{e(title)}</title><style>{_CSS}</style></head><body><h1>{e(title)}</h1>"
            "<p class='muted'>Simulated region, synthetic people; not real data.</p>"
            f"<h2>Policies</h2><ul>{policies}</ul><h2>Headline figures</h2>"
            "<p>Each cell: mean over replications [95 % Student-t interval]. The difference columns are each policy "
            f"minus the baseline <b>{e(c.baseline)}</b>; an interval that excludes 0 is a difference the seeds "
            f"alone do not explain.</p><ul>{methods}</ul>{table}" + "".join(charts) + "</body></html>\n")


def compare(groups: dict[str, list[Path]], out_html: Path) -> Path:
    """Write the comparison page of ``groups`` (policy name → replication run directories) to ``out_html``."""
    c = summarise(groups)
    out = Path(out_html)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(build_html(c), encoding="utf-8")
    return out
