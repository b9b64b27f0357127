"""Hemodialysis rules at their lines (HD-2, HD-6, HD-11): the 7,000-yuan monthly cap and no
settlement without a passed dialysis face check at the centre on the session's day (a check-in
from midnight or a check-out until the day's last second)."""

from __future__ import annotations

import pytest
from rule_scenarios import dialysis_after_face_check, dialysis_month
from rule_support import SETTLEMENT, fires, near_miss, only

CAP = "HD-MONTHLY-CAP"
FACE = "HD-FACE-BEFORE-SETTLEMENT"
REFUSE = {"in_event": "refuse"}  # HD-FACE-BEFORE-SETTLEMENT has no pre-event stage


@pytest.mark.req("HD-6", "HD-11")
@pytest.mark.parametrize(("last", "expected"), near_miss(
    CAP, {"pre_event": "remind", "in_event": "refuse"}, 1000.01, 1000.00, ids=("7000.01", "7000.00")))
def test_a_settlement_taking_the_month_over_7000_yuan_is_refused(env, last, expected):
    seen = dialysis_month(env, last=last)
    assert seen.hits == only(CAP, expected, SETTLEMENT)
    assert seen.result == ("refused" if expected else "accepted")


@pytest.mark.req("HD-2", "HD-11")
@pytest.mark.parametrize(("checked_at", "expected"), [
    *near_miss(FACE, REFUSE, "2026-03-02T23:59:59", "2026-03-03T00:00:00", ids=("day-before", "check-in-midnight")),
    *near_miss(FACE, REFUSE, "2026-03-04T00:00:00", "2026-03-03T23:59:59", ids=("next-day", "check-out-last-second")),
])
def test_a_dialysis_is_settled_only_with_a_face_check_on_the_sessions_day(env, checked_at, expected):
    seen = dialysis_after_face_check(env, checked_at)
    assert seen.hits == only(FACE, expected, SETTLEMENT)
    assert seen.result == ("refused" if expected else "accepted")


@pytest.mark.req("HD-2", "HD-11")
@fires(FACE, "in_event")
@pytest.mark.parametrize("check", [{"genuine": False}, {"scene": "pharmacy"}], ids=["failed", "pharmacy-scene"])
def test_a_failed_or_non_dialysis_face_check_on_the_day_does_not_count(env, check):
    seen = dialysis_after_face_check(env, "2026-03-03T00:00:00", **check)
    assert seen.hits == only(FACE, REFUSE, SETTLEMENT) and seen.result == "refused"
