"""The face service (人脸服务) every scene uses: enrolment with de-duplication, verification for a
subject, capture for a subject (enrol the first time, verify afterwards), identification (1:N).

Handlers parse the input, call one of these functions and shape the output; no handler calls
another handler. Each function takes the transaction's `Ctx` (database, business clock, sender,
face core) and the embedding the gateway prepared outside the write lock.

Who may enrol whom (GEN-1, GEN-5):

- a person's template of a model belongs to the institution that enrolled it; another
  institution may not replace it (it verifies against it instead, see `capture_for_subject`),
  so a terminal elsewhere cannot swap in another face for a patient (冒名就医);
- enrolling links the person to the institution (reference.scope), verification needs that link.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from reference.context import Ctx
from reference.errors import Conflict, InvalidField, ModelUnavailable, NotFound
from reference.face import search, templates
from reference.face.core import Embedding

DEDUP_K = 5  # at most this many other persons are reported for one enrolment


@dataclass(frozen=True)
class DuplicateFound:
    duplicate_id: int
    psn_no: str | None  # withheld (None) unless the caller's institution enrolled that template
    score: float


@dataclass(frozen=True)
class Enrolment:
    template_id: int
    model_id: str
    replaced: bool
    duplicate_checked: bool
    duplicates: list[DuplicateFound] = field(default_factory=list)


@dataclass(frozen=True)
class Verification:
    verification_id: int
    passed: bool
    matched: bool
    score: float
    threshold: float
    model_id: str
    liveness_passed: bool | None


@dataclass(frozen=True)
class Capture:
    """What a capture for a subject did: a first enrolment, or a verification against the template."""

    mode: str  # enrolled | verified
    template_id: int
    model_id: str
    enrolment: Enrolment | None
    verification: Verification | None

    @property
    def accepted(self) -> bool:
        return self.enrolment is not None or (self.verification is not None and self.verification.passed)


def _owner(ctx: Ctx, psn_no: str, model_id: str) -> dict[str, Any] | None:
    """The person's template of this model and who enrolled it, if any."""
    return ctx.db.one("SELECT template_id, institution_code FROM face_templates WHERE psn_no=? AND model_id=?",
                      (psn_no, model_id))


def _liveness(capture: Any) -> bool | None:
    return None if capture.liveness is None else bool(capture.liveness.passed)


def enrol(ctx: Ctx, psn_no: str, capture: Any, emb: Embedding, *, person_field: str = "input.psn_no",
          link: bool = True) -> Enrolment:
    """Store the person's template of the capture's model, replacing an older one the same
    institution enrolled, after searching the gallery for OTHER persons with this face.

    Matches do not stop the enrolment (the person at the terminal may be the genuine one); they
    are returned and recorded for bureau users (2005). The other person's psn_no is returned only
    when the caller's institution enrolled that template itself, so that enrolment is never a
    city-wide face search (GEN-1)."""
    if capture.liveness is not None and not capture.liveness.passed:
        raise InvalidField("liveness check failed; a template needs a live capture",
                           field="input.capture.liveness.passed")
    own = ctx.principal.institution_code
    current = _owner(ctx, psn_no, emb.model_id)
    if current is not None and current["institution_code"] != own:
        if not ctx.scope.sees_person(ctx.db, psn_no):
            # Whether a person the caller has no link to has a template elsewhere is not its business.
            raise NotFound(f"person {psn_no} does not exist", field=person_field)
        raise Conflict(f"person {psn_no} already has a template of model {emb.model_id} enrolled by another "
                       "institution: verify against it (2002), or a bureau erases it (2003) before a new "
                       "enrolment", field=person_field)
    terminal = ctx.principal.id if ctx.principal.kind == "terminal" else None
    matches, threshold = _duplicates(ctx, psn_no, emb)
    tid, replaced = templates.enrol(
        ctx.db, psn_no=psn_no, model_id=emb.model_id, vector=emb.vector, source=emb.source, now=ctx.now_iso(),
        institution_code=own, terminal_id=terminal, quality=capture.quality, liveness_passed=_liveness(capture))
    if link and own is not None:
        ctx.link_person(psn_no, "enrolment")
    ctx.log_access(psn_no, "write")
    district = ctx.db.scalar("SELECT district_code FROM institutions WHERE code=?", (own,)) if own else None
    found = []
    for c in matches:
        did = ctx.db.insert(
            "INSERT INTO face_duplicates(model_id, template_id, psn_no, other_template_id, other_psn_no,"
            " other_institution_code, score, threshold, institution_code, district_code, terminal_id, msgid, at)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (emb.model_id, tid, psn_no, c.template_id, c.psn_no, c.institution_code or None, round(c.score, 6),
             threshold, own, district, terminal, ctx.msgid, ctx.now_iso()))
        disclosed = own is not None and c.institution_code == own
        if disclosed:
            ctx.log_access(c.psn_no, "read")
        found.append(DuplicateFound(did, c.psn_no if disclosed else None, round(c.score, 6)))
    return Enrolment(tid, emb.model_id, replaced, threshold is not None, found)


