"""Data scope (数据权限, GEN-1, GEN-5): what each sender may see and act on — defined only here.

Every sender has one `Scope`, derived from its account (`Scope.of(principal)`):

    level         who                                              institutions      persons
    city          city bureau, operations vendor, agency and       all               all
                  audit centre accounts without a district
    district      district bureau, agency and audit centre         those of its      insured in the district, or
                  accounts of one district                         district          linked to one of its institutions
    institution   an institution and its terminals                 itself            linked to it

A person is *linked* to an institution (`person_links`) by an event that leaves a record there:
registering the person (8001), reading their ID card at the counter (8002 by `certno`, or the
national 1101, with the name on the card), an admission (8201), a settlement (8712) or a face
enrolment (8121/8202).
Those transactions name a person by number and create the link; every other read or action on a
person (8002 by `psn_no`, 1:1 verification, visits, pre-event checks, …) needs it. Later scenes
add their own link sources (`LINK_SOURCES`).

Scope is rendered into the SQL of every read, list and write through this module's helpers, and
an object outside the caller's scope is refused exactly like an object that does not exist
(3003 with the same message), so refusals never disclose other scopes' ids or owners. The only
2006 (out of scope) left is an envelope whose `fixmedins_code` is not the sender's own: that is
about the sender itself, not about data.

Writes that change a person for every institution (flags that rules read, 8003) need more than
visibility: a district user may change only persons insured in its district (`person_for_write`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from reference.errors import NotFound

if TYPE_CHECKING:
    from reference.context import Principal
    from reference.store import Db

Level = Literal["city", "district", "institution"]
CITY_WIDE_ROLES = frozenset({"city_bureau", "ops_vendor"})
DISTRICT_OPTIONAL_ROLES = frozenset({"agency", "audit_centre"})
INSTITUTION_ROLES = frozenset({"institution", "terminal"})

#: Where a person–institution link can come from (person_links.source), with its meaning.
LINK_SOURCES: dict[str, str] = {
    "registration": "the institution registered the person (8001)",
    "card_read": "the institution read the person's ID card: 8002 by certno or 1101, with the name on the card",
    "admission": "an inpatient admission (8201)",
    "settlement": "a settlement submitted for review (8712)",
    "enrolment": "a face template enrolled by the institution (8121, 8202)",
}

#: The per-role table shown on the spec site (role → level, institutions, persons, notes).
ROLE_TABLE: tuple[tuple[str, str, str, str, str], ...] = (
    ("city_bureau", "city", "every institution", "every person", "Rules, releases, plans for the whole city."),
    ("district_bureau", "district", "the institutions of its district",
     "persons insured in its district or linked to one of its institutions",
     "Person flags (8003) and erasure (8123) only for persons insured in / templates enrolled in its district."),
    ("agency", "city or district", "all, or those of its district", "as the level says",
     "An account without a district is city-wide."),
    ("audit_centre", "city or district", "all, or those of its district", "as the level says",
     "The access log (8902) of a district account lists the reads and writes made by senders of its district."),
    ("ops_vendor", "city", "every institution (terminals and fault tickets)", "none",
     "Its roles include no transaction that reads a person."),
    ("institution", "institution", "itself", "persons linked to it",
     "Links: registration, ID-card read, admission, settlement, face enrolment."),
    ("terminal", "institution", "its institution", "persons linked to its institution",
     "Acts for its institution; reports only its own faults."),
)


@dataclass(frozen=True)
class Scope:
    level: Level
    district_code: str | None = None
    institution_code: str | None = None

    @classmethod
    def of(cls, p: Principal) -> Scope:
        if p.role in INSTITUTION_ROLES:
            return cls("institution", p.district_code, p.institution_code)
        if p.role in CITY_WIDE_ROLES or (p.role in DISTRICT_OPTIONAL_ROLES and p.district_code is None):
            return cls("city")
        return cls("district", p.district_code)

    @property
    def is_city(self) -> bool:
        return self.level == "city"

    # --- institutions -------------------------------------------------------------------------
    def covers(self, institution_code: str | None, district_code: str | None) -> bool:
        """Whether an object of this institution (in this district) is within the scope."""
        if self.level == "city":
            return True
        if self.level == "district":
            return district_code is not None and district_code == self.district_code
        return institution_code is not None and institution_code == self.institution_code

    def where_institution(self, column: str) -> tuple[str, list[Any]]:
        """` AND <column> is an institution in scope` (or nothing for the city)."""
        if self.level == "city":
            return "", []
        if self.level == "district":
            return f" AND {column} IN (SELECT code FROM institutions WHERE district_code=?)", [self.district_code]
        return f" AND {column}=?", [self.institution_code]

    def where_district(self, column: str) -> tuple[str, list[Any]]:
        """` AND <column> (a district code) is in scope`; institutions are confined to their district."""
        if self.level == "city":
            return "", []
        return f" AND {column}=?", [self.district_code]

    def institution(self, db: Db, code: str, *, field: str = "input.fixmedins_code") -> dict[str, Any]:
        """The institution row if it exists and is in scope; otherwise NotFound (the same answer)."""
        row = db.one("SELECT * FROM institutions WHERE code=?", (code,))
        if row is None or not self.covers(row["code"], row["district_code"]):
            raise NotFound(f"institution {code} does not exist", field=field)
        return row

    def district(self, db: Db, code: str, *, field: str = "input.district_code") -> None:
        """A district the caller may act in; one outside the scope does not exist for it."""
        exists = db.scalar("SELECT 1 FROM districts WHERE code=?", (code,)) is not None
        if not exists or self.level == "institution" or (self.level == "district" and code != self.district_code):
            raise NotFound(f"district {code} does not exist", field=field)

    def institution_codes(self, db: Db) -> list[str] | None:
        """The codes of the institutions in scope (None: every institution, the city)."""
        if self.level == "city":
            return None
        if self.level == "institution":
            return [self.institution_code] if self.institution_code else []
        return [r["code"] for r in db.all("SELECT code FROM institutions WHERE district_code=? ORDER BY code",
                                          (self.district_code,))]

    def fetch(self, db: Db, sql: str, params: list[Any] | tuple[Any, ...], *, institution_column: str,
              not_found: Callable[[], NotFound]) -> dict[str, Any]:
        """One row of `sql` (which ends in a WHERE clause) restricted to the scope, or `not_found()`
        — the same error whether the row is absent or belongs to another scope."""
        clause, extra = self.where_institution(institution_column)
        row = db.one(sql + clause, [*params, *extra])
        if row is None:
            raise not_found()
        return row

    # --- persons ----------------------------------------------------------------------------
    def where_person(self, column: str) -> tuple[str, list[Any]]:
        """` AND <column> (a psn_no) is a person visible in scope` (correlated: uses the link keys).
        Qualify `column` with its table: the subqueries have columns named psn_no of their own."""
        if self.level == "city":
            return "", []
        if self.level == "institution":
            return (f" AND EXISTS(SELECT 1 FROM person_links l WHERE l.institution_code=? AND l.psn_no={column})",
                    [self.institution_code])
        return (f" AND (EXISTS(SELECT 1 FROM persons pp WHERE pp.psn_no={column} AND pp.insuplc_admdvs=?)"
                " OR EXISTS(SELECT 1 FROM person_links l JOIN institutions i ON i.code=l.institution_code"
                f" WHERE l.psn_no={column} AND i.district_code=?))", [self.district_code, self.district_code])

    def sees_person(self, db: Db, psn_no: str) -> bool:
        if self.level == "institution":  # the hot path (every 1:1 verification): one key lookup
            return db.scalar("SELECT 1 FROM person_links WHERE institution_code=? AND psn_no=? LIMIT 1",
                             (self.institution_code, psn_no)) is not None
        clause, params = self.where_person("persons.psn_no")
        return db.scalar(f"SELECT 1 FROM persons WHERE psn_no=?{clause}", [psn_no, *params]) is not None

    def require_person(self, db: Db, psn_no: str, *, field: str = "input.psn_no") -> None:
        """NotFound unless the person is visible in scope (without reading the person)."""
        if not self.sees_person(db, psn_no):
            raise NotFound(f"person {psn_no} does not exist", field=field)

    def person(self, db: Db, psn_no: str, *, field: str = "input.psn_no") -> dict[str, Any]:
        """The person if visible in scope; otherwise NotFound (the same answer as for no person)."""
        from reference.services.registry import person_view

        self.require_person(db, psn_no, field=field)
        return person_view(db, psn_no, field=field)

    def person_for_write(self, db: Db, psn_no: str, *, field: str = "input.psn_no") -> dict[str, Any]:
        """A person whose city-wide data (flags) the caller may change: every person for the city,
        persons insured in its district for a district account; institutions never."""
        from reference.services.registry import person_view

        row = db.one("SELECT insuplc_admdvs FROM persons WHERE psn_no=?", (psn_no,))
        allowed = row is not None and (self.level == "city" or (
            self.level == "district" and row["insuplc_admdvs"] == self.district_code))
        if not allowed:
            raise NotFound(f"person {psn_no} does not exist", field=field)
        return person_view(db, psn_no, field=field)


def link_person(db: Db, psn_no: str, institution_code: str, source: str, at: str) -> None:
    """Record that the institution has a reason to see the person (first event of each source kept)."""
    if source not in LINK_SOURCES:
        raise ValueError(f"unknown person-link source {source!r}")
    db.execute("INSERT INTO person_links(psn_no, institution_code, source, first_at) VALUES (?,?,?,?)"
               " ON CONFLICT DO NOTHING", (psn_no, institution_code, source, at))
