"""Inpatient checks (Zhengzhou 2023 ch. 3): admission capture within the deadline (INP-1),
discharge registration on the day (INP-2), the daily face check (INP-3), remote bed-check items
left open (INP-4), special-registration review deadlines and violations (INP-5) and institution
targeting by indicators (INP-7, SUP-2).

Deadline rules (`runs_at: day_end` in their files) judge a deadline at the day end (日终) of the
day it falls on: their scans only look at days an institution has closed for the inpatient scene
(`day_closures`, or being closed by the running day end), when the facts can no longer change,
and skip subjects that already have a lead of the rule, so a day end and a later post-event run
over a longer period (8801) never report the same finding twice. The indicator rule
(`runs_at: period`) runs with 8801.

Every scan reads its facts for the whole window with one set-based query (joins and GROUP BY over
the closed days of the run's institutions), never one query per visit: a day end's cost in
queries does not grow with the number of patients (loadtests/bench_day_end.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime, timedelta
from typing import Any

from reference.rules.evaluators import FactView, Subject, Verdict, evaluator

SCENE = "inpatient"


def patient_day_id(institution_code: str, mdtrt_id: str, day: date | str) -> str:
    return f"{institution_code}/{mdtrt_id}/{day}"


# The closed days of a run as a SQL table: closed(institution_code, day, next_day), from a JSON
# list of [institution, day] pairs bound as the first parameter.
_CLOSED = ("closed(institution_code, day, next_day) AS (SELECT value->>0, value->>1, date(value->>1, '+1 day')"
           " FROM json_each(?))")


# Subject ids as SQL over the scans' aliases (the same strings the scans' Subjects carry).
_PATIENT_DAY = "pd.institution_code||'/'||pd.mdtrt_id||'/'||pd.day"
_ITEM = "i.task_id||'/'||i.mdtrt_id"
_REVIEW = "r.reg_id||'/{}'"


def _has_lead(rule_param: str, subject_sql: str) -> str:
    return f"EXISTS(SELECT 1 FROM leads l WHERE l.rule_id={rule_param} AND l.subject_id={subject_sql})"


class InpatientFacts(FactView):
    """Read-only queries of the inpatient tables for the evaluators, the day end and the
    indicators. The window queries return every row of the run's closed days at once."""

    # --- single facts (the live transactions) ----------------------------------------------------
    def is_closed(self, institution_code: str, day: str) -> bool:
        return self.db.scalar("SELECT 1 FROM day_closures WHERE scene=? AND institution_code=? AND day=?",
                              (SCENE, institution_code, day)) is not None

    def passed_on(self, institution_code: str, mdtrt_id: str, day: str) -> list[int]:
        """The visit's passed inpatient face checks on `day` (a range over the institution's
        verifications by time: the index face_verifications_inst)."""
        nxt = (date.fromisoformat(day) + timedelta(days=1)).isoformat()
        return [r["verification_id"] for r in self.db.all(
            "SELECT verification_id FROM face_verifications WHERE institution_code=? AND at>=? AND at<?"
            " AND mdtrt_id=? AND scene=? AND passed=1 ORDER BY verification_id",
            (institution_code, day, nxt, mdtrt_id, SCENE))]

    # --- windows (post-event scans, one query each) ---------------------------------------------
    def closed(self, start: datetime, end: datetime) -> list[tuple[str, str]]:
        return self.closed_days(SCENE, start, end)

    def closed_institutions(self, start: datetime, end: datetime) -> list[str]:
        return sorted({code for code, _ in self.closed(start, end)})

    def patient_days(self, start: datetime, end: datetime) -> list[dict[str, Any]]:
        """Every in-hospital patient-day of an equipped department on the closed days in the
        window, with its passed checks, its special registration and whether it has a daily-check
        lead — read once per run (the day end's scene hook uses the same rows)."""
        closed = self.closed(start, end)

        def read() -> list[dict[str, Any]]:
            if not closed:
                return []
            rows = self.db.all(
                f"WITH {_CLOSED},"
                " pd AS (SELECT c.institution_code, c.day, c.next_day, v.mdtrt_id, v.psn_no, v.adm_time, v.dscg_time"
                "  FROM closed c JOIN inpatient_visits v ON v.institution_code=c.institution_code"
                "  WHERE v.dept_equipped=1 AND substr(v.adm_time,1,10)<=c.day"
                "   AND (v.dscg_time IS NULL OR substr(v.dscg_time,1,10)>=c.day)),"
                " passed AS (SELECT c.institution_code, c.day, f.mdtrt_id, group_concat(f.verification_id) AS ids"
                "  FROM closed c JOIN face_verifications f ON f.institution_code=c.institution_code"
                "   AND f.at>=c.day AND f.at<c.next_day"
                "  WHERE f.scene=? AND f.passed=1 AND f.mdtrt_id IS NOT NULL GROUP BY 1, 2, 3)"
                " SELECT pd.institution_code, pd.day, pd.mdtrt_id, pd.psn_no, pd.adm_time, pd.dscg_time,"
                "  p.ids AS passed_ids, r.reg_id,"
                f"  {_has_lead('?', _PATIENT_DAY)} AS has_lead"
                " FROM pd LEFT JOIN passed p ON p.institution_code=pd.institution_code AND p.day=pd.day"
                "  AND p.mdtrt_id=pd.mdtrt_id"
                " LEFT JOIN special_registrations r ON r.scene=? AND r.institution_code=pd.institution_code"
                "  AND r.subject_type='patient_day' AND r.subject_id=pd.mdtrt_id||'/'||pd.day"
                " ORDER BY pd.day, pd.institution_code, pd.mdtrt_id",
                (json.dumps(closed), SCENE, DailyFaceCheck.rule_id, SCENE))
            for r in rows:
                ids = sorted(int(i) for i in r.pop("passed_ids").split(",")) if r["passed_ids"] else []
                r["passed_checks"] = ids
                r["has_lead"] = bool(r["has_lead"])
            return rows

        return self.memoised(("patient_days", tuple(closed)), read)

    def visits_by(self, column: str, institutions: list[str], since: str, until: str, rule_id: str
                  ) -> list[dict[str, Any]]:
        """Visits of the institutions whose `column` (adm_time or dscg_time) is in [since, until),
        with whether the visit has a lead of `rule_id`."""
        assert column in {"adm_time", "dscg_time"}
        if not institutions:
            return []
        return self.db.all(
            "SELECT v.*, " + _has_lead("?", "v.institution_code||'/'||v.mdtrt_id") + " AS has_lead"
            f" FROM inpatient_visits v WHERE v.institution_code IN (SELECT value FROM json_each(?))"
            f" AND v.{column}>=? AND v.{column}<? ORDER BY v.institution_code, v.mdtrt_id",
            (rule_id, json.dumps(institutions), since, until))

    def items_due(self, start: datetime, end: datetime) -> list[dict[str, Any]]:
        """Remote bed-check items whose task's deadline falls on a closed day of the window."""
        closed = self.closed(start, end)
        if not closed:
            return []
        return self.db.all(
            f"WITH {_CLOSED} SELECT i.*, t.deadline, t.institution_code,"
            f" {_has_lead('?', _ITEM)} AS has_lead"
            " FROM closed c JOIN bed_check_tasks t ON t.institution_code=c.institution_code"
            "  AND t.deadline>=c.day AND t.deadline<c.next_day JOIN bed_check_items i USING (task_id)"
            " ORDER BY c.day, c.institution_code, i.task_id, i.mdtrt_id",
            (json.dumps(closed), RemoteCheckExpired.rule_id))

    def reviews_due(self, start: datetime, end: datetime) -> list[dict[str, Any]]:
        """Registrations with a review deadline in the window, with when each review happened
        (the first from `submitted`, the second from `supplemented`) and their leads."""
        s, e = start.date().isoformat(), end.date().isoformat()
        clause, params = self.institution_filter("r.institution_code")

        def review_at(src: str) -> str:
            return (f"(SELECT at FROM special_registration_events e WHERE e.reg_id=r.reg_id AND e.from_status='{src}'"
                    " ORDER BY e.id DESC LIMIT 1)")

        rule = ReviewOverdue.rule_id
        return self.db.all(
            f"SELECT r.reg_id, r.institution_code, r.psn_no, r.review_due, r.review2_due,"
            f" {review_at('submitted')} AS first_at, {review_at('supplemented')} AS second_at,"
            f" {_has_lead('?', _REVIEW.format('first'))} AS first_lead,"
            f" {_has_lead('?', _REVIEW.format('second'))} AS second_lead"
            " FROM special_registrations r WHERE r.scene=?"
            f" AND ((r.review_due>=? AND r.review_due<?) OR (r.review2_due>=? AND r.review2_due<?)){clause}"
            " ORDER BY r.reg_id", (rule, rule, SCENE, s, e, s, e, *params))

    def rejected_registrations(self) -> list[dict[str, Any]]:
        """Rejected registrations (once or finally) with the time of the final rejection."""
        clause, params = self.institution_filter("r.institution_code")
        return self.db.all(
            "SELECT r.*, (SELECT at FROM special_registration_events e WHERE e.reg_id=r.reg_id"
            "  AND e.to_status='rejected_final' ORDER BY e.id LIMIT 1) AS final_at,"
            f" {_has_lead('?', 'CAST(r.reg_id AS TEXT)')} AS has_lead"
            f" FROM special_registrations r WHERE r.scene=? AND r.status IN ('rejected', 'rejected_final'){clause}"
            " ORDER BY r.reg_id", (RegistrationViolation.rule_id, SCENE, *params))


