"""The evaluator registry: each rule id maps to exactly one evaluator in code.

An evaluator splits its work in two so that every decision can be explained and replayed:

- `gather(view, settlement, params)` (pre/in-event) or `scan(view, start, end, params_for)`
  (post-event) reads the facts it needs from the store into a plain JSON-able dict;
- `decide(facts, params)` is pure: the same facts and parameters always give the same verdict.

The decision record keeps facts, parameters and release version; `decide` on them reproduces it.
Composite rules share one generic evaluator (`reference.rules.engine.decide_composite`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar

from reference.store import Db


@dataclass(frozen=True)
class Verdict:
    hit: bool
    message: str = ""
    amount: float | None = None
    evidence: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class Subject:
    type: str  # settlement | institution | person
    id: str
    institution_code: str | None
    psn_no: str | None = None
    setl_id: str | None = None


class Evaluator(Protocol):
    rule_id: str

    def decide(self, facts: dict[str, Any], params: dict[str, Any]) -> Verdict: ...


class SettlementEvaluator(Evaluator, Protocol):
    def gather(self, view: FactView, settlement: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]: ...


class PeriodEvaluator(Evaluator, Protocol):
    def scan(self, view: FactView, start: datetime, end: datetime,
             params_for: Callable[[str | None], dict[str, Any]]) -> Iterable[tuple[Subject, dict[str, Any]]]: ...


REGISTRY: dict[str, Any] = {}
V = TypeVar("V", bound="FactView")


def evaluator(rule_id: str) -> Callable[[type], type]:
    def register(cls: type) -> type:
        if rule_id in REGISTRY:
            raise ValueError(f"two evaluators for rule {rule_id}")
        cls.rule_id = rule_id
        REGISTRY[rule_id] = cls()
        return cls

    return register


def all_evaluators() -> dict[str, Any]:
    from reference.rules import checks  # noqa: F401  (imports every check module)

    return REGISTRY


class FactView:
    """Read-only queries evaluators use to gather facts (no SQL in evaluators).

    A post-event run may narrow the view: `institutions` (None: all) are the only institutions
    whose subjects the run judges, so scans read only their rows; `closing` are (scene,
    institution, day) triples a day end is closing in this run, which scans treat as closed
    although the closure is written only after them (the day end scans on a read snapshot).
    Scene views (e.g. `InpatientFacts`) are made from a view with `of`, sharing its narrowing
    and its memo, so facts read once in a run (the closed days, a day's patient-days) are not
    read again by the next rule or by the day end's scene hook."""

    def __init__(self, db: Db, *, institutions: Collection[str] | None = None,
                 closing: Collection[tuple[str, str, str]] = ()) -> None:
        self.db = db
        self.institutions = None if institutions is None else sorted(set(institutions))
        self.closing = frozenset(closing)
        self.memo: dict[Any, Any] = {}

    @classmethod
    def of(cls: type[V], view: FactView) -> V:
        """This kind of view over the same database, narrowing and memo as `view`."""
        if isinstance(view, cls):
            return view
        out = cls.__new__(cls)
        out.__dict__.update(view.__dict__)  # the memo dict itself is shared
        return out

    def memoised(self, key: Any, compute: Callable[[], Any]) -> Any:
        if key not in self.memo:
            self.memo[key] = compute()
        return self.memo[key]

    def institution_filter(self, column: str) -> tuple[str, list[Any]]:
        """` AND <column> is one of the run's institutions` (nothing when the run covers all)."""
        if self.institutions is None:
            return "", []
        return f" AND {column} IN (SELECT value FROM json_each(?))", [json.dumps(self.institutions)]

    def closed_days(self, scene: str, start: datetime, end: datetime) -> list[tuple[str, str]]:
        """(institution, day) pairs of `scene` closed by a day end (or being closed by this run)
        with the day in [start, end), ordered by day and institution."""
        s, e = start.date().isoformat(), end.date().isoformat()

        def read() -> list[tuple[str, str]]:
            clause, params = self.institution_filter("institution_code")
            rows = {(r["institution_code"], r["day"]) for r in self.db.all(
                f"SELECT institution_code, day FROM day_closures WHERE scene=? AND day>=? AND day<?{clause}",
                [scene, s, e, *params])}
            rows |= {(code, day) for sc, code, day in self.closing if sc == scene and s <= day < e
                     and (self.institutions is None or code in self.institutions)}
            return sorted(rows, key=lambda r: (r[1], r[0]))

        return self.memoised(("closed_days", scene, s, e), read)

    def person_flags(self, psn_no: str) -> list[str]:
        raw = self.db.scalar("SELECT flags FROM persons WHERE psn_no=?", (psn_no,))
        return json.loads(raw) if raw else []

    def passed_face_checks(self, psn_no: str, institution_code: str, since: datetime, until: datetime,
                           scene: str | None = None) -> list[dict[str, Any]]:
        sql = ("SELECT verification_id, at, scene FROM face_verifications WHERE psn_no=? AND institution_code=?"
               " AND passed=1 AND at>=? AND at<=?")
        params: list[Any] = [psn_no, institution_code, since.isoformat(timespec="seconds"),
                             until.isoformat(timespec="seconds")]
        if scene:
            sql += " AND scene=?"
            params.append(scene)
        return self.db.all(sql + " ORDER BY at", params)

    def verification(self, verification_id: int) -> dict[str, Any] | None:
        return self.db.one("SELECT verification_id, psn_no, institution_code, scene, passed, at FROM"
                           " face_verifications WHERE verification_id=?", (verification_id,))

    def earlier_settlements_with(self, psn_no: str, category: str, before: str) -> list[dict[str, Any]]:
        return self.db.all(
            "SELECT institution_code, setl_id, setl_time FROM settlements, json_each(settlements.categories) c"
            " WHERE psn_no=? AND c.value=? AND setl_time<? AND status!='refused' ORDER BY setl_time",
            (psn_no, category, before),
        )

    def month_total(self, psn_no: str, scene: str, month: str, exclude: tuple[str, str] | None) -> float:
        rows = self.db.all(
            "SELECT institution_code, setl_id, total_amount FROM settlements WHERE psn_no=? AND scene=?"
            " AND substr(setl_time,1,7)=? AND status='accepted'", (psn_no, scene, month))
        return round(sum(r["total_amount"] for r in rows
                         if exclude is None or (r["institution_code"], r["setl_id"]) != exclude), 2)

    def late_fault_reports(self, start: datetime, end: datetime) -> dict[str, list[dict[str, Any]]]:
        rows = self.db.all(
            "SELECT ticket_id, institution_code, terminal_id, occurred_at, reported_at FROM fault_tickets"
            " WHERE reported_late=1 AND reported_at>=? AND reported_at<? ORDER BY ticket_id",
            (start.isoformat(timespec="seconds"), end.isoformat(timespec="seconds")))
        out: dict[str, list[dict[str, Any]]] = {}
        for r in rows:
            out.setdefault(r["institution_code"], []).append(r)
        return out

    def settlements_between(self, start: datetime, end: datetime) -> list[dict[str, Any]]:
        return self.db.all(
            "SELECT * FROM settlements WHERE setl_time>=? AND setl_time<? AND status!='refused'"
            " ORDER BY setl_time", (start.isoformat(timespec="seconds"), end.isoformat(timespec="seconds")))


def window_start(at: datetime, minutes: int) -> datetime:
    return at - timedelta(minutes=minutes)
