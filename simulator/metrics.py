"""Metrics of one simulator run: what was caught, what was missed, what honest people paid (issue 13).

A run directory (written by ``simulator.run.run_scenario``; the contract is /work/coord/ISSUE13.md, "Run directory")
holds ``run.json`` and five tables: ``encounters`` (one row per admission 住院 / purchase 购药 …), ``truth`` (the
ground truth 真实标签: honest, fraud 欺诈骗保, decoy 疑似但合规), ``flags`` (what the server said: refusal 拒付,
review 事中审核, finding 疑点, lead 线索), ``audits`` (what a capacity-limited audit 稽核 confirmed or cleared) and
``monthly`` (the monthly series of the monitored arm and of the unmonitored counterfactual).

:func:`read_run` reads them (Parquet when present and pyarrow is importable, CSV otherwise — CSV is always written);
:func:`compute` turns them into :class:`Metrics` following the normative definitions of the design:

- per fraud pattern: recall 查全率 and precision 查准率 with Wilson 95 % intervals; a pattern whose ``detected_by`` is
  empty has "no rule yet" instead of a recall of 0;
- per decoy: the false-positive rate (its encounters flagged by the rules of the pattern it looks like);
- false positives per 10,000 honest encounters, overall and per scene;
- the burden on honest people: refused settlements, extra steps, flags;
- money: refused (fraud vs honest), recovered 追回, fraud paid, fraud prevented (= refused fraud + recovered fraud);
- audit workload against capacity per month, with the backlog and the confirmed share;
- the monthly series per arm (every numeric column of ``monthly``, so later scenes' columns come along).
"""

from __future__ import annotations

import csv
import dataclasses
import json
import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TABLES = ("encounters", "truth", "flags", "audits", "monthly")

# Column types per table; every other column is text. Optional columns read "" (CSV) or null (Parquet) as None.
_INT = "int"
_FLOAT = "float"
_SCHEMA: dict[str, dict[str, str]] = {
    "encounters": {"days": _INT, "amount_billed": _FLOAT, "amount_paid": _FLOAT},
    "truth": {},
    "flags": {"lead_id": _INT, "amount": _FLOAT},
    "audits": {"lead_id": _INT, "amount_recovered": _FLOAT},
    "monthly": {},  # all columns but month and arm are numbers; see _read_monthly_value
}
_TEXT_MONTHLY = ("month", "arm")

# z for a two-sided 95 % interval (the normal quantile 0.975).
Z95 = 1.959963984540054

# A flag that puts a false positive on an honest encounter (design: "source finding|lead|review-refused|refusal").
FP_SOURCES = frozenset({"finding", "lead", "refusal"})

NO_RULE_YET = "no rule yet"
NO_ENCOUNTERS = "no encounters"

HONEST_LABELS = frozenset({"honest", "decoy"})


def _null(value: Any) -> Any:
    return None if value is None or value == "" else value


def _convert(table: str, column: str, value: Any) -> Any:
    value = _null(value)
    if value is None:
        return None
    if table == "monthly":
        if column in _TEXT_MONTHLY:
            return str(value)
        return _number(value)
    kind = _SCHEMA[table].get(column)
    if kind == _INT:
        return int(value)
    if kind == _FLOAT:
        return float(value)
    return str(value)


def _number(value: Any) -> int | float:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float):
        return value
    text = str(value)
    try:
        return int(text)
    except ValueError:
        return float(text)


# Text columns that may be empty (null); other text columns are always filled.
_NULLABLE_TEXT = {"encounters": {"end"}, "truth": {"ring_id"}, "flags": {"encounter_id", "release_version", "rule_id"},
                  "audits": {"encounter_id", "rule_id"}}


