"""Inpatient transactions (3xxx, 住院场景): admission with consent, identity and face capture,
discharge and discharge registration, daily face checks, the day end, remote bed checks, and
institution indicators with the remote-check ranking. Special registration (3021–3025) is in
`reference.scenes.special_registration`, shared with the dialysis and rehab scenes."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import Field

from reference.clock import to_cst
from reference.context import Ctx
from reference.envelope import Model
from reference.errors import InvalidField
from reference.scenes import face
from reference.scenes.periods import PeriodIn
from reference.services import inpatient as svc
from reference.services import inpatient_indicators as indicators
from reference.services.registry import check_certno, person_view
from reference.transactions import BUREAU_ROLES, transaction

MDTRT = Field(min_length=1, max_length=30, pattern=r"^[A-Za-z0-9_\-]+$", description="Visit id (就诊ID)")
VisitStatus = Literal["in_hospital", "discharged"]


def _prepare(state, inp):
    return state.face_core().from_capture(inp.capture)


class Consent(Model):
    """GEN-4: the admission notice records the patient's consent (知情同意)."""

    face_recognition: bool = Field(description="Consent to face recognition (人脸识别)")
    video_monitoring: bool = Field(description="Consent to video monitoring of the ward (视频监控)")
    signed_at: datetime = Field(description="When the patient or guardian signed (CST if naive)")
    document_no: str | None = Field(None, max_length=50, description="Number of the signed admission notice")


class AdmitIn(Model):
    mdtrt_id: str = MDTRT
    psn_no: str = Field(min_length=1, max_length=30)
    adm_time: datetime = Field(description="Admission time (入院时间), CST if naive")
    dept_code: str = Field(min_length=1, max_length=30, description="Department code (科室编码)")
    dept_name: str = Field(min_length=1, max_length=100)
    ward: str | None = Field(None, max_length=50, description="Ward (病区)")
    bed_no: str = Field(min_length=1, max_length=20, description="Bed number (床位号)")
    dept_equipped: bool = Field(description="The department has monitoring equipment (daily checks apply, INP-3)")
    consent: Consent


class VisitOut(Model):
    fixmedins_code: str
    mdtrt_id: str
    psn_no: str
    dept_code: str
    dept_name: str
    ward: str | None
    bed_no: str
    dept_equipped: bool
    adm_time: str
    consent_face: bool
    consent_video: bool
    status: VisitStatus
    enrolled_at: str | None = Field(description="Identity and face captured on a terminal (INP-1)")
    enrolled_late: bool | None = Field(description="Captured after the deadline of rule INP-ENROL-24H")
    dscg_time: str | None
    dscg_registered_at: str | None = Field(description="Discharge registration on a terminal (INP-2)")


def _visit_out(v: dict) -> VisitOut:
    return VisitOut(
        fixmedins_code=v["institution_code"], mdtrt_id=v["mdtrt_id"], psn_no=v["psn_no"], dept_code=v["dept_code"],
        dept_name=v["dept_name"], ward=v["ward"], bed_no=v["bed_no"], dept_equipped=bool(v["dept_equipped"]),
        adm_time=v["adm_time"], consent_face=bool(v["consent_face"]), consent_video=bool(v["consent_video"]),
        status=v["status"], enrolled_at=v["enrolled_at"],
        enrolled_late=None if v["enrolled_late"] is None else bool(v["enrolled_late"]), dscg_time=v["dscg_time"],
        dscg_registered_at=v["dscg_registered_at"])


@transaction("3001", "inpatient-admit", en="Upload an admission", zh="入院信息上传", roles={"institution"},
             tag="inpatient", reqs=("INP-1", "INP-3", "GEN-4"))
