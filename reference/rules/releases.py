"""Rule releases (规则版本发布) in the database (RULE-5).

The library shipped in interface_spec/rules/ is published as the first release when a server
starts. Bureaus then save drafts — patches over a published release — evaluate them against
history without touching live state, and publish them with an effective date. The release in
force at a business time is the published one with the latest `effective_from` not after it.
Published releases never change.
"""

from __future__ import annotations

import json
from datetime import date
from functools import lru_cache

from reference.errors import Conflict, InvalidField, InvalidState, NotFound
from reference.rules.library import LibraryError, RuleChange, RuleSet, apply_patch, load_library
from reference.store import Db


@lru_cache(maxsize=64)
def _parse(content: str) -> RuleSet:
    return RuleSet.from_dict(json.loads(content))


def ensure_baseline(db: Db, now: str) -> None:
    if db.scalar("SELECT 1 FROM rule_releases LIMIT 1"):
        return
    lib = load_library()
    db.execute(
        "INSERT INTO rule_releases(version, base_version, effective_from, status, content, changes, notes,"
        " created_by, created_at, published_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
        (lib.version, None, lib.effective_from, "published", json.dumps(lib.to_dict(), ensure_ascii=False),
         None, lib.notes, "library", now, now),
    )


def get(db: Db, version: str, field: str = "input.version") -> tuple[RuleSet, dict]:
    row = db.one("SELECT * FROM rule_releases WHERE version=?", (version,))
    if row is None:
        raise NotFound(f"no rule release {version}", field=field)
    return _parse(row["content"]), row


def in_force(db: Db, on: date) -> RuleSet:
    row = db.one(
        "SELECT content FROM rule_releases WHERE status='published' AND effective_from<=?"
        " ORDER BY effective_from DESC, published_at DESC LIMIT 1", (on.isoformat(),))
    if row is None:
        raise InvalidState(f"no rule release is in force on {on}", field="rules")
    return _parse(row["content"])


def list_releases(db: Db) -> list[dict]:
    return db.all("SELECT version, base_version, effective_from, status, notes, created_by, created_at,"
                  " published_at FROM rule_releases ORDER BY created_at, version")


def save_draft(db: Db, *, base_version: str, version: str, effective_from: date, changes: list[RuleChange],
               notes: str, by: str, now: str) -> RuleSet:
    base, base_row = get(db, base_version, field="input.base_version")
    if base_row["status"] != "published":
        raise InvalidField("a draft must build on a published release", field="input.base_version")
    existing = db.one("SELECT status FROM rule_releases WHERE version=?", (version,))
    if existing and existing["status"] == "published":
        raise Conflict(f"release {version} is published and cannot change", field="input.version")
    try:
        draft = apply_patch(base, version=version, effective_from=effective_from.isoformat(), changes=changes,
                            notes=notes)
    except LibraryError as exc:
        raise InvalidField("; ".join(exc.problems), field="input.changes") from None
    content = json.dumps(draft.to_dict(), ensure_ascii=False)
    patch = json.dumps([c.model_dump(exclude_none=True) for c in changes], ensure_ascii=False)
    db.execute(
        "INSERT INTO rule_releases(version, base_version, effective_from, status, content, changes, notes,"
        " created_by, created_at) VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT(version) DO UPDATE SET"
        " base_version=excluded.base_version, effective_from=excluded.effective_from, content=excluded.content,"
        " changes=excluded.changes, notes=excluded.notes, created_by=excluded.created_by,"
        " created_at=excluded.created_at",
        (version, base_version, effective_from.isoformat(), "draft", content, patch, notes, by, now),
    )
    return draft


def publish(db: Db, *, version: str, today: date, now: str) -> RuleSet:
    rs, row = get(db, version)
    if row["status"] == "published":
        raise InvalidState(f"release {version} is already published", field="input.version")
    if date.fromisoformat(row["effective_from"]) < today:
        raise InvalidField(f"effective_from {row['effective_from']} is in the past; a release cannot change "
                           "decisions already made — save the draft again with a future date",
                           field="input.version")
    db.execute("UPDATE rule_releases SET status='published', published_at=? WHERE version=?", (now, version))
    return rs