def _read_csv(path: Path, table: str) -> list[dict[str, Any]]:
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        header = next(reader, [])
        if table == "monthly":
            return [{k: _convert(table, k, v) for k, v in zip(header, rec, strict=True)} for rec in reader]
        # A county year is a million rows: convert only the typed and nullable columns of each row.
        typed = [(c, int if k == _INT else float) for c, k in _SCHEMA[table].items() if c in header]
        nullable = [c for c in _NULLABLE_TEXT.get(table, ()) if c in header]
        rows = []
        for rec in reader:
            row = dict(zip(header, rec, strict=True))
            for c, fn in typed:
                v = row[c]
                row[c] = fn(v) if v != "" else None
            for c in nullable:
                if row[c] == "":
                    row[c] = None
            rows.append(row)
        return rows


def _read_parquet(path: Path, table: str) -> list[dict[str, Any]]:
    import pyarrow.parquet as pq

    return [{k: _convert(table, k, v) for k, v in row.items()} for row in pq.read_table(path).to_pylist()]


def _have_pyarrow() -> bool:
    try:
        import pyarrow.parquet  # noqa: F401
    except ImportError:
        return False
    return True


@dataclass
class Run:
    """One run directory read into memory: ``meta`` is run.json, each table a list of typed rows."""

    run_dir: Path
    meta: dict[str, Any]
    encounters: list[dict[str, Any]]
    truth: list[dict[str, Any]]
    flags: list[dict[str, Any]]
    audits: list[dict[str, Any]]
    monthly: list[dict[str, Any]]
    monthly_columns: list[str] = field(default_factory=list)
    source_format: str = "csv"


def read_run(run_dir: Path, *, prefer: str = "parquet") -> Run:
    """Read ``run_dir`` (run.json + the five tables). ``prefer="parquet"`` reads a table's .parquet when it exists and
    pyarrow imports, else its .csv; ``prefer="csv"`` always reads CSV. Missing tables read as empty."""
    run_dir = Path(run_dir)
    meta = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    use_parquet = prefer == "parquet" and _have_pyarrow()
    tables: dict[str, list[dict[str, Any]]] = {}
    formats = set()
    monthly_columns: list[str] = []
    for name in TABLES:
        pq_path, csv_path = run_dir / f"{name}.parquet", run_dir / f"{name}.csv"
        if use_parquet and pq_path.exists():
            tables[name] = _read_parquet(pq_path, name)
            formats.add("parquet")
            if name == "monthly":
                import pyarrow.parquet as pq

                monthly_columns = list(pq.read_schema(pq_path).names)
        elif csv_path.exists():
            tables[name] = _read_csv(csv_path, name)
            formats.add("csv")
            if name == "monthly":
                with csv_path.open(newline="", encoding="utf-8") as fh:
                    monthly_columns = next(csv.reader(fh), [])
        else:
            tables[name] = []
    return Run(run_dir=run_dir, meta=meta, monthly_columns=monthly_columns,
               source_format="+".join(sorted(formats)) or "none", **tables)


# ---------------------------------------------------------------------------------------------------------------
# Statistics


def wilson(k: int, n: int, z: float = Z95) -> tuple[float, float] | None:
    """Wilson score interval for k successes in n trials (95 % by default); None when n is 0. Unlike the normal
    approximation it stays inside [0, 1] and is sensible for 0 of n and n of n, which small fraud counts often are."""
    if n <= 0:
        return None
    p = k / n
    z2 = z * z
    denom = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def _ratio(k: int, n: int) -> float | None:
    return k / n if n else None


def _per10k(k: int, n: int) -> float | None:
    return k / n * 10_000 if n else None


def _ci10k(k: int, n: int) -> tuple[float, float] | None:
    ci = wilson(k, n)
    return None if ci is None else (ci[0] * 10_000, ci[1] * 10_000)


# ---------------------------------------------------------------------------------------------------------------
# Results


