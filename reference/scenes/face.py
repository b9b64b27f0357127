"""Face transactions: enrolment (人脸采集), 1:1 verification (人脸核验), template erasure."""

from __future__ import annotations

import math

from pydantic import Field, model_validator

from reference.codes import Scene
from reference.context import Ctx
from reference.envelope import Model
from reference.errors import InvalidField
from reference.face import templates
from reference.services.registry import person_view
from reference.transactions import transaction

MAX_DIM = 4096


class Liveness(Model):
    """The terminal's liveness (活体检测) result, stored with every capture."""

    passed: bool
    score: float | None = Field(None, ge=0, le=1)
    method: str | None = Field(None, max_length=50, description="e.g. rgb, ir, 3d, action")


class FaceCapture(Model):
    """One face capture: an image for the server to embed, or the terminal's own embedding."""

    image_b64: str | None = Field(None, description="Base64 JPEG/PNG")
    aligned: bool = Field(False, description="The image is already an aligned face crop")
    embedding: list[float] | None = Field(None, min_length=64, max_length=MAX_DIM)
    embedding_model: str | None = Field(
        None, max_length=100, description="Model id of a terminal-computed embedding (required with it)"
    )
    quality: float | None = Field(None, ge=0, le=1, description="Capture quality reported by the terminal")
    liveness: Liveness | None = None

    @model_validator(mode="after")
    def _one_source(self) -> FaceCapture:
        if (self.image_b64 is None) == (self.embedding is None):
            raise ValueError("give exactly one of image_b64 and embedding")
        if self.embedding is not None:
            if not self.embedding_model:
                raise ValueError("embedding_model is required with an embedding")
            if not all(math.isfinite(x) for x in self.embedding):
                raise ValueError("embedding contains a non-finite number")
        return self


def _prepare(state, inp):
    return state.face_core().from_capture(inp.capture)


class EnrolIn(Model):
    psn_no: str = Field(min_length=1, max_length=30)
    capture: FaceCapture


class EnrolOut(Model):
    template_id: int
    model_id: str
    replaced: bool = Field(description="An earlier template of this model was replaced")


@transaction("2001", "face-enrol", en="Enrol a face template", zh="人脸采集建档",
             roles={"terminal", "institution"}, tag="face", reqs=("INP-1", "HD-1"), prepare=_prepare)
def enrol(ctx: Ctx, inp: EnrolIn) -> EnrolOut:
    """Stores the person's template for the capture's model (replacing an older one)."""
    person_view(ctx.db, inp.psn_no)
    emb = ctx.prepared
    if inp.capture.liveness is not None and not inp.capture.liveness.passed:
        raise InvalidField("liveness check failed; a template needs a live capture",
                           field="input.capture.liveness.passed")
    terminal = ctx.principal.id if ctx.principal.kind == "terminal" else None
    tid, replaced = templates.enrol(
        ctx.db, psn_no=inp.psn_no, model_id=emb.model_id, vector=emb.vector, source=emb.source,
        now=ctx.now_iso(), institution_code=ctx.principal.institution_code, terminal_id=terminal,
        quality=inp.capture.quality,
        liveness_passed=inp.capture.liveness.passed if inp.capture.liveness else None,
    )
    ctx.log_access(inp.psn_no, "write")
    return EnrolOut(template_id=tid, model_id=emb.model_id, replaced=replaced)


class VerifyIn(Model):
    psn_no: str = Field(min_length=1, max_length=30)
    scene: Scene  # type: ignore[valid-type]
    mdtrt_id: str | None = Field(None, max_length=30, description="Visit id (就诊ID), if any")
    capture: FaceCapture


class VerifyOut(Model):
    verification_id: int
    passed: bool = Field(description="matched and liveness not failed")
    matched: bool
    score: float = Field(description="Cosine similarity to the enrolled template")
    threshold: float
    model_id: str
    liveness_passed: bool | None


@transaction("2002", "face-verify", en="Verify a face (1:1)", zh="人脸核验（1:1）",
             roles={"terminal"}, tag="face", reqs=("INP-3", "HD-2", "RH-1", "PH-3", "DEV-1"),
             prepare=_prepare)
def verify(ctx: Ctx, inp: VerifyIn) -> VerifyOut:
    """Compares the capture with the person's template of the same model. Every attempt, passed
    or not, is stored with the terminal's liveness result and capture quality."""
    person_view(ctx.db, inp.psn_no)
    emb = ctx.prepared
    tid, tmpl = templates.template(ctx.db, inp.psn_no, emb.model_id, int(emb.vector.shape[0]))
    threshold = ctx.state.face_core().threshold(emb.model_id)
    score = float(round(float(tmpl @ emb.vector), 6))
    matched = score >= threshold
    live = inp.capture.liveness
    passed = matched and (live is None or live.passed)
    vid = ctx.db.insert(
        "INSERT INTO face_verifications(psn_no, model_id, template_id, score, threshold, matched,"
        " liveness_passed, liveness_score, quality, passed, scene, mdtrt_id, institution_code,"
        " terminal_id, msgid, at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (inp.psn_no, emb.model_id, tid, score, threshold, int(matched),
         None if live is None else int(live.passed), live.score if live else None,
         inp.capture.quality, int(passed), inp.scene.value, inp.mdtrt_id,
         ctx.principal.institution_code, ctx.principal.id, ctx.msgid, ctx.now_iso()),
    )
    ctx.log_access(inp.psn_no, "read")
    return VerifyOut(verification_id=vid, passed=passed, matched=matched, score=score,
                     threshold=threshold, model_id=emb.model_id,
                     liveness_passed=None if live is None else live.passed)


class EraseIn(Model):
    psn_no: str = Field(min_length=1, max_length=30)
    model_id: str | None = Field(None, description="Only this model's template; all when omitted")


class EraseOut(Model):
    deleted: int


@transaction("2003", "face-template-erase", en="Erase a person's face templates", zh="删除人脸模板",
             roles={"city_bureau", "district_bureau"}, tag="face", reqs=("GEN-5",))
def erase(ctx: Ctx, inp: EraseIn) -> EraseOut:
    """A person's right to erasure: removes the templates and their vectors."""
    person_view(ctx.db, inp.psn_no)
    n = templates.delete(ctx.db, inp.psn_no, inp.model_id)
    ctx.log_access(inp.psn_no, "write")
    return EraseOut(deleted=n)