def _duplicates(ctx: Ctx, psn_no: str, emb: Embedding) -> tuple[list[search.Candidate], float | None]:
    """Other persons' templates matching this embedding city-wide, and the threshold used."""
    try:
        threshold = ctx.state.face_core().threshold(emb.model_id)
    except ModelUnavailable:  # an uncalibrated model can enrol, but cannot say what "matches"
        return [], None
    own = ctx.db.all("SELECT template_id FROM face_templates WHERE psn_no=? AND model_id=?", (psn_no, emb.model_id))
    try:
        res = search.identify(ctx.state.store, emb.model_id, emb.vector, k=DEDUP_K, threshold=threshold,
                              oversample=ctx.settings.face_search_oversample,
                              exclude_template_ids=[r["template_id"] for r in own])
    except ValueError as exc:  # the probe's dimension differs from the model's
        raise InvalidField(str(exc), field="input.capture") from None
    return [c for c in res.candidates if c.psn_no != psn_no], threshold


def verify(ctx: Ctx, psn_no: str, capture: Any, emb: Embedding, *, scene: str, subject_type: str | None = None,
           subject_id: str | None = None, mdtrt_id: str | None = None,
           person_field: str = "input.psn_no") -> Verification:
    """1:1 verification of the capture against the person's template of the same model, made for
    a subject of a scene (a visit, a session, a purchase). Every attempt, passed or not, is stored
    with the terminal's liveness result and capture quality. The caller checks visibility."""
    tid, tmpl = templates.template(ctx.db, psn_no, emb.model_id, int(emb.vector.shape[0]), person_field=person_field)
    threshold = ctx.state.face_core().threshold(emb.model_id)
    score = float(round(float(tmpl @ emb.vector), 6))
    matched = score >= threshold
    live = _liveness(capture)
    passed = matched and live is not False
    vid = ctx.db.insert(
        "INSERT INTO face_verifications(psn_no, model_id, template_id, score, threshold, matched,"
        " liveness_passed, liveness_score, quality, passed, scene, mdtrt_id, subject_type, subject_id,"
        " institution_code, terminal_id, msgid, at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (psn_no, emb.model_id, tid, score, threshold, int(matched), None if live is None else int(live),
         capture.liveness.score if capture.liveness else None, capture.quality, int(passed), scene, mdtrt_id,
         subject_type, subject_id, ctx.principal.institution_code, ctx.principal.id, ctx.msgid, ctx.now_iso()))
    ctx.log_access(psn_no, "read")
    return Verification(vid, passed, matched, score, threshold, emb.model_id, live)


def capture_for_subject(ctx: Ctx, psn_no: str, capture: Any, emb: Embedding, *, scene: str, subject_type: str,
                        subject_id: str, mdtrt_id: str | None = None) -> Capture:
    """The identity-and-face capture a scene asks for at its start (admission, first dialysis):
    the first time, the person's template is enrolled; when the person already has a template of
    the model (enrolled here or elsewhere), the capture is verified against it and never replaces
    it — a new face cannot be swapped in for a known patient."""
    current = _owner(ctx, psn_no, emb.model_id)
    if current is None:
        e = enrol(ctx, psn_no, capture, emb)
        return Capture("enrolled", e.template_id, e.model_id, e, None)
    v = verify(ctx, psn_no, capture, emb, scene=scene, subject_type=subject_type, subject_id=subject_id,
               mdtrt_id=mdtrt_id)
    return Capture("verified", current["template_id"], emb.model_id, None, v)