def admit(ctx: Ctx, inp: AdmitIn) -> VisitOut:
    """The HIS uploads the admission with department, bed, equipment and the patient's consent to
    face recognition and video monitoring. Both consents are required: the scene cannot monitor a
    patient who refused (the institution then handles the stay outside the scene)."""
    person_view(ctx.db, inp.psn_no)
    if not inp.consent.face_recognition:
        raise InvalidField("the patient's consent to face recognition is required (GEN-4)",
                           field="input.consent.face_recognition")
    if not inp.consent.video_monitoring:
        raise InvalidField("the patient's consent to video monitoring is required (GEN-4)",
                           field="input.consent.video_monitoring")
    v = svc.admit(ctx.db, institution_code=ctx.own_institution(), mdtrt_id=inp.mdtrt_id, psn_no=inp.psn_no,
                  dept_code=inp.dept_code, dept_name=inp.dept_name, ward=inp.ward, bed_no=inp.bed_no,
                  dept_equipped=inp.dept_equipped, adm_time=to_cst(inp.adm_time),
                  consent={**inp.consent.model_dump(), "signed_at": to_cst(inp.consent.signed_at)},
                  by=ctx.principal.id, now=ctx.now())
    ctx.log_access(inp.psn_no, "write")
    return _visit_out(v)


class EnrolVisitIn(Model):
    mdtrt_id: str = MDTRT
    certno: str = Field(description="ID number read from the patient's ID card on the terminal (身份采集)")
    capture: face.FaceCapture


class EnrolVisitOut(Model):
    visit: VisitOut
    template_id: int
    model_id: str


@transaction("3002", "inpatient-enrol", en="Capture identity and face after admission", zh="入院身份及人脸采集",
             roles={"terminal"}, tag="inpatient", reqs=("INP-1",), prepare=_prepare)
def enrol(ctx: Ctx, inp: EnrolVisitIn) -> EnrolVisitOut:
    """Within the deadline of rule INP-ENROL-24H (24 h by default) the terminal reads the ID card
    and captures the face; the template is stored (as 2001). A later capture is accepted and
    flagged `enrolled_late`; the day end turns late or missing captures into findings."""
    v = svc.visit(ctx.db, ctx.own_institution(), inp.mdtrt_id)
    svc.require_in_hospital(v, "identity and face capture")
    person = person_view(ctx.db, v["psn_no"])
    if check_certno(inp.certno) != person["certno"]:
        raise InvalidField(f"the ID card read does not belong to the visit's patient {v['psn_no']}",
                           field="input.certno")
    out = face.enrol(ctx, face.EnrolIn(psn_no=v["psn_no"], capture=inp.capture))
    v = svc.record_enrolment(ctx.db, v, terminal_id=ctx.principal.id, template_id=out.template_id, now=ctx.now())
    return EnrolVisitOut(visit=_visit_out(v), template_id=out.template_id, model_id=out.model_id)


class DischargeIn(Model):
    mdtrt_id: str = MDTRT
    dscg_time: datetime = Field(description="Discharge time (出院时间), CST if naive")


@transaction("3003", "inpatient-discharge", en="Upload a discharge", zh="出院信息上传", roles={"institution"},
             tag="inpatient", reqs=("INP-2",))
def discharge(ctx: Ctx, inp: DischargeIn) -> VisitOut:
    """From now on the visit is over: face checks of the patient are refused (3004 is the only
    terminal step left: the discharge registration)."""
    v = svc.discharge(ctx.db, institution_code=ctx.own_institution(), mdtrt_id=inp.mdtrt_id,
                      dscg_time=to_cst(inp.dscg_time), now=ctx.now())
    ctx.log_access(v["psn_no"], "write")
    return _visit_out(v)


class FaceStepIn(Model):
    mdtrt_id: str = MDTRT
    psn_no: str = Field(min_length=1, max_length=30, description="The patient in front of the terminal")
    capture: face.FaceCapture


class DischargeRegisterOut(Model):
    verification: face.VerifyOut
    registered: bool = Field(description="The verification passed and the discharge registration is recorded")
    visit: VisitOut


def _verify_visit_patient(ctx: Ctx, v: dict, inp: FaceStepIn) -> face.VerifyOut:
    if inp.psn_no != v["psn_no"]:
        raise InvalidField(f"visit {v['mdtrt_id']} is not {inp.psn_no}'s", field="input.psn_no")
    return face.verify(ctx, face.VerifyIn(psn_no=inp.psn_no, scene="inpatient", mdtrt_id=v["mdtrt_id"],
                                          capture=inp.capture))


@transaction("3004", "inpatient-discharge-register", en="Discharge registration on a terminal",
             zh="出院登记（人脸核验）", roles={"terminal"}, tag="inpatient", reqs=("INP-2",), prepare=_prepare)
