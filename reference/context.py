"""What a transaction handler sees: the authenticated principal, the open write transaction,
the business clock and the server's shared state. Scope checks (GEN-1) live here too, so every
handler applies them the same way."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from reference.scope import Scope, link_person
from reference.store import Db

if TYPE_CHECKING:
    from reference.state import AppState


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
        return Scope.of(self).is_city


@dataclass
class Ctx:
    principal: Principal
    db: Db
    state: AppState
    infno: str
    msgid: str
    prepared: Any = None
    # The result of the transaction's read phase (`read=`, on a read snapshot before this write
    # transaction), or None: the handler checks it is still current before relying on it.
    snapshot: Any = None
    # Work to do once this transaction has committed (e.g. purging erased templates' bytes from
    # the write-ahead log): run by the gateway after COMMIT, never on a refusal or a replay.
    post_commit: list[Callable[[], None]] = field(default_factory=list)
    # Warnings for the answer's warn_msg (the gateway's own come first); see `warn`.
    warnings: list[str] = field(default_factory=list)

    def warn(self, text: str) -> None:
        """Add a warning to the answer's warn_msg (the transaction still succeeds)."""
        self.warnings.append(text)

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
        from reference.services import access_log

        access_log.record(self.db, at=self.now_iso(), principal_id=self.principal.id, role=self.principal.role,
                          infno=self.infno, msgid=self.msgid, psn_no=psn_no, action=action)

    # --- scope (GEN-1) -------------------------------------------------------------------
    @property
    def scope(self) -> Scope:
        """The sender's data scope (reference.scope): rendered into every read, list and write."""
        return Scope.of(self.principal)

    def require_institution(self, code: str, *, field: str = "fixmedins_code") -> dict:
        """The institution row, if it exists and is in scope; NotFound (the same answer) otherwise."""
        return self.scope.institution(self.db, code, field=field)

    def require_district(self, code: str, *, field: str = "district_code") -> None:
        self.scope.district(self.db, code, field=field)

    def person(self, psn_no: str, *, field: str = "input.psn_no") -> dict:
        """The person, if visible to the sender (reference.scope); NotFound otherwise."""
        return self.scope.person(self.db, psn_no, field=field)

    def link_person(self, psn_no: str, source: str) -> None:
        """Record that the sender's institution now has a reason to see this person."""
        link_person(self.db, psn_no, self.own_institution(), source, self.now_iso())

    def own_institution(self) -> str:
        """The institution an institution or terminal acts for."""
        assert self.principal.institution_code is not None
        return self.principal.institution_code
