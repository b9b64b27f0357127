"""Special-registration transactions (8601–8605, 特殊登记): attachments, submission, supplement,
review and query. The workflow is generic over scenes (reference.services.special_registration):
what a registration excuses is a subject type a scene registers there (inpatient: the patient-day
and the remote bed-check item; dialysis and rehab add their session subjects), and 8602's
`subject` is built from those registrations."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field, create_model, model_validator

from reference.codes import Scene, code_enum
from reference.context import Ctx
from reference.envelope import Model
from reference.errors import InvalidField
from reference.fields import Coded, InstitutionCode, LongText, RowId, Text
from reference.rules.params import rule_params
from reference.services import special_registration as svc
from reference.transactions import BUREAU_ROLES, transaction

Reason = code_enum("special_registration_reason", "Reason")
AttachmentType = code_enum("attachment_type", "AttachmentType")
RegStatus = code_enum("special_registration_status", "RegStatus")


class UploadIn(Model):
    att_type: Coded[AttachmentType]  # type: ignore[valid-type]
    filename: Text = Field(min_length=1, max_length=200)
    media_type: str = Field(max_length=100, pattern=r"^[a-z]+/[a-z0-9.+\-]+$",
                            description="application/pdf, image/jpeg or image/png (configurable)",
                            json_schema_extra={"x-server-checks": [
                                "one of the server's attachment_media_types (default application/pdf, image/jpeg, "
                                "image/png), and the content starts like that type"]})
    content_b64: str = Field(min_length=1, max_length=16 * 1024 * 1024,
                             description="The file, base64; size limit in setting attachment_max_bytes (and the "
                                         "body limit, max_body_bytes)")


class AttachmentOut(Model):
    attachment_id: int
    att_type: str
    filename: str
    media_type: str
    size_bytes: int
    sha256: str = Field(description="SHA-256 of the content, hex")
    duplicate: bool = Field(False, description="The same content of this type was uploaded before: that one is "
                                               "returned")


@transaction("8601", "special-registration-attachment", en="Upload an attachment", zh="上传特殊登记附件",
             roles={"institution"}, tag="special_registration", reqs=("INP-6", "HD-3", "RH-1"))
def upload(ctx: Ctx, inp: UploadIn) -> AttachmentOut:
    """Stores the file with its SHA-256; size and media type are limited by settings and the
    content must start like the declared type."""
    row = svc.upload_attachment(
        ctx.db, institution_code=ctx.own_institution(), att_type=inp.att_type.value, filename=inp.filename,
        media_type=inp.media_type, content_b64=inp.content_b64, max_bytes=ctx.settings.attachment_max_bytes,
        media_types=ctx.settings.attachment_media_types, by=ctx.principal.id, now=ctx.now_iso())
    return AttachmentOut(**{k: row[k] for k in AttachmentOut.model_fields})


class _SubjectBase(Model):
    """Exactly one field: the subject's type, naming it as that type's model says."""

    model_config = ConfigDict(json_schema_extra={"minProperties": 1, "maxProperties": 1})

    @model_validator(mode="after")
    def _exactly_one(self) -> _SubjectBase:
        if len(self.model_fields_set) != 1:
            raise ValueError(f"name exactly one subject: {' or '.join(type(self).model_fields)}")
        return self

    def chosen(self) -> tuple[str, Model]:
        return next((k, v) for k, v in self if v is not None)


# One optional field per subject type the scenes register (reference.services.special_registration):
# a new scene's subject appears here, typed, without touching the handler. Externally tagged —
# {"patient_day": {"mdtrt_id": …, "day": …}} — so an error names the real JSON path
# (input.subject.patient_day.day), and an unknown type is an unknown field (1001).
SubjectIn = create_model(
    "SubjectIn", __base__=_SubjectBase, __doc__="What the registration excuses: one subject of a scene.",
    **{name: (t.ref, Field(None, description=f"{t.scene}: {' '.join(t.description.split())}"))
       for name, t in svc.subject_types().items()})


class SubmitIn(Model):
    subject: SubjectIn = Field(  # type: ignore[valid-type]
        description="The subject whose required check could not be passed, by type, e.g. "
                    '{"patient_day": {"mdtrt_id": "ZY001", "day": "2026-03-03"}} or '
                    '{"bed_check_item": {"mdtrt_id": "ZY001", "task_id": 7}}; its scene is the type\'s')
    reason: Coded[Reason]  # type: ignore[valid-type]
    explanation: LongText = Field(min_length=5, max_length=2000, description="情况说明")
    attachment_ids: list[RowId] = Field(
        min_length=1, max_length=20,
        description="Uploaded attachments (8601); the reason's required types (per scene, "
                    "interface_spec/special_registration/workflow.yaml) must be among them")


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
    return rule_params(ctx.db, cfg.deadline_rule, institution_code, ctx.now())


@transaction("8602", "special-registration-submit", en="Submit a special registration", zh="特殊登记",
             roles={"institution"}, tag="special_registration", reqs=("INP-3", "INP-4", "INP-6"))
def submit(ctx: Ctx, inp: SubmitIn) -> RegOut:
    """Registers why a required check could not be passed, with the material the reason requires
    in the subject's scene (inpatient: transfer → transfer voucher, under treatment → treatment
    record, face not recognisable → evidence, on leave → leave note). Inpatient subjects: a
    `patient_day` (before that day's day end) or a `bed_check_item` (before the task's deadline)."""
    kind, ref = inp.subject.chosen()
    reg_id = svc.submit(ctx.db, subject=kind, ref=ref, institution_code=ctx.own_institution(),
                        reason=inp.reason.value, explanation=inp.explanation, attachment_ids=inp.attachment_ids,
                        by=ctx.principal.id, role=ctx.principal.role, now=ctx.now())
    reg = svc.get(ctx.db, reg_id)
    ctx.log_access(reg["psn_no"], "write")
    return _reg_out(reg)


class SupplementIn(Model):
    reg_id: RowId
    note: LongText = Field(min_length=5, max_length=2000, description="What the new material shows")
    attachment_ids: list[RowId] = Field(min_length=1, max_length=20)


def _scoped(ctx: Ctx, reg_id: int) -> dict[str, Any]:
    """The registration if its institution is in scope; one elsewhere does not exist."""
    return svc.get(ctx.db, reg_id, scope=ctx.scope)


@transaction("8603", "special-registration-supplement", en="Supplement a rejected special registration",
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
    reg_id: RowId
    approve: bool = Field(description="true: approved; false: rejected (a second rejection is final: a violation)")
    note: LongText = Field(min_length=1, max_length=2000, description="审核意见")


@transaction("8604", "special-registration-review", en="Review a special registration", zh="特殊登记审核",
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
    reg_id: RowId | None = None
    fixmedins_code: InstitutionCode | None = Field(
        None, description="Bureaus: the institution (institutions: their own)",
        json_schema_extra={"x-server-checks": ["a bureau user names the institution or reg_id"]})
    scene: Coded[Scene] | None = None  # type: ignore[valid-type]
    status: Coded[RegStatus] | None = None  # type: ignore[valid-type]
    limit: int = Field(100, ge=1, le=1000)


class RegListOut(Model):
    registrations: list[RegOut]


@transaction("8605", "special-registration-query", en="Query special registrations", zh="查询特殊登记",
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
    rows = svc.find(ctx.db, code, scene=inp.scene.value if inp.scene is not None else None,
                    status=inp.status.value if inp.status is not None else None, limit=inp.limit)
    return RegListOut(registrations=[_reg_out(svc.get(ctx.db, r["reg_id"])) for r in rows])
