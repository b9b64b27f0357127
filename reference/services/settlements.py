"""Settlements under rule review: in-event results (accepted / refused / suspended) and appeals.

RULE-8: a clear violation is refused outright; a suspicion goes back to the institution, which
may appeal; the agency decides. An overturned appeal accepts the settlement and clears the leads
its in-event decisions raised; an upheld one refuses it.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any

from reference.errors import Conflict, InvalidField, InvalidState, NotFound
from reference.rules import engine, leads, releases
from reference.rules.evaluators import Subject
from reference.rules.knowledge import load_knowledge
from reference.rules.library import RuleSet
from reference.scope import Scope
from reference.services.registry import person_view
from reference.store import Db

MAX_FUTURE = timedelta(minutes=5)  # tolerated terminal/HIS clock drift for setl_time


def normalise(payload: dict[str, Any], institution_code: str, now: datetime) -> dict[str, Any]:
    """The settlement as rules see it: CST times, items tagged with knowledge-base categories."""
    at: datetime = payload["setl_time"]
    if at > now + MAX_FUTURE:
        raise InvalidField(f"{at.isoformat()} is in the future (business time {now.isoformat()})",
                           field="input.setl_time")
    kb = load_knowledge()
    items, cats = [], set()
    for it in payload["items"]:
        c = kb.categories_of(it["item_code"], it["item_name"])
        cats.update(c)
        items.append({**it, "categories": c})
    return {**payload, "institution_code": institution_code, "setl_time": at.isoformat(timespec="seconds"),
            "items": items, "categories": sorted(cats)}


def judge(db: Db, s: dict[str, Any], now: datetime, stage: str, *, subject: Subject | None = None,
          only: Collection[str] | None = None) -> tuple[RuleSet, list[engine.Decision]]:
    """The rules of `stage` in the release in force, judged on a normalised settlement and
    recorded as decisions: the one path of the pre-event check (8711, 3101) and the in-event
    review (8712, 3102). `subject` and `only` as in `engine.evaluate_settlement`."""
    person_view(db, s["psn_no"])
    rs = releases.in_force(db, now.date())
    return rs, engine.evaluate_settlement(db, rs, stage, s, now=now, subject=subject, only=only)


def in_event_status(decisions: list[engine.Decision]) -> str:
    """RULE-8: refused on a clear violation, suspended on a suspicion, accepted otherwise."""
    outcomes = {d.outcome for d in decisions}
    return "refused" if "refuse" in outcomes else "suspended" if "suspicion" in outcomes else "accepted"


def precheck(db: Db, s: dict[str, Any], now: datetime) -> list[engine.Decision]:
    return judge(db, s, now, "pre_event")[1]


def review(db: Db, s: dict[str, Any], now: datetime) -> tuple[str, str, list[engine.Decision]]:
    person_view(db, s["psn_no"])
    if db.one("SELECT 1 FROM settlements WHERE institution_code=? AND setl_id=?",
              (s["institution_code"], s["setl_id"])):
        raise Conflict(f"settlement {s['setl_id']} was already submitted", field="input.setl_id")
    rs, decisions = judge(db, s, now, "in_event")
    status = in_event_status(decisions)
    db.execute(
        "INSERT INTO settlements(institution_code, setl_id, psn_no, mdtrt_id, scene, setl_time, method, total_amount,"
        " items, categories, status, release_version, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (s["institution_code"], s["setl_id"], s["psn_no"], s.get("mdtrt_id"), s["scene"], s["setl_time"],
         s["method"], s["total_amount"], json.dumps(s["items"], ensure_ascii=False),
         json.dumps(s["categories"]), status, rs.version, now.isoformat(timespec="seconds")),
    )
    return status, rs.version, decisions


def get(db: Db, institution_code: str, setl_id: str) -> dict[str, Any]:
    row = db.one("SELECT * FROM settlements WHERE institution_code=? AND setl_id=?", (institution_code, setl_id))
    if row is None:
        raise NotFound(f"no settlement {setl_id} at {institution_code}", field="input.setl_id")
    return row


def appeal(db: Db, *, institution_code: str, setl_id: str, reason: str, evidence: list[str], by: str,
           now: datetime) -> dict[str, Any]:
    s = get(db, institution_code, setl_id)
    if s["status"] not in {"refused", "suspended"}:
        raise InvalidState(f"settlement {setl_id} is {s['status']}; only refused or suspended ones are appealed",
                           field="input.setl_id")
    if db.one("SELECT 1 FROM appeals WHERE institution_code=? AND setl_id=?", (institution_code, setl_id)):
        raise Conflict(f"settlement {setl_id} was already appealed", field="input.setl_id")
    aid = db.insert(
        "INSERT INTO appeals(institution_code, setl_id, reason, evidence, status, submitted_by, submitted_at)"
        " VALUES (?,?,?,?,'submitted',?,?)",
        (institution_code, setl_id, reason, json.dumps(evidence, ensure_ascii=False), by,
         now.isoformat(timespec="seconds")))
    return appeal_view(db, aid)


def appeal_view(db: Db, appeal_id: int, scope: Scope | None = None) -> dict[str, Any]:
    clause, params = scope.where_institution("institution_code") if scope else ("", [])
    row = db.one(f"SELECT * FROM appeals WHERE appeal_id=?{clause}", (appeal_id, *params))
    if row is None:
        raise NotFound(f"no appeal {appeal_id}", field="input.appeal_id")
    row["evidence"] = json.loads(row["evidence"])
    row["settlement_status"] = get(db, row["institution_code"], row["setl_id"])["status"]
    return row


def decide_appeal(db: Db, *, appeal_id: int, overturn: bool, note: str, by: str, role: str,
                  now: datetime) -> dict[str, Any]:
    a = appeal_view(db, appeal_id)
    if a["status"] != "submitted":
        raise InvalidState(f"appeal {appeal_id} is already {a['status']}", field="input.appeal_id")
    at = now.isoformat(timespec="seconds")
    db.execute("UPDATE appeals SET status=?, reviewed_by=?, reviewed_at=?, review_note=? WHERE appeal_id=?",
               ("overturned" if overturn else "upheld", by, at, note, appeal_id))
    db.execute("UPDATE settlements SET status=? WHERE institution_code=? AND setl_id=?",
               ("accepted" if overturn else "refused", a["institution_code"], a["setl_id"]))
    if overturn:
        subject = f"{a['institution_code']}/{a['setl_id']}"
        for lead in db.all("SELECT lead_id, status FROM leads WHERE subject_type='settlement' AND subject_id=?",
                           (subject,)):
            if leads.workflow().roles_for(lead["status"], "cleared") and role in leads.workflow().roles_for(
                    lead["status"], "cleared"):
                leads.transition(db, lead_id=lead["lead_id"], to="cleared", by=by, role=role, now=now,
                                 note=f"appeal {appeal_id} overturned: {note}")
    return appeal_view(db, appeal_id)