@dataclass
class PatternMetrics:
    """One behaviour module's encounters and how the server's flags fell on them.

    For a fraud pattern, ``flagged`` counts its encounters with a flag from one of its ``rules`` (its
    ``detected_by``); ``recall`` = flagged / encounters and ``precision`` = flagged / all encounters (of any label)
    flagged by those rules. With no rule yet, ``flagged`` counts encounters with any flag, and recall and precision
    are None with status "no rule yet". For a decoy, ``rules`` are its own ``detected_by`` or, when empty, those of
    the fraud pattern it ``mimics``; ``fp_rate`` = flagged / encounters. ``flagged_any`` counts any flag at all."""

    id: str
    kind: str
    scene: str
    name_en: str
    name_zh: str
    detected_by: list[str]
    mimics: str | None
    rules: list[str]
    encounters: int
    flagged: int
    flagged_any: int
    status: str
    recall: float | None = None
    recall_ci: tuple[float, float] | None = None
    precision: float | None = None
    precision_ci: tuple[float, float] | None = None
    flagged_by_rules_total: int | None = None
    precision_any_fraud: float | None = None
    fp_rate: float | None = None
    fp_rate_ci: tuple[float, float] | None = None


@dataclass
class RateMetrics:
    """``count`` of ``denominator`` encounters, as a rate per 10,000 with its Wilson 95 % interval."""

    count: int
    denominator: int
    per_10k: float | None
    per_10k_ci: tuple[float, float] | None


@dataclass
class BurdenMetrics:
    """The burden on honest people (honest and decoy encounters): settlements refused (拒付: a refusal flag or an
    outcome "refused"), extra steps (a review 事中审核 hold or reminder the patient or desk had to act on) and any
    flag; per scene too. Institutions: honest institutions (no fraud encounter) named by a lead or finding."""

    refused: RateMetrics
    extra_steps: RateMetrics
    flagged_any: RateMetrics
    per_scene: dict[str, dict[str, RateMetrics]]
    institutions_flagged: int
    honest_institutions_flagged: int


@dataclass
class MoneyMetrics:
    """Money in yuan. Refused = billed − paid per encounter, split by ground truth; recovered = audit recoveries, split
    by the audited encounter's truth (an audit naming only an institution counts as fraud: only a confirmed finding
    recovers money); fraud prevented = refused fraud + recovered fraud; fraud paid = what the fund paid on fraud
    encounters (after refusals, before recoveries); fraud paid net = fraud paid − recovered fraud."""

    billed_fraud: float
    refused_fraud: float
    refused_honest: float
    recovered_total: float
    recovered_fraud: float
    recovered_honest: float
    fraud_paid: float
    fraud_paid_net: float
    fraud_prevented: float
    fraud_prevented_share: float | None


@dataclass
class AuditMonth:
    month: str
    done: int
    confirmed: int
    cleared: int
    capacity: int | None
    backlog: int | None
    leads_new: int | None
    recovered: float


@dataclass
class AuditMetrics:
    """Audit workload 稽核工作量 per month against the monthly capacity, the backlog (leads waiting) and the share of
    audits that confirmed fraud."""

    months: list[AuditMonth]
    done: int
    confirmed: int
    cleared: int
    confirmed_share: float | None
    capacity_total: int | None
    utilisation: float | None