def discharge_register(ctx: Ctx, inp: FaceStepIn) -> DischargeRegisterOut:
    """A 1:1 face verification on the discharge day; when it passes, the registration is recorded
    (rule INP-DISCHARGE-SAME-DAY judges its date at the day end). A failed one may be retried."""
    v = svc.visit(ctx.db, ctx.own_institution(), inp.mdtrt_id)
    svc.require_discharged(v)
    ver = _verify_visit_patient(ctx, v, inp)
    if ver.passed:
        v = svc.record_discharge_registration(ctx.db, v, ver.verification_id, ctx.now())
    return DischargeRegisterOut(verification=ver, registered=ver.passed, visit=_visit_out(v))


class FaceCheckIn(FaceStepIn):
    task_id: int | None = Field(None, ge=1, description="A remote bed-check task (3011) this check answers")


class FaceCheckOut(Model):
    verification: face.VerifyOut
    passed_today: int = Field(description="Passed checks of this visit today, this one included")
    task_item_status: str | None = Field(None, description="The task item's status after this check")


@transaction("3005", "inpatient-face-check", en="Daily or remote-check face verification", zh="住院人脸核验",
             roles={"terminal"}, tag="inpatient", reqs=("INP-3", "INP-4"), prepare=_prepare)
def face_check(ctx: Ctx, inp: FaceCheckIn) -> FaceCheckOut:
    """A 1:1 verification tied to the visit (stored like 2002, with `mdtrt_id`). Every passed
    check counts for the day's check (INP-3); with `task_id` it also answers a remote bed check
    (INP-4), which must happen before the task's deadline. Refused (3004) for a discharged patient."""
    v = svc.visit(ctx.db, ctx.own_institution(), inp.mdtrt_id)
    svc.require_in_hospital(v, "a face check")
    if inp.task_id is not None:
        svc.open_task_item(ctx.db, inp.task_id, v, ctx.now())
    ver = _verify_visit_patient(ctx, v, inp)
    item_status = None
    if inp.task_id is not None:
        svc.record_task_attempt(ctx.db, inp.task_id, v["mdtrt_id"], passed=ver.passed,
                                verification_id=ver.verification_id, now=ctx.now())
        item_status = ctx.db.scalar("SELECT status FROM bed_check_items WHERE task_id=? AND mdtrt_id=?",
                                    (inp.task_id, v["mdtrt_id"]))
    return FaceCheckOut(verification=ver, passed_today=svc.checks_today(ctx.db, v, ctx.now()),
                        task_item_status=item_status)


class VisitQueryIn(Model):
    fixmedins_code: str | None = Field(None, description="Bureaus: the institution (institutions: their own)")
    status: VisitStatus | None = None
    mdtrt_id: str | None = Field(None, max_length=30)
    limit: int = Field(200, ge=1, le=2000)


class VisitListOut(Model):
    visits: list[VisitOut]


def _institution_in_scope(ctx: Ctx, code: str | None) -> str:
    if ctx.principal.role in {"institution", "terminal"}:
        code = code or ctx.own_institution()
    if not code:
        raise InvalidField("name the institution", field="input.fixmedins_code")
    ctx.require_institution(code, field="input.fixmedins_code")
    return code


@transaction("3006", "inpatient-visit-query", en="Query inpatient visits", zh="查询住院就诊",
             roles=BUREAU_ROLES | {"institution", "terminal"}, tag="inpatient", reqs=("INP-1", "INP-2", "INP-3"))
def visit_query(ctx: Ctx, inp: VisitQueryIn) -> VisitListOut:
    code = _institution_in_scope(ctx, inp.fixmedins_code)
    return VisitListOut(visits=[_visit_out(v) for v in svc.list_visits(
        ctx.db, code, status=inp.status, mdtrt_id=inp.mdtrt_id, limit=inp.limit)])


class DayEndIn(Model):
    day: date = Field(description="The business day to close; it must have ended")
    fixmedins_code: str | None = Field(None, description="Close one institution only; all in scope when omitted")


class PatientDayOut(Model):
    fixmedins_code: str
    mdtrt_id: str
    psn_no: str
    status: Literal["compliant", "excused", "finding"]
    passed_checks: int
    reg_id: int | None
    lead_id: int | None


class FindingOut(Model):
    rule_id: str
    subject_type: str
    subject_id: str
    fixmedins_code: str | None
    psn_no: str | None
    lead_id: int | None
    message: str


