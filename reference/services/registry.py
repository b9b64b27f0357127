"""Registry operations: districts, institutions and their scenes, accounts, persons.

Reading a person (`read_person`) and finding institutions (`institutions_in_scope`) are shared by
our extension queries (8002, 8013) and the national ones (1101 人员信息获取, 1201 医药机构信息获取),
so both apply the same scope, links and access log (GEN-1, GEN-5).
"""

from __future__ import annotations

import json
from datetime import date
from typing import TYPE_CHECKING, Any

from reference import signing
from reference.errors import Conflict, InvalidField, NotFound
from reference.idcard import CertnoError, birth_date, gender, validate_certno
from reference.store import Db

if TYPE_CHECKING:
    from reference.context import Ctx
    from reference.scope import Scope

#: The most institutions one search answers (1201 without a code); the answer says when it cut.
MAX_INSTITUTIONS_FOUND = 100


def add_district(db: Db, *, code: str, name: str, region_code: str, now: str) -> None:
    if not code.startswith(region_code[:4]):
        raise InvalidField(f"district {code} is not inside region {region_code}", field="input.code")
    if db.one("SELECT 1 FROM districts WHERE code=?", (code,)):
        raise Conflict(f"district {code} already exists", field="input.code")
    db.execute("INSERT INTO districts VALUES (?,?,?,?)", (code, name, region_code, now))


def district_exists(db: Db, code: str) -> bool:
    return db.scalar("SELECT 1 FROM districts WHERE code=?", (code,)) is not None


def add_principal(
    db: Db, *, id: str, kind: str, role: str, display_name: str, now: str,
    institution_code: str | None = None, district_code: str | None = None, field: str = "input.id",
) -> str:
    """Create a signing account and return its secret (shown once, never again)."""
    if db.one("SELECT 1 FROM principals WHERE id=?", (id,)):
        raise Conflict(f"sender id {id} is already taken", field=field)
    secret = signing.new_secret()
    db.execute(
        "INSERT INTO principals(id, kind, role, secret, institution_code, district_code,"
        " display_name, active, created_at) VALUES (?,?,?,?,?,?,?,1,?)",
        (id, kind, role, secret, institution_code, district_code, display_name, now),
    )
    return secret


#: Who may sign with the national gateway's x-tif headers once switched: the senders whose adapters
#: speak the national platform (institutions' HIS and their terminals), never a bureau account.
TIF_KINDS = frozenset({"institution", "terminal"})


def set_tif_mode(db: Db, *, sender: str, enabled: bool, by: str, now: str) -> dict[str, Any]:
    """Switch a sender's x-tif compatibility mode (8016) and return its signing row. X-SM-* signing
    is untouched either way: switching it on only adds the weaker way in."""
    row = db.one("SELECT id, kind, role, institution_code FROM principals WHERE id=?", (sender,))
    if row is None:
        raise NotFound(f"sender {sender} does not exist", field="input.sender")
    if row["kind"] not in TIF_KINDS:
        raise InvalidField(f"{row['kind']} accounts sign only with X-SM-* headers; the x-tif mode is for "
                           "institutions and terminals", field="input.sender")
    db.execute("UPDATE principals SET x_tif_enabled=?, x_tif_changed_at=?, x_tif_changed_by=? WHERE id=?",
               (int(enabled), now, by, sender))
    return {**row, "x_tif_enabled": enabled, "x_tif_changed_at": now}


def add_institution(
    db: Db, *, code: str, name: str, inst_type: str, level: str, district_code: str, now: str,
    speciality: str = "general",
) -> str:
    if not db.one("SELECT 1 FROM districts WHERE code=?", (district_code,)):
        raise NotFound(f"district {district_code} does not exist", field="input.district_code")
    if db.one("SELECT 1 FROM institutions WHERE code=?", (code,)):
        raise Conflict(f"institution {code} already exists", field="input.fixmedins_code")
    if inst_type == "retail_pharmacy" and level != "ungraded":
        raise InvalidField("a retail pharmacy is ungraded", field="input.level")
    db.execute(
        "INSERT INTO institutions(code, name, inst_type, level, district_code, speciality, active, created_at)"
        " VALUES (?,?,?,?,?,?,1,?)",
        (code, name, inst_type, level, district_code, speciality, now),
    )
    return add_principal(
        db, id=code, kind="institution", role="institution", display_name=name, now=now,
        institution_code=code, district_code=district_code, field="input.fixmedins_code",
    )


def set_scene(db: Db, *, institution_code: str, scene: str, enabled: bool, since: date, now: str) -> None:
    db.execute(
        "INSERT INTO institution_scenes(institution_code, scene, enabled, since, updated_at)"
        " VALUES (?,?,?,?,?) ON CONFLICT(institution_code, scene) DO UPDATE SET"
        " enabled=excluded.enabled, since=excluded.since, updated_at=excluded.updated_at",
        (institution_code, scene, int(enabled), since.isoformat(), now),
    )


def institution_view(db: Db, code: str) -> dict:
    row = db.one("SELECT * FROM institutions WHERE code=?", (code,))
    if row is None:
        raise NotFound(f"institution {code} does not exist", field="input.fixmedins_code")
    scenes = db.all(
        "SELECT scene, enabled, since FROM institution_scenes WHERE institution_code=? ORDER BY scene",
        (code,),
    )
    return {**row, "scenes": scenes}


