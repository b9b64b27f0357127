"""The manual business clock's stored time (业务时钟), so a restarted server resumes where it stopped.

A server started with `clock=manual` (tests, the simulator, the conformance kit) keeps business
time in memory, because every transaction reads it, and in the one-row table `business_clock`
(migration 0005):

- transaction 8901 writes the new time inside its own write transaction (`move`); the memory
  clock follows only once that transaction has committed, so a refused or rolled-back 8901
  moves neither;
- at start-up (`resume`) a manual clock continues from the stored time. `clock_start` names
  the start of a fresh database; on a database that already has a time it can only move the
  clock forward (a later `clock_start` wins, an earlier one is ignored): business time never
  moves backwards, or every "before"/"after" a rule has stored would be contradicted.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from reference.clock import EARLIEST, LATEST, ManualClock, in_span, to_cst
from reference.errors import InvalidField
from reference.store import Db


def stored_time(db: Db) -> datetime | None:
    """The stored business time, or None on a database that never ran a manual clock."""
    text = db.scalar("SELECT business_time FROM business_clock WHERE id = 1")
    return datetime.fromisoformat(text) if text else None


def _store(db: Db, when: datetime) -> None:
    db.execute(
        "INSERT INTO business_clock(id, business_time) VALUES (1, ?)"
        " ON CONFLICT(id) DO UPDATE SET business_time = excluded.business_time",
        (to_cst(when).isoformat(),),
    )


def resume(db: Db, clock_start: datetime | None, fresh_start: datetime) -> datetime:
    """The time a manual clock starts at, stored before it is returned.

    The stored time, moved forward to `clock_start` when that is later; on a database without
    a stored time, `clock_start`, else `fresh_start` (the caller's wall time)."""
    stored = stored_time(db)
    if stored is None:
        start = to_cst(clock_start or fresh_start)
    elif clock_start is not None and to_cst(clock_start) > stored:
        start = to_cst(clock_start)
    else:
        start = stored
    if start != stored:
        _store(db, start)
    return start


def move(db: Db, clock: ManualClock, *, set_to: datetime | None = None,
         advance_seconds: int | None = None) -> datetime:
    """Transaction 8901's effect: the new business time, stored in the open write transaction.

    Counts from the later of the memory clock and the stored time: a 8901 that committed a
    moment ago may not have reached the memory clock yet (see `ManualClock.catch_up`). The
    caller moves the memory clock once the transaction has committed."""
    stored = stored_time(db)
    base = clock.now() if stored is None else max(clock.now(), stored)
    if set_to is not None:
        if not in_span(set_to):
            raise InvalidField(f"business time must lie within {EARLIEST:%Y-%m-%d} … {LATEST:%Y-%m-%d}",
                               field="input.set_to")
        new = to_cst(set_to)
        if new < base:
            raise InvalidField(f"business time cannot move backwards (it is {base.isoformat(timespec='seconds')})",
                               field="input.set_to")
    else:
        # The input model bounds the step to 100 years, so this sum cannot overflow.
        new = base + timedelta(seconds=advance_seconds or 0)
        if new > LATEST:
            raise InvalidField(f"business time would pass {LATEST.isoformat(timespec='seconds')}",
                               field="input.advance_seconds")
    _store(db, new)
    return new