@dataclass
class Metrics:
    """Everything :func:`compute` derives from one run directory."""

    run: dict[str, Any]
    encounters_total: int
    encounters_by_label: dict[str, int]
    patterns: list[PatternMetrics]
    false_positives: RateMetrics
    false_positives_per_scene: dict[str, RateMetrics]
    burden: BurdenMetrics
    money: MoneyMetrics
    audit: AuditMetrics
    series: dict[str, dict[str, list[Any]]]
    series_columns: list[str]
    unmatched_flags: int

    @property
    def false_positives_per_10k_honest(self) -> float | None:
        return self.false_positives.per_10k

    def fraud_patterns(self) -> list[PatternMetrics]:
        return [p for p in self.patterns if p.kind == "fraud"]

    def decoys(self) -> list[PatternMetrics]:
        return [p for p in self.patterns if p.kind == "decoy"]

    def to_dict(self) -> dict[str, Any]:
        return _jsonable(dataclasses.asdict(self))

    def to_json(self) -> str:
        """Deterministic JSON: keys sorted, lists in their fixed order (patterns by id, months ascending)."""
        return json.dumps(self.to_dict(), sort_keys=True, indent=2, ensure_ascii=False) + "\n"

    def headline_rows(self) -> list[dict[str, str]]:
        """One row per fraud pattern and decoy, keys :data:`HEADLINE_COLUMNS`, values formatted for a console."""
        rows = []
        for p in self.fraud_patterns() + self.decoys():
            if p.kind == "fraud":
                recall = _fmt_rate(p.recall, p.recall_ci) if p.status == "ok" else p.status
                precision = _fmt_rate(p.precision, p.precision_ci) if p.status == "ok" else p.status
                fp = ""
            else:
                recall = precision = ""
                fp = _fmt_rate(p.fp_rate, p.fp_rate_ci) if p.encounters else NO_ENCOUNTERS
            rows.append({
                "pattern": p.id, "kind": p.kind, "scene": p.scene, "encounters": str(p.encounters),
                "flagged": str(p.flagged), "recall": recall, "precision": precision, "fp rate": fp,
                "rules": ", ".join(p.rules) or NO_RULE_YET,
            })
        return rows

    def summary_rows(self) -> list[tuple[str, str]]:
        """A few run-wide figures (label, value) to print under the headline table."""
        fp = self.false_positives
        m = self.money
        cap = self.audit.capacity_total
        return [
            ("false positives per 10k honest encounters", _fmt_num(fp.per_10k) + f"  ({fp.count}/{fp.denominator})"),
            ("honest settlements refused per 10k", _fmt_num(self.burden.refused.per_10k)),
            ("refused: fraud / honest (yuan)", f"{m.refused_fraud:,.2f} / {m.refused_honest:,.2f}"),
            ("recovered by audits (yuan)", f"{m.recovered_total:,.2f}"),
            ("fraud paid / prevented (yuan)", f"{m.fraud_paid:,.2f} / {m.fraud_prevented:,.2f}"),
            ("audits done / capacity", f"{self.audit.done} / {'-' if cap is None else cap}"),
        ]


HEADLINE_COLUMNS = ("pattern", "kind", "scene", "encounters", "flagged", "recall", "precision", "fp rate", "rules")


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return None
        return round(value, 10)
    return value


def _fmt_rate(value: float | None, ci: tuple[float, float] | None) -> str:
    if value is None:
        return "-"
    text = f"{value * 100:.1f}%"
    if ci is not None:
        text += f" [{ci[0] * 100:.1f}-{ci[1] * 100:.1f}]"
    return text


def _fmt_num(value: float | None) -> str:
    return "-" if value is None else f"{value:,.1f}"


# ---------------------------------------------------------------------------------------------------------------
# Computation


def _is_fp_flag(flag: dict[str, Any]) -> bool:
    source = flag.get("source")
    return source in FP_SOURCES or (source == "review" and flag.get("outcome") == "refused")


def _is_refusal(flag: dict[str, Any]) -> bool:
    return flag.get("source") == "refusal" or flag.get("outcome") == "refused"


def _pattern_specs(run: Run) -> dict[str, dict[str, Any]]:
    """run.json's patterns, plus any pattern seen only in truth (kind from its label, no rule)."""
    specs: dict[str, dict[str, Any]] = {}
    for p in run.meta.get("patterns", []):
        specs[p["id"]] = dict(p)
    label_kind = {"fraud": "fraud", "decoy": "decoy", "honest": "pathway"}
    for row in run.truth:
        pid = row["pattern"]
        if pid not in specs:
            specs[pid] = {"id": pid, "kind": label_kind.get(row["label"], "pathway"), "scene": pid.split(".")[0],
                          "name_en": pid, "name_zh": "", "detected_by": [], "mimics": None}
    return specs


