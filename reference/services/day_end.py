"""The day end (日终) of any scene: close a business day per (scene, institution), judge it with
the scene's day-end rules, record the scene's per-day results — once.

A bureau closes an ended business day for the institutions in its scope (inpatient: 8209). Per
scene the day end

1. picks the institutions to close: those in scope with something to close (the scene's
   `candidates`), or the one named; of these only those where the scene is monitored that day
   (8014, reference.services.monitoring) — the others are reported as `not_monitored` — and of
   these only those not closed before (`already_closed`: rerunning closes nothing twice);
2. judges the day with the scene's rules declaring `runs_at: day_end`
   (interface_spec/rules/rules/*.yaml), for exactly those institutions; every finding is a lead;
3. lets the scene record its per-day results through its hook (inpatient: each due patient-day's
   status in `inpatient_patient_days`);
4. writes a closure row per (scene, institution, day) in `day_closures`: the day is final then.

Scan, then write. `scan` reads everything the day end decides from with a few set-based queries
(the rules' scans and the hook's facts for all institutions at once) and writes nothing, so it
can run on a read snapshot outside the write lock (the gateway's read phase, `read=` of a
transaction). `close` runs in the write transaction: it takes the snapshot's decisions if no fact
they were read from has changed since — a fingerprint of the fact tables (`fact_versions`,
counted by triggers, and the largest rowid of append-only logs) — and otherwise scans again inside
the write transaction. Either way the decisions are those of the facts at commit time, and the
write itself is a handful of statements (closures and per-day results as one statement each).

A scene plugs in with one `register(SceneDayEnd(...))` in its service module (listed once in
reference.services.scene_registry.SCENE_MODULES); its day-end rules are data.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from reference.clock import CST
from reference.errors import InvalidState
from reference.rules import engine, releases
from reference.rules.engine import PostEventResult
from reference.rules.evaluators import FactView
from reference.rules.library import Rule, RuleSet
from reference.rules.params import INSTITUTION_ATTRS
from reference.scope import Scope
from reference.services.monitoring import MonitoredScenes
from reference.services.scene_registry import SceneRegistry
from reference.store import Db

#: Facts every day end reads: closures, institutions' attributes, monitored scenes, releases,
#: and leads (scans skip subjects that have one).
COMMON_COUNTERS: tuple[str, ...] = ("day_closures", "institutions", "institution_scenes", "rule_releases")
COMMON_LOGS: tuple[str, ...] = ("leads",)
_IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")


@dataclass(frozen=True)
class Window:
    """The business day being closed, for the institutions this day end closes."""

    scene: str
    day: date
    institutions: list[str]
    view: FactView
    rules: RuleSet

    @property
    def start(self) -> datetime:
        return datetime.combine(self.day, time(), CST)

    @property
    def end(self) -> datetime:
        return self.start + timedelta(days=1)

    def params_for(self, rule: Rule) -> Callable[[str], dict[str, Any]]:
        """The rule's parameters per institution, from one read of the institutions' attributes."""
        attrs = self.view.memoised(("institution_attrs", tuple(self.institutions)), lambda: {
            r["code"]: r for r in self.view.db.all(
                f"SELECT {INSTITUTION_ATTRS} FROM institutions WHERE code IN (SELECT value FROM json_each(?))",
                (json.dumps(self.institutions),))})
        return lambda code: rule.resolve(attrs.get(code))


@dataclass(frozen=True)
class SceneDayEnd:
    """What a scene plugs into the day end.

    - `candidates(db, scope, day)`: the institutions in scope with something to close on `day`;
    - `results(window)`: reads (never writes) the scene's per-day results for the window's
      institutions, e.g. each due patient-day's status;
    - `record(db, results, lead_ids)`: writes them in the write transaction; `lead_ids` maps
      (rule id, subject id) to the lead this day end made; returns them as the answer shows them;
    - `counters` / `logs`: the scene's fact tables, for the fingerprint: tables whose rows change
      (their writes are counted in `fact_versions` by triggers of the scene's migration) and
      append-only ones (their largest rowid).
    """

    scene: str
    candidates: Callable[[Db, Scope, date], list[str]]
    results: Callable[[Window], Any]
    record: Callable[[Db, Any, dict[tuple[str, str], int]], Any]
    counters: tuple[str, ...] = ()
    logs: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in (*self.counters, *self.logs):
            if not _IDENT.match(name):
                raise ValueError(f"day end of {self.scene}: {name!r} is not a table name")


REGISTRY: SceneRegistry[SceneDayEnd] = SceneRegistry("day end of scene")


def register(hooks: SceneDayEnd) -> SceneDayEnd:
    return REGISTRY.register(hooks.scene, hooks)


def scenes() -> dict[str, SceneDayEnd]:
    """Every registered scene day end."""
    return REGISTRY.all()


def hooks_for(scene: str) -> SceneDayEnd:
    found = scenes().get(scene)
    if found is None:
        raise ValueError(f"scene {scene} has no day end")
    return found


# --- fingerprint -----------------------------------------------------------------------------
def fingerprint(db: Db, hooks: SceneDayEnd) -> tuple | None:
    """The versions of every fact table the scene's day end reads, in one query; None if a
    counter has no row (a table without its triggers): then no snapshot is ever trusted."""
    counters = (*COMMON_COUNTERS, *hooks.counters)
    logs = (*COMMON_LOGS, *hooks.logs)
    cols = [f"(SELECT version FROM fact_versions WHERE name='{t}')" for t in counters]
    cols += [f"(SELECT max(rowid) FROM {t})" for t in logs]
    row = db.one("SELECT " + ", ".join(f"{c} AS c{i}" for i, c in enumerate(cols)))
    values = tuple(row.values()) if row else ()
    if any(v is None for v in values[:len(counters)]):
        return None
    return values


# --- scan (read only) ------------------------------------------------------------------------
@dataclass
class DayEndScan:
    """What a day end decided from the facts it read; written by `close`."""

    scene: str
    day: date
    today: date
    scope: Scope
    institution: str | None
    fingerprint: tuple | None
    release_version: str
    not_monitored: list[str]
    already_closed: list[str]
    to_close: list[str]
    rules: RuleSet
    result: PostEventResult
    results: Any = None
    rescanned: bool = field(default=False, compare=False)


def _targets(db: Db, hooks: SceneDayEnd, scope: Scope, day: date, institution: str | None) -> list[str]:
    if institution is not None:
        scope.institution(db, institution, field="input.fixmedins_code")
        return [institution]
    return sorted(hooks.candidates(db, scope, day))


def _in_list(column: str) -> str:
    return f"{column} IN (SELECT value FROM json_each(?))"


def scan(db: Db, *, scene: str, day: date, scope: Scope, institution: str | None, now: datetime) -> DayEndScan:
    """Decide the day end of `scene` for `day` from the facts in `db` (a read snapshot or the
    write transaction) without writing anything."""
    if day >= now.date():
        raise InvalidState(f"business day {day} has not ended (business time is "
                           f"{now.astimezone(CST).isoformat(timespec='seconds')})", field="input.day")
    hooks = hooks_for(scene)
    fp = fingerprint(db, hooks)
    targets = _targets(db, hooks, scope, day, institution)
    codes = json.dumps(targets)
    scene_on = MonitoredScenes(db)
    scene_on.prefetch(targets, day)
    monitored = {c for c in targets if scene_on(c, scene, day)}
    closed = {r["institution_code"] for r in db.all(
        f"SELECT institution_code FROM day_closures WHERE scene=? AND day=? AND {_in_list('institution_code')}",
        (scene, day.isoformat(), codes))}
    to_close = [c for c in targets if c in monitored and c not in closed]
    rs = releases.in_force(db, now.date())
    rules = rs.runs_at("day_end", scene)
    view = FactView(db, institutions=to_close, closing=[(scene, c, day.isoformat()) for c in to_close])
    window = Window(scene, day, to_close, view, rules)
    result, results = PostEventResult(f"{window.start.isoformat()}/{window.end.isoformat()}", []), None
    if to_close:
        result = engine.run_post_event(db, rules, window.start, window.end, now=now, record=False,
                                       institutions=to_close, view=view)
        results = hooks.results(window)
    return DayEndScan(scene, day, now.date(), scope, institution, fp, rs.version,
                      [c for c in targets if c not in monitored], sorted(set(targets) & closed), to_close, rules,
                      result, results)


# --- close (the write transaction) -----------------------------------------------------------
def _still_valid(db: Db, snap: DayEndScan | None, *, scene: str, day: date, scope: Scope, institution: str | None,
                 now: datetime) -> bool:
    if snap is None or snap.fingerprint is None:
        return False
    same_question = (snap.scene, snap.day, snap.scope, snap.institution, snap.today) == (
        scene, day, scope, institution, now.date())
    return same_question and fingerprint(db, hooks_for(scene)) == snap.fingerprint


def close(db: Db, *, scene: str, day: date, scope: Scope, institution: str | None, by: str, now: datetime,
          snapshot: DayEndScan | None = None) -> dict[str, Any]:
    """Close `day` for the scene in the open write transaction: use `snapshot` (a scan made on
    a read snapshot) if none of its facts changed since, else scan here; then write closures,
    findings (decisions and leads) and the scene's per-day results. Rerunning closes nothing twice."""
    if _still_valid(db, snapshot, scene=scene, day=day, scope=scope, institution=institution, now=now):
        assert snapshot is not None
        snap = snapshot
    else:
        snap = scan(db, scene=scene, day=day, scope=scope, institution=institution, now=now)
        snap.rescanned = snapshot is not None
    hooks = hooks_for(scene)
    if snap.to_close:
        db.execute("INSERT INTO day_closures(scene, institution_code, day, closed_at, closed_by)"
                   " SELECT ?, value, ?, ?, ? FROM json_each(?)",
                   (scene, day.isoformat(), now.astimezone(CST).isoformat(timespec="seconds"), by,
                    json.dumps(snap.to_close)))
    engine.record_post_event(db, snap.rules, snap.result, now=now)
    lead_ids = {(d.rule_id, d.subject.id): d.lead_id for d in snap.result.hits if d.lead_id is not None}
    results = hooks.record(db, snap.results, lead_ids) if snap.to_close else []
    findings = [{"rule_id": d.rule_id, "subject_type": d.subject.type, "subject_id": d.subject.id,
                 "fixmedins_code": d.subject.institution_code, "psn_no": d.subject.psn_no, "lead_id": d.lead_id,
                 "message": d.message} for d in snap.result.hits if d.lead_id is not None]
    return {"scene": scene, "day": day.isoformat(), "release_version": snap.release_version,
            "closed": snap.to_close, "already_closed": snap.already_closed, "not_monitored": snap.not_monitored,
            "results": results, "findings": findings, "rescanned": snap.rescanned}
