"""The personal-data access log (个人信息访问日志, GEN-5): who read or changed whose data, and when.

Handlers record writes explicitly (`Ctx.log_access(psn_no, "write")`); the gateway records a read
for every person an answer names (reference.api.gateway), so a new transaction cannot forget it.
A district account reading the log sees what the senders of its district did.
"""

from __future__ import annotations

from typing import Any

from reference.scope import Scope
from reference.store import Db, equal_filters


def record(db: Db, *, at: str, principal_id: str, role: str, infno: str, msgid: str, psn_no: str,
           action: str) -> None:
    db.execute("INSERT INTO access_log(at, principal_id, role, infno, msgid, psn_no, action)"
               " VALUES (?,?,?,?,?,?,?)", (at, principal_id, role, infno, msgid, psn_no, action))


def logged(db: Db, msgid: str, principal_id: str) -> set[tuple[str, str]]:
    """(psn_no, action) pairs already recorded for this message."""
    return {(r["psn_no"], r["action"]) for r in db.all(
        "SELECT psn_no, action FROM access_log WHERE msgid=? AND principal_id=?", (msgid, principal_id))}


def entries(db: Db, scope: Scope, *, psn_no: str | None, principal_id: str | None,
            limit: int) -> list[dict[str, Any]]:
    sql = "SELECT at, principal_id, role, infno, msgid, psn_no, action FROM access_log WHERE 1=1"
    params: list[Any] = []
    if scope.level != "city":
        sql += " AND principal_id IN (SELECT id FROM principals WHERE district_code=?)"
        params.append(scope.district_code)
    where, more = equal_filters(psn_no=psn_no or None, principal_id=principal_id or None)
    return db.all(sql + where + " ORDER BY id DESC LIMIT ?", [*params, *more, limit])
