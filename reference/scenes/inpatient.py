"""Inpatient transactions (3xxx, 住院场景): admission with consent, identity and face capture,
discharge and discharge registration, daily face checks, the day end, remote bed checks, and
institution indicators with the remote-check ranking. Special registration (8601–8605) is in
`reference.scenes.special_registration`, shared with the dialysis and rehab scenes."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from reference.clock import to_cst
from reference.context import Ctx
from reference.envelope import Model
from reference.errors import InvalidField
from reference.fields import (
    REAL_DATE_CHECK,
    BizDate,
    BizDateTime,
    CertNo,
    Cursor,
    InstitutionCode,
    LongText,
    PsnNo,
    RowId,
    Text,
    VisitId,
)
from reference.rules.params import rule_params
from reference.scenes import face
from reference.scenes.periods import PeriodIn
from reference.services import day_end as day_end_svc
from reference.services import face as face_svc
from reference.services import inpatient as svc
from reference.services import inpatient_indicators as indicators
from reference.services.registry import check_certno, person_view
from reference.transactions import BUREAU_ROLES, transaction

MDTRT = Field(description="Visit id (就诊ID)")
VisitStatus = Literal["in_hospital", "discharged"]


def _prepare(state, inp):
    return state.face_core().from_capture(inp.capture)


class Consent(Model):
    """GEN-4: the admission notice records the patient's consent (知情同意)."""

    # Both are required (GEN-4): the scene cannot monitor a patient who refused, so false is refused.
    face_recognition: bool = Field(description="Consent to face recognition (人脸识别); must be true",
                                   json_schema_extra={"const": True})
    video_monitoring: bool = Field(description="Consent to video monitoring of the ward (视频监控); must be true",
                                   json_schema_extra={"const": True})
    signed_at: BizDateTime = Field(description="When the patient or guardian signed (CST if naive)")
    document_no: Text | None = Field(None, max_length=50, description="Number of the signed admission notice")


class AdmitIn(Model):
    mdtrt_id: VisitId = MDTRT
    psn_no: PsnNo
    adm_time: BizDateTime = Field(description="Admission time (入院时间), CST if naive")
    dept_code: Text = Field(min_length=1, max_length=30, description="Department code (科室编码)")
    dept_name: Text = Field(min_length=1, max_length=100)
    ward: Text | None = Field(None, max_length=50, description="Ward (病区)")
    bed_no: Text = Field(min_length=1, max_length=20, description="Bed number (床位号)")
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


@transaction("8201", "inpatient-admit", en="Upload an admission", zh="入院信息上传", roles={"institution"},
             tag="inpatient", scene="inpatient", reqs=("INP-1", "INP-3", "GEN-4"))
def admit(ctx: Ctx, inp: AdmitIn) -> VisitOut:
    """The HIS uploads the admission with department, bed, equipment and the patient's consent to
    face recognition and video monitoring. Both consents are required: the scene cannot monitor a
    patient who refused (the institution then handles the stay outside the scene)."""
    person_view(ctx.db, inp.psn_no)  # admission names the person by number and links them (see scope)
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
    ctx.link_person(inp.psn_no, "admission")
    ctx.log_access(inp.psn_no, "write")
    return _visit_out(v)


class EnrolVisitIn(Model):
    mdtrt_id: VisitId = MDTRT
    certno: CertNo = Field(description="ID number read from the patient's ID card on the terminal (身份采集)")
    capture: face.FaceCapture


class EnrolVisitOut(Model):
    visit: VisitOut
    captured: bool = Field(description="The capture is recorded for the visit (INP-1); false: retry")
    mode: Literal["enrolled", "verified"] = Field(
        description="enrolled: the person's first template of this model; verified: the person already had one "
                    "(enrolled here or elsewhere) and the capture was verified against it, never replacing it")
    template_id: int
    model_id: str
    verification: face.VerifyOut | None = Field(None, description="The 1:1 verification, in mode verified")


@transaction("8202", "inpatient-enrol", en="Capture identity and face after admission", zh="入院身份及人脸采集",
             roles={"terminal"}, tag="inpatient", scene="inpatient", reqs=("INP-1",), prepare=_prepare)
