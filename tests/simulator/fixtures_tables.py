"""Test data: a small synthetic run directory with answers known by hand (metrics, report and compare tests).

Nothing here comes from the simulator: the rows are written directly in the run-directory format of
/work/coord/ISSUE13.md so that every metric can be checked against a count done by hand. The default build is:

=========================  ======  ==========  =====================================================
pattern                    label   encounters  flags
=========================  ======  ==========  =====================================================
inpatient.ghost_bed        fraud   20          ``ghost_flagged`` (15) by INP-DAILY-FACE-CHECK (finding)
inpatient.split_stay       fraud   10          4 by INP-READMIT-10D (lead)
inpatient.impersonation    fraud   5           no rule yet; 1 carries an INP-DAILY-FACE-CHECK finding
pharmacy.card_dodge        fraud   6           6 refused by PHA-FACE-1000 (refusal, paid 0)
inpatient.decoy_transfer   decoy   8           2 by INP-READMIT-10D (lead); mimics split_stay, no rule of its own
inpatient.decoy_ill_face   decoy   10          2 by INP-DAILY-FACE-CHECK (finding)
inpatient.honest_stay      honest  100         3 face-check findings, 1 review "refused" (paid 3,000 of 5,000),
                                               1 review "remind" (an extra step, not a false positive)
pharmacy.honest_purchase   honest  50          2 refused by PHA-FACE-1000 (refusal, paid 0)
=========================  ======  ==========  =====================================================

plus a lead naming only institution H003 (no encounter). Hand answers are in :data:`EXPECTED`.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

COLUMNS = {
    "encounters": ["encounter_id", "scene", "kind", "institution_code", "district_code", "psn_no", "start", "end",
                   "days", "amount_billed", "amount_paid", "month"],
    "truth": ["encounter_id", "label", "pattern", "actor", "ring_id", "case_id"],
    "flags": ["encounter_id", "institution_code", "at", "source", "rule_id", "release_version", "outcome",
              "lead_id", "amount"],
    "audits": ["month", "lead_id", "rule_id", "encounter_id", "institution_code", "outcome", "amount_recovered"],
    "monthly": ["month", "arm", "persons", "admissions", "inpatient_days", "inpatient_cost", "fund_spending",
                "per_capita_inpatient_cost", "admission_rate_per_1000", "purchases", "pharmacy_cost",
                "refused_amount", "recovered_amount", "leads_new", "audits_done", "audit_capacity", "audit_backlog",
                "fraud_encounters", "honest_encounters"],
}
MONEY = {"amount_billed", "amount_paid", "amount", "amount_recovered", "inpatient_cost", "fund_spending",
         "per_capita_inpatient_cost", "admission_rate_per_1000", "pharmacy_cost", "refused_amount",
         "recovered_amount"}

FACE = "INP-DAILY-FACE-CHECK"
READMIT = "INP-READMIT-10D"
PHA = "PHA-FACE-1000"
MONTHS = ("2026-01", "2026-02", "2026-03")

PATTERNS = [
    {"id": "inpatient.ghost_bed", "kind": "fraud", "scene": "inpatient", "name_en": "Ghost bed", "name_zh": "挂床",
     "detected_by": [FACE], "mimics": None},
    {"id": "inpatient.split_stay", "kind": "fraud", "scene": "inpatient", "name_en": "Split hospitalisation",
     "name_zh": "分解住院", "detected_by": [READMIT], "mimics": None},
    {"id": "inpatient.impersonation", "kind": "fraud", "scene": "inpatient", "name_en": "Impersonation",
     "name_zh": "冒名就医", "detected_by": [], "mimics": None},
    {"id": "pharmacy.card_dodge", "kind": "fraud", "scene": "pharmacy", "name_en": "High-value card purchase",
     "name_zh": "大额刷卡规避人脸", "detected_by": [PHA], "mimics": None},
    {"id": "inpatient.decoy_transfer", "kind": "decoy", "scene": "inpatient", "name_en": "Genuine transfer",
     "name_zh": "真实转院", "detected_by": [], "mimics": "inpatient.split_stay"},
    {"id": "inpatient.decoy_ill_face", "kind": "decoy", "scene": "inpatient", "name_en": "Face changed by illness",
     "name_zh": "病容难识别", "detected_by": [FACE], "mimics": "inpatient.ghost_bed"},
    {"id": "inpatient.honest_stay", "kind": "pathway", "scene": "inpatient", "name_en": "Honest stay",
     "name_zh": "正常住院", "detected_by": [], "mimics": None},
    {"id": "pharmacy.honest_purchase", "kind": "pathway", "scene": "pharmacy", "name_en": "Honest purchase",
     "name_zh": "正常购药", "detected_by": [], "mimics": None},
]

# Hand-computed answers for build_run() with its defaults.
EXPECTED: dict[str, Any] = {
    "ghost_recall": 15 / 20,
    # face-check flagged: 15 ghost + 1 impersonation + 2 ill-face decoys + 3 honest stays = 21
    "ghost_precision": 15 / 21,
    "split_recall": 4 / 10,
    # readmission rule flagged: 4 split + 2 transfer decoys = 6
    "split_precision": 4 / 6,
    "card_recall": 1.0,
    "card_precision": 6 / 8,  # 6 frauds + 2 honest purchases refused by PHA-FACE-1000
    "impersonation_flagged_any": 1,
    "decoy_transfer_fp": 2 / 8,
    "decoy_ill_face_fp": 2 / 10,
    # honest+decoy = 100 + 50 + 8 + 10 = 168; false positives = 3 findings + 1 review-refused + 2 refusals
    # + 2 transfer leads + 2 ill-face findings = 10 (the review "remind" does not count)
    "fp_per_10k": 10 / 168 * 10_000,
    "fp_per_10k_inpatient": 8 / 118 * 10_000,
    "fp_per_10k_pharmacy": 2 / 50 * 10_000,
    "honest_refused": 3,  # 2 pharmacy refusals + 1 review refused
    "honest_extra_steps": 1,  # the review remind
    "honest_flagged_any": 11,
    "refused_fraud": 6 * 1200.0,
    "refused_honest": 2 * 1200.0 + 2000.0,
    "recovered_total": 5000.0 + 5000.0 + 8000.0,
    "recovered_fraud": 18000.0,
    "fraud_paid": 35 * 5000.0,  # ghost 20 + split 10 + impersonation 5 paid in full; card dodges paid 0
    "fraud_prevented": 6 * 1200.0 + 18000.0,
    "audits_done": {"2026-01": 0, "2026-02": 3, "2026-03": 2},
    "audits_confirmed": 3,
}


def _fmt(column: str, value: Any) -> str:
    if value is None:
        return ""
    if column in MONEY and isinstance(value, int | float):
        return f"{value:.2f}"
    return str(value)


def write_table(run_dir: Path, name: str, rows: list[dict[str, Any]], columns: list[str] | None = None) -> None:
    columns = columns or COLUMNS[name]
    with (run_dir / f"{name}.csv").open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(columns)
        for row in rows:
            w.writerow([_fmt(c, row.get(c)) for c in columns])


def read_table(run_dir: Path, name: str) -> tuple[list[str], list[dict[str, str]]]:
    with (run_dir / f"{name}.csv").open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        rows = list(reader)
        return list(reader.fieldnames or []), rows


def rewrite_table(run_dir: Path, name: str, fn: Callable[[list[dict[str, str]]], list[dict[str, str]]]) -> None:
    """Read ``name``.csv, let ``fn`` change its rows, write it back (the tests' way of breaking one fact)."""
    columns, rows = read_table(run_dir, name)
    write_table(run_dir, name, fn(rows), columns)


def build_run(run_dir: Path, *, seed: int = 1, ghost_flagged: int = 15, fund_scale: float = 1.0,
              extra_monthly: dict[str, list[float]] | None = None, parquet: bool = False) -> Path:
    """Write the synthetic run directory described in the module docstring into ``run_dir`` and return it.

    ``ghost_flagged`` ghost-bed encounters (of 20) carry the face-check finding; ``fund_scale`` multiplies the
    monitored arm's fund spending; ``extra_monthly`` adds series columns (a later scene's, e.g. dialysis) with
    one value per month; ``parquet`` also writes .parquet copies (pyarrow)."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    encounters: list[dict[str, Any]] = []
    truth: list[dict[str, Any]] = []
    flags: list[dict[str, Any]] = []
    lead = iter(range(1, 10_000))

    def add(pattern: str, label: str, scene: str, billed: float, paid: float | None = None) -> str:
        i = len(encounters) + 1
        eid = f"E{i:07d}"
        month = MONTHS[i % 3]
        inst = f"H{i % 4:03d}" if scene == "inpatient" else f"P{i % 3:03d}"
        encounters.append({
            "encounter_id": eid, "scene": scene, "kind": "admission" if scene == "inpatient" else "purchase",
            "institution_code": inst, "district_code": "D01", "psn_no": f"P{i:06d}",
            "start": f"{month}-10T09:00:00", "end": f"{month}-15T09:00:00" if scene == "inpatient" else "",
            "days": 5 if scene == "inpatient" else 0, "amount_billed": billed,
            "amount_paid": billed if paid is None else paid, "month": month})
        truth.append({"encounter_id": eid, "label": label, "pattern": pattern,
                      "actor": "none" if label != "fraud" else "institution", "ring_id": "", "case_id": f"C{i:06d}"})
        return eid

    def flag(eid: str, source: str, rule: str, outcome: str, amount: float | None = None) -> None:
        inst = next(e["institution_code"] for e in encounters if e["encounter_id"] == eid)
        month = next(e["month"] for e in encounters if e["encounter_id"] == eid)
        flags.append({"encounter_id": eid, "institution_code": inst, "at": f"{month}-12T10:00:00", "source": source,
                      "rule_id": rule, "release_version": "2026.1", "outcome": outcome,
                      "lead_id": next(lead) if source == "lead" else None, "amount": amount})

    ghosts = [add("inpatient.ghost_bed", "fraud", "inpatient", 5000.0) for _ in range(20)]
    for eid in ghosts[:ghost_flagged]:
        flag(eid, "finding", FACE, "finding")
    splits = [add("inpatient.split_stay", "fraud", "inpatient", 5000.0) for _ in range(10)]
    for eid in splits[:4]:
        flag(eid, "lead", READMIT, "new")
    imps = [add("inpatient.impersonation", "fraud", "inpatient", 5000.0) for _ in range(5)]
    flag(imps[0], "finding", FACE, "finding")
    for _ in range(6):
        flag(add("pharmacy.card_dodge", "fraud", "pharmacy", 1200.0, 0.0), "refusal", PHA, "refused", 1200.0)
    transfers = [add("inpatient.decoy_transfer", "decoy", "inpatient", 5000.0) for _ in range(8)]
    for eid in transfers[:2]:
        flag(eid, "lead", READMIT, "new")
    ill = [add("inpatient.decoy_ill_face", "decoy", "inpatient", 5000.0) for _ in range(10)]
    for eid in ill[:2]:
        flag(eid, "finding", FACE, "finding")
    stays = [add("inpatient.honest_stay", "honest", "inpatient", 5000.0) for _ in range(98)]
    stays.append(add("inpatient.honest_stay", "honest", "inpatient", 5000.0, 3000.0))
    stays.append(add("inpatient.honest_stay", "honest", "inpatient", 5000.0))
    for eid in stays[:3]:
        flag(eid, "finding", FACE, "finding")
    flag(stays[98], "review", "INP-LONG-STAY", "refused", 2000.0)
    flag(stays[99], "review", "INP-LONG-STAY", "remind")
    purchases = [add("pharmacy.honest_purchase", "honest", "pharmacy", 300.0) for _ in range(48)]
    purchases += [add("pharmacy.honest_purchase", "honest", "pharmacy", 1200.0, 0.0) for _ in range(2)]
    for eid in purchases[48:]:
        flag(eid, "refusal", PHA, "refused", 1200.0)
    flags.append({"encounter_id": None, "institution_code": "H003", "at": "2026-03-01T08:00:00", "source": "lead",
                  "rule_id": "INST-COLLUSION", "release_version": "2026.1", "outcome": "new",
                  "lead_id": next(lead), "amount": None})

    audits = [
        {"month": "2026-02", "lead_id": 1, "rule_id": FACE, "encounter_id": ghosts[0], "institution_code": "H001",
         "outcome": "confirmed", "amount_recovered": 5000.0},
        {"month": "2026-02", "lead_id": 2, "rule_id": FACE, "encounter_id": ghosts[1], "institution_code": "H002",
         "outcome": "confirmed", "amount_recovered": 5000.0},
        {"month": "2026-02", "lead_id": 3, "rule_id": FACE, "encounter_id": stays[0], "institution_code": "H001",
         "outcome": "cleared", "amount_recovered": 0.0},
        {"month": "2026-03", "lead_id": 9, "rule_id": "INST-COLLUSION", "encounter_id": None,
         "institution_code": "H003", "outcome": "confirmed", "amount_recovered": 8000.0},
        {"month": "2026-03", "lead_id": 4, "rule_id": READMIT, "encounter_id": transfers[0],
         "institution_code": "H002", "outcome": "cleared", "amount_recovered": 0.0},
    ]

    monthly = []
    extra_monthly = extra_monthly or {}
    for arm in ("monitored", "unmonitored"):
        for k, month in enumerate(MONTHS):
            persons = 1000
            admissions = 50 + k * 5 if arm == "unmonitored" else 50 - k * 3
            cost = admissions * 5000.0
            fund = cost * (fund_scale if arm == "monitored" else 1.0) + 10_000.0
            row = {"month": month, "arm": arm, "persons": persons, "admissions": admissions,
                   "inpatient_days": admissions * 5, "inpatient_cost": cost, "fund_spending": fund,
                   "per_capita_inpatient_cost": cost / persons,
                   "admission_rate_per_1000": admissions / persons * 1000 * 12, "purchases": 20,
                   "pharmacy_cost": 6000.0, "refused_amount": 1000.0 * k if arm == "monitored" else 0.0,
                   "recovered_amount": 0.0, "leads_new": 2 + k if arm == "monitored" else 0,
                   "audits_done": EXPECTED["audits_done"][month] if arm == "monitored" else 0,
                   "audit_capacity": 3, "audit_backlog": [0, 1, 2][k] if arm == "monitored" else 0,
                   "fraud_encounters": 14, "honest_encounters": 56}
            for col, values in extra_monthly.items():
                row[col] = values[k] * (0.8 if arm == "monitored" else 1.0)
            monthly.append(row)

    write_table(run_dir, "encounters", encounters)
    write_table(run_dir, "truth", truth)
    write_table(run_dir, "flags", flags)
    write_table(run_dir, "audits", audits)
    write_table(run_dir, "monthly", monthly, COLUMNS["monthly"] + list(extra_monthly))
    meta = {"scenario": "fixture-county", "scenario_sha256": "0" * 64, "seed": seed, "mode": "inprocess",
            "start": "2026-01-01", "days": 90, "arm": "monitored",
            "go_lives": [{"scene": "inpatient", "date": "2026-02-01", "group": "tertiary", "institutions": 3}],
            "patterns": PATTERNS, "audit_capacity_per_month": 3, "persons": 1000, "institutions": 7}
    (run_dir / "run.json").write_text(json.dumps(meta, ensure_ascii=False, indent=2, sort_keys=True) + "\n",
                                      encoding="utf-8")
    if parquet:
        _write_parquet(run_dir)
    return run_dir


def _write_parquet(run_dir: Path) -> None:
    """Parquet copies of the CSV tables with the contract's types (money float64, ints int64, text strings)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    ints = {"days", "lead_id", "persons", "admissions", "inpatient_days", "purchases", "leads_new", "audits_done",
            "audit_capacity", "audit_backlog", "fraud_encounters", "honest_encounters"}
    for name in COLUMNS:
        columns, rows = read_table(run_dir, name)
        arrays = []
        for c in columns:
            values = [r[c] for r in rows]
            if c in ints:
                arrays.append(pa.array([int(v) if v != "" else None for v in values], pa.int64()))
            elif c in MONEY or (name == "monthly" and c not in ("month", "arm")):
                arrays.append(pa.array([float(v) if v != "" else None for v in values], pa.float64()))
            else:
                arrays.append(pa.array([v if v != "" else None for v in values], pa.string()))
        pq.write_table(pa.table(arrays, names=columns), run_dir / f"{name}.parquet")
