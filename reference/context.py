"""What a transaction handler sees: the authenticated principal, the open write transaction,
the business clock and the server's shared state. Scope checks (GEN-1) live here too, so every
handler applies them the same way."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from reference.errors import NotFound, OutOfScope
from reference.store import Db

if TYPE_CHECKING:
    from reference.state import AppState

CITY_WIDE_ROLES = {"city_bureau", "ops_vendor"}


@dataclass(frozen=True)
class Principal:
    """An authenticated sender."""

    id: str
    kind: str  # institution | terminal | user
    role: str
    institution_code: str | None
    district_code: str | None
    display_name: str

    @property
    def is_city_wide(self) -> bool:
        return self.role in CITY_WIDE_ROLES or (
            self.role in {"agency", "audit_centre"} and self.district_code is None
        )


@dataclass
class Ctx:
    principal: Principal
    db: Db
    state: AppState
    infno: str
    msgid: str
    prepared: Any = None
    # Work to do once this transaction has committed (e.g. purging erased templates' bytes from
    # the write-ahead log): run by the gateway after COMMIT, never on a refusal or a replay.
    post_commit: list[Callable[[], None]] = field(default_factory=list)

    @property
    def clock(self):
        return self.state.clock

    @property
    def settings(self):
        return self.state.settings

    def now(self) -> datetime:
        return self.state.clock.now()

    def now_iso(self) -> str:
        return self.now().isoformat(timespec="seconds")

    def after_commit(self, fn: Callable[[], None]) -> None:
        """Run `fn` after the transaction commits (not if the handler refuses or it rolls back)."""
        self.post_commit.append(fn)

    def log_access(self, psn_no: str, action: str = "read") -> None:
        """GEN-5: record who read or changed this person's data."""
        self.db.execute(
            "INSERT INTO access_log(at, principal_id, role, infno, msgid, psn_no, action)"
            " VALUES (?,?,?,?,?,?,?)",
            (self.now_iso(), self.principal.id, self.principal.role, self.infno, self.msgid,
             psn_no, action),
        )

    # --- scope (GEN-1) -------------------------------------------------------------------
    def require_institution(self, code: str, *, field: str = "fixmedins_code") -> dict:
        """The institution row, if the principal may see it; else NotFound / OutOfScope."""
        row = self.db.one("SELECT * FROM institutions WHERE code = ?", (code,))
        if row is None:
            raise NotFound(f"institution {code} does not exist", field=field)
        p = self.principal
        if p.role in {"institution", "terminal"}:
            if p.institution_code != code:
                raise OutOfScope(f"institution {code} is not yours", field=field)
        elif not p.is_city_wide and row["district_code"] != p.district_code:
            raise OutOfScope(f"institution {code} is outside district {p.district_code}", field=field)
        return row

    def require_district(self, code: str, *, field: str = "district_code") -> None:
        p = self.principal
        if p.role in {"institution", "terminal"}:
            raise OutOfScope("institutions act on their own data only", field=field)
        if not p.is_city_wide and p.district_code != code:
            raise OutOfScope(f"district {code} is outside your scope", field=field)

    def own_institution(self) -> str:
        """The institution an institution or terminal acts for."""
        assert self.principal.institution_code is not None
        return self.principal.institution_code