def enrol(ctx: Ctx, inp: EnrolVisitIn) -> EnrolVisitOut:
    """Within the deadline of rule INP-ENROL-24H (24 h by default) the terminal reads the ID card
    and captures the face. A person without a template of the capture's model is enrolled; a
    person who has one (from an earlier stay, here or at another institution) is verified against
    it instead — a capture never replaces a known patient's template, so no other face can be
    swapped in (冒名就医). A failed verification records nothing for the visit (retry, or register
    the case specially). A later capture is accepted and flagged `enrolled_late`; the day end turns
    late or missing captures into findings."""
    v = svc.visit(ctx.db, ctx.own_institution(), inp.mdtrt_id)
    svc.require_in_hospital(v, "identity and face capture")
    person = person_view(ctx.db, v["psn_no"])
    if check_certno(inp.certno) != person["certno"]:
        raise InvalidField(f"the ID card read does not belong to the visit's patient {v['psn_no']}",
                           field="input.certno")
    c = face_svc.capture_for_subject(ctx, v["psn_no"], inp.capture, ctx.prepared, scene="inpatient",
                                     subject_type="inpatient_visit", subject_id=v["mdtrt_id"], mdtrt_id=v["mdtrt_id"])
    if c.accepted:
        v = svc.record_enrolment(ctx.db, v, terminal_id=ctx.principal.id, template_id=c.template_id, now=ctx.now())
    return EnrolVisitOut(visit=_visit_out(v), captured=c.accepted, mode=c.mode, template_id=c.template_id,
                         model_id=c.model_id,
                         verification=face.verify_out(c.verification) if c.verification else None)


class DischargeIn(Model):
    mdtrt_id: VisitId = MDTRT
    dscg_time: BizDateTime = Field(description="Discharge time (出院时间), CST if naive")


@transaction("8203", "inpatient-discharge", en="Upload a discharge", zh="出院信息上传", roles={"institution"},
             tag="inpatient", scene="inpatient", reqs=("INP-2",))
def discharge(ctx: Ctx, inp: DischargeIn) -> VisitOut:
    """From now on the visit is over: face checks of the patient are refused (3004 is the only
    terminal step left: the discharge registration)."""
    v = svc.discharge(ctx.db, institution_code=ctx.own_institution(), mdtrt_id=inp.mdtrt_id,
                      dscg_time=to_cst(inp.dscg_time), now=ctx.now())
    ctx.log_access(v["psn_no"], "write")
    return _visit_out(v)


class FaceStepIn(Model):
    mdtrt_id: VisitId = MDTRT
    psn_no: PsnNo = Field(description="The patient in front of the terminal")
    capture: face.FaceCapture


class DischargeRegisterOut(Model):
    verification: face.VerifyOut
    registered: bool = Field(description="The verification passed and the discharge registration is recorded")
    visit: VisitOut


def _verify_visit_patient(ctx: Ctx, v: dict, inp: FaceStepIn) -> face.VerifyOut:
    if inp.psn_no != v["psn_no"]:
        raise InvalidField(f"visit {v['mdtrt_id']} is not {inp.psn_no}'s", field="input.psn_no")
    return face.verify_out(face_svc.verify(ctx, inp.psn_no, inp.capture, ctx.prepared, scene="inpatient",
                                           subject_type="inpatient_visit", subject_id=v["mdtrt_id"],
                                           mdtrt_id=v["mdtrt_id"]))


@transaction("8204", "inpatient-discharge-register", en="Discharge registration on a terminal",
             zh="出院登记（人脸核验）", roles={"terminal"}, tag="inpatient", scene="inpatient", reqs=("INP-2",),
             prepare=_prepare)
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
    task_id: RowId | None = Field(None, description="A remote bed-check task (8211) this check answers")


class FaceCheckOut(Model):
    verification: face.VerifyOut
    passed_today: int = Field(description="Passed checks of this visit today, this one included")
    task_item_status: str | None = Field(None, description="The task item's status after this check")


@transaction("8205", "inpatient-face-check", en="Daily or remote-check face verification", zh="住院人脸核验",
             roles={"terminal"}, tag="inpatient", scene="inpatient", reqs=("INP-3", "INP-4"), prepare=_prepare)