class DayEndOut(Model):
    day: str
    release_version: str
    closed: list[str] = Field(description="Institutions closed by this call")
    already_closed: list[str] = Field(description="Institutions whose day was closed before (nothing redone)")
    patient_days: list[PatientDayOut] = Field(description="Each due patient-day's status (INP-3)")
    findings: list[FindingOut] = Field(description="Every finding of the day-end rules; each is a lead (INP-8)")


@transaction("3009", "inpatient-day-end", en="Close a business day (day end)", zh="住院日终",
             roles={"city_bureau", "district_bureau", "agency"}, tag="inpatient",
             reqs=("INP-1", "INP-2", "INP-3", "INP-4", "INP-5", "INP-8"))
def day_end(ctx: Ctx, inp: DayEndIn) -> DayEndOut:
    """Closes an ended business day for the institutions in scope that have inpatient visits:
    the day-end rules judge it (daily checks, admission capture and discharge deadlines, expired
    remote-check items, review deadlines, violations) and every finding becomes a lead. A closed
    day is final: special registrations for it are refused. Running it again changes nothing."""
    if inp.fixmedins_code:
        ctx.require_institution(inp.fixmedins_code, field="input.fixmedins_code")
        codes = [inp.fixmedins_code]
    else:
        sql = ("SELECT DISTINCT v.institution_code AS code FROM inpatient_visits v JOIN institutions i"
               " ON i.code=v.institution_code WHERE substr(v.adm_time,1,10)<=?")
        params: list = [inp.day.isoformat()]
        if not ctx.principal.is_city_wide:
            sql += " AND i.district_code=?"
            params.append(ctx.principal.district_code)
        codes = [r["code"] for r in ctx.db.all(sql + " ORDER BY code", params)]
    out = svc.close_day(ctx.db, day=inp.day, institutions=codes, by=ctx.principal.id, now=ctx.now())
    return DayEndOut(**out)


class TaskIn(Model):
    fixmedins_code: str = Field(min_length=1, max_length=30)
    selection: Literal["patients", "ward", "all"] = Field(
        description="patients: the listed visits; ward: every in-hospital patient of a ward; all: every one")
    mdtrt_ids: list[str] = Field(default_factory=list, max_length=500)
    ward: str | None = Field(None, max_length=50)
    deadline: datetime = Field(description="Verify before this time (CST if naive); limits in rule "
                                           "INP-REMOTE-CHECK-EXPIRED")
    note: str | None = Field(None, max_length=500)


class TaskItemOut(Model):
    mdtrt_id: str
    psn_no: str
    bed_no: str
    status: Literal["pending", "passed", "special_registered", "expired"]
    attempts: int
    verification_id: int | None
    done_at: str | None
    reg_id: int | None


class TaskOut(Model):
    task_id: int
    fixmedins_code: str
    selection: str
    ward: str | None
    note: str | None
    deadline: str
    issued_by: str
    issued_at: str
    expired: bool
    completion: float = Field(description="Share of items verified (0..1)")
    open_items: int
    items: list[TaskItemOut]


def _task_out(t: dict) -> TaskOut:
    items = [TaskItemOut(**{k: i[k] for k in TaskItemOut.model_fields}) for i in t["items"]]
    return TaskOut(fixmedins_code=t["institution_code"], items=items,
                   **{k: t[k] for k in TaskOut.model_fields if k not in {"fixmedins_code", "items"}})


@transaction("3011", "inpatient-bed-check-issue", en="Issue a remote bed-check task", zh="下发远程查床任务",
             roles={"city_bureau", "district_bureau"}, tag="inpatient", reqs=("INP-4", "INP-7"))
def bed_check_issue(ctx: Ctx, inp: TaskIn) -> TaskOut:
    """The bureau names the patients (or a ward, or all in-hospital patients) and a deadline;
    the institution's terminals verify them with 3005 (`task_id`)."""
    ctx.require_institution(inp.fixmedins_code, field="input.fixmedins_code")
    tid = svc.issue_task(ctx.db, institution_code=inp.fixmedins_code, deadline=to_cst(inp.deadline),
                         selection=inp.selection, mdtrt_ids=inp.mdtrt_ids, ward=inp.ward, note=inp.note,
                         by=ctx.principal.id, now=ctx.now())
    return _task_out(svc.task(ctx.db, tid, ctx.now()))


