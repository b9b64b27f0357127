"""The HTML report of one simulator run (issue 13, point 8): one self-contained file, charts as inline SVG.

:func:`write_report` reads a run directory (:func:`simulator.metrics.read_run`), computes its metrics and writes
``report.html``: the run facts (scenario, seed, mode, days, persons, institutions, go-lives 上线), the headline
table, and charts — recall 查全率 and precision 查准率 per fraud pattern, false positives per 10,000 honest
encounters, refused 拒付 and recovered 追回 amounts, audit workload 稽核工作量 against capacity, and the monthly
series (fund spending 基金支出, admission rate 住院率, per-capita inpatient cost 人均住院费用, and any later scene's
own columns) for the monitored arm against the unmonitored counterfactual, each go-live a labelled vertical line.
No external URL, script or font: the file opens offline.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from simulator import _charts
from simulator.metrics import NO_RULE_YET, Metrics, compute, read_run

# Monthly series charted when their column exists: (column, chart title, y-axis label, Chinese name, caption).
SERIES_COLUMNS: list[tuple[str, str, str, str, str]] = [
    ("fund_spending", "Fund spending per month", "yuan (paid, after refusals, minus recoveries)", "基金支出",
     "What the fund paid each month, all scenes, after refusals and minus audit recoveries."),
    ("admission_rate_per_1000", "Admission rate (annualised)", "admissions per 1,000 insured per year", "住院率",
     "Admissions in the month per 1,000 insured persons alive at month start, multiplied by 12."),
    ("per_capita_inpatient_cost", "Per-capita inpatient cost per month", "yuan per insured person",
     "人均住院费用", "Inpatient cost billed in the month divided by the insured persons at month start."),
    ("pharmacy_cost", "Pharmacy cost per month", "yuan (billed)", "药店购药费用",
     "What pharmacy purchases billed in the month."),
]

# Columns of the base monthly table that are counts or book-keeping, not series of their own; any monthly
# column outside this set and SERIES_COLUMNS is a later scene's series and is charted generically.
BASE_MONTHLY_COLUMNS = frozenset({
    "month", "arm", "persons", "admissions", "inpatient_days", "inpatient_cost", "fund_spending",
    "per_capita_inpatient_cost", "admission_rate_per_1000", "purchases", "pharmacy_cost", "refused_amount",
    "recovered_amount", "leads_new", "audits_done", "audit_capacity", "audit_backlog", "fraud_encounters",
    "honest_encounters"})

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI","Noto Sans CJK SC","Microsoft YaHei",sans-serif;margin:2em auto;
max-width:1150px;color:#222;line-height:1.45;padding:0 1em}
h1{font-size:1.6em;margin-bottom:.2em}h2{margin-top:1.8em;border-bottom:1px solid #ddd;padding-bottom:.2em}
table{border-collapse:collapse;margin:.6em 0;font-size:.92em}th,td{border:1px solid #ccc;padding:.25em .6em;
text-align:left}th{background:#f3f3f3}td.num{text-align:right;font-variant-numeric:tabular-nums}
figure{margin:1.2em 0}figure svg.chart{width:100%;height:auto;max-width:1100px;display:block}
figcaption{color:#444;font-size:.92em;margin-top:.3em}.muted{color:#666}.norule{color:#8a6d3b;font-style:italic}
"""


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def _pct(v: float | None, ci: tuple[float, float] | None = None) -> str:
    if v is None:
        return "–"
    s = f"{v * 100:.1f} %"
    if ci is not None:
        s += f" <span class='muted'>[{ci[0] * 100:.1f}–{ci[1] * 100:.1f}]</span>"
    return s


def _num(v: float | None, digits: int = 1) -> str:
    return "–" if v is None else f"{v:,.{digits}f}"


