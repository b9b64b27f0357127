"""The inpatient scene (住院场景, Zhengzhou 2023 ch. 3): visits, the day end and remote bed checks.

- A visit (就诊) is uploaded by the HIS at admission with the department, bed, whether the
  department has monitoring equipment, and the patient's consent to face recognition and video
  monitoring (GEN-4). A terminal captures identity and face within the deadline (INP-1) and
  discharge-registers the patient on the discharge day (INP-2).
- Every in-hospital patient of an equipped department passes a face check each day (INP-3); a
  day end (日终), run by the bureau on business time for a day that has ended, closes the day:
  the rules judge it, findings become leads (INP-8), and each due patient-day gets exactly one
  status — compliant, excused (special registration) or finding.
- Remote bed checks (远程查床, INP-4): the bureau lists in-hospital patients with a deadline;
  terminals verify them against the task; items left open at the deadline are findings.

Deadlines and thresholds are parameters of the inpatient rules (interface_spec/rules/rules/INP-*),
resolved for the institution from the rule release in force.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from typing import Any

from pydantic import Field

from reference.clock import CST
from reference.envelope import Model
from reference.errors import Conflict, InvalidField, InvalidState, NotFound
from reference.fields import BizDate, RowId, VisitId
from reference.rules.checks.inpatient import InpatientFacts, daily_check_facts, daily_status, patient_day_id
from reference.rules.params import rule_params
from reference.scope import Scope
from reference.services import day_end
from reference.services import special_registration as sr
from reference.store import Db, equal_filters

DAILY_RULE = "INP-DAILY-FACE-CHECK"


def iso(t: datetime) -> str:
    return t.astimezone(CST).isoformat(timespec="seconds")


# --- visits ----------------------------------------------------------------------------------------
def visit(db: Db, institution_code: str, mdtrt_id: str, field: str = "input.mdtrt_id") -> dict[str, Any]:
    row = db.one("SELECT * FROM inpatient_visits WHERE institution_code=? AND mdtrt_id=?",
                 (institution_code, mdtrt_id))
    if row is None:
        raise NotFound(f"no inpatient visit {mdtrt_id} at institution {institution_code}", field=field)
    return row


def require_in_hospital(v: dict[str, Any], what: str, field: str = "input.mdtrt_id") -> None:
    """Face checks of a discharged patient are refused (3004) — the visit is over."""
    if v["status"] == "discharged":
        raise InvalidState(f"{v['psn_no']} was discharged at {v['dscg_time']} (visit {v['mdtrt_id']}); "
                           f"{what} is refused for a discharged patient", field=field)


def admit(db: Db, *, institution_code: str, mdtrt_id: str, psn_no: str, dept_code: str, dept_name: str,
          ward: str | None, bed_no: str, dept_equipped: bool, adm_time: datetime, consent: dict[str, Any],
          by: str, now: datetime) -> dict[str, Any]:
    if adm_time > now:
        raise InvalidField("the admission time is in the future (business time)", field="input.adm_time")
    if db.one("SELECT 1 FROM inpatient_visits WHERE institution_code=? AND mdtrt_id=?", (institution_code, mdtrt_id)):
        raise Conflict(f"visit {mdtrt_id} is already admitted", field="input.mdtrt_id")
    open_visit = db.one("SELECT mdtrt_id, institution_code FROM inpatient_visits WHERE psn_no=? AND status="
                        "'in_hospital'", (psn_no,))
    if open_visit:
        # Another institution's visit id is not ours to disclose (GEN-1): name it only when it is ours.
        where = (f"here (visit {open_visit['mdtrt_id']})" if open_visit["institution_code"] == institution_code
                 else "at another institution")
        raise Conflict(f"{psn_no} is in hospital already {where}; a patient is discharged before a new admission",
                       field="input.psn_no")
    at = iso(now)
    db.execute(
        "INSERT INTO inpatient_visits(institution_code, mdtrt_id, psn_no, dept_code, dept_name, ward, bed_no,"
        " dept_equipped, adm_time, consent_face, consent_video, consent_signed_at, consent_doc_no, status,"
        " created_by, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,'in_hospital',?,?,?)",
        (institution_code, mdtrt_id, psn_no, dept_code, dept_name, ward, bed_no, int(dept_equipped), iso(adm_time),
         int(consent["face_recognition"]), int(consent["video_monitoring"]), iso(consent["signed_at"]),
         consent.get("document_no"), by, at, at))
    return visit(db, institution_code, mdtrt_id)


def record_enrolment(db: Db, v: dict[str, Any], *, terminal_id: str | None, template_id: int,
                     now: datetime) -> dict[str, Any]:
    if v["enrolled_at"] is not None:
        raise Conflict(f"identity and face of visit {v['mdtrt_id']} were captured at {v['enrolled_at']}",
                       field="input.mdtrt_id")
    hours = rule_params(db, "INP-ENROL-24H", v["institution_code"], now)["deadline_hours"]
    late = now > datetime.fromisoformat(v["adm_time"]) + timedelta(hours=hours)
    db.execute("UPDATE inpatient_visits SET enrolled_at=?, enrol_terminal_id=?, enrol_template_id=?,"
               " enrolled_late=?, updated_at=? WHERE institution_code=? AND mdtrt_id=?",
               (iso(now), terminal_id, template_id, int(late), iso(now), v["institution_code"], v["mdtrt_id"]))
    return visit(db, v["institution_code"], v["mdtrt_id"])


def discharge(db: Db, *, institution_code: str, mdtrt_id: str, dscg_time: datetime, now: datetime) -> dict:
    v = visit(db, institution_code, mdtrt_id)
    require_in_hospital(v, "a second discharge")
    if dscg_time > now:
        raise InvalidField("the discharge time is in the future (business time)", field="input.dscg_time")
    if iso(dscg_time) < v["adm_time"]:
        raise InvalidField("the discharge time is before the admission time", field="input.dscg_time")
    db.execute("UPDATE inpatient_visits SET dscg_time=?, status='discharged', updated_at=? WHERE"
               " institution_code=? AND mdtrt_id=?", (iso(dscg_time), iso(now), institution_code, mdtrt_id))
    return visit(db, institution_code, mdtrt_id)


def require_discharged(v: dict[str, Any]) -> None:
    if v["status"] != "discharged":
        raise InvalidState(f"visit {v['mdtrt_id']} has no discharge yet; the HIS uploads it first (3003)",
                           field="input.mdtrt_id")


def record_discharge_registration(db: Db, v: dict[str, Any], verification_id: int, now: datetime) -> dict:
    require_discharged(v)
    if v["dscg_registered_at"] is not None:
        raise Conflict(f"visit {v['mdtrt_id']} was discharge-registered at {v['dscg_registered_at']}",
                       field="input.mdtrt_id")
    db.execute("UPDATE inpatient_visits SET dscg_registered_at=?, dscg_verification_id=?, updated_at=? WHERE"
               " institution_code=? AND mdtrt_id=?", (iso(now), verification_id, iso(now), v["institution_code"],
                                                       v["mdtrt_id"]))
    return visit(db, v["institution_code"], v["mdtrt_id"])


def checks_today(db: Db, v: dict[str, Any], now: datetime) -> int:
    return len(InpatientFacts(db).passed_on(v["institution_code"], v["mdtrt_id"], now.date().isoformat()))


def institutions_with_visits(db: Db, scope: Scope, day: date) -> list[str]:
    """The institutions in scope that had an inpatient admitted on or before `day`."""
    clause, params = scope.where_institution("institution_code")
    return [r["code"] for r in db.all(
        f"SELECT DISTINCT institution_code AS code FROM inpatient_visits WHERE substr(adm_time,1,10)<=?{clause}"
        " ORDER BY code", [day.isoformat(), *params])]


def list_visits(db: Db, institution_code: str, *, status: str | None, mdtrt_id: str | None,
                limit: int) -> list[dict[str, Any]]:
    where, params = equal_filters(status=status or None, mdtrt_id=mdtrt_id or None)
    return db.all(f"SELECT * FROM inpatient_visits WHERE institution_code=?{where} ORDER BY adm_time, mdtrt_id"
                  " LIMIT ?", [institution_code, *params, limit])


# --- day end (reference.services.day_end) -----------------------------------------------------
def _patient_day_results(w: day_end.Window) -> list[dict[str, Any]]:
    """Each due patient-day of the closed institutions with its status (INP-3): compliant with
    enough passed checks, excused with a special registration, otherwise a finding — the same
    facts and parameters rule INP-DAILY-FACE-CHECK judges, read once for both."""
    rule = w.rules.rules.get(DAILY_RULE)
    if rule is None or not rule.enabled:
        return []
    params_for = w.params_for(rule)
    out = []
    for row in InpatientFacts.of(w.view).patient_days(w.start, w.end):
        code = row["institution_code"]
        if code not in w.institutions:
            continue
        facts = daily_check_facts(row)
        status = daily_status(facts, params_for(code))
        if status is None:
            continue
        out.append({"fixmedins_code": code, "mdtrt_id": row["mdtrt_id"], "day": row["day"], "psn_no": row["psn_no"],
                    "status": status, "passed_checks": len(facts["passed_checks"]),
                    "reg_id": facts["special_registration"],
                    "subject_id": patient_day_id(code, row["mdtrt_id"], row["day"])})
    return out


def _record_patient_days(db: Db, rows: list[dict[str, Any]], lead_ids: dict[tuple[str, str], int]
                         ) -> list[dict[str, Any]]:
    """Write the patient-days' statuses (one statement for all) with the lead of each finding."""
    out = [{**{k: v for k, v in r.items() if k != "subject_id"},
            "lead_id": lead_ids.get((DAILY_RULE, r["subject_id"]))} for r in rows]
    db.execute(
        "INSERT INTO inpatient_patient_days(institution_code, mdtrt_id, day, psn_no, status, passed_checks, reg_id,"
        " lead_id) SELECT value->>'fixmedins_code', value->>'mdtrt_id', value->>'day', value->>'psn_no',"
        " value->>'status', value->>'passed_checks', value->>'reg_id', value->>'lead_id' FROM json_each(?)",
        (json.dumps(out),))
    return out