class TaskQueryIn(Model):
    task_id: int | None = Field(None, ge=1, description="One task; otherwise the institution's tasks")
    fixmedins_code: str | None = Field(None, description="Bureaus: the institution (others: their own)")
    open_only: bool = Field(True, description="Only tasks before their deadline with pending items")
    since_task_id: int = Field(0, ge=0, description="Polling cursor: only tasks after this id")
    limit: int = Field(50, ge=1, le=500)


class TaskListOut(Model):
    tasks: list[TaskOut]


@transaction("3012", "inpatient-bed-check-query", en="Query remote bed-check tasks", zh="查询远程查床任务",
             roles=BUREAU_ROLES | {"institution", "terminal"}, tag="inpatient", reqs=("INP-4",))
def bed_check_query(ctx: Ctx, inp: TaskQueryIn) -> TaskListOut:
    """Terminals and the HIS poll their open tasks (with `since_task_id` as a cursor); the bureau
    sees each task's per-patient status and completion."""
    if inp.task_id is not None:
        t = svc.task(ctx.db, inp.task_id, ctx.now())
        ctx.require_institution(t["institution_code"], field="input.task_id")
        return TaskListOut(tasks=[_task_out(t)])
    code = _institution_in_scope(ctx, inp.fixmedins_code)
    return TaskListOut(tasks=[_task_out(t) for t in svc.tasks_for(
        ctx.db, code, open_only=inp.open_only, since_task_id=inp.since_task_id, now=ctx.now(), limit=inp.limit)])


class IndicatorsIn(PeriodIn):
    end: date = Field(description="Last day of the period (inclusive); only closed days count")
    fixmedins_code: str | None = Field(None, description="One institution; all in scope when omitted")


class IndicatorRow(Model):
    rank: int = Field(description="1 = most in need of remote checks and on-site inspection")
    fixmedins_code: str
    daily_due: int = Field(description="Due patient-days (equipped departments, closed days)")
    daily_compliant: int
    daily_excused: int
    daily_findings: int
    daily_check_rate: float | None = Field(description="daily_compliant / daily_due")
    remote_due: int = Field(description="Remote-check items whose deadline fell in the period")
    remote_passed: int
    remote_check_rate: float | None = Field(description="remote_passed / remote_due")
    special_registrations: int
    special_registration_rate: float | None = Field(
        description="special-registered patient-days and items / (daily_due + remote_due)")
    reviewed: int
    rejected: int
    rejection_rate: float | None = Field(description="registrations rejected at least once / reviewed ones")
    score: float = Field(description="Targeting score of rule INP-LOW-COMPLIANCE")
    targeted: bool = Field(description="At or above the rule's threshold with enough patient-days")


class IndicatorsOut(Model):
    period: str
    rule_id: str = "INP-LOW-COMPLIANCE"
    ranking: list[IndicatorRow]


@transaction("3031", "inpatient-indicators", en="Institution indicators and remote-check ranking",
             zh="机构指标与远程查床排名", roles=BUREAU_ROLES, tag="inpatient", reqs=("INP-7", "SUP-2"))
def indicator_ranking(ctx: Ctx, inp: IndicatorsIn) -> IndicatorsOut:
    """Per institution in scope: daily-check and remote-check completion, special-registration and
    rejection rates, ranked by the weighted score of rule INP-LOW-COMPLIANCE (weights and threshold
    are that rule's parameters)."""
    if inp.fixmedins_code:
        ctx.require_institution(inp.fixmedins_code, field="input.fixmedins_code")
        scope: list[str] | None = [inp.fixmedins_code]
    elif ctx.principal.is_city_wide:
        scope = None
    else:
        scope = [r["code"] for r in ctx.db.all("SELECT code FROM institutions WHERE district_code=?",
                                               (ctx.principal.district_code,))]
    rows = indicators.counts(ctx.db, inp.start, inp.end, scope)
    ranked = indicators.ranking(rows, lambda c: svc.rule_params(ctx.db, "INP-LOW-COMPLIANCE", c, ctx.now()))
    return IndicatorsOut(period=f"{inp.start}/{inp.end}", ranking=[
        IndicatorRow(fixmedins_code=r["institution_code"], **{k: r[k] for k in IndicatorRow.model_fields
                                                              if k != "fixmedins_code"}) for r in ranked])