def _table(headers: list[str], rows: list[list[str]], numeric: set[int] | None = None) -> str:
    numeric = numeric or set()
    head = "".join(f"<th>{h}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td class='num'>{c}</td>" if i in numeric else f"<td>{c}</td>"
                                    for i, c in enumerate(r)) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _figure(svg: str, caption: str) -> str:
    return f"<figure>{svg}<figcaption>{caption}</figcaption></figure>"


def _facts(m: Metrics) -> str:
    r = m.run
    rows = [["scenario", _e(r.get("scenario"))], ["scenario sha256", f"<code>{_e(r.get('scenario_sha256'))}</code>"],
            ["seed", _e(r.get("seed"))], ["mode", _e(r.get("mode"))], ["start", _e(r.get("start"))],
            ["days", _e(r.get("days"))], ["insured persons 参保人", _e(r.get("persons"))],
            ["institutions 定点医药机构", _e(r.get("institutions"))],
            ["audit capacity per month 每月稽核能力", _e(r.get("audit_capacity_per_month"))],
            ["encounters", f"{m.encounters_total:,} (" + ", ".join(f"{k} {v:,}" for k, v in
                                                                  m.encounters_by_label.items()) + ")"]]
    out = _table(["fact", "value"], rows)
    go = r.get("go_lives") or []
    if go:
        out += "<h3>Go-lives 上线</h3>" + _table(
            ["scene", "date", "institution group", "institutions"],
            [[_e(g.get("scene")), _e(g.get("date")), _e(g.get("group")), _e(g.get("institutions"))] for g in go],
            {3})
    else:
        out += "<p class='muted'>No go-live in this run: monitoring is off or on from the start.</p>"
    return out


def _headline(m: Metrics) -> str:
    rows = []
    for p in m.fraud_patterns():
        ok = p.status == "ok"
        rows.append([f"<code>{_e(p.id)}</code>", f"{_e(p.name_en)} <b>{_e(p.name_zh)}</b>", "fraud 欺诈",
                     f"{p.encounters:,}", f"{p.flagged:,}",
                     _pct(p.recall, p.recall_ci) if ok else f"<span class='norule'>{_e(p.status)}</span>",
                     _pct(p.precision, p.precision_ci) if ok else f"<span class='norule'>{_e(p.status)}</span>",
                     "", _e(", ".join(p.rules)) or f"<span class='norule'>{NO_RULE_YET}</span>"])
    for p in m.decoys():
        rows.append([f"<code>{_e(p.id)}</code>", f"{_e(p.name_en)} <b>{_e(p.name_zh)}</b>", "decoy 诱饵",
                     f"{p.encounters:,}", f"{p.flagged:,}", "", "", _pct(p.fp_rate, p.fp_rate_ci),
                     _e(", ".join(p.rules)) or "<span class='muted'>any flag</span>"])
    return _table(["pattern", "name 名称", "kind", "encounters", "flagged", "recall 查全率", "precision 查准率",
                   "false-positive rate 误报率", "rules"], rows, {3, 4})


