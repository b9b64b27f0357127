"""Special registration (特殊登记) and its attachments — one workflow for every scene that needs it.

When a required face check cannot be passed (an inpatient's daily check or remote bed check, a
dialysis or rehab check-in/out), the institution registers the reason with the material that
reason requires (Zhengzhou 2023 art. 11, 15, 23) and the bureau reviews it (art. 10, 16):

    submitted ──► approved
        │
        └──► rejected ──► supplemented ──► approved
             (institution,          └──► rejected_final  (a violation)
              before its deadline)

What a registration excuses is a *subject* of a scene, registered by the scene's code
(`register_subject`: a patient-day, a remote-check item; later a dialysis check-in/out, a rehab
session) with a resolver that finds it and checks it needs a registration, and an optional hook
after it is registered. The reasons each scene accepts, the attachment types each requires, the
states, the edges and the roles allowed on each edge are data: interface_spec/
special_registration/workflow.yaml, checked when loaded against the code tables, the subject
types the code registers and the rule library, every problem reported at once. Review and supplement deadlines are
parameters of a per-scene rule (`deadline_rule`). Every state change is written to
`special_registration_events` with who, which role and when.

Attachments are uploaded first (size and media-type limits from settings, the content's leading
bytes must match the declared type) and stored with their SHA-256.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any

import yaml
from pydantic import BaseModel

from reference.codes import table
from reference.errors import Conflict, Forbidden, InvalidField, InvalidState, NotFound
from reference.paths import INTERFACE_SPEC
from reference.scope import Scope
from reference.services.scene_registry import SceneRegistry
from reference.store import Db, equal_filters

WORKFLOW_FILE = INTERFACE_SPEC / "special_registration" / "workflow.yaml"
FINAL_STATES = frozenset({"approved", "rejected_final"})

# Leading bytes ("magic numbers") of each accepted media type: a declared type must match them.
MAGIC: dict[str, tuple[bytes, ...]] = {
    "application/pdf": (b"%PDF-",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
}


@dataclass(frozen=True)
class SceneConfig:
    reasons: dict[str, tuple[str, ...]]  # reason → attachment types it requires
    subjects: tuple[str, ...]
    deadline_rule: str


@dataclass(frozen=True)
class Workflow:
    scenes: dict[str, SceneConfig]
    states: tuple[str, ...]
    initial: str
    edges: dict[tuple[str, str], frozenset[str]]

    def roles_for(self, src: str, dst: str) -> frozenset[str] | None:
        return self.edges.get((src, dst))

    def next_states(self, src: str) -> list[str]:
        return sorted(dst for (s, dst) in self.edges if s == src)


def _mapping(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _scene_config(scene: str, spec: Any, codes: dict[str, set[str]], subjects: dict[str, str],
                  rules: dict[str, set[str]], problems: list[str]) -> SceneConfig:
    """One scene's section, every problem appended to `problems`."""
    where = f"scenes.{scene}"
    if scene not in codes["scene"]:
        problems.append(f"{where}: not in code table scene")
    if not isinstance(spec, dict):
        problems.append(f"{where}: expected a mapping of subjects, deadline_rule and reasons")
        spec = {}
    reasons: dict[str, tuple[str, ...]] = {}
    if not _mapping(spec.get("reasons")):
        problems.append(f"{where}.reasons: the scene accepts no reason")
    for code, rspec in _mapping(spec.get("reasons")).items():
        if code not in codes["special_registration_reason"]:
            problems.append(f"{where}.reasons.{code}: not in code table special_registration_reason")
        req = tuple(_mapping(rspec).get("requires") or ())
        bad = sorted(set(req) - codes["attachment_type"])
        if not req or bad:
            problems.append(f"{where}.reasons.{code}.requires: needs attachment types from code table "
                            f"attachment_type{f', not {bad}' if bad else ''}")
        if not _mapping(rspec).get("source"):
            problems.append(f"{where}.reasons.{code}.source: say where the required material comes from")
        reasons[code] = req
    listed = tuple(spec.get("subjects") or ())
    registered = {name for name, sc in subjects.items() if sc == scene}
    for name in sorted(set(listed) - registered):
        problems.append(f"{where}.subjects: {name} is not a subject type the {scene} code registers "
                        f"({', '.join(sorted(registered)) or 'none'})")
    for name in sorted(registered - set(listed)):
        problems.append(f"{where}.subjects: the {scene} code registers subject type {name}; list it")
    rule = spec.get("deadline_rule")
    if not rule:
        problems.append(f"{where}.deadline_rule: name the rule holding review_days and supplement_days")
    elif rule not in rules:
        problems.append(f"{where}.deadline_rule: no rule {rule} in the rule library")
    elif {"review_days", "supplement_days"} - rules[rule]:
        problems.append(f"{where}.deadline_rule: rule {rule} lacks review_days or supplement_days")
    return SceneConfig(reasons, listed, str(rule))