def passed_verification(ctx: Ctx, verification_id: int, *, field: str) -> dict[str, Any]:
    """A verification made at the caller's institution (one elsewhere does not exist for it)."""
    return ctx.scope.fetch(
        ctx.db, "SELECT * FROM face_verifications WHERE verification_id=?", (verification_id,),
        institution_column="institution_code",
        not_found=lambda: NotFound(f"no face verification {verification_id}", field=field))


def identify(ctx: Ctx, emb: Embedding, *, k: int, threshold: float | None, district: str | None,
             institution: str | None) -> tuple[search.SearchResult, float, str | None, str | None]:
    """1:N search within the caller's scope (an institution searches the templates it enrolled; a
    district user its district, or one institution in it; city-wide users the city unless they
    narrow it). Returns the result, the threshold used and the scope searched."""
    scope = ctx.scope
    if district is not None:
        scope.district(ctx.db, district, field="input.district_code")
    if institution is not None:
        row = scope.institution(ctx.db, institution, field="input.fixmedins_code")
        if district is not None and row["district_code"] != district:
            raise InvalidField(f"institution {institution} is not in district {district}",
                               field="input.fixmedins_code")
    elif scope.level == "institution":
        institution = scope.institution_code
    elif district is None and scope.level == "district":
        district = scope.district_code
    floor = ctx.state.face_core().threshold(emb.model_id)
    used = floor if threshold is None else threshold
    if used < floor:
        raise InvalidField(f"may not be below the operating point {floor} of model {emb.model_id}",
                           field="input.threshold")
    try:
        res = search.identify(ctx.state.store, emb.model_id, emb.vector, k=k, threshold=used,
                              scope=search.Scope(institution_code=institution, district_code=district),
                              oversample=ctx.settings.face_search_oversample)
    except ValueError as exc:
        raise InvalidField(str(exc), field="input.capture") from None
    for c in res.candidates:
        ctx.log_access(c.psn_no, "read")
    return res, used, district, institution


def duplicates(ctx: Ctx, *, district: str | None, institution: str | None, psn_no: str | None,
               limit: int) -> list[dict[str, Any]]:
    """Enrolment duplicates in the caller's scope (2005), newest first; both persons are logged."""
    scope = ctx.scope
    sql = ("SELECT duplicate_id, at, model_id, psn_no, institution_code AS fixmedins_code, terminal_id,"
           " other_psn_no, other_institution_code AS other_fixmedins_code, score, threshold"
           " FROM face_duplicates WHERE 1=1")
    params: list[Any] = []
    if district is not None:
        scope.district(ctx.db, district, field="input.district_code")
        sql += " AND district_code=?"
        params.append(district)
    clause, extra = scope.where_district("district_code")
    sql, params = sql + clause, params + extra
    if institution is not None:
        scope.institution(ctx.db, institution, field="input.fixmedins_code")
        sql += " AND institution_code=?"
        params.append(institution)
    if psn_no is not None:
        sql += " AND (psn_no=? OR other_psn_no=?)"
        params += [psn_no, psn_no]
    rows = ctx.db.all(sql + " ORDER BY duplicate_id DESC LIMIT ?", [*params, limit])
    for r in rows:
        ctx.log_access(r["psn_no"], "read")
        ctx.log_access(r["other_psn_no"], "read")
    return rows


def erase(ctx: Ctx, psn_no: str, model_id: str | None) -> int:
    """Erase the person's templates (of one model, or all) that were enrolled by institutions in
    the caller's scope; returns how many. The person must be visible to the caller."""
    ctx.person(psn_no)
    clause, params = ctx.scope.where_institution("institution_code")
    sql = "SELECT model_id FROM face_templates WHERE psn_no=?" + (" AND model_id=?" if model_id else "") + clause
    models = [r["model_id"] for r in ctx.db.all(sql, [psn_no, *([model_id] if model_id else []), *params])]
    n = sum(templates.delete(ctx.db, psn_no, m) for m in models)
    ctx.log_access(psn_no, "write")
    return n
