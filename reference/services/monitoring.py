"""Which scenes are monitored where (监控场景, transaction 8014): the roll-out of each scene.

A bureau enables a scene for an institution from a date (`institution_scenes`). A scene is
monitored at an institution on day D when it is enabled there and its `since` date is on or
before D. Only then:

- the institution's senders may run the scene's transactions (the transaction registry declares
  each transaction's scene; the gateway refuses the others with 3004 invalid_state);
- the scene's rules judge the institution (settlement checks, day ends, post-event runs); rules
  of scene `any` apply everywhere.

Disabling a scene stops both from that moment; days already closed keep their results.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from datetime import date

from reference.codes import table
from reference.errors import InvalidState
from reference.store import Db

ANY_SCENE = "any"


def monitored(db: Db, institution_code: str | None, scene: str, day: date | str) -> bool:
    if scene == ANY_SCENE:
        return True
    if institution_code is None:
        return False
    d = day if isinstance(day, str) else day.isoformat()
    return db.scalar("SELECT 1 FROM institution_scenes WHERE institution_code=? AND scene=? AND enabled=1"
                     " AND since<=?", (institution_code, scene, d[:10])) is not None


def require_monitored(db: Db, institution_code: str, scene: str, day: date, *, field: str = "infno") -> None:
    if not monitored(db, institution_code, scene, day):
        raise InvalidState(f"the {scene} scene is not monitored at institution {institution_code} on {day}; "
                           "a bureau enables it with transaction 8014", field=field)


class MonitoredScenes:
    """A memo of `monitored` for one evaluation run (rules ask per subject)."""

    def __init__(self, db: Db) -> None:
        self.db = db
        self._memo: dict[tuple[str | None, str, str], bool] = {}

    def prefetch(self, institution_codes: Collection[str], day: date | str) -> None:
        """Answer every scene of these institutions on `day` with one query (a run over many)."""
        d = (day if isinstance(day, str) else day.isoformat())[:10]
        on = {(r["institution_code"], r["scene"]) for r in self.db.all(
            "SELECT institution_code, scene FROM institution_scenes WHERE enabled=1 AND since<=?"
            " AND institution_code IN (SELECT value FROM json_each(?))", (d, json.dumps(sorted(institution_codes))))}
        for code in institution_codes:
            for scene in table("scene").labels():
                self._memo[(code, scene, d)] = (code, scene) in on

    def __call__(self, institution_code: str | None, scene: str, day: date | str) -> bool:
        if scene == ANY_SCENE:
            return True
        key = (institution_code, scene, (day if isinstance(day, str) else day.isoformat())[:10])
        if key not in self._memo:
            self._memo[key] = monitored(self.db, *key)
        return self._memo[key]