def compute(run: Run) -> Metrics:
    """All metrics of one run (definitions: module docstring and /work/coord/ISSUE13.md "Metrics")."""
    truth_by_enc = {row["encounter_id"]: row for row in run.truth}
    scene_by_enc = {row["encounter_id"]: row["scene"] for row in run.encounters}
    enc_by_id = {row["encounter_id"]: row for row in run.encounters}

    rules_by_enc: dict[str, set[str]] = defaultdict(set)
    flagged_any: set[str] = set()
    fp_flagged: set[str] = set()
    refused_enc: set[str] = set()
    extra_step_enc: set[str] = set()
    encs_by_rule: dict[str, set[str]] = defaultdict(set)
    unmatched = 0
    for flag in run.flags:
        eid = flag.get("encounter_id")
        if eid is None:
            continue
        if eid not in truth_by_enc:
            unmatched += 1
            continue
        flagged_any.add(eid)
        rule = flag.get("rule_id")
        if rule:
            rules_by_enc[eid].add(rule)
            encs_by_rule[rule].add(eid)
        if _is_fp_flag(flag):
            fp_flagged.add(eid)
        if _is_refusal(flag):
            refused_enc.add(eid)
        elif flag.get("source") == "review":
            extra_step_enc.add(eid)

    encs_by_pattern: dict[str, list[str]] = defaultdict(list)
    for row in run.truth:
        encs_by_pattern[row["pattern"]].append(row["encounter_id"])

    specs = _pattern_specs(run)
    patterns = [_pattern_metrics(spec, specs, encs_by_pattern.get(pid, []), rules_by_enc, flagged_any,
                                 encs_by_rule, truth_by_enc)
                for pid, spec in sorted(specs.items())]

    honest_ids = sorted(eid for eid, row in truth_by_enc.items() if row["label"] in HONEST_LABELS)
    fp_overall = _rate(sum(1 for e in honest_ids if e in fp_flagged), len(honest_ids))
    by_scene: dict[str, list[str]] = defaultdict(list)
    for eid in honest_ids:
        by_scene[scene_by_enc.get(eid, "unknown")].append(eid)
    fp_scene = {s: _rate(sum(1 for e in ids if e in fp_flagged), len(ids)) for s, ids in sorted(by_scene.items())}

    burden = _burden(run, honest_ids, by_scene, refused_enc, extra_step_enc, flagged_any, truth_by_enc)
    money = _money(run, truth_by_enc, enc_by_id)
    audit = _audit(run)
    series, series_columns = _series(run)
    labels: dict[str, int] = defaultdict(int)
    for row in run.truth:
        labels[row["label"]] += 1
    meta = {k: run.meta.get(k) for k in ("scenario", "scenario_sha256", "seed", "mode", "start", "days", "arm",
                                         "go_lives", "audit_capacity_per_month", "persons", "institutions")}
    return Metrics(run=meta, encounters_total=len(run.encounters), encounters_by_label=dict(sorted(labels.items())),
                   patterns=patterns, false_positives=fp_overall, false_positives_per_scene=fp_scene, burden=burden,
                   money=money, audit=audit, series=series, series_columns=series_columns, unmatched_flags=unmatched)


def _rate(k: int, n: int) -> RateMetrics:
    return RateMetrics(count=k, denominator=n, per_10k=_per10k(k, n), per_10k_ci=_ci10k(k, n))


def _pattern_metrics(spec: dict[str, Any], specs: dict[str, dict[str, Any]], encs: list[str],
                     rules_by_enc: dict[str, set[str]], flagged_any: set[str], encs_by_rule: dict[str, set[str]],
                     truth_by_enc: dict[str, dict[str, Any]]) -> PatternMetrics:
    kind = spec.get("kind", "pathway")
    detected_by = list(spec.get("detected_by") or [])
    mimics = spec.get("mimics")
    rules = list(detected_by)
    if kind == "decoy" and not rules and mimics in specs:
        rules = list(specs[mimics].get("detected_by") or [])
    rule_set = set(rules)
    n = len(encs)
    any_count = sum(1 for e in encs if e in flagged_any)
    flagged = sum(1 for e in encs if rules_by_enc.get(e, set()) & rule_set) if rule_set else any_count
    pm = PatternMetrics(id=spec["id"], kind=kind, scene=spec.get("scene", ""), name_en=spec.get("name_en", ""),
                        name_zh=spec.get("name_zh", ""), detected_by=detected_by, mimics=mimics, rules=rules,
                        encounters=n, flagged=flagged, flagged_any=any_count,
                        status="ok" if n else NO_ENCOUNTERS)
    if kind == "fraud":
        if not rule_set:
            pm.status = NO_RULE_YET
            return pm
        by_rules: set[str] = set()
        for rule in rule_set:
            by_rules |= encs_by_rule.get(rule, set())
        pm.flagged_by_rules_total = len(by_rules)
        if n:
            pm.recall, pm.recall_ci = flagged / n, wilson(flagged, n)
        if by_rules:
            pm.precision, pm.precision_ci = flagged / len(by_rules), wilson(flagged, len(by_rules))
            fraud_hits = sum(1 for e in by_rules if truth_by_enc[e]["label"] == "fraud")
            pm.precision_any_fraud = fraud_hits / len(by_rules)
    elif kind == "decoy" and n:
        pm.fp_rate, pm.fp_rate_ci = flagged / n, wilson(flagged, n)
    return pm