def load_workflow(path=WORKFLOW_FILE, *, subjects: dict[str, str] | None = None,
                  rules: dict[str, set[str]] | None = None) -> Workflow:
    """Load and check the workflow file against the code tables, the subject types the scenes'
    code registers (`subjects`: type → scene) and the rule library (`rules`: id → parameter
    names); raises ValueError listing every problem at once."""
    if subjects is None:
        subjects = {name: t.scene for name, t in subject_types().items()}
    if rules is None:
        from reference.rules.library import load_library

        rules = {rid: set(r.params) for rid, r in load_library().rules.items()}
    raw = _mapping(yaml.safe_load(path.read_text(encoding="utf-8")))
    problems: list[str] = []
    codes = {name: set(table(name).labels()) for name in (
        "special_registration_reason", "attachment_type", "special_registration_status", "role", "scene")}
    states = codes["special_registration_status"]
    scene_cfg = {scene: _scene_config(scene, spec, codes, subjects, rules, problems)
                 for scene, spec in _mapping(raw.get("scenes")).items()}
    for scene in sorted(set(subjects.values()) - set(scene_cfg)):
        problems.append(f"scenes.{scene}: the {scene} code registers special-registration subjects; configure "
                        "the scene")
    listed = tuple(raw.get("states") or ())
    if set(listed) != states:
        problems.append(f"states: must be exactly the codes of special_registration_status, got {listed}")
    edges = {}
    for i, t in enumerate(raw.get("transitions") or ()):
        t = _mapping(t)
        if t.get("from") not in states or t.get("to") not in states:
            problems.append(f"transitions[{i}]: unknown state")
        if not t.get("roles") or set(t["roles"]) - codes["role"]:
            problems.append(f"transitions[{i}].roles: roles must come from code table role")
        edges[(t.get("from"), t.get("to"))] = frozenset(t.get("roles") or ())
    if raw.get("initial") not in states:
        problems.append("initial: not a state")
    for final in FINAL_STATES:
        if any(src == final for src, _ in edges):
            problems.append(f"transitions: {final} is final and may not have outgoing edges")
    if problems:
        raise ValueError(f"{path}: invalid special-registration workflow:\n  " + "\n  ".join(problems))
    return Workflow(scene_cfg, listed, str(raw["initial"]), edges)


@cache
def workflow() -> Workflow:
    return load_workflow()


# --- subjects: what a registration excuses, per scene ---------------------------------------------
@dataclass(frozen=True)
class Resolved:
    """The subject a registration is for, found and checked by its scene."""

    subject_id: str
    day: date
    psn_no: str
    mdtrt_id: str | None = None


@dataclass(frozen=True)
class SubjectType:
    """A kind of subject a scene excuses (a patient-day, a remote-check item; later a dialysis
    check-in/out, a rehab session).

    - `ref`: the model of how 8602 names it, under `input.subject.<name>`;
    - `resolve(db, institution_code, ref, now, field)`: finds the subject at the institution and
      checks it needs a registration now (e.g. the day is due, not closed and has no passed check),
      raising a coded error naming `field` + `.<its field>` otherwise;
    - `registered(db, ref, resolved, reg_id)`: optional, after the registration is stored (e.g.
      mark the remote-check item).
    """

    name: str
    scene: str
    ref: type[BaseModel]
    resolve: Callable[[Db, str, Any, datetime, str], Resolved]
    registered: Callable[[Db, Any, Resolved, int], None] | None = None
    description: str = ""


SUBJECTS: SceneRegistry[SubjectType] = SceneRegistry("special-registration subject type")


def register_subject(t: SubjectType) -> SubjectType:
    return SUBJECTS.register(t.name, t)


def subject_types() -> dict[str, SubjectType]:
    """Every registered subject type, by name."""
    return SUBJECTS.all()