def institutions_in_scope(
    db: Db, scope: Scope, *, code: str | None = None, name_contains: str | None = None,
    inst_types: frozenset[str] | None = None, field: str = "input.fixmedins_code",
    limit: int = MAX_INSTITUTIONS_FOUND,
) -> list[dict[str, Any]]:
    """Institution views (with their scenes) visible in `scope`, by code, part of the name and
    type, in code order, at most `limit` + 1 of them (so that a caller can tell it cut). With a
    `code` it is a lookup: no match is NotFound naming `field`, whether the institution does not
    exist, is outside the scope or is not of the types asked for (the same answer, GEN-1)."""
    clause, params = scope.where_institution("code")
    sql = "SELECT code FROM institutions WHERE 1=1" + clause
    if code is not None:
        sql, params = sql + " AND code=?", [*params, code]
    if name_contains:
        escaped = name_contains.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        sql, params = sql + " AND name LIKE ? ESCAPE '\\'", [*params, f"%{escaped}%"]
    if inst_types is not None:
        sql += f" AND inst_type IN ({','.join('?' * len(inst_types))})"
        params = [*params, *sorted(inst_types)]
    rows = db.all(sql + " ORDER BY code LIMIT ?", [*params, limit + 1])
    if code is not None and not rows:
        raise NotFound(f"institution {code} does not exist", field=field)
    return [institution_view(db, r["code"]) for r in rows]


def read_person(
    ctx: Ctx, *, psn_no: str | None = None, certno: str | None = None, psn_name: str | None = None,
    psn_no_field: str = "input.psn_no", certno_field: str = "input.certno", name_field: str = "input.psn_name",
) -> dict[str, Any]:
    """One person as the sender may read them (reference.scope), logged as read (GEN-5).

    By `psn_no`: a person visible to the sender. By `certno` (a resident ID number): bureau users
    within their scope; an institution or terminal reads the ID card at its counter and gives the
    name on it too — when both match, the person is returned and linked to its institution
    (`card_read`); a bureau user's name, when given, must match as well. Anything else is NotFound, whether or not
    the person exists: out of scope answers like absent (GEN-1). The `*_field` arguments name the
    fields in the caller's message shape (8002 `input.certno`, 1101 `input.data.mdtrt_cert_no`)."""
    if psn_no is not None:
        row = ctx.person(psn_no, field=psn_no_field)
    elif certno is not None:
        row = person_by_certno(ctx.db, check_certno(certno, field=certno_field))
        if ctx.scope.level == "institution":
            if psn_name is None:
                raise InvalidField("an institution gives the name on the ID card with the ID number",
                                   field=name_field)
            if row is None or row["psn_name"] != psn_name:
                raise NotFound("no person has this ID number and name", field=certno_field)
            ctx.link_person(row["psn_no"], "card_read")
        elif row is None or not ctx.scope.sees_person(ctx.db, row["psn_no"]) or (
                psn_name is not None and row["psn_name"] != psn_name):
            raise NotFound("no person has this ID number", field=certno_field)
    else:
        raise InvalidField("give exactly one of psn_no and certno", field=psn_no_field)
    ctx.log_access(row["psn_no"], "read")
    return row


def check_certno(certno: str, field: str = "input.certno") -> str:
    try:
        return validate_certno(certno)
    except CertnoError as exc:
        raise InvalidField(str(exc), field=field) from None


def add_person(
    db: Db, *, psn_no: str, certno: str, psn_name: str, insuplc_admdvs: str, flags: list[str],
    now: str, by: str,
) -> dict:
    certno = check_certno(certno)
    if db.one("SELECT 1 FROM persons WHERE certno=?", (certno,)):
        # The existing person's number is not given: it may be outside the caller's scope (GEN-1).
        raise Conflict("a person with this certno is already registered", field="input.certno")
    if db.one("SELECT 1 FROM persons WHERE psn_no=?", (psn_no,)):
        raise Conflict(f"person {psn_no} already exists", field="input.psn_no")
    row = {
        "psn_no": psn_no, "certno": certno, "psn_name": psn_name, "gend": gender(certno),
        "brdy": birth_date(certno).isoformat(), "insuplc_admdvs": insuplc_admdvs,
        "flags": json.dumps(sorted(set(flags))), "created_at": now, "created_by": by,
        "updated_at": now,
    }
    db.execute(
        "INSERT INTO persons(psn_no, certno, psn_name, gend, brdy, insuplc_admdvs, flags,"
        " created_at, created_by, updated_at) VALUES (:psn_no,:certno,:psn_name,:gend,:brdy,"
        ":insuplc_admdvs,:flags,:created_at,:created_by,:updated_at)",
        row,
    )
    return person_view(db, psn_no)


def person_by_certno(db: Db, certno: str) -> dict | None:
    psn_no = db.scalar("SELECT psn_no FROM persons WHERE certno=?", (certno,))
    return None if psn_no is None else person_view(db, psn_no)


def person_view(db: Db, psn_no: str, field: str = "input.psn_no") -> dict:
    row = db.one("SELECT * FROM persons WHERE psn_no=?", (psn_no,))
    if row is None:
        raise NotFound(f"person {psn_no} does not exist", field=field)
    row["flags"] = json.loads(row["flags"])
    return row


def set_person_flags(db: Db, *, psn_no: str, add: list[str], remove: list[str], now: str) -> dict:
    person = person_view(db, psn_no)
    flags = (set(person["flags"]) | set(add)) - set(remove)
    db.execute(
        "UPDATE persons SET flags=?, updated_at=? WHERE psn_no=?",
        (json.dumps(sorted(flags)), now, psn_no),
    )
    return person_view(db, psn_no)
