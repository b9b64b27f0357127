"""Face transactions: enrolment (人脸采集) with de-duplication, 1:1 verification (人脸核验),
template erasure, 1:N identification (人脸检索) and the duplicates enrolment found."""

from __future__ import annotations

import base64
import binascii

import numpy as np
from pydantic import Field, PrivateAttr, field_validator, model_validator

from reference.codes import Scene
from reference.context import Ctx
from reference.envelope import Model
from reference.errors import InvalidField, ModelUnavailable
from reference.face import search, templates
from reference.services.registry import person_view
from reference.transactions import BUREAU_ROLES, transaction

MAX_DIM = 4096


class Liveness(Model):
    """The terminal's liveness (活体检测) result, stored with every capture."""

    passed: bool
    score: float | None = Field(None, ge=0, le=1)
    method: str | None = Field(None, max_length=50, description="e.g. rgb, ir, 3d, action")


class FaceCapture(Model):
    """One face capture: an image for the server to embed, or the terminal's own embedding.

    A terminal-computed embedding comes either as a JSON list of numbers (`embedding`) or, more
    compactly and exactly, as the base64 of its little-endian float32 bytes (`embedding_b64`,
    what face SDKs hand out as a feature blob: 2.7 KB for 512 dimensions against ~5.7 KB of
    JSON text). The server treats both the same."""

    image_b64: str | None = Field(None, description="Base64 JPEG/PNG")
    aligned: bool = Field(False, description="The image is already an aligned face crop")
    embedding: list[float] | None = Field(None, min_length=64, max_length=MAX_DIM)
    embedding_b64: str | None = Field(
        None, max_length=4 * MAX_DIM * 4 // 3 + 4,
        description="Base64 of the embedding as little-endian float32 (4 bytes per dimension, 64-4096 dimensions)",
    )
    embedding_model: str | None = Field(
        None, max_length=100, description="Model id of a terminal-computed embedding (required with it)"
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
    psn_no: str = Field(min_length=1, max_length=30)
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


DEDUP_K = 5  # at most this many other persons are reported for one enrolment


@transaction("2001", "face-enrol", en="Enrol a face template", zh="人脸采集建档",
             roles={"terminal", "institution"}, tag="face", reqs=("INP-1", "HD-1"), prepare=_prepare)
def enrol(ctx: Ctx, inp: EnrolIn) -> EnrolOut:
    """Stores the person's template for the capture's model (replacing an older one).

    De-duplication: before storing, the model's whole gallery is searched (1:N, as in 2004) for
    OTHER persons' templates at or above the model's verification threshold. Matches do not stop
    the enrolment (no requirement says to refuse it, and the person in front of the terminal may be
    the genuine one); they are returned in `duplicate_of` and recorded for bureau users (2005). The
    other person's psn_no is returned only when the enrolling institution enrolled that template
    itself, so that enrolment cannot be used as a city-wide face search (GEN-1)."""
    person_view(ctx.db, inp.psn_no)
    emb = ctx.prepared
    if inp.capture.liveness is not None and not inp.capture.liveness.passed:
        raise InvalidField("liveness check failed; a template needs a live capture",
                           field="input.capture.liveness.passed")
    terminal = ctx.principal.id if ctx.principal.kind == "terminal" else None
    matches, threshold = _duplicates(ctx, inp.psn_no, emb)
    tid, replaced = templates.enrol(
        ctx.db, psn_no=inp.psn_no, model_id=emb.model_id, vector=emb.vector, source=emb.source,
        now=ctx.now_iso(), institution_code=ctx.principal.institution_code, terminal_id=terminal,
        quality=inp.capture.quality,
        liveness_passed=inp.capture.liveness.passed if inp.capture.liveness else None,
    )
    ctx.log_access(inp.psn_no, "write")
    own = ctx.principal.institution_code
    district = ctx.db.scalar("SELECT district_code FROM institutions WHERE code=?", (own,)) if own else None
    found = []
    for c in matches:
        did = ctx.db.insert(
            "INSERT INTO face_duplicates(model_id, template_id, psn_no, other_template_id, other_psn_no,"
            " other_institution_code, score, threshold, institution_code, district_code, terminal_id, msgid, at)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (emb.model_id, tid, inp.psn_no, c.template_id, c.psn_no, c.institution_code or None,
             round(c.score, 6), threshold, own, district, terminal, ctx.msgid, ctx.now_iso()),
        )
        disclosed = own is not None and c.institution_code == own
        if disclosed:
            ctx.log_access(c.psn_no, "read")
        found.append(DuplicateMatch(duplicate_id=did, psn_no=c.psn_no if disclosed else None,
                                    score=round(c.score, 6)))
    return EnrolOut(template_id=tid, model_id=emb.model_id, replaced=replaced,
                    duplicate_checked=threshold is not None, duplicate_of=found)