DAY_END = day_end.register(day_end.SceneDayEnd(
    scene="inpatient", candidates=institutions_with_visits, results=_patient_day_results,
    record=_record_patient_days,
    counters=("inpatient_visits", "special_registrations", "bed_check_tasks", "bed_check_items"),
    logs=("face_verifications", "special_registration_events")))


# --- remote bed checks -----------------------------------------------------------------------------
def issue_task(db: Db, *, institution_code: str, deadline: datetime, selection: str, mdtrt_ids: list[str],
               ward: str | None, note: str | None, by: str, now: datetime) -> int:
    params = rule_params(db, "INP-REMOTE-CHECK-EXPIRED", institution_code, now)
    if deadline < now + timedelta(minutes=params["min_deadline_minutes"]):
        raise InvalidField(f"the deadline must be at least {params['min_deadline_minutes']} minutes away "
                           "(rule INP-REMOTE-CHECK-EXPIRED)", field="input.deadline")
    if deadline > now + timedelta(hours=params["max_deadline_hours"]):
        raise InvalidField(f"the deadline may be at most {params['max_deadline_hours']} hours away "
                           "(rule INP-REMOTE-CHECK-EXPIRED)", field="input.deadline")
    in_hospital = {v["mdtrt_id"]: v for v in db.all(
        "SELECT * FROM inpatient_visits WHERE institution_code=? AND status='in_hospital'", (institution_code,))}
    if selection == "patients":
        if not mdtrt_ids:
            raise InvalidField("list the visits to check", field="input.mdtrt_ids")
        if len(set(mdtrt_ids)) != len(mdtrt_ids):
            raise InvalidField("a visit is listed twice", field="input.mdtrt_ids")
        for i, m in enumerate(mdtrt_ids):
            if m not in in_hospital:
                raise InvalidState(f"visit {m} is not an in-hospital patient of {institution_code}",
                                   field=f"input.mdtrt_ids.{i}")
        chosen = [in_hospital[m] for m in mdtrt_ids]
    elif mdtrt_ids:
        raise InvalidField(f"selection {selection} takes no visit list", field="input.mdtrt_ids")
    elif selection == "ward":
        if not ward:
            raise InvalidField("name the ward", field="input.ward")
        chosen = [v for v in in_hospital.values() if v["ward"] == ward]
    else:
        chosen = list(in_hospital.values())
    if not chosen:
        raise InvalidState(f"no in-hospital patient of {institution_code} matches the selection",
                           field="input.selection")
    task_id = db.insert("INSERT INTO bed_check_tasks(institution_code, selection, ward, note, deadline, issued_by,"
                        " issued_at) VALUES (?,?,?,?,?,?,?)",
                        (institution_code, selection, ward, note, iso(deadline), by, iso(now)))
    for v in sorted(chosen, key=lambda v: v["mdtrt_id"]):
        db.execute("INSERT INTO bed_check_items(task_id, mdtrt_id, psn_no, bed_no, status) VALUES (?,?,?,?,"
                   "'pending')", (task_id, v["mdtrt_id"], v["psn_no"], v["bed_no"]))
    return task_id


