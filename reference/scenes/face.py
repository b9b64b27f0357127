"""Face transactions: enrolment (人脸采集) with de-duplication, 1:1 verification (人脸核验),
template erasure, 1:N identification (人脸检索) and the duplicates enrolment found."""

from __future__ import annotations

import base64
import binascii

import numpy as np
from pydantic import ConfigDict, Field, PrivateAttr, field_validator, model_validator

from reference.codes import Scene
from reference.context import Ctx
from reference.envelope import Model
from reference.face import templates
from reference.fields import (
    Coded,
    DistrictCode,
    InstitutionCode,
    ModelId,
    PsnNo,
    Text,
    VisitId,
    exactly_one_of,
    required_with,
)
from reference.services import face as face_svc
from reference.services.registry import person_view
from reference.transactions import BUREAU_ROLES, transaction

MAX_DIM = 4096
MAX_IMAGE_B64 = 16 * 1024 * 1024  # characters; the body limit (8 MiB by default) applies first


class Liveness(Model):
    """The terminal's liveness (活体检测) result, stored with every capture."""

    passed: bool
    score: float | None = Field(None, ge=0, le=1)
    method: Text | None = Field(None, max_length=50, description="e.g. rgb, ir, 3d, action")


class FaceCapture(Model):
    """One face capture: an image for the server to embed, or the terminal's own embedding.

    A terminal-computed embedding comes either as a JSON list of numbers (`embedding`) or, more
    compactly and exactly, as the base64 of its little-endian float32 bytes (`embedding_b64`,
    what face SDKs hand out as a feature blob: 2.7 KB for 512 dimensions against ~5.7 KB of
    JSON text). The server treats both the same."""

    model_config = ConfigDict(json_schema_extra={
        "allOf": [exactly_one_of("image_b64", "embedding", "embedding_b64"),
                  required_with("embedding", "embedding_model"), required_with("embedding_b64", "embedding_model")],
        "x-server-checks": ["image_b64 only where the server runs a face engine (not face_engine embedding-only)",
                            "embedding_b64 decodes to 64-4096 little-endian float32 values, all finite",
                            "embedding_model is a model with a calibrated operating point or the engine's own"]})

    image_b64: str | None = Field(
        None, max_length=MAX_IMAGE_B64,
        description="Base64 JPEG or PNG, at most face_max_image_pixels pixels (a server setting; 4,194,304 by "
                    "default) and within the body limit (max_body_bytes, 8 MiB by default)",
    )
    aligned: bool = Field(False, description="The image is already an aligned face crop")
    embedding: list[float] | None = Field(None, min_length=64, max_length=MAX_DIM)
    embedding_b64: str | None = Field(
        None, max_length=4 * MAX_DIM * 4 // 3 + 4,
        description="Base64 of the embedding as little-endian float32 (4 bytes per dimension, 64-4096 dimensions)",
    )
    embedding_model: ModelId | None = Field(
        None, description="Model id of a terminal-computed embedding (required with it): a model with a calibrated "
                          "operating point (see the face models page) or the server engine's own model"
    )
    quality: float | None = Field(None, ge=0, le=1, description="Capture quality reported by the terminal")
    liveness: Liveness | None = None
    _vector: np.ndarray | None = PrivateAttr(None)  # the embedding as an array, once validated

    @field_validator("embedding_b64")
    @classmethod
    def _blob(cls, v: str | None) -> str | None:
        if v is None:
            return None
        vector = _float32_blob(v)
        if not np.isfinite(vector).all():
            raise ValueError("embedding contains a non-finite number")
        return _Blob(v, vector)  # decoded once: the text keeps its array

    @model_validator(mode="after")
    def _one_source(self) -> FaceCapture:
        given = [n for n in ("image_b64", "embedding", "embedding_b64") if getattr(self, n) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of image_b64, embedding and embedding_b64")
        if self.image_b64 is not None:
            return self
        if not self.embedding_model:
            raise ValueError("embedding_model is required with an embedding")
        if self.embedding_b64 is not None:
            self._vector = self.embedding_b64.vector  # type: ignore[attr-defined]  # see _blob
            return self
        # numpy, not a Python loop: this check was a third of a verification's server time.
        vector = np.asarray(self.embedding, dtype=np.float64)
        if not np.isfinite(vector).all():
            raise ValueError("embedding contains a non-finite number")
        self._vector = vector  # the face core starts from this array, not from the list again
        return self

    def embedding_vector(self) -> np.ndarray | None:
        """The terminal's embedding as an array (None for an image capture): the one validation
        made, or, for a capture built without validation, converted now."""
        if self._vector is not None:
            return self._vector
        if self.embedding is not None:
            return np.asarray(self.embedding, dtype=np.float64)
        if self.embedding_b64 is not None:
            return _float32_blob(self.embedding_b64)
        return None


class _Blob(str):
    """`embedding_b64`'s text, carrying the array it decodes to (so it is decoded once)."""

    vector: np.ndarray

    def __new__(cls, text: str, vector: np.ndarray) -> _Blob:
        self = super().__new__(cls, text)
        self.vector = vector
        return self

    def __reduce__(self):  # copies and pickles are the plain text (the capture keeps its array)
        return (str, (str(self),))


def _float32_blob(b64: str) -> np.ndarray:
    try:
        raw = base64.b64decode(b64, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("embedding_b64 is not valid base64") from None
    if len(raw) % 4:
        raise ValueError(f"embedding_b64 holds {len(raw)} bytes, not a whole number of float32 values")
    n = len(raw) // 4
    if not 64 <= n <= MAX_DIM:
        raise ValueError(f"embedding_b64 holds {n} dimensions; 64 to {MAX_DIM} allowed")
    return np.frombuffer(raw, dtype="<f4")


def _prepare(state, inp):
    return state.face_core().from_capture(inp.capture)


class EnrolIn(Model):
    psn_no: PsnNo
    capture: FaceCapture


class DuplicateMatch(Model):
    """Another person's template that the new enrolment matches (a possible impersonation or a
    second insurance card for one face)."""

    duplicate_id: int = Field(description="The record bureau users find with 2005")
    psn_no: str | None = Field(
        description="The other person, when your institution enrolled their template; otherwise "
                    "withheld (null) and visible to bureau users only (GEN-1)"
    )
    score: float = Field(description="Cosine similarity to the other person's template")


class EnrolOut(Model):
    template_id: int
    model_id: str
    replaced: bool = Field(description="An earlier template of this model was replaced")
    duplicate_checked: bool = Field(
        description="The gallery was searched for other persons with this face (false when the model "
                    "has no calibrated operating point yet)"
    )
    duplicate_of: list[DuplicateMatch] = Field(
        default_factory=list,
        description="Other persons whose template matches at or above the verification threshold, best "
                    "first. The enrolment is stored all the same; the match is recorded for the bureau.",
    )


@transaction("8121", "face-enrol", en="Enrol a face template", zh="人脸采集建档",
             roles={"terminal", "institution"}, tag="face", reqs=("INP-1", "HD-1"), prepare=_prepare)
def enrol(ctx: Ctx, inp: EnrolIn) -> EnrolOut:
    """Stores the person's template for the capture's model. An earlier template of the model is
    replaced only when the same institution enrolled it; one enrolled by another institution is
    refused (3002 conflict naming input.psn_no): verify against it instead (8122), or a bureau
    erases it first (8123). Enrolment links the person to the institution (see the scope page).

    De-duplication: before storing, the model's whole gallery is searched (1:N, as in 8124) for
    OTHER persons' templates at or above the model's verification threshold. Matches do not stop
    the enrolment (no requirement says to refuse it, and the person in front of the terminal may be
    the genuine one); they are returned in `duplicate_of` and recorded for bureau users (8125). The
    other person's psn_no is returned only when the enrolling institution enrolled that template
    itself, so that enrolment cannot be used as a city-wide face search (GEN-1)."""
    person_view(ctx.db, inp.psn_no)
    e = face_svc.enrol(ctx, inp.psn_no, inp.capture, ctx.prepared)
    return EnrolOut(template_id=e.template_id, model_id=e.model_id, replaced=e.replaced,
                    duplicate_checked=e.duplicate_checked,
                    duplicate_of=[DuplicateMatch(duplicate_id=d.duplicate_id, psn_no=d.psn_no, score=d.score)
                                  for d in e.duplicates])


class VerifyIn(Model):
    psn_no: PsnNo
    scene: Coded[Scene]  # type: ignore[valid-type]
    mdtrt_id: VisitId | None = Field(None, description="Visit id (就诊ID), if any")
    capture: FaceCapture


class VerifyOut(Model):
    verification_id: int
    passed: bool = Field(description="matched and liveness not failed")
    matched: bool
    score: float = Field(description="Cosine similarity to the enrolled template")
    threshold: float
    model_id: str
    liveness_passed: bool | None


@transaction("8122", "face-verify", en="Verify a face (1:1)", zh="人脸核验（1:1）",
             roles={"terminal"}, tag="face", reqs=("INP-3", "HD-2", "RH-1", "PH-3", "DEV-1"),
             prepare=_prepare)
def verify(ctx: Ctx, inp: VerifyIn) -> VerifyOut:
    """Compares the capture with the person's template of the same model. Every attempt, passed
    or not, is stored with the terminal's liveness result and capture quality. Only persons linked
    to the terminal's institution can be verified; any other person does not exist for it."""
    ctx.scope.require_person(ctx.db, inp.psn_no)
    return verify_out(face_svc.verify(ctx, inp.psn_no, inp.capture, ctx.prepared, scene=inp.scene.value,
                                      subject_type="inpatient_visit" if inp.mdtrt_id else None,
                                      subject_id=inp.mdtrt_id, mdtrt_id=inp.mdtrt_id))


def verify_out(v: face_svc.Verification) -> VerifyOut:
    return VerifyOut(verification_id=v.verification_id, passed=v.passed, matched=v.matched, score=v.score,
                     threshold=v.threshold, model_id=v.model_id, liveness_passed=v.liveness_passed)


class EraseIn(Model):
    psn_no: PsnNo
    model_id: ModelId | None = Field(None, description="Only this model's template; all when omitted")


class EraseOut(Model):
    deleted: int


@transaction("8123", "face-template-erase", en="Erase a person's face templates", zh="删除人脸模板",
             roles={"city_bureau", "district_bureau"}, tag="face", reqs=("GEN-5",))
def erase(ctx: Ctx, inp: EraseIn) -> EraseOut:
    """A person's right to erasure: removes the templates and their vectors. A district bureau
    erases the templates enrolled in its district (others are not found for it: `deleted` 0).
    When it answers, no byte of the erased templates (nor of earlier ones they replaced) is left
    in the database files: the write-ahead log has been checkpointed and truncated."""
    n = face_svc.erase(ctx, inp.psn_no, inp.model_id)
    if n:  # GEN-5: the log's old page images of the templates go before this answers
        store, wait = ctx.state.store, ctx.settings.face_erase_purge_timeout_s
        ctx.after_commit(lambda: templates.purge_log(store, wait))
    return EraseOut(deleted=n)


class IdentifyIn(Model):
    capture: FaceCapture
    k: int = Field(10, ge=1, le=100, description="At most this many candidates")
    threshold: float | None = Field(
        None, ge=-1, le=1,
        description="Report candidates at or above this cosine; default and minimum: the model's "
                    "verification operating point (a lower one would disclose non-matching persons)",
    )
    district_code: DistrictCode | None = Field(None, description="Search this district's enrolments only")
    fixmedins_code: InstitutionCode | None = Field(
        None, description="Search the templates this institution enrolled only"
    )


class IdentifyCandidate(Model):
    psn_no: str
    score: float = Field(description="Cosine similarity to the person's template (exact)")
    template_id: int
    fixmedins_code: str | None = Field(description="The institution that enrolled the template")


class IdentifyOut(Model):
    candidates: list[IdentifyCandidate] = Field(description="Best first; empty when nobody matches")
    model_id: str
    threshold: float
    district_code: str | None = Field(description="The scope searched (null: the whole city)")
    fixmedins_code: str | None = Field(description="The scope searched (null: every institution)")
    gallery_size: int = Field(description="Templates of this model within the scope")


@transaction("8124", "face-identify", en="Identify a face (1:N)", zh="人脸检索（1:N）",
             roles=BUREAU_ROLES | {"institution", "terminal"}, tag="face", reqs=("GEN-1", "GEN-5"),
             prepare=_prepare)
def identify(ctx: Ctx, inp: IdentifyIn) -> IdentifyOut:
    """Who is this face? The best `k` persons whose template of the capture's model scores at or
    above the threshold: a Hamming scan over the bit templates, then exact cosine re-scoring of
    the best `face_search_oversample` (see docs/face-search.md).

    Scope (GEN-1): an institution or its terminal searches only the templates it enrolled itself;
    a district bureau, agency or audit centre its district (or one institution in it); city-wide
    users the whole city unless they narrow it. Every person returned is logged as read (GEN-5)."""
    emb = ctx.prepared
    res, threshold, district, inst = face_svc.identify(ctx, emb, k=inp.k, threshold=inp.threshold,
                                                       district=inp.district_code, institution=inp.fixmedins_code)
    return IdentifyOut(
        candidates=[IdentifyCandidate(psn_no=c.psn_no, score=round(c.score, 6), template_id=c.template_id,
                                      fixmedins_code=c.institution_code or None) for c in res.candidates],
        model_id=emb.model_id, threshold=threshold, district_code=district, fixmedins_code=inst,
        gallery_size=res.gallery_size,
    )


class DuplicateListIn(Model):
    district_code: DistrictCode | None = Field(None, description="Enrolled in this district")
    fixmedins_code: InstitutionCode | None = Field(None, description="Enrolled by this institution")
    psn_no: PsnNo | None = Field(None, description="Either side of the match is this person")
    limit: int = Field(100, ge=1, le=1000)


class DuplicateEntry(Model):
    duplicate_id: int
    at: str
    model_id: str
    psn_no: str = Field(description="The person enrolled")
    fixmedins_code: str | None = Field(description="Who enrolled them")
    terminal_id: str | None
    other_psn_no: str = Field(description="The person whose template the new one matched")
    other_fixmedins_code: str | None
    score: float
    threshold: float


class DuplicateListOut(Model):
    entries: list[DuplicateEntry] = Field(description="Newest first")


@transaction("8125", "face-duplicate-list", en="Query enrolment duplicates", zh="查询重复建档（一脸多人）",
             roles=BUREAU_ROLES, tag="face", reqs=("GEN-1", "GEN-5"))
def duplicate_list(ctx: Ctx, inp: DuplicateListIn) -> DuplicateListOut:
    """Enrolments whose face matched another person's template (found by 8121's de-duplication):
    possible impersonation (冒名) or one face behind several insurance cards (多卡). District users
    see the enrolments made in their district."""
    rows = face_svc.duplicates(ctx, district=inp.district_code, institution=inp.fixmedins_code,
                               psn_no=inp.psn_no, limit=inp.limit)
    return DuplicateListOut(entries=[DuplicateEntry(**r) for r in rows])
