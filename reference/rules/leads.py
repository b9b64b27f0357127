"""Leads and cases (线索与案件) — one model for every scene (RULE-7, INP-8, HD-10, RH-3, PH-5, PH-6).

A lead comes from a rule hit: its source rule and release, the evidence behind it, its subject
(settlement, person or institution) and scope (institution, district), and a risk score. It moves
only along the edges of interface_spec/rules/lead_workflow.yaml, each edge open only to the roles
listed there; every transition is written to `lead_events`. Monthly audit plans take the
highest-risk screened leads up to the audit capacity (PH-6).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any

import yaml

from reference.errors import Forbidden, InvalidField, InvalidState, NotFound
from reference.paths import INTERFACE_SPEC
from reference.scope import Scope
from reference.store import Db, equal_filters

if TYPE_CHECKING:
    from reference.rules.engine import Decision
    from reference.rules.library import Rule, RuleSet

WORKFLOW_FILE = INTERFACE_SPEC / "rules" / "lead_workflow.yaml"


@dataclass(frozen=True)
class Workflow:
    statuses: dict[str, dict[str, str]]
    edges: dict[tuple[str, str], frozenset[str]]
    severity_weight: dict[str, float]

    def roles_for(self, src: str, dst: str) -> frozenset[str] | None:
        return self.edges.get((src, dst))


@cache
def workflow() -> Workflow:
    raw = yaml.safe_load(WORKFLOW_FILE.read_text(encoding="utf-8"))
    statuses = {s["code"]: s for s in raw["statuses"]}
    edges = {}
    for i, t in enumerate(raw["transitions"]):
        if t["from"] not in statuses or t["to"] not in statuses:
            raise ValueError(f"{WORKFLOW_FILE}: transitions[{i}] names an unknown status")
        edges[(t["from"], t["to"])] = frozenset(t["roles"])
    return Workflow(statuses, edges, {k: float(v) for k, v in raw["risk"]["severity_weight"].items()})


def risk_score(severity: str, amount: float | None) -> float:
    return round(workflow().severity_weight[severity] * (1 + math.log10(1 + max(amount or 0.0, 0.0))), 4)


def exists(db: Db, dedupe_key: str) -> bool:
    return db.scalar("SELECT 1 FROM leads WHERE dedupe_key=?", (dedupe_key,)) is not None


def create_from_decision(db: Db, rule: Rule, rs: RuleSet, d: Decision, scene: str, now: datetime, *,
                         dedupe: str) -> int:
    existing = db.scalar("SELECT lead_id FROM leads WHERE dedupe_key=?", (dedupe,))
    if existing is not None:
        return int(existing)
    district = None
    if d.subject.institution_code:
        district = db.scalar("SELECT district_code FROM institutions WHERE code=?", (d.subject.institution_code,))
    evidence = [{"kind": "decision", "id": d.decision_id}, *d.evidence]
    if d.subject.setl_id:
        evidence.append({"kind": "settlement", "id": d.subject.id})
    at = now.isoformat(timespec="seconds")
    lead_id = db.insert(
        "INSERT INTO leads(dedupe_key, rule_id, release_version, decision_id, scene, subject_type, subject_id,"
        " institution_code, district_code, psn_no, severity, risk_score, amount, summary, evidence, status,"
        " created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,'new',?,?)",
        (dedupe, rule.id, rs.version, d.decision_id, scene, d.subject.type, d.subject.id, d.subject.institution_code,
         district, d.subject.psn_no, rule.severity, risk_score(rule.severity, d.amount), d.amount,
         d.message, json.dumps(evidence, ensure_ascii=False), at, at),
    )
    db.execute("INSERT INTO lead_events(lead_id, from_status, to_status, by, role, at, note)"
               " VALUES (?,?,?,?,?,?,?)", (lead_id, None, "new", f"rule:{rule.id}", "system", at, d.message))
    return lead_id


def get(db: Db, lead_id: int, scope: Scope | None = None) -> dict[str, Any]:
    """The lead with its events; one outside `scope` (its district) does not exist."""
    clause, params = scope.where_district("district_code") if scope else ("", [])
    row = db.one(f"SELECT * FROM leads WHERE lead_id=?{clause}", (lead_id, *params))
    if row is None:
        raise NotFound(f"no lead {lead_id}", field="input.lead_id")
    row["evidence"] = json.loads(row["evidence"])
    row["events"] = db.all("SELECT from_status, to_status, by, role, at, note FROM lead_events WHERE lead_id=?"
                           " ORDER BY id", (lead_id,))
    return row


def find(db: Db, scope: Scope, *, status: str | None, rule_id: str | None, institution_code: str | None,
         lead_id: int | None, limit: int) -> list[dict[str, Any]]:
    """Leads in `scope` (their district), highest risk first, filtered by the given fields."""
    where, params = scope.where_district("district_code")
    more, values = equal_filters(status=status, rule_id=rule_id, institution_code=institution_code, lead_id=lead_id)
    return db.all(f"SELECT * FROM leads WHERE 1=1{where}{more} ORDER BY risk_score DESC, lead_id LIMIT ?",
                  [*params, *values, limit])


def transition(db: Db, *, lead_id: int, to: str, by: str, role: str, now: datetime, note: str | None = None,
               amount_recovered: float | None = None, planned_month: str | None = None) -> dict[str, Any]:
    lead = get(db, lead_id)
    wf = workflow()
    if to not in wf.statuses:
        raise InvalidField(f"unknown status {to!r}", field="input.to_status")
    roles = wf.roles_for(lead["status"], to)
    if roles is None:
        allowed = sorted(dst for (src, dst) in wf.edges if src == lead["status"])
        raise InvalidState(f"a {lead['status']} lead cannot become {to}; allowed: {allowed or 'none (final)'}",
                           field="input.to_status")
    if role not in roles:
        raise Forbidden(f"role {role} may not move a lead from {lead['status']} to {to}", field="input.to_status")
    if amount_recovered is not None and to != "confirmed":
        raise InvalidField("only a confirmed lead recovers an amount", field="input.amount_recovered")
    if amount_recovered is not None and amount_recovered < 0:
        raise InvalidField("cannot be negative", field="input.amount_recovered")
    at = now.isoformat(timespec="seconds")
    db.execute(
        "UPDATE leads SET status=?, updated_at=?, amount_recovered=COALESCE(?, amount_recovered),"
        " audit_note=COALESCE(?, audit_note), planned_month=COALESCE(?, planned_month) WHERE lead_id=?",
        (to, at, amount_recovered, note if to in {"confirmed", "cleared"} else None, planned_month, lead_id))
    db.execute("INSERT INTO lead_events(lead_id, from_status, to_status, by, role, at, note) VALUES (?,?,?,?,?,?,?)",
               (lead_id, lead["status"], to, by, role, at, note))
    return get(db, lead_id)


def plan_month(db: Db, *, month: str, capacity: int, district: str | None, by: str, role: str,
               now: datetime) -> list[dict[str, Any]]:
    """Put the highest-risk screened leads (in scope) into the month's audit plan, up to capacity,
    counting leads already planned for that month."""
    scope_sql, params = ("", []) if district is None else (" AND district_code=?", [district])
    already = db.scalar(f"SELECT count(*) FROM leads WHERE planned_month=?{scope_sql}", [month, *params])
    free = max(capacity - already, 0)
    picked = db.all(
        f"SELECT lead_id FROM leads WHERE status='screened'{scope_sql}"
        " ORDER BY risk_score DESC, created_at, lead_id LIMIT ?", [*params, free])
    return [transition(db, lead_id=r["lead_id"], to="audit_planned", by=by, role=role, now=now,
                       note=f"audit plan {month}", planned_month=month) for r in picked]