def task(db: Db, task_id: int, now: datetime, field: str = "input.task_id", scope: Scope | None = None
         ) -> dict[str, Any]:
    """The task with its items' statuses at `now`; one outside `scope` does not exist."""
    clause, params = scope.where_institution("institution_code") if scope else ("", [])
    t = db.one(f"SELECT * FROM bed_check_tasks WHERE task_id=?{clause}", (task_id, *params))
    if t is None:
        raise NotFound(f"no remote bed-check task {task_id}", field=field)
    expired = iso(now) > t["deadline"]
    items = db.all("SELECT * FROM bed_check_items WHERE task_id=? ORDER BY mdtrt_id", (task_id,))
    for i in items:
        if i["status"] == "pending" and expired:
            i["status"] = "expired"
    done = sum(i["status"] == "passed" for i in items)
    t["items"] = items
    t["expired"] = expired
    t["completion"] = round(done / len(items), 6) if items else 0.0
    t["open_items"] = sum(i["status"] == "pending" for i in items)
    return t


def open_task_item(db: Db, task_id: int, v: dict[str, Any], now: datetime, field: str = "input.task_id"
                   ) -> dict[str, Any]:
    """The task's item for this visit, if the task may still be acted on."""
    t = db.one("SELECT * FROM bed_check_tasks WHERE task_id=? AND institution_code=?",
               (task_id, v["institution_code"]))
    if t is None:
        raise NotFound(f"no remote bed-check task {task_id}", field=field)
    item = db.one("SELECT * FROM bed_check_items WHERE task_id=? AND mdtrt_id=?", (task_id, v["mdtrt_id"]))
    if item is None:
        raise NotFound(f"task {task_id} does not list visit {v['mdtrt_id']}", field=field)
    if iso(now) > t["deadline"]:
        raise InvalidState(f"task {task_id} expired at {t['deadline']}; it can no longer be acted on", field=field)
    return item