def _in(day: str, start: datetime, end: datetime) -> bool:
    return start.date().isoformat() <= day < end.date().isoformat()


def _visits_due(view: FactView, rule_id: str, start: datetime, end: datetime, params_for, column: str,
                earliest: Callable[[dict[str, Any]], datetime], due_day: Callable[[dict, dict], str]
                ) -> Iterator[dict[str, Any]]:
    """Visits of the closed institutions whose deadline falls on a closed day of the window and
    that have no lead of the rule, in one query: `column` (adm_time or dscg_time) is at least
    `earliest(params)` (the longest deadline among the institutions before the window), and
    `due_day(visit, params)` is the deadline's day."""
    iv = InpatientFacts.of(view)
    closed = set(iv.closed(start, end))
    codes = iv.closed_institutions(start, end)
    if not codes:
        return
    since = min(earliest(params_for(c)) for c in codes).isoformat(timespec="seconds")
    for v in iv.visits_by(column, codes, since, end.isoformat(timespec="seconds"), rule_id):
        day = due_day(v, params_for(v["institution_code"]))
        if _in(day, start, end) and (v["institution_code"], day) in closed and not v["has_lead"]:
            yield v


def _visit_subject(v: dict[str, Any]) -> Subject:
    return Subject("inpatient_visit", f"{v['institution_code']}/{v['mdtrt_id']}", v["institution_code"], v["psn_no"])