# --- attachments ---------------------------------------------------------------------------------
def upload_attachment(db: Db, *, institution_code: str, att_type: str, filename: str, media_type: str,
                      content_b64: str, max_bytes: int, media_types: list[str], by: str, now: str) -> dict[str, Any]:
    """Store an attachment; the same content of the same type uploaded again returns the first."""
    if media_type not in media_types:
        raise InvalidField(f"media type {media_type!r} is not accepted; accepted: {', '.join(media_types)}",
                           field="input.media_type")
    # Refuse an oversized upload before decoding it (4 base64 characters carry 3 bytes).
    if len(content_b64) > (max_bytes + 2) // 3 * 4 + 4:
        raise InvalidField(f"the attachment exceeds the {max_bytes}-byte limit", field="input.content_b64")
    try:
        content = base64.b64decode(content_b64, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidField("not valid base64", field="input.content_b64") from None
    if not content:
        raise InvalidField("the attachment is empty", field="input.content_b64")
    if len(content) > max_bytes:
        raise InvalidField(f"the attachment is {len(content)} bytes; the limit is {max_bytes}",
                           field="input.content_b64")
    magic = MAGIC.get(media_type)
    if magic is not None and not content.startswith(magic):
        raise InvalidField(f"the content is not a {media_type} file", field="input.content_b64")
    sha = hashlib.sha256(content).hexdigest()
    existing = db.one("SELECT attachment_id FROM attachments WHERE institution_code=? AND sha256=? AND att_type=?",
                      (institution_code, sha, att_type))
    if existing:
        return {**attachment(db, existing["attachment_id"], institution_code), "duplicate": True}
    aid = db.insert(
        "INSERT INTO attachments(institution_code, att_type, filename, media_type, size_bytes, sha256, content,"
        " uploaded_by, uploaded_at) VALUES (?,?,?,?,?,?,?,?,?)",
        (institution_code, att_type, filename, media_type, len(content), sha, content, by, now))
    return {**attachment(db, aid, institution_code), "duplicate": False}


def attachment(db: Db, attachment_id: int, institution_code: str, field: str = "input.attachment_ids") -> dict:
    row = db.one("SELECT attachment_id, institution_code, att_type, filename, media_type, size_bytes, sha256,"
                 " uploaded_at FROM attachments WHERE attachment_id=?", (attachment_id,))
    if row is None or row["institution_code"] != institution_code:
        # Another institution's attachment is reported as missing: its existence is not ours to know.
        raise NotFound(f"no attachment {attachment_id} of institution {institution_code}", field=field)
    return row


def _check_attachments(db: Db, institution_code: str, ids: list[int], required: tuple[str, ...],
                       reason: str) -> list[dict]:
    if len(set(ids)) != len(ids):
        raise InvalidField("an attachment is listed twice", field="input.attachment_ids")
    rows = [attachment(db, i, institution_code) for i in ids]
    have = {r["att_type"] for r in rows}
    missing = [t for t in required if t not in have]
    if missing:
        raise InvalidField(f"reason {reason} requires attachment type(s) {', '.join(missing)}; "
                           f"got {', '.join(sorted(have)) or 'none'}", field="input.attachment_ids")
    return rows


# --- registrations -------------------------------------------------------------------------------
def _day_plus(now: datetime, days: int) -> str:
    return (now.date() + timedelta(days=days)).isoformat()


def _event(db: Db, reg_id: int, src: str | None, dst: str, by: str, role: str, at: str, note: str | None) -> None:
    db.execute("INSERT INTO special_registration_events(reg_id, from_status, to_status, by, role, at, note)"
               " VALUES (?,?,?,?,?,?,?)", (reg_id, src, dst, by, role, at, note))


def submit(db: Db, *, subject: str, ref: Any, institution_code: str, reason: str, explanation: str,
           attachment_ids: list[int], by: str, role: str, now: datetime) -> int:
    """Register why a required check of `subject` (a registered subject type, named by `ref`)
    could not be passed. The subject's scene must be monitored at the institution today; its
    resolver finds the subject and checks it needs a registration; the reason must be one the
    scene accepts, with the material it requires. Returns the registration id."""
    from reference.rules.params import rule_params
    from reference.services.monitoring import require_monitored

    st = subject_types()[subject]
    field = f"input.subject.{subject}"
    cfg = workflow().scenes[st.scene]  # load_workflow: every scene with subject types is configured
    require_monitored(db, institution_code, st.scene, now.date(), field="input.subject")
    found = st.resolve(db, institution_code, ref, now, field)
    if reason not in cfg.reasons:
        raise InvalidField(f"reason {reason} is not accepted in scene {st.scene}; accepted: "
                           f"{', '.join(cfg.reasons)}", field="input.reason")
    _check_attachments(db, institution_code, attachment_ids, cfg.reasons[reason], reason)
    existing = db.one("SELECT reg_id, status FROM special_registrations WHERE scene=? AND institution_code=?"
                      " AND subject_type=? AND subject_id=?", (st.scene, institution_code, subject, found.subject_id))
    if existing:
        raise Conflict(f"{subject} {found.subject_id} already has special registration {existing['reg_id']} "
                       f"({existing['status']})", field=field)
    review_days = rule_params(db, cfg.deadline_rule, institution_code, now)["review_days"]
    wf = workflow()
    at = now.isoformat(timespec="seconds")
    reg_id = db.insert(
        "INSERT INTO special_registrations(scene, institution_code, psn_no, mdtrt_id, subject_type, subject_id, day,"
        " reason, explanation, status, review_due, submitted_by, submitted_at, updated_at)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (st.scene, institution_code, found.psn_no, found.mdtrt_id, subject, found.subject_id, found.day.isoformat(),
         reason, explanation, wf.initial, _day_plus(now, review_days), by, at, at))
    for aid in attachment_ids:
        db.execute("INSERT INTO special_registration_attachments(reg_id, attachment_id, stage) VALUES (?,?,?)",
                   (reg_id, aid, "submitted"))
    _event(db, reg_id, None, wf.initial, by, role, at, explanation)
    if st.registered is not None:
        st.registered(db, ref, found, reg_id)
    return reg_id