def task_item_status(db: Db, task_id: int, mdtrt_id: str) -> str | None:
    return db.scalar("SELECT status FROM bed_check_items WHERE task_id=? AND mdtrt_id=?", (task_id, mdtrt_id))


def record_task_attempt(db: Db, task_id: int, mdtrt_id: str, *, passed: bool, verification_id: int,
                        now: datetime) -> None:
    if passed:
        db.execute("UPDATE bed_check_items SET attempts=attempts+1, status='passed', verification_id=?, done_at=?"
                   " WHERE task_id=? AND mdtrt_id=? AND status='pending'",
                   (verification_id, iso(now), task_id, mdtrt_id))
    else:
        db.execute("UPDATE bed_check_items SET attempts=attempts+1 WHERE task_id=? AND mdtrt_id=?",
                   (task_id, mdtrt_id))


def tasks_for(db: Db, institution_code: str, *, open_only: bool, since_task_id: int, now: datetime,
              limit: int) -> list[dict[str, Any]]:
    sql = "SELECT task_id FROM bed_check_tasks WHERE institution_code=? AND task_id>?"
    params: list[Any] = [institution_code, since_task_id]
    if open_only:
        sql += " AND deadline>=? AND EXISTS(SELECT 1 FROM bed_check_items i WHERE i.task_id=bed_check_tasks.task_id" \
               " AND i.status='pending')"
        params.append(iso(now))
    rows = db.all(sql + " ORDER BY task_id LIMIT ?", [*params, limit])
    return [task(db, r["task_id"], now) for r in rows]