@evaluator("INP-ENROL-24H")
class EnrolDeadline:
    def scan(self, view: FactView, start: datetime, end: datetime, params_for) -> Iterable[tuple[Subject, dict]]:
        for v in _visits_due(view, self.rule_id, start, end, params_for, "adm_time",
                             lambda p: start - timedelta(hours=p["deadline_hours"]),
                             lambda v, p: (datetime.fromisoformat(v["adm_time"])
                                           + timedelta(hours=p["deadline_hours"])).date().isoformat()):
            yield _visit_subject(v), {"mdtrt_id": v["mdtrt_id"], "adm_time": v["adm_time"],
                                      "enrolled_at": v["enrolled_at"]}

    def decide(self, facts: dict[str, Any], params: dict[str, Any]) -> Verdict:
        deadline = datetime.fromisoformat(facts["adm_time"]) + timedelta(hours=params["deadline_hours"])
        enrolled = facts["enrolled_at"]
        if enrolled is not None and datetime.fromisoformat(enrolled) <= deadline:
            return Verdict(False)
        why = "never captured" if enrolled is None else f"captured late at {enrolled}"
        return Verdict(True, f"visit {facts['mdtrt_id']}: identity and face {why}; due within "
                             f"{params['deadline_hours']} h of admission ({facts['adm_time']})",
                       evidence=[{"kind": "inpatient_visit", "id": facts["mdtrt_id"]}])


@evaluator("INP-DISCHARGE-SAME-DAY")
class DischargeSameDay:
    def scan(self, view: FactView, start: datetime, end: datetime, params_for) -> Iterable[tuple[Subject, dict]]:
        for v in _visits_due(view, self.rule_id, start, end, params_for, "dscg_time",
                             lambda p: start - timedelta(days=p["grace_days"]),
                             lambda v, p: (date.fromisoformat(v["dscg_time"][:10])
                                           + timedelta(days=p["grace_days"])).isoformat()):
            yield _visit_subject(v), {"mdtrt_id": v["mdtrt_id"], "dscg_time": v["dscg_time"],
                                      "dscg_registered_at": v["dscg_registered_at"],
                                      "verification_id": v["dscg_verification_id"]}

    def decide(self, facts: dict[str, Any], params: dict[str, Any]) -> Verdict:
        last = date.fromisoformat(facts["dscg_time"][:10]) + timedelta(days=params["grace_days"])
        reg = facts["dscg_registered_at"]
        if reg is not None and date.fromisoformat(reg[:10]) <= last:
            return Verdict(False)
        why = "never discharge-registered" if reg is None else f"discharge-registered late at {reg}"
        return Verdict(True, f"visit {facts['mdtrt_id']} discharged {facts['dscg_time']}: {why}",
                       evidence=[{"kind": "inpatient_visit", "id": facts["mdtrt_id"]}])


