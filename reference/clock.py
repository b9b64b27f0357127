"""The business clock (业务时钟).

Every time-based rule (24 h enrolment, one face check per calendar day, 120-minute dialysis,
review deadlines) reads business time from a `Clock`, never from `datetime.now()`. The real
server uses `SystemClock`; tests and the simulator use `ManualClock` to run months of business
time in seconds. Business time is China Standard Time (UTC+8), the zone all local rules use.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from typing import Protocol

CST = timezone(timedelta(hours=8), name="CST")


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


def to_cst(when: datetime) -> datetime:
    """Interpret naive times as CST and convert aware ones to CST."""
    if when.tzinfo is None:
        return when.replace(tzinfo=CST)
    return when.astimezone(CST)