# --- special registration: what the inpatient scene excuses (reference.services.special_registration)
class PatientDayRef(Model):
    """A patient-day whose daily face check (INP-3) could not be passed — registered before that
    day's day end, for a due day (an equipped department, not the admission or discharge day)."""

    mdtrt_id: VisitId = Field(description="Visit id (就诊ID)")
    day: BizDate = Field(description="The day whose daily check could not be passed")


class BedCheckItemRef(Model):
    """A remote bed-check item (INP-4) that could not be passed — registered before the task's
    deadline, while the item is pending."""

    mdtrt_id: VisitId = Field(description="Visit id (就诊ID)")
    task_id: RowId = Field(description="The remote bed-check task (8211) listing the visit")


def check_patient_day(db: Db, v: dict[str, Any], day: date, now: datetime, field: str = "input") -> None:
    """A patient-day may be special-registered while its day is not closed, if it is a due day
    of an equipped department and has no passed check."""
    if day > now.date():
        raise InvalidField("the day is in the future (business time)", field=f"{field}.day")
    if InpatientFacts(db).is_closed(v["institution_code"], day.isoformat()):
        raise InvalidState(f"{day} was closed by its day end; its findings are final", field=f"{field}.day")
    if not v["dept_equipped"]:
        raise InvalidState(f"department {v['dept_code']} has no monitoring equipment: no daily check is due",
                           field=f"{field}.mdtrt_id")
    if day.isoformat() < v["adm_time"][:10] or (v["dscg_time"] and day.isoformat() >= v["dscg_time"][:10]):
        raise InvalidField(f"visit {v['mdtrt_id']} has no daily check on {day}", field=f"{field}.day")
    if InpatientFacts(db).passed_on(v["institution_code"], v["mdtrt_id"], day.isoformat()):
        raise InvalidState(f"{v['psn_no']} passed a face check on {day}; nothing to register", field=f"{field}.day")


def _patient_day(db: Db, code: str, ref: PatientDayRef, now: datetime, field: str) -> sr.Resolved:
    v = visit(db, code, ref.mdtrt_id, field=f"{field}.mdtrt_id")
    check_patient_day(db, v, ref.day, now, field=field)
    return sr.Resolved(f"{v['mdtrt_id']}/{ref.day}", ref.day, v["psn_no"], v["mdtrt_id"])


def _bed_check_item(db: Db, code: str, ref: BedCheckItemRef, now: datetime, field: str) -> sr.Resolved:
    v = visit(db, code, ref.mdtrt_id, field=f"{field}.mdtrt_id")
    require_in_hospital(v, "a remote bed-check special registration", field=f"{field}.mdtrt_id")
    item = open_task_item(db, ref.task_id, v, now, field=f"{field}.task_id")
    if item["status"] != "pending":
        raise InvalidState(f"the task item is {item['status']}; nothing to register", field=f"{field}.task_id")
    return sr.Resolved(f"{ref.task_id}/{v['mdtrt_id']}", now.date(), v["psn_no"], v["mdtrt_id"])


def _mark_item_registered(db: Db, ref: BedCheckItemRef, found: sr.Resolved, reg_id: int) -> None:
    db.execute("UPDATE bed_check_items SET status='special_registered', reg_id=? WHERE task_id=? AND mdtrt_id=?",
               (reg_id, ref.task_id, ref.mdtrt_id))


sr.register_subject(sr.SubjectType("patient_day", "inpatient", PatientDayRef, _patient_day,
                                   description=PatientDayRef.__doc__ or ""))
sr.register_subject(sr.SubjectType("bed_check_item", "inpatient", BedCheckItemRef, _bed_check_item,
                                   registered=_mark_item_registered, description=BedCheckItemRef.__doc__ or ""))
