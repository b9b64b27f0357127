"""Special-registration transactions (3021–3025, 特殊登记): attachments, submission, supplement,
review and query. The workflow is generic over scenes (reference.services.special_registration);
this module knows what each scene registers — today the inpatient patient-day and remote
bed-check item; dialysis and rehab add their session subjects here."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import Field

from reference.codes import Scene, code_enum
from reference.context import Ctx
from reference.envelope import Model
from reference.errors import InvalidField, InvalidState
from reference.services import inpatient as inp_svc
from reference.services import special_registration as svc
from reference.transactions import BUREAU_ROLES, transaction

Reason = code_enum("special_registration_reason", "Reason")
AttachmentType = code_enum("attachment_type", "AttachmentType")
RegStatus = code_enum("special_registration_status", "RegStatus")


class UploadIn(Model):
    att_type: AttachmentType  # type: ignore[valid-type]
    filename: str = Field(min_length=1, max_length=200)
    media_type: str = Field(max_length=100, description="application/pdf, image/jpeg or image/png (configurable)")
    content_b64: str = Field(min_length=1,
                             description="The file, base64; size limit in setting attachment_max_bytes")


class AttachmentOut(Model):
    attachment_id: int
    att_type: str
    filename: str
    media_type: str
    size_bytes: int
    sha256: str = Field(description="SHA-256 of the content, hex")
    duplicate: bool = Field(False, description="The same content of this type was uploaded before: that one is "
                                               "returned")


@transaction("3021", "special-registration-attachment", en="Upload an attachment", zh="上传特殊登记附件",
             roles={"institution"}, tag="special_registration", reqs=("INP-6", "HD-3", "RH-1"))
def upload(ctx: Ctx, inp: UploadIn) -> AttachmentOut:
    """Stores the file with its SHA-256; size and media type are limited by settings and the
    content must start like the declared type."""
    row = svc.upload_attachment(
        ctx.db, institution_code=ctx.own_institution(), att_type=inp.att_type.value, filename=inp.filename,
        media_type=inp.media_type, content_b64=inp.content_b64, max_bytes=ctx.settings.attachment_max_bytes,
        media_types=ctx.settings.attachment_media_types, by=ctx.principal.id, now=ctx.now_iso())
    return AttachmentOut(**{k: row[k] for k in AttachmentOut.model_fields})


class SubmitIn(Model):
    scene: Scene = Scene("inpatient")  # type: ignore[valid-type]
    mdtrt_id: str = Field(min_length=1, max_length=30)
    day: date | None = Field(None, description="Inpatient: the patient-day whose daily check could not be passed")
    task_id: int | None = Field(None, ge=1, description="Inpatient: the remote bed-check task whose item could not be "
                                                        "passed (before its deadline)")
    reason: Reason  # type: ignore[valid-type]
    explanation: str = Field(min_length=5, max_length=2000, description="情况说明")
    attachment_ids: list[int] = Field(
        min_length=1, max_length=20,
        description="Uploaded attachments (3021); the reason's required types must be among them")


class RegEvent(Model):
    from_status: str | None
    to_status: str
    by: str
    role: str
    at: str
    note: str | None


class RegAttachment(Model):
    attachment_id: int
    att_type: str
    filename: str
    media_type: str
    size_bytes: int
    sha256: str
    stage: Literal["submitted", "supplemented"]


class RegOut(Model):
    reg_id: int
    scene: str
    fixmedins_code: str
    psn_no: str
    mdtrt_id: str | None
    subject_type: str
    subject_id: str
    day: str
    reason: str
    explanation: str
    status: str
    review_due: str = Field(description="Last day of the first review")
    supplement_due: str | None = Field(description="Last day to supplement after a first rejection")
    review2_due: str | None = Field(description="Last day of the review of the supplement")
    submitted_at: str
    attachments: list[RegAttachment]
    events: list[RegEvent] = Field(description="Every state change: the audit trail")


def _reg_out(r: dict[str, Any]) -> RegOut:
    return RegOut(fixmedins_code=r["institution_code"],
                  **{k: r[k] for k in RegOut.model_fields if k != "fixmedins_code"})


def _deadlines(ctx: Ctx, scene: str, institution_code: str) -> dict[str, int]:
    cfg = svc.workflow().scenes.get(scene)
    if cfg is None:
        raise InvalidField(f"scene {scene} takes no special registrations", field="input.scene")
    return inp_svc.rule_params(ctx.db, cfg.deadline_rule, institution_code, ctx.now())


@transaction("3022", "special-registration-submit", en="Submit a special registration", zh="特殊登记",
             roles={"institution"}, tag="special_registration", reqs=("INP-3", "INP-4", "INP-6"))
def submit(ctx: Ctx, inp: SubmitIn) -> RegOut:
    """Registers why a required check could not be passed, with the material the reason requires
    (transfer → transfer voucher, under treatment → treatment record, face not recognisable →
    evidence, on leave → leave note). Inpatient: give `day` for a daily check (before that day's
    day end) or `task_id` for a remote bed check (before the task's deadline)."""
    code = ctx.own_institution()
    scene = inp.scene.value
    deadlines = _deadlines(ctx, scene, code)
    if scene != "inpatient":
        raise InvalidField(f"scene {scene} has no special-registration subjects yet", field="input.scene")
    if (inp.day is None) == (inp.task_id is None):
        raise InvalidField("give exactly one of day (daily check) and task_id (remote bed check)", field="input.day")
    v = inp_svc.visit(ctx.db, code, inp.mdtrt_id)
    if inp.day is not None:
        inp_svc.check_patient_day(ctx.db, v, inp.day, ctx.now())
        subject_type, subject_id, day = "patient_day", f"{v['mdtrt_id']}/{inp.day}", inp.day
    else:
        inp_svc.require_in_hospital(v, "a remote bed-check special registration")
        item = inp_svc.open_task_item(ctx.db, inp.task_id, v, ctx.now())
        if item["status"] != "pending":
            raise InvalidState(f"the task item is {item['status']}; nothing to register", field="input.task_id")
        subject_type, subject_id, day = "bed_check_item", f"{inp.task_id}/{v['mdtrt_id']}", ctx.now().date()
    reg_id = svc.submit(ctx.db, scene=scene, institution_code=code, psn_no=v["psn_no"], mdtrt_id=v["mdtrt_id"],
                        subject_type=subject_type, subject_id=subject_id, day=day, reason=inp.reason.value,
                        explanation=inp.explanation, attachment_ids=inp.attachment_ids, by=ctx.principal.id,
                        role=ctx.principal.role, now=ctx.now(), review_days=deadlines["review_days"])
    if subject_type == "bed_check_item":
        inp_svc.mark_item_registered(ctx.db, inp.task_id, v["mdtrt_id"], reg_id)
    ctx.log_access(v["psn_no"], "write")
    return _reg_out(svc.get(ctx.db, reg_id))


class SupplementIn(Model):
    reg_id: int = Field(ge=1)
    note: str = Field(min_length=5, max_length=2000, description="What the new material shows")
    attachment_ids: list[int] = Field(min_length=1, max_length=20)


def _scoped(ctx: Ctx, reg_id: int) -> dict[str, Any]:
    reg = svc.get(ctx.db, reg_id)
    ctx.require_institution(reg["institution_code"], field="input.reg_id")
    return reg


@transaction("3023", "special-registration-supplement", en="Supplement a rejected special registration",
             zh="特殊登记补充材料", roles={"institution"}, tag="special_registration", reqs=("INP-5",))
def supplement(ctx: Ctx, inp: SupplementIn) -> RegOut:
    """After a first rejection the institution may add evidence once, before the supplement
    deadline (rule parameter `supplement_days`)."""
    reg = _scoped(ctx, inp.reg_id)
    deadlines = _deadlines(ctx, reg["scene"], reg["institution_code"])
    return _reg_out(svc.transition(ctx.db, reg_id=inp.reg_id, to="supplemented", by=ctx.principal.id,
                                   role=ctx.principal.role, now=ctx.now(), note=inp.note, deadlines=deadlines,
                                   attachment_ids=inp.attachment_ids))


class ReviewIn(Model):
    reg_id: int = Field(ge=1)
    approve: bool = Field(description="true: approved; false: rejected (a second rejection is final: a violation)")
    note: str = Field(min_length=1, max_length=2000, description="审核意见")


@transaction("3024", "special-registration-review", en="Review a special registration", zh="特殊登记审核",
             roles={"city_bureau", "district_bureau", "agency"}, tag="special_registration",
             reqs=("INP-5", "HD-4"))
def review(ctx: Ctx, inp: ReviewIn) -> RegOut:
    """submitted → approved | rejected; supplemented → approved | rejected_final. Only the
    bureau's roles may review, only in those states; each change is audited."""
    reg = _scoped(ctx, inp.reg_id)
    if reg["status"] == "supplemented":
        to = "approved" if inp.approve else "rejected_final"
    else:
        to = "approved" if inp.approve else "rejected"
    deadlines = _deadlines(ctx, reg["scene"], reg["institution_code"])
    return _reg_out(svc.transition(ctx.db, reg_id=inp.reg_id, to=to, by=ctx.principal.id, role=ctx.principal.role,
                                   now=ctx.now(), note=inp.note, deadlines=deadlines))


class RegQueryIn(Model):
    reg_id: int | None = Field(None, ge=1)
    fixmedins_code: str | None = Field(None, description="Bureaus: the institution (institutions: their own)")
    scene: Scene | None = None  # type: ignore[valid-type]
    status: RegStatus | None = None  # type: ignore[valid-type]
    limit: int = Field(100, ge=1, le=1000)


class RegListOut(Model):
    registrations: list[RegOut]


@transaction("3025", "special-registration-query", en="Query special registrations", zh="查询特殊登记",
             roles=BUREAU_ROLES | {"institution"}, tag="special_registration", reqs=("INP-5",))
def query(ctx: Ctx, inp: RegQueryIn) -> RegListOut:
    if inp.reg_id is not None:
        return RegListOut(registrations=[_reg_out(_scoped(ctx, inp.reg_id))])
    code = inp.fixmedins_code
    if ctx.principal.role == "institution":
        code = code or ctx.own_institution()
    if not code:
        raise InvalidField("name the institution or the registration", field="input.fixmedins_code")
    ctx.require_institution(code, field="input.fixmedins_code")
    sql, params = "SELECT reg_id FROM special_registrations WHERE institution_code=?", [code]
    if inp.scene is not None:
        sql += " AND scene=?"
        params.append(inp.scene.value)
    if inp.status is not None:
        sql += " AND status=?"
        params.append(inp.status.value)
    rows = ctx.db.all(sql + " ORDER BY reg_id LIMIT ?", [*params, inp.limit])
    return RegListOut(registrations=[_reg_out(svc.get(ctx.db, r["reg_id"])) for r in rows])
