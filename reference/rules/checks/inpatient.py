"""Inpatient checks (Zhengzhou 2023 ch. 3): admission capture within the deadline (INP-1),
discharge registration on the day (INP-2), the daily face check (INP-3), remote bed-check items
left open (INP-4), special-registration review deadlines and violations (INP-5) and institution
targeting by indicators (INP-7, SUP-2).

Deadline rules judge a deadline at the day end (日终) of the day it falls on: their scans only
look at days an institution has closed (`inpatient_day_closures`), when the facts can no longer
change, and skip subjects that already have a lead of the rule, so a day end and a later
post-event run over a longer period (7201) never report the same finding twice. Evaluators with
`at_day_end = True` run at the day end (transaction 3009); the indicator rule runs with 7201.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date, datetime, timedelta
from typing import Any

from reference.rules.evaluators import FactView, Subject, Verdict, evaluator


def _days(start: datetime, end: datetime) -> Iterator[date]:
    d = start.date()
    while datetime.combine(d, datetime.min.time(), start.tzinfo) < end:
        yield d
        d += timedelta(days=1)


def patient_day_id(institution_code: str, mdtrt_id: str, day: date | str) -> str:
    return f"{institution_code}/{mdtrt_id}/{day}"


class InpatientFacts(FactView):
    """Read-only queries of the inpatient tables for the evaluators and the indicators."""

    def closed_days(self, start: datetime, end: datetime) -> list[tuple[str, str]]:
        return [(r["institution_code"], r["day"]) for r in self.db.all(
            "SELECT institution_code, day FROM inpatient_day_closures WHERE day>=? AND day<? ORDER BY day,"
            " institution_code", (start.date().isoformat(), end.date().isoformat()))]

    def is_closed(self, institution_code: str, day: str) -> bool:
        return self.db.scalar("SELECT 1 FROM inpatient_day_closures WHERE institution_code=? AND day=?",
                              (institution_code, day)) is not None

    def has_lead(self, rule_id: str, subject_id: str) -> bool:
        return self.db.scalar("SELECT 1 FROM leads WHERE rule_id=? AND subject_id=? LIMIT 1",
                              (rule_id, subject_id)) is not None

    def visits_in_hospital_on(self, institution_code: str, day: str, *, equipped_only: bool) -> list[dict]:
        """Visits admitted on or before `day` and not discharged before the end of it."""
        sql = ("SELECT * FROM inpatient_visits WHERE institution_code=? AND substr(adm_time,1,10)<=?"
               " AND (dscg_time IS NULL OR substr(dscg_time,1,10)>=?)")
        if equipped_only:
            sql += " AND dept_equipped=1"
        return self.db.all(sql + " ORDER BY mdtrt_id", (institution_code, day, day))

    def passed_on(self, institution_code: str, mdtrt_id: str, day: str) -> list[int]:
        return [r["verification_id"] for r in self.db.all(
            "SELECT verification_id FROM face_verifications WHERE institution_code=? AND mdtrt_id=?"
            " AND scene='inpatient' AND passed=1 AND substr(at,1,10)=? ORDER BY verification_id",
            (institution_code, mdtrt_id, day))]

    def registration_for(self, institution_code: str, subject_type: str, subject_id: str) -> dict | None:
        return self.db.one("SELECT reg_id, status FROM special_registrations WHERE scene='inpatient'"
                           " AND institution_code=? AND subject_type=? AND subject_id=?",
                           (institution_code, subject_type, subject_id))

    def visits_all(self) -> list[dict]:
        return self.db.all("SELECT * FROM inpatient_visits ORDER BY institution_code, mdtrt_id")

    def items_due(self, institution_code: str, day: str) -> list[dict]:
        return self.db.all(
            "SELECT i.*, t.deadline, t.institution_code FROM bed_check_items i JOIN bed_check_tasks t USING (task_id)"
            " WHERE t.institution_code=? AND substr(t.deadline,1,10)=? ORDER BY i.task_id, i.mdtrt_id",
            (institution_code, day))

    def registrations(self, where: str, params: tuple) -> list[dict]:
        return self.db.all(f"SELECT * FROM special_registrations WHERE scene='inpatient' AND {where}"
                           " ORDER BY reg_id", params)

    def review_times(self, reg_id: int) -> dict[str, str | None]:
        """When the first review (from submitted) and the second (from supplemented) happened."""
        out: dict[str, str | None] = {"first": None, "second": None}
        for e in self.db.all("SELECT from_status, at FROM special_registration_events WHERE reg_id=?"
                             " ORDER BY id", (reg_id,)):
            if e["from_status"] == "submitted":
                out["first"] = e["at"]
            elif e["from_status"] == "supplemented":
                out["second"] = e["at"]
        return out

    def final_rejection_at(self, reg_id: int) -> str | None:
        return self.db.scalar("SELECT at FROM special_registration_events WHERE reg_id=? AND to_status="
                              "'rejected_final'", (reg_id,))


def _facts_view(view: FactView) -> InpatientFacts:
    return view if isinstance(view, InpatientFacts) else InpatientFacts(view.db)


def _evidence_visit(v: dict) -> dict[str, Any]:
    return {"kind": "inpatient_visit", "id": f"{v['institution_code']}/{v['mdtrt_id']}"}


@evaluator("INP-ENROL-24H")
class EnrolDeadline:
    at_day_end = True

    def scan(self, view: FactView, start: datetime, end: datetime, params_for) -> Iterable[tuple[Subject, dict]]:
        iv = _facts_view(view)
        for v in iv.visits_all():
            hours = params_for(v["institution_code"])["deadline_hours"]
            deadline = datetime.fromisoformat(v["adm_time"]) + timedelta(hours=hours)
            day = deadline.date().isoformat()
            subject_id = f"{v['institution_code']}/{v['mdtrt_id']}"
            if not (start.date().isoformat() <= day < end.date().isoformat()) or not iv.is_closed(
                    v["institution_code"], day) or iv.has_lead(self.rule_id, subject_id):
                continue
            yield Subject("inpatient_visit", subject_id, v["institution_code"], v["psn_no"]), {
                "mdtrt_id": v["mdtrt_id"], "adm_time": v["adm_time"], "enrolled_at": v["enrolled_at"]}

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
    at_day_end = True

    def scan(self, view: FactView, start: datetime, end: datetime, params_for) -> Iterable[tuple[Subject, dict]]:
        iv = _facts_view(view)
        for v in iv.visits_all():
            if v["dscg_time"] is None:
                continue
            grace = params_for(v["institution_code"])["grace_days"]
            day = (date.fromisoformat(v["dscg_time"][:10]) + timedelta(days=grace)).isoformat()
            subject_id = f"{v['institution_code']}/{v['mdtrt_id']}"
            if not (start.date().isoformat() <= day < end.date().isoformat()) or not iv.is_closed(
                    v["institution_code"], day) or iv.has_lead(self.rule_id, subject_id):
                continue
            yield Subject("inpatient_visit", subject_id, v["institution_code"], v["psn_no"]), {
                "mdtrt_id": v["mdtrt_id"], "dscg_time": v["dscg_time"],
                "dscg_registered_at": v["dscg_registered_at"], "verification_id": v["dscg_verification_id"]}

    def decide(self, facts: dict[str, Any], params: dict[str, Any]) -> Verdict:
        last = date.fromisoformat(facts["dscg_time"][:10]) + timedelta(days=params["grace_days"])
        reg = facts["dscg_registered_at"]
        if reg is not None and date.fromisoformat(reg[:10]) <= last:
            return Verdict(False)
        why = "never discharge-registered" if reg is None else f"discharge-registered late at {reg}"
        return Verdict(True, f"visit {facts['mdtrt_id']} discharged {facts['dscg_time']}: {why}",
                       evidence=[{"kind": "inpatient_visit", "id": facts["mdtrt_id"]}])


def daily_check_facts(iv: InpatientFacts, v: dict, day: str) -> dict[str, Any]:
    reg = iv.registration_for(v["institution_code"], "patient_day", f"{v['mdtrt_id']}/{day}")
    return {"mdtrt_id": v["mdtrt_id"], "psn_no": v["psn_no"], "day": day,
            "admission_day": v["adm_time"][:10] == day, "discharge_day": (v["dscg_time"] or "")[:10] == day,
            "passed_checks": iv.passed_on(v["institution_code"], v["mdtrt_id"], day),
            "special_registration": reg["reg_id"] if reg else None}


def daily_check_due(facts: dict[str, Any], params: dict[str, Any]) -> bool:
    """Whether the patient-day needs a daily check at all (the discharge day never does)."""
    if facts["discharge_day"]:
        return False
    return not facts["admission_day"] or params["include_admission_day"]


@evaluator("INP-DAILY-FACE-CHECK")
class DailyFaceCheck:
    at_day_end = True

    def scan(self, view: FactView, start: datetime, end: datetime, params_for) -> Iterable[tuple[Subject, dict]]:
        iv = _facts_view(view)
        for inst, day in iv.closed_days(start, end):
            for v in iv.visits_in_hospital_on(inst, day, equipped_only=True):
                subject_id = patient_day_id(inst, v["mdtrt_id"], day)
                if iv.has_lead(self.rule_id, subject_id):
                    continue
                yield Subject("patient_day", subject_id, inst, v["psn_no"]), daily_check_facts(iv, v, day)

    def decide(self, facts: dict[str, Any], params: dict[str, Any]) -> Verdict:
        if not daily_check_due(facts, params):
            return Verdict(False)
        n = len(facts["passed_checks"])
        if n >= params["min_passed_checks"] or facts["special_registration"] is not None:
            return Verdict(False)
        return Verdict(True, f"{facts['psn_no']} (visit {facts['mdtrt_id']}) passed {n} face check(s) on "
                             f"{facts['day']}, {params['min_passed_checks']} required, and has no special "
                             "registration",
                       evidence=[{"kind": "inpatient_visit", "id": facts["mdtrt_id"]},
                                 *({"kind": "face_verification", "id": i} for i in facts["passed_checks"])])


@evaluator("INP-REMOTE-CHECK-EXPIRED")
class RemoteCheckExpired:
    at_day_end = True

    def scan(self, view: FactView, start: datetime, end: datetime, params_for) -> Iterable[tuple[Subject, dict]]:
        iv = _facts_view(view)
        for inst, day in iv.closed_days(start, end):
            for item in iv.items_due(inst, day):
                subject_id = f"{item['task_id']}/{item['mdtrt_id']}"
                if iv.has_lead(self.rule_id, subject_id):
                    continue
                yield Subject("bed_check_item", subject_id, inst, item["psn_no"]), {
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
    at_day_end = True

    def scan(self, view: FactView, start: datetime, end: datetime, params_for) -> Iterable[tuple[Subject, dict]]:
        iv = _facts_view(view)
        s, e = start.date().isoformat(), end.date().isoformat()
        for reg in iv.registrations("((review_due>=? AND review_due<?) OR (review2_due>=? AND review2_due<?))",
                                    (s, e, s, e)):
            times = iv.review_times(reg["reg_id"])
            for rnd, due in (("first", reg["review_due"]), ("second", reg["review2_due"])):
                subject_id = f"{reg['reg_id']}/{rnd}"
                if due is None or not (s <= due < e) or not iv.is_closed(reg["institution_code"], due) \
                        or iv.has_lead(self.rule_id, subject_id):
                    continue
                yield Subject("special_registration_review", subject_id, reg["institution_code"], reg["psn_no"]), {
                    "reg_id": reg["reg_id"], "round": rnd, "due": due, "reviewed_at": times[rnd]}

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
    at_day_end = True

    def scan(self, view: FactView, start: datetime, end: datetime, params_for) -> Iterable[tuple[Subject, dict]]:
        iv = _facts_view(view)
        s, e = start.date().isoformat(), end.date().isoformat()
        for reg in iv.registrations("status IN ('rejected', 'rejected_final')", ()):
            subject_id = str(reg["reg_id"])
            final_at = iv.final_rejection_at(reg["reg_id"])
            if final_at is not None:
                when = final_at[:10]
            elif reg["supplement_due"] and iv.is_closed(reg["institution_code"], reg["supplement_due"]):
                when = reg["supplement_due"]
            else:
                continue
            if not (s <= when < e) or iv.has_lead(self.rule_id, subject_id):
                continue
            yield Subject("special_registration", subject_id, reg["institution_code"], reg["psn_no"]), {
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
    at_day_end = False

    def scan(self, view: FactView, start: datetime, end: datetime, params_for) -> Iterable[tuple[Subject, dict]]:
        from reference.services.inpatient_indicators import counts

        for row in counts(view.db, start.date(), end.date() - timedelta(days=1), None):
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