def face_check(ctx: Ctx, inp: FaceCheckIn) -> FaceCheckOut:
    """A 1:1 verification tied to the visit (stored like 8122, with `mdtrt_id`). Every passed
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
        item_status = svc.task_item_status(ctx.db, inp.task_id, v["mdtrt_id"])
    return FaceCheckOut(verification=ver, passed_today=svc.checks_today(ctx.db, v, ctx.now()),
                        task_item_status=item_status)


# A rule of the query transactions JSON Schema cannot state (it depends on the sender's role).
BUREAU_NAMES_INSTITUTION = "required when a bureau user sends it (institutions and terminals: their own by default)"


class VisitQueryIn(Model):
    fixmedins_code: InstitutionCode | None = Field(
        None, description="Bureaus: the institution (institutions: their own)",
        json_schema_extra={"x-server-checks": [BUREAU_NAMES_INSTITUTION]})
    status: VisitStatus | None = None
    mdtrt_id: VisitId | None = None
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


@transaction("8206", "inpatient-visit-query", en="Query inpatient visits", zh="查询住院就诊",
             roles=BUREAU_ROLES | {"institution", "terminal"}, tag="inpatient", reqs=("INP-1", "INP-2", "INP-3"))
def visit_query(ctx: Ctx, inp: VisitQueryIn) -> VisitListOut:
    code = _institution_in_scope(ctx, inp.fixmedins_code)
    return VisitListOut(visits=[_visit_out(v) for v in svc.list_visits(
        ctx.db, code, status=inp.status, mdtrt_id=inp.mdtrt_id, limit=inp.limit)])


class DayEndIn(Model):
    day: BizDate = Field(description="The business day to close; it must have ended")
    fixmedins_code: InstitutionCode | None = Field(
        None, description="Close one institution only; all in scope when omitted")


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
    not_monitored: list[str] = Field(
        default_factory=list, description="Institutions not closed because the inpatient scene was not monitored "
                                          "there that day (8014)")
    patient_days: list[PatientDayOut] = Field(description="Each due patient-day's status (INP-3)")
    findings: list[FindingOut] = Field(description="Every finding of the day-end rules; each is a lead (INP-8)")


def _day_end_scan(ctx: Ctx, inp: DayEndIn) -> day_end_svc.DayEndScan:
    """8209's read phase: the whole day end decided on a read snapshot (reference.api.gateway)."""
    return day_end_svc.scan(ctx.db, scene="inpatient", day=inp.day, scope=ctx.scope,
                            institution=inp.fixmedins_code, now=ctx.now())


@transaction("8209", "inpatient-day-end", en="Close a business day (day end)", zh="住院日终",
             roles={"city_bureau", "district_bureau", "agency"}, tag="inpatient",
             reqs=("INP-1", "INP-2", "INP-3", "INP-4", "INP-5", "INP-8"), read=_day_end_scan)
def day_end(ctx: Ctx, inp: DayEndIn) -> DayEndOut:
    """Closes an ended business day for the institutions in scope that have inpatient visits and
    where the inpatient scene is monitored that day: the rules declaring `runs_at: day_end` judge
    it (daily checks, admission capture and discharge deadlines, expired remote-check items,
    review deadlines, violations) and every finding becomes a lead. A closed day is final: special
    registrations for it are refused. Running it again changes nothing."""
    out = day_end_svc.close(ctx.db, scene="inpatient", day=inp.day, scope=ctx.scope, institution=inp.fixmedins_code,
                            by=ctx.principal.id, now=ctx.now(), snapshot=ctx.snapshot)
    return DayEndOut(day=out["day"], release_version=out["release_version"], closed=out["closed"],
                     already_closed=out["already_closed"], not_monitored=out["not_monitored"],
                     patient_days=[PatientDayOut(**{k: r[k] for k in PatientDayOut.model_fields})
                                   for r in out["results"]],
                     findings=[FindingOut(**f) for f in out["findings"]])


class TaskIn(Model):
    fixmedins_code: InstitutionCode
    selection: Literal["patients", "ward", "all"] = Field(
        description="patients: the listed visits; ward: every in-hospital patient of a ward; all: every one")
    mdtrt_ids: list[VisitId] = Field(default_factory=list, max_length=500)
    ward: Text | None = Field(None, max_length=50)
    deadline: BizDateTime = Field(description="Verify before this time (CST if naive); limits in rule "
                                           "INP-REMOTE-CHECK-EXPIRED",
                                  json_schema_extra={"x-server-checks": [
                                      REAL_DATE_CHECK, "within the limits of rule INP-REMOTE-CHECK-EXPIRED from the "
                                      "current business time (at least 30 minutes away by default)"]})
    note: LongText | None = Field(None, max_length=500)


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