def _burden(run: Run, honest_ids: list[str], by_scene: dict[str, list[str]], refused: set[str], extra: set[str],
            flagged: set[str], truth_by_enc: dict[str, dict[str, Any]]) -> BurdenMetrics:
    def rates(ids: Iterable[str]) -> dict[str, RateMetrics]:
        ids = list(ids)
        return {"refused": _rate(sum(1 for e in ids if e in refused), len(ids)),
                "extra_steps": _rate(sum(1 for e in ids if e in extra), len(ids)),
                "flagged_any": _rate(sum(1 for e in ids if e in flagged), len(ids))}

    overall = rates(honest_ids)
    enc_inst = {row["encounter_id"]: row["institution_code"] for row in run.encounters}
    fraud_insts = {enc_inst.get(eid) for eid, row in truth_by_enc.items() if row["label"] == "fraud"}
    named = {f["institution_code"] for f in run.flags
             if f.get("source") in ("lead", "finding") and f.get("institution_code")}
    return BurdenMetrics(refused=overall["refused"], extra_steps=overall["extra_steps"],
                         flagged_any=overall["flagged_any"],
                         per_scene={s: rates(ids) for s, ids in sorted(by_scene.items())},
                         institutions_flagged=len(named), honest_institutions_flagged=len(named - fraud_insts))


def _money(run: Run, truth_by_enc: dict[str, dict[str, Any]], enc_by_id: dict[str, dict[str, Any]]) -> MoneyMetrics:
    billed_fraud = refused_fraud = refused_honest = fraud_paid = 0.0
    for eid, enc in enc_by_id.items():
        label = truth_by_enc.get(eid, {}).get("label")
        refused = (enc.get("amount_billed") or 0.0) - (enc.get("amount_paid") or 0.0)
        if label == "fraud":
            billed_fraud += enc.get("amount_billed") or 0.0
            refused_fraud += refused
            fraud_paid += enc.get("amount_paid") or 0.0
        elif label in HONEST_LABELS:
            refused_honest += refused
    rec_fraud = rec_honest = 0.0
    for audit in run.audits:
        amount = audit.get("amount_recovered") or 0.0
        eid = audit.get("encounter_id")
        if eid is not None and truth_by_enc.get(eid, {}).get("label") in HONEST_LABELS:
            rec_honest += amount
        else:
            rec_fraud += amount
    prevented = refused_fraud + rec_fraud
    return MoneyMetrics(billed_fraud=round(billed_fraud, 2), refused_fraud=round(refused_fraud, 2),
                        refused_honest=round(refused_honest, 2), recovered_total=round(rec_fraud + rec_honest, 2),
                        recovered_fraud=round(rec_fraud, 2), recovered_honest=round(rec_honest, 2),
                        fraud_paid=round(fraud_paid, 2), fraud_paid_net=round(fraud_paid - rec_fraud, 2),
                        fraud_prevented=round(prevented, 2),
                        fraud_prevented_share=(prevented / billed_fraud) if billed_fraud else None)