def _burden_money(m: Metrics) -> str:
    b, mo = m.burden, m.money
    fp = m.false_positives
    rows = [["false positives 误报 (finding, lead, refusal, review refused)", f"{fp.count:,}",
             _num(fp.per_10k)],
            ["settlements refused 拒付", f"{b.refused.count:,}", _num(b.refused.per_10k)],
            ["extra steps (review hold or reminder) 额外步骤", f"{b.extra_steps.count:,}", _num(b.extra_steps.per_10k)],
            ["any flag", f"{b.flagged_any.count:,}", _num(b.flagged_any.per_10k)]]
    out = ("<h3>Burden on honest people 对诚信参保人的负担</h3>"
           f"<p>Of {fp.denominator:,} honest and decoy encounters:</p>"
           + _table(["what happened", "encounters", "per 10,000"], rows, {1, 2})
           + f"<p>Institutions named by a lead or finding: {b.institutions_flagged}, of which "
             f"{b.honest_institutions_flagged} had no fraud encounter.</p>")
    money_rows = [["refused on fraud 拒付（欺诈）", _num(mo.refused_fraud, 2)],
                  ["refused on honest 拒付（诚信）", _num(mo.refused_honest, 2)],
                  ["recovered by audits 追回", _num(mo.recovered_total, 2)],
                  ["… of which on honest encounters", _num(mo.recovered_honest, 2)],
                  ["fraud billed", _num(mo.billed_fraud, 2)],
                  ["fraud paid (after refusals, before recoveries) 欺诈已支付", _num(mo.fraud_paid, 2)],
                  ["fraud paid net of recoveries", _num(mo.fraud_paid_net, 2)],
                  ["fraud prevented = refused fraud + recovered 避免损失", _num(mo.fraud_prevented, 2)],
                  ["share of fraud billed prevented", _pct(mo.fraud_prevented_share)]]
    out += "<h3>Money 资金 (yuan 元)</h3>" + _table(["amount", "yuan"], money_rows, {1})
    return out


def _series_specs(m: Metrics) -> list[tuple[str, str, str, str, str]]:
    present = set(m.series_columns)
    specs = [s for s in SERIES_COLUMNS if s[0] in present]
    known = {s[0] for s in SERIES_COLUMNS} | BASE_MONTHLY_COLUMNS
    for col in m.series_columns:
        if col not in known:
            title = col.replace("_", " ")
            specs.append((col, f"{title[:1].upper()}{title[1:]} per month", col, col,
                          f"The monthly column <code>{_e(col)}</code> of a later scene, as the run wrote it."))
    return specs