@transaction("8211", "inpatient-bed-check-issue", en="Issue a remote bed-check task", zh="下发远程查床任务",
             roles={"city_bureau", "district_bureau"}, tag="inpatient", reqs=("INP-4", "INP-7"))
def bed_check_issue(ctx: Ctx, inp: TaskIn) -> TaskOut:
    """The bureau names the patients (or a ward, or all in-hospital patients) and a deadline;
    the institution's terminals verify them with 8205 (`task_id`)."""
    ctx.require_institution(inp.fixmedins_code, field="input.fixmedins_code")
    tid = svc.issue_task(ctx.db, institution_code=inp.fixmedins_code, deadline=to_cst(inp.deadline),
                         selection=inp.selection, mdtrt_ids=inp.mdtrt_ids, ward=inp.ward, note=inp.note,
                         by=ctx.principal.id, now=ctx.now())
    return _task_out(svc.task(ctx.db, tid, ctx.now()))


class TaskQueryIn(Model):
    task_id: RowId | None = Field(None, description="One task; otherwise the institution's tasks")
    fixmedins_code: InstitutionCode | None = Field(None, description="Bureaus: the institution (others: their own)",
                                                   json_schema_extra={"x-server-checks": [BUREAU_NAMES_INSTITUTION]})
    open_only: bool = Field(True, description="Only tasks before their deadline with pending items")
    since_task_id: Cursor = Field(0, description="Polling cursor: only tasks after this id")
    limit: int = Field(50, ge=1, le=500)


class TaskListOut(Model):
    tasks: list[TaskOut]


@transaction("8212", "inpatient-bed-check-query", en="Query remote bed-check tasks", zh="查询远程查床任务",
             roles=BUREAU_ROLES | {"institution", "terminal"}, tag="inpatient", reqs=("INP-4",))
def bed_check_query(ctx: Ctx, inp: TaskQueryIn) -> TaskListOut:
    """Terminals and the HIS poll their open tasks (with `since_task_id` as a cursor); the bureau
    sees each task's per-patient status and completion."""
    if inp.task_id is not None:
        return TaskListOut(tasks=[_task_out(svc.task(ctx.db, inp.task_id, ctx.now(), scope=ctx.scope))])
    code = _institution_in_scope(ctx, inp.fixmedins_code)
    return TaskListOut(tasks=[_task_out(t) for t in svc.tasks_for(
        ctx.db, code, open_only=inp.open_only, since_task_id=inp.since_task_id, now=ctx.now(), limit=inp.limit)])


class IndicatorsIn(PeriodIn):
    end: BizDate = Field(description="Last day of the period (inclusive); only closed days count")
    fixmedins_code: InstitutionCode | None = Field(None, description="One institution; all in scope when omitted")


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


@transaction("8231", "inpatient-indicators", en="Institution indicators and remote-check ranking",
             zh="机构指标与远程查床排名", roles=BUREAU_ROLES, tag="inpatient", reqs=("INP-7", "SUP-2"))
def indicator_ranking(ctx: Ctx, inp: IndicatorsIn) -> IndicatorsOut:
    """Per institution in scope: daily-check and remote-check completion, special-registration and
    rejection rates, ranked by the weighted score of rule INP-LOW-COMPLIANCE (weights and threshold
    are that rule's parameters)."""
    if inp.fixmedins_code:
        ctx.require_institution(inp.fixmedins_code, field="input.fixmedins_code")
        scope: list[str] | None = [inp.fixmedins_code]
    else:
        scope = ctx.scope.institution_codes(ctx.db)
    rows = indicators.counts(ctx.db, inp.start, inp.end, scope)
    ranked = indicators.ranking(rows, lambda c: rule_params(ctx.db, "INP-LOW-COMPLIANCE", c, ctx.now()))
    return IndicatorsOut(period=f"{inp.start}/{inp.end}", ranking=[
        IndicatorRow(fixmedins_code=r["institution_code"], **{k: r[k] for k in IndicatorRow.model_fields
                                                              if k != "fixmedins_code"}) for r in ranked])
