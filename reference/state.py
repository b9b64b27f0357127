"""The server's shared state: settings, store, business clock, face core and gateway hooks."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from reference.clock import Clock, ManualClock, SystemClock
from reference.config import Settings
from reference.store import Store, open_store


@dataclass
class AppState:
    settings: Settings
    store: Store
    clock: Clock
    # Transport time for signature timestamps: real time, independent of business time.
    wall_time: Callable[[], float] = time.time
    face: Any = None  # reference.face.core.FaceCore, created lazily
    extras: dict[str, Any] = field(default_factory=dict)

    def face_core(self):
        if self.face is None:
            from reference.face.core import FaceCore

            self.face = FaceCore.from_settings(self.settings)
        return self.face


def make_clock(settings: Settings, store: Store | None = None) -> Clock:
    """The configured business clock. A manual clock on a `store` resumes from the time stored
    there (a later `clock_start` moves it forward, never back; see
    reference.services.business_clock); without a store it starts at `clock_start`."""
    if settings.clock != "manual":
        return SystemClock()
    start = datetime.fromisoformat(settings.clock_start) if settings.clock_start else None
    if store is None:
        return ManualClock(start)
    from reference.services import business_clock

    with store.write() as db:
        return ManualClock(business_clock.resume(db, start, ManualClock().now()))


def build_state(settings: Settings, clock: Clock | None = None) -> AppState:
    """Open the store and the clock; `clock` (a test's own) replaces the configured one."""
    store = open_store(settings.db_path, settings.sqlite_synchronous, settings.sqlite_wal_autocheckpoint,
                       settings.sqlite_cache_mib)
    state = AppState(settings=settings, store=store, clock=clock or make_clock(settings, store))
    from reference.rules.releases import ensure_baseline
    from reference.services.bootstrap import ensure_region

    ensure_region(state)
    with store.write() as db:
        ensure_baseline(db, state.clock.now().isoformat(timespec="seconds"))
    # GEN-5: a crash between an erasure's commit and its log purge (2003) would leave the erased
    # template's old page images in the write-ahead log; nothing reads the log yet, so empty it.
    store.db().execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return state
