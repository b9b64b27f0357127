"""A rule's parameters for an institution, from the rule release in force (RULE-2).

Services read deadlines and thresholds through here at decision time — never from a constant —
so a published release or a per-institution override changes them everywhere at once:

    hours = rule_params(db, "INP-ENROL-24H", institution_code, now)["deadline_hours"]
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from reference.rules import releases
from reference.store import Db

INSTITUTION_ATTRS = "code, inst_type, level, district_code, speciality"


def institution_attrs(db: Db, institution_code: str | None) -> dict[str, Any] | None:
    """The attributes overrides match on (district, type, level, speciality), or None."""
    if institution_code is None:
        return None
    return db.one(f"SELECT {INSTITUTION_ATTRS} FROM institutions WHERE code=?", (institution_code,))


def rule_params(db: Db, rule_id: str, institution_code: str | None, now: datetime) -> dict[str, Any]:
    """The parameters of `rule_id` resolved for the institution (defaults when None), from the
    release in force on `now`'s business day."""
    return releases.in_force(db, now.date()).rules[rule_id].resolve(institution_attrs(db, institution_code))