def daily_check_facts(row: dict[str, Any]) -> dict[str, Any]:
    """The facts of one patient-day (a row of `InpatientFacts.patient_days`)."""
    return {"mdtrt_id": row["mdtrt_id"], "psn_no": row["psn_no"], "day": row["day"],
            "admission_day": row["adm_time"][:10] == row["day"],
            "discharge_day": (row["dscg_time"] or "")[:10] == row["day"],
            "passed_checks": row["passed_checks"], "special_registration": row["reg_id"]}


def daily_check_due(facts: dict[str, Any], params: dict[str, Any]) -> bool:
    """Whether the patient-day needs a daily check at all (the discharge day never does)."""
    if facts["discharge_day"]:
        return False
    return not facts["admission_day"] or params["include_admission_day"]


def daily_status(facts: dict[str, Any], params: dict[str, Any]) -> str | None:
    """A patient-day's status at its day end (None: not due): compliant, excused or finding."""
    if not daily_check_due(facts, params):
        return None
    if len(facts["passed_checks"]) >= params["min_passed_checks"]:
        return "compliant"
    return "excused" if facts["special_registration"] is not None else "finding"


@evaluator("INP-DAILY-FACE-CHECK")
class DailyFaceCheck:
    def scan(self, view: FactView, start: datetime, end: datetime, params_for) -> Iterable[tuple[Subject, dict]]:
        for row in InpatientFacts.of(view).patient_days(start, end):
            if row["has_lead"]:
                continue
            yield (Subject("patient_day", patient_day_id(row["institution_code"], row["mdtrt_id"], row["day"]),
                           row["institution_code"], row["psn_no"]), daily_check_facts(row))

    def decide(self, facts: dict[str, Any], params: dict[str, Any]) -> Verdict:
        if daily_status(facts, params) != "finding":
            return Verdict(False)
        n = len(facts["passed_checks"])
        return Verdict(True, f"{facts['psn_no']} (visit {facts['mdtrt_id']}) passed {n} face check(s) on "
                             f"{facts['day']}, {params['min_passed_checks']} required, and has no special "
                             "registration",
                       evidence=[{"kind": "inpatient_visit", "id": facts["mdtrt_id"]},
                                 *({"kind": "face_verification", "id": i} for i in facts["passed_checks"])])


@evaluator("INP-REMOTE-CHECK-EXPIRED")
class RemoteCheckExpired:
    def scan(self, view: FactView, start: datetime, end: datetime, params_for) -> Iterable[tuple[Subject, dict]]:
        for item in InpatientFacts.of(view).items_due(start, end):
            if item["has_lead"]:
                continue
            yield Subject("bed_check_item", f"{item['task_id']}/{item['mdtrt_id']}", item["institution_code"],
                          item["psn_no"]), {
                "task_id": item["task_id"], "mdtrt_id": item["mdtrt_id"], "psn_no": item["psn_no"],
                "deadline": item["deadline"], "status": item["status"], "attempts": item["attempts"],
                "special_registration": item["reg_id"]}

    def decide(self, facts: dict[str, Any], params: dict[str, Any]) -> Verdict:
        if facts["status"] != "pending":
            return Verdict(False)
        return Verdict(True, f"remote bed check {facts['task_id']}: {facts['psn_no']} (visit {facts['mdtrt_id']}) "
                             f"not verified by the deadline {facts['deadline']} ({facts['attempts']} failed "
                             "attempt(s)) and not special-registered",
                       evidence=[{"kind": "bed_check_task", "id": facts["task_id"]},
                                 {"kind": "inpatient_visit", "id": facts["mdtrt_id"]}])


@evaluator("INP-SR-REVIEW-OVERDUE")
class ReviewOverdue:
    def scan(self, view: FactView, start: datetime, end: datetime, params_for) -> Iterable[tuple[Subject, dict]]:
        iv = InpatientFacts.of(view)
        closed = set(iv.closed(start, end))
        for reg in iv.reviews_due(start, end):
            for rnd, due in (("first", reg["review_due"]), ("second", reg["review2_due"])):
                if due is None or not _in(due, start, end) or (reg["institution_code"], due) not in closed \
                        or reg[f"{rnd}_lead"]:
                    continue
                yield Subject("special_registration_review", f"{reg['reg_id']}/{rnd}", reg["institution_code"],
                              reg["psn_no"]), {"reg_id": reg["reg_id"], "round": rnd, "due": due,
                                               "reviewed_at": reg[f"{rnd}_at"]}

    def decide(self, facts: dict[str, Any], params: dict[str, Any]) -> Verdict:
        done = facts["reviewed_at"]
        if done is not None and done[:10] <= facts["due"]:
            return Verdict(False)
        why = "still open" if done is None else f"done late at {done}"
        return Verdict(True, f"special registration {facts['reg_id']}: {facts['round']} review due by "
                             f"{facts['due']} ({params['review_days']} days) {why}",
                       evidence=[{"kind": "special_registration", "id": facts["reg_id"]}])