def build_html(m: Metrics) -> str:
    """The report page for ``m`` (a complete HTML document)."""
    charts: list[str] = []
    frauds = m.fraud_patterns()
    if frauds:
        charts.append("<h2>Recall and precision per fraud pattern 查全率与查准率</h2>" + _figure(
            _charts.recall_precision(
                [p.id for p in frauds], [p.recall for p in frauds], [p.recall_ci for p in frauds],
                [p.precision for p in frauds], [p.precision_ci for p in frauds],
                [p.status == NO_RULE_YET for p in frauds]),
            "Blue: the share of each pattern's encounters that its rules flagged (recall). Orange: of all encounters "
            "those rules flagged, the share that were this pattern (precision). Whiskers are 95 % Wilson intervals: "
            "short whiskers mean many encounters. A pattern marked <i>no rule yet</i> has no rule in the library "
            "that is meant to catch it, so no recall is claimed."))
    decoys = m.decoys()
    scenes = sorted(m.false_positives_per_scene)
    charts.append("<h2>False positives 误报</h2>" + _figure(
        _charts.false_positives(
            [p.id for p in decoys], [p.fp_rate for p in decoys], [p.fp_rate_ci for p in decoys],
            scenes, [m.false_positives_per_scene[s].per_10k for s in scenes],
            [m.false_positives_per_scene[s].per_10k_ci for s in scenes]),
        f"Left: for each honest look-alike (decoy), the share of its encounters flagged by the rules of the fraud "
        f"it resembles. Right: honest and decoy encounters with a finding, lead, refusal or refused review, per "
        f"10,000 honest encounters in each scene (overall {_num(m.false_positives.per_10k)}). Lower is better; "
        f"whiskers are 95 % intervals."))
    mo = m.money
    charts.append("<h2>Refused and recovered amounts 拒付与追回</h2>" + _figure(
        _charts.money(["refused: fraud", "refused: honest", "recovered: fraud", "recovered: honest",
                       "fraud paid (net)", "fraud prevented"],
                      [mo.refused_fraud, mo.refused_honest, mo.recovered_fraud, mo.recovered_honest,
                       mo.fraud_paid_net, mo.fraud_prevented],
                      ["#2ca02c", "#d62728", "#2ca02c", "#d62728", "#7f7f7f", "#1f77b4"]),
        "Yuan over the whole run. Green is money kept from fraud (refused at settlement or recovered by audits), red "
        "is money refused or recovered from honest people, grey is fraud the fund still paid after recoveries, blue "
        "is fraud prevented = refused fraud + recovered fraud."))
    months = m.audit.months
    if months:
        charts.append("<h2>Audit workload against capacity 稽核工作量</h2>" + _figure(
            _charts.audit_workload([a.month for a in months], [a.confirmed for a in months],
                                   [a.cleared for a in months], [a.capacity for a in months],
                                   [a.backlog for a in months]),
            f"Bars: audits done each month, split into fraud confirmed and cleared. Red line: the monthly capacity. "
            f"Grey: leads waiting at the end of the month; a growing backlog means capacity is short. Over the run "
            f"{m.audit.done} audits, {_pct(m.audit.confirmed_share)} confirmed."))
    go = m.run.get("go_lives") or []
    go_text = ", ".join(f"{_e(g['scene'])} ({_e(g.get('group'))}) on {_e(g['date'])}" for g in go) or "none"
    series_html = []
    arms_text = ("Solid blue: the run with monitoring; dashed red: the same seed without monitoring (the "
                 "counterfactual)." if "unmonitored" in m.series else
                 "Only the monitored arm: this run has no counterfactual without monitoring.")
    for col, title, ylabel, zh, caption in _series_specs(m):
        arms = {arm: (data["month"], data[col]) for arm, data in m.series.items() if col in data and data["month"]}
        if not arms:
            continue
        series_html.append(_figure(
            _charts.series(col, title, ylabel, arms, go),
            f"<b>{_e(zh)}</b>. {caption} {arms_text} Dotted vertical lines: go-lives ({go_text})."))
    if series_html:
        charts.append("<h2>Monthly series, with and without monitoring 月度指标</h2>" + "".join(series_html))
    warn = ""
    if m.unmatched_flags:
        warn = (f"<p class='norule'>{m.unmatched_flags} flag(s) name an encounter that is not in the ground truth; "
                "they are left out of every figure (an export bug if it happens).</p>")
    notes = (warn + "<h2>How these figures are defined</h2><ul>"
             "<li>An encounter is the unit: an admission, a pharmacy purchase. Ground truth comes from the simulator; "
             "the server never sees it.</li>"
             "<li>Recall = encounters of the pattern with a flag from one of its rules ÷ its encounters. Precision = "
             "those ÷ all encounters any of those rules flagged (other fraud patterns caught by the same rule lower "
             "it too).</li>"
             "<li>Flags naming only an institution (no encounter) are not counted in recall or precision; audits of "
             "them count in money and workload.</li>"
             "<li>Special registrations (e.g. a leave or transfer registered to avoid a flag) are not in the run "
             "tables, so the burden counts refusals, review holds and reminders, and flags.</li></ul>")
    title = f"Simulation report — {_e(m.run.get('scenario'))} (seed {_e(m.run.get('seed'))})"
    return ("<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
            f"<title>{title}</title><style>{_CSS}</style></head><body>"
            f"<h1>{title}</h1><p class='muted'>Medical-insurance smart scene monitoring 医保智能监控场景 — "
            "simulated region, synthetic people; not real data.</p>"
            f"<h2>The run 运行</h2>{_facts(m)}"
            f"<h2>Headline 主要结果</h2>{_headline(m)}{_burden_money(m)}"
            + "".join(charts) + notes + "</body></html>\n")


def write_report(run_dir: Path, out_html: Path | None = None) -> Path:
    """Write the HTML report of ``run_dir`` to ``out_html`` (default ``run_dir/report.html``) and return its path."""
    run_dir = Path(run_dir)
    out = Path(out_html) if out_html is not None else run_dir / "report.html"
    metrics = compute(read_run(run_dir))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(build_html(metrics), encoding="utf-8")
    return out