def _duplicates(ctx: Ctx, psn_no: str, emb) -> tuple[list[search.Candidate], float | None]:
    """Other persons' templates matching this embedding city-wide, and the threshold used."""
    try:
        threshold = ctx.state.face_core().threshold(emb.model_id)
    except ModelUnavailable:  # an uncalibrated model can enrol, but cannot say what "matches"
        return [], None
    own = ctx.db.all("SELECT template_id FROM face_templates WHERE psn_no=? AND model_id=?",
                     (psn_no, emb.model_id))
    try:
        res = search.identify(ctx.state.store, emb.model_id, emb.vector, k=DEDUP_K, threshold=threshold,
                              oversample=ctx.settings.face_search_oversample,
                              exclude_template_ids=[r["template_id"] for r in own])
    except ValueError as exc:  # the probe's dimension differs from the model's
        raise InvalidField(str(exc), field="input.capture") from None
    return [c for c in res.candidates if c.psn_no != psn_no], threshold


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
    emb = ctx.prepared
    tid, tmpl = templates.template(ctx.db, inp.psn_no, emb.model_id, int(emb.vector.shape[0]),
                                   person_field="input.psn_no")
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


class IdentifyIn(Model):
    capture: FaceCapture
    k: int = Field(10, ge=1, le=100, description="At most this many candidates")
    threshold: float | None = Field(
        None, ge=-1, le=1,
        description="Report candidates at or above this cosine; default and minimum: the model's "
                    "verification operating point (a lower one would disclose non-matching persons)",
    )
    district_code: str | None = Field(None, max_length=6, description="Search this district's enrolments only")
    fixmedins_code: str | None = Field(
        None, max_length=30, description="Search the templates this institution enrolled only"
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


@transaction("2004", "face-identify", en="Identify a face (1:N)", zh="人脸检索（1:N）",
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
    p = ctx.principal
    inst, district = inp.fixmedins_code, inp.district_code
    if district is not None:
        ctx.require_district(district, field="input.district_code")
    if inst is not None:
        row = ctx.require_institution(inst, field="input.fixmedins_code")
        if district is not None and row["district_code"] != district:
            raise InvalidField(f"institution {inst} is not in district {district}", field="input.fixmedins_code")
    elif p.role in {"institution", "terminal"}:
        inst = ctx.own_institution()
    elif district is None and not p.is_city_wide:
        district = p.district_code
    floor = ctx.state.face_core().threshold(emb.model_id)
    threshold = floor if inp.threshold is None else inp.threshold
    if threshold < floor:
        raise InvalidField(f"may not be below the operating point {floor} of model {emb.model_id}",
                           field="input.threshold")
    try:
        res = search.identify(ctx.state.store, emb.model_id, emb.vector, k=inp.k, threshold=threshold,
                              scope=search.Scope(institution_code=inst, district_code=district),
                              oversample=ctx.settings.face_search_oversample)
    except ValueError as exc:
        raise InvalidField(str(exc), field="input.capture") from None
    for c in res.candidates:
        ctx.log_access(c.psn_no, "read")
    return IdentifyOut(
        candidates=[IdentifyCandidate(psn_no=c.psn_no, score=round(c.score, 6), template_id=c.template_id,
                                      fixmedins_code=c.institution_code or None) for c in res.candidates],
        model_id=emb.model_id, threshold=threshold, district_code=district, fixmedins_code=inst,
        gallery_size=res.gallery_size,
    )


class DuplicateListIn(Model):
    district_code: str | None = Field(None, max_length=6, description="Enrolled in this district")
    fixmedins_code: str | None = Field(None, max_length=30, description="Enrolled by this institution")
    psn_no: str | None = Field(None, max_length=30, description="Either side of the match is this person")
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


@transaction("2005", "face-duplicate-list", en="Query enrolment duplicates", zh="查询重复建档（一脸多人）",
             roles=BUREAU_ROLES, tag="face", reqs=("GEN-1", "GEN-5"))
def duplicate_list(ctx: Ctx, inp: DuplicateListIn) -> DuplicateListOut:
    """Enrolments whose face matched another person's template (found by 2001's de-duplication):
    possible impersonation (冒名) or one face behind several insurance cards (多卡). District users
    see the enrolments made in their district."""
    sql = ("SELECT duplicate_id, at, model_id, psn_no, institution_code AS fixmedins_code, terminal_id,"
           " other_psn_no, other_institution_code AS other_fixmedins_code, score, threshold"
           " FROM face_duplicates WHERE 1=1")
    params: list = []
    district = inp.district_code
    if district is not None:
        ctx.require_district(district, field="input.district_code")
    elif not ctx.principal.is_city_wide:
        district = ctx.principal.district_code
    if district is not None:
        sql += " AND district_code=?"
        params.append(district)
    if inp.fixmedins_code is not None:
        ctx.require_institution(inp.fixmedins_code, field="input.fixmedins_code")
        sql += " AND institution_code=?"
        params.append(inp.fixmedins_code)
    if inp.psn_no is not None:
        sql += " AND (psn_no=? OR other_psn_no=?)"
        params += [inp.psn_no, inp.psn_no]
    sql += " ORDER BY duplicate_id DESC LIMIT ?"
    params.append(inp.limit)
    entries = [DuplicateEntry(**r) for r in ctx.db.all(sql, params)]
    for e in entries:
        ctx.log_access(e.psn_no, "read")
        ctx.log_access(e.other_psn_no, "read")
    return DuplicateListOut(entries=entries)
