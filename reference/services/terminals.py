"""Certified terminals (GEN-6, DEV-3) and fault tickets (GEN-3).

Only class III terminals built to the NHSA terminal specification may be registered; a
registered terminal is refused by the gateway until a bureau confirms its certification. Faults
must be reported within `FAULT_REPORT_HOURS` of occurring; a later report is flagged late.
"""

from __future__ import annotations

import json
from datetime import datetime

from reference.errors import Conflict, InvalidField, InvalidState, NotFound
from reference.scope import Scope
from reference.services.registry import add_principal
from reference.store import Db

REQUIRED_CLASS = "III"  # Xuzhou 2023 §2(1): class III terminals only
# Zhengzhou 2023 art. 5(6): terminal faults are reported within 24 hours.
FAULT_REPORT_HOURS = 24.0


def register(
    db: Db, *, terminal_id: str, institution_code: str, model: str, serial_no: str,
    cert_class: str, cert_spec: str, certification_id: str, location: str | None, now: str,
) -> str:
    if cert_class != REQUIRED_CLASS:
        raise InvalidField(
            f"class {cert_class} terminals may not be used; class {REQUIRED_CLASS} is required (GEN-6)",
            field="input.cert_class",
        )
    if db.one("SELECT terminal_id FROM terminals WHERE model=? AND serial_no=?", (model, serial_no)):
        raise Conflict(f"terminal {model} / {serial_no} is already registered", field="input.serial_no")
    secret = add_principal(
        db, id=terminal_id, kind="terminal", role="terminal", display_name=f"{model} {serial_no}",
        now=now, institution_code=institution_code,
        district_code=db.scalar("SELECT district_code FROM institutions WHERE code=?", (institution_code,)),
        field="input.terminal_id",
    )
    db.execute(
        "INSERT INTO terminals(terminal_id, institution_code, model, serial_no, cert_class,"
        " cert_spec, certification_id, location, status, registered_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
        (terminal_id, institution_code, model, serial_no, cert_class, cert_spec, certification_id,
         location, "registered", now),
    )
    return secret


def get(db: Db, terminal_id: str, field: str = "input.terminal_id", scope: Scope | None = None) -> dict:
    """The terminal; one of an institution outside `scope` does not exist."""
    clause, params = scope.where_institution("institution_code") if scope else ("", [])
    row = db.one(f"SELECT * FROM terminals WHERE terminal_id=?{clause}", (terminal_id, *params))
    if row is None:
        raise NotFound(f"terminal {terminal_id} does not exist", field=field)
    return row


def decide_certification(
    db: Db, *, terminal_id: str, approve: bool, reason: str | None, by: str, now: str
) -> dict:
    term = get(db, terminal_id)
    if approve:
        if term["status"] == "certified":
            raise InvalidState("terminal is already certified", field="input.terminal_id")
        db.execute(
            "UPDATE terminals SET status='certified', certified_at=?, certified_by=?, status_reason=?"
            " WHERE terminal_id=?", (now, by, reason, terminal_id),
        )
    else:
        if not reason:
            raise InvalidField("a refusal or disabling needs a reason", field="input.reason")
        new = "refused" if term["status"] == "registered" else "disabled"
        db.execute(
            "UPDATE terminals SET status=?, status_reason=? WHERE terminal_id=?",
            (new, reason, terminal_id),
        )
    return get(db, terminal_id)


def heartbeat(db: Db, *, terminal_id: str, state: dict, now: str) -> None:
    db.execute(
        "UPDATE terminals SET last_heartbeat_at=?, last_heartbeat=? WHERE terminal_id=?",
        (now, json.dumps(state, ensure_ascii=False, sort_keys=True), terminal_id),
    )


def report_fault(
    db: Db, *, terminal_id: str, device_kind: str, description: str, occurred_at: datetime,
    now: datetime, by: str,
) -> dict:
    term = get(db, terminal_id)
    if occurred_at > now:
        raise InvalidField("a fault cannot occur in the future", field="input.occurred_at")
    late = (now - occurred_at).total_seconds() / 3600 > FAULT_REPORT_HOURS
    ticket_id = db.insert(
        "INSERT INTO fault_tickets(terminal_id, institution_code, device_kind, description,"
        " occurred_at, reported_at, reported_by, reported_late, status) VALUES (?,?,?,?,?,?,?,?,'open')",
        (terminal_id, term["institution_code"], device_kind, description,
         occurred_at.isoformat(timespec="seconds"), now.isoformat(timespec="seconds"), by, int(late)),
    )
    return ticket(db, ticket_id)


def ticket(db: Db, ticket_id: int, scope: Scope | None = None) -> dict:
    clause, params = scope.where_institution("institution_code") if scope else ("", [])
    row = db.one(f"SELECT * FROM fault_tickets WHERE ticket_id=?{clause}", (ticket_id, *params))
    if row is None:
        raise NotFound(f"fault ticket {ticket_id} does not exist", field="input.ticket_id")
    return row


def resolve_fault(db: Db, *, ticket_id: int, resolution: str, now: datetime, by: str) -> dict:
    t = ticket(db, ticket_id)
    if t["status"] != "open":
        raise InvalidState(f"ticket {ticket_id} is already {t['status']}", field="input.ticket_id")
    hours = (now - datetime.fromisoformat(t["occurred_at"])).total_seconds() / 3600
    db.execute(
        "UPDATE fault_tickets SET status='resolved', resolved_at=?, resolved_by=?, resolution=?,"
        " resolution_hours=? WHERE ticket_id=?",
        (now.isoformat(timespec="seconds"), by, resolution, round(hours, 2), ticket_id),
    )
    return ticket(db, ticket_id)


def list_terminals(db: Db, scope: Scope, institution_code: str | None) -> list[dict]:
    """Terminals of one institution (in scope) or of every institution in scope."""
    where, params = _institution_filter(db, scope, institution_code)
    return db.all(f"SELECT * FROM terminals t WHERE 1=1{where} ORDER BY terminal_id", params)


def list_faults(db: Db, scope: Scope, institution_code: str | None, *, open_only: bool) -> list[dict]:
    where, params = _institution_filter(db, scope, institution_code)
    if open_only:
        where += " AND t.status='open'"
    return db.all(f"SELECT * FROM fault_tickets t WHERE 1=1{where} ORDER BY ticket_id", params)


def _institution_filter(db: Db, scope: Scope, code: str | None) -> tuple[str, list]:
    if code is not None:
        scope.institution(db, code, field="input.fixmedins_code")
        return " AND t.institution_code=?", [code]
    return scope.where_institution("t.institution_code")