def _audit(run: Run) -> AuditMetrics:
    monitored = {row["month"]: row for row in run.monthly if row.get("arm", "monitored") == "monitored"}
    done: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for a in run.audits:
        done[a["month"]].append(a)
    default_cap = run.meta.get("audit_capacity_per_month")
    months = []
    for month in sorted(set(monitored) | set(done)):
        rows = done.get(month, [])
        m = monitored.get(month, {})
        cap = m.get("audit_capacity", default_cap)
        months.append(AuditMonth(
            month=month, done=len(rows), confirmed=sum(1 for a in rows if a["outcome"] == "confirmed"),
            cleared=sum(1 for a in rows if a["outcome"] == "cleared"),
            capacity=None if cap is None else int(cap),
            backlog=None if m.get("audit_backlog") is None else int(m["audit_backlog"]),
            leads_new=None if m.get("leads_new") is None else int(m["leads_new"]),
            recovered=round(sum(a.get("amount_recovered") or 0.0 for a in rows), 2)))
    total = sum(m.done for m in months)
    confirmed = sum(m.confirmed for m in months)
    caps = [m.capacity for m in months]
    cap_total = None if not caps or any(c is None for c in caps) else sum(caps)  # type: ignore[arg-type]
    return AuditMetrics(months=months, done=total, confirmed=confirmed, cleared=sum(m.cleared for m in months),
                        confirmed_share=_ratio(confirmed, total), capacity_total=cap_total,
                        utilisation=(total / cap_total) if cap_total else None)


def _series(run: Run) -> tuple[dict[str, dict[str, list[Any]]], list[str]]:
    """Per arm: {"month": [...], column: [...]} for every numeric monthly column, months ascending."""
    columns = [c for c in run.monthly_columns if c not in _TEXT_MONTHLY]
    series: dict[str, dict[str, list[Any]]] = {}
    for arm in sorted({row.get("arm") or "monitored" for row in run.monthly}):
        rows = sorted((r for r in run.monthly if (r.get("arm") or "monitored") == arm), key=lambda r: r["month"])
        series[arm] = {"month": [r["month"] for r in rows]}
        for c in columns:
            series[arm][c] = [r.get(c) for r in rows]
    return series, columns


# ---------------------------------------------------------------------------------------------------------------
# Console


def render_headline(metrics: Metrics) -> str:
    """The headline table and the run-wide figures as plain text (fixed-width columns)."""
    rows = metrics.headline_rows()
    widths = {c: max([len(c)] + [len(r[c]) for r in rows]) for c in HEADLINE_COLUMNS}
    lines = ["  ".join(c.ljust(widths[c]) for c in HEADLINE_COLUMNS).rstrip(),
             "  ".join("-" * widths[c] for c in HEADLINE_COLUMNS)]
    lines += ["  ".join(r[c].ljust(widths[c]) for c in HEADLINE_COLUMNS).rstrip() for r in rows]
    lines.append("")
    label_w = max(len(k) for k, _ in metrics.summary_rows())
    lines += [f"{k.ljust(label_w)}  {v}" for k, v in metrics.summary_rows()]
    return "\n".join(lines) + "\n"


def print_headline(metrics: Metrics, *, file: Any = None, plain: bool | None = None) -> None:
    """Print the headline table with rich when it is installed (and ``plain`` is not True), else as plain text."""
    import sys

    out = file if file is not None else sys.stdout
    if not plain:
        try:
            from rich.console import Console
            from rich.table import Table
        except ImportError:
            plain = True
    if plain:
        out.write(render_headline(metrics))
        return
    table = Table(title="Fraud patterns and decoys (recall, precision, false-positive rate with Wilson 95% CI)")
    for c in HEADLINE_COLUMNS:
        table.add_column(c, justify="right" if c in ("encounters", "flagged") else "left")
    for r in metrics.headline_rows():
        table.add_row(*(r[c] for c in HEADLINE_COLUMNS))
    # A pipe or file gets rich's 80 columns by default, which folds the rule ids; give it room instead.
    isatty = getattr(out, "isatty", lambda: False)()
    console = Console(file=out, width=None if isatty else 200)
    console.print(table)
    for k, v in metrics.summary_rows():
        console.print(f"{k}: {v}", highlight=False)
