"""The business clock (业务时钟).

Every time-based rule (24 h enrolment, one face check per calendar day, 120-minute dialysis,
review deadlines) reads business time from a `Clock`, never from `datetime.now()`. The real
server uses `SystemClock`; tests and the simulator use `ManualClock` to run months of business
time in seconds. Business time is China Standard Time (UTC+8), the zone all local rules use.

A manual clock stays within `EARLIEST` … `LATEST`. Its time is also stored in the database
(`reference.services.business_clock`), so a restarted server resumes where it stopped.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from typing import Protocol

CST = timezone(timedelta(hours=8), name="CST")

# The span a manual clock may take. Rules add days to years to business time (a month's cap, a
# year's review) and stored times are ISO texts with four-digit years; 2000-2099 keeps every such
# sum far inside Python's years 1-9999, and covers any business a test or simulation needs (the
# smart-monitoring programme itself dates from 2019). A manual clock set outside it is refused
# (1001 invalid_field) rather than letting a later transaction overflow.
EARLIEST = datetime(2000, 1, 1, tzinfo=CST)
LATEST = datetime(2099, 12, 31, 23, 59, 59, 999999, tzinfo=CST)
# The largest single step of transaction 8901: 100 years (36,525 days) — the whole span above.
MAX_ADVANCE_SECONDS = 36_525 * 86_400


class Clock(Protocol):
    def now(self) -> datetime:
        """Current business time, timezone-aware (CST)."""
        ...


class SystemClock:
    """Real time."""

    def now(self) -> datetime:
        return datetime.now(CST)


class ManualClock:
    """A clock that moves only when told to; thread-safe."""

    def __init__(self, start: datetime | None = None) -> None:
        self._lock = threading.Lock()
        self._now = to_cst(start) if start is not None else datetime.now(CST).replace(microsecond=0)

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def set(self, when: datetime) -> None:
        when = to_cst(when)
        with self._lock:
            if when < self._now:
                raise ValueError("business time cannot move backwards")
            self._now = when

    def advance(self, delta: timedelta) -> None:
        if delta < timedelta(0):
            raise ValueError("business time cannot move backwards")
        with self._lock:
            self._now = self._now + delta

    def catch_up(self, when: datetime) -> None:
        """Move to `when` if that is later; otherwise do nothing. Used after a committed 8901,
        whose follow-ups may run out of order when two run at once: the latest time wins."""
        when = to_cst(when)
        with self._lock:
            if when > self._now:
                self._now = when


def in_span(when: datetime) -> bool:
    """Whether `when` (CST if naive) lies within EARLIEST … LATEST; never overflows."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=CST)
    return EARLIEST <= when <= LATEST


def to_cst(when: datetime) -> datetime:
    """Interpret naive times as CST and convert aware ones to CST."""
    if when.tzinfo is None:
        return when.replace(tzinfo=CST)
    return when.astimezone(CST)