@evaluator("INP-SR-VIOLATION")
class RegistrationViolation:
    def scan(self, view: FactView, start: datetime, end: datetime, params_for) -> Iterable[tuple[Subject, dict]]:
        iv = InpatientFacts.of(view)
        closed = set(iv.closed(start, end))
        for reg in iv.rejected_registrations():
            final_at = reg["final_at"]
            if final_at is not None:
                when = final_at[:10]
            elif reg["supplement_due"] and (reg["institution_code"], reg["supplement_due"]) in closed:
                when = reg["supplement_due"]
            else:
                continue
            if not _in(when, start, end) or reg["has_lead"]:
                continue
            yield Subject("special_registration", str(reg["reg_id"]), reg["institution_code"], reg["psn_no"]), {
                "reg_id": reg["reg_id"], "status": reg["status"], "reason": reg["reason"],
                "subject": f"{reg['subject_type']} {reg['subject_id']}", "supplement_due": reg["supplement_due"],
                "rejected_final_at": final_at}

    def decide(self, facts: dict[str, Any], params: dict[str, Any]) -> Verdict:
        if facts["status"] == "rejected_final":
            why = f"rejected again on review at {facts['rejected_final_at']}"
        elif facts["status"] == "rejected" and params["count_unsupplemented"]:
            why = f"rejected and not supplemented by {facts['supplement_due']}"
        else:
            return Verdict(False)
        return Verdict(True, f"special registration {facts['reg_id']} ({facts['reason']}, {facts['subject']}) "
                             f"{why}: a violation", evidence=[{"kind": "special_registration", "id": facts["reg_id"]}])


def score(facts: dict[str, Any], params: dict[str, Any]) -> tuple[float, dict[str, float | None]]:
    """The targeting score (INP-LOW-COMPLIANCE) from raw counts; each term is in [0, 1] and a rate
    with nothing to count contributes 0."""

    def rate(num: int, den: int) -> float | None:
        return None if den == 0 else num / den

    rates = {"daily_check_rate": rate(facts["daily_compliant"], facts["daily_due"]),
             "remote_check_rate": rate(facts["remote_passed"], facts["remote_due"]),
             "special_registration_rate": rate(facts["special_registrations"],
                                               facts["daily_due"] + facts["remote_due"]),
             "rejection_rate": rate(facts["rejected"], facts["reviewed"])}
    terms = [(params["weight_daily_shortfall"], None if rates["daily_check_rate"] is None
              else 1 - rates["daily_check_rate"]),
             (params["weight_remote_shortfall"], None if rates["remote_check_rate"] is None
              else 1 - rates["remote_check_rate"]),
             (params["weight_special_registration"], rates["special_registration_rate"]),
             (params["weight_rejection"], rates["rejection_rate"])]
    total = sum(w * t for w, t in terms if t is not None)
    return round(total, 6), {k: None if v is None else round(v, 6) for k, v in rates.items()}


@evaluator("INP-LOW-COMPLIANCE")
class LowCompliance:
    def scan(self, view: FactView, start: datetime, end: datetime, params_for) -> Iterable[tuple[Subject, dict]]:
        from reference.services.inpatient_indicators import counts

        for row in counts(view.db, start.date(), end.date() - timedelta(days=1), view.institutions):
            yield Subject("institution", row["institution_code"], row["institution_code"]), row

    def decide(self, facts: dict[str, Any], params: dict[str, Any]) -> Verdict:
        if facts["daily_due"] < params["min_patient_days"]:
            return Verdict(False)
        s, rates = score(facts, params)
        if s < params["threshold"]:
            return Verdict(False)
        shown = ", ".join(f"{k} {v:.2f}" for k, v in rates.items() if v is not None)
        return Verdict(True, f"institution {facts['institution_code']}: targeting score {s:.3f} ≥ "
                             f"{params['threshold']:g} ({shown}); schedule more remote checks and an on-site "
                             "inspection", evidence=[{"kind": "institution", "id": facts["institution_code"]}])