def get(db: Db, reg_id: int, field: str = "input.reg_id", scope: Scope | None = None) -> dict[str, Any]:
    clause, params = scope.where_institution("institution_code") if scope else ("", [])
    row = db.one(f"SELECT * FROM special_registrations WHERE reg_id=?{clause}", (reg_id, *params))
    if row is None:
        raise NotFound(f"no special registration {reg_id}", field=field)
    row["attachments"] = db.all(
        "SELECT a.attachment_id, a.att_type, a.filename, a.media_type, a.size_bytes, a.sha256, l.stage"
        " FROM special_registration_attachments l JOIN attachments a USING (attachment_id) WHERE l.reg_id=?"
        " ORDER BY a.attachment_id", (reg_id,))
    row["events"] = db.all("SELECT from_status, to_status, by, role, at, note FROM special_registration_events"
                           " WHERE reg_id=? ORDER BY id", (reg_id,))
    return row


def transition(db: Db, *, reg_id: int, to: str, by: str, role: str, now: datetime, note: str,
               deadlines: dict[str, int], attachment_ids: list[int] | None = None) -> dict[str, Any]:
    """Move a registration along one edge of the workflow, by a role allowed on that edge."""
    wf = workflow()
    reg = get(db, reg_id)
    src = reg["status"]
    roles = wf.roles_for(src, to)
    if roles is None:
        raise InvalidState(f"a {src} special registration cannot become {to}; allowed: "
                           f"{', '.join(wf.next_states(src)) or 'none (final)'}", field="input.reg_id")
    if role not in roles:
        raise Forbidden(f"role {role} may not move a special registration from {src} to {to}",
                        field="input.reg_id")
    today = now.date().isoformat()
    at = now.isoformat(timespec="seconds")
    sets: dict[str, Any] = {"status": to, "updated_at": at}
    if to == "supplemented":
        if reg["supplement_due"] and today > reg["supplement_due"]:
            raise InvalidState(f"the supplement deadline {reg['supplement_due']} has passed", field="input.reg_id")
        if not attachment_ids:
            raise InvalidField("a supplement needs at least one new attachment", field="input.attachment_ids")
        already = {a["attachment_id"] for a in reg["attachments"]}
        _check_attachments(db, reg["institution_code"], attachment_ids, (), reg["reason"])
        for aid in attachment_ids:
            if aid in already:
                raise InvalidField(f"attachment {aid} was already submitted", field="input.attachment_ids")
            db.execute("INSERT INTO special_registration_attachments(reg_id, attachment_id, stage) VALUES (?,?,?)",
                       (reg_id, aid, "supplemented"))
        sets["review2_due"] = _day_plus(now, deadlines["review_days"])
    elif attachment_ids:
        raise InvalidField("attachments come with a submission or a supplement only", field="input.attachment_ids")
    if to == "rejected":
        sets["supplement_due"] = _day_plus(now, deadlines["supplement_days"])
    cols = ", ".join(f"{k}=?" for k in sets)
    db.execute(f"UPDATE special_registrations SET {cols} WHERE reg_id=?", (*sets.values(), reg_id))
    _event(db, reg_id, src, to, by, role, at, note)
    return get(db, reg_id)


def find(db: Db, institution_code: str, *, scene: str | None, status: str | None, limit: int) -> list[dict]:
    """An institution's registrations (ids), oldest first, optionally of one scene and status."""
    where, params = equal_filters(scene=scene, status=status)
    return db.all(f"SELECT reg_id FROM special_registrations WHERE institution_code=?{where} ORDER BY reg_id LIMIT ?",
                  [institution_code, *params, limit])
