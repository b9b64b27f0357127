"""Rules of every scene at their lines: care of a suspected deceased person (BD-3) — flagged by
the bureau, or after a settlement containing 尸体料理 — at every stage, face settlements naming a
verification that passed in the window (PH-3, HD-11), and terminal faults reported more than
24 hours late (GEN-3)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from rule_scenarios import (
    care_after_deceased_care,
    care_of_flagged_person,
    face_settlement,
    flagged_after_settlement,
    late_fault_reports,
)
from rule_support import POST, SETTLEMENT, fires, near_miss, only

DEATH = "BD-SUSPECTED-DEATH-CARE"
FACE = "GEN-FACE-SETTLEMENT-VERIFIED"
FAULT = "GEN-FAULT-LATE-REPORT"
REMIND_SUSPEND = {"pre_event": "remind", "in_event": "suspicion"}
SUSPICION = {"post_event": "suspicion"}


def _result(expected: dict[str, str], hit: str) -> str:
    return hit if expected else "accepted"


@pytest.mark.req("BD-3", "RULE-8")
@pytest.mark.parametrize(("flag", "expected"), near_miss(
    DEATH, REMIND_SUSPEND, "suspected_deceased", "frequent_inpatient", ids=("suspected-deceased", "other-flag")))
def test_care_of_a_person_flagged_suspected_deceased_is_suspended(env, flag, expected):
    seen = care_of_flagged_person(env, flag)
    assert seen.hits == only(DEATH, expected, SETTLEMENT) and seen.result == _result(expected, "suspended")


@pytest.mark.req("BD-3")
@pytest.mark.parametrize(("offset", "expected"), near_miss(
    DEATH, REMIND_SUSPEND, timedelta(seconds=1), timedelta(seconds=-1), ids=("1s-after", "1s-before")))
def test_care_after_a_settlement_containing_deceased_care_is_suspended(env, offset, expected):
    seen = care_after_deceased_care(env, offset)
    assert seen.hits == only(DEATH, expected, SETTLEMENT) and seen.result == _result(expected, "suspended")


@pytest.mark.req("BD-3")
@fires(DEATH, "pre_event", "in_event")
def test_the_deceased_item_category_is_the_rules_parameter(env):
    """With `deceased_item_category` set to dialysis, a dialysis history marks the person and
    尸体料理 no longer does."""
    env.publish([{"rule_id": DEATH, "params": {"deceased_item_category": "dialysis"}}])
    assert env.params(DEATH, env.hospital)["deceased_item_category"] == "dialysis"
    assert care_after_deceased_care(env, timedelta(seconds=1)).hits == only(DEATH, {}, SETTLEMENT)
    psn = env.person(env.hospital, enrol=False)
    env.settle(env.hospital, psn, 500, scene="inpatient", item=("311000010", "血液透析"), stages=("in_event",))
    env.advance(timedelta(minutes=1))
    seen = env.settle(env.hospital, psn, 80, scene="inpatient")
    assert seen.hits == only(DEATH, REMIND_SUSPEND, SETTLEMENT)


@pytest.mark.req("BD-3", "RULE-3")
@pytest.mark.parametrize(("setl_time", "expected"), near_miss(
    DEATH, SUSPICION, "2026-03-03T00:00:00", "2026-03-02T23:59:59", ids=("in-period", "1s-before-period")))
def test_a_settlement_of_a_person_flagged_afterwards_is_a_post_event_lead(env, setl_time, expected):
    seen = flagged_after_settlement(env, setl_time)
    assert seen.hits == only(DEATH, expected, POST)
    assert [s.split("/")[0] for s in seen.subjects.get(DEATH, [])] == ([env.hospital.code] if expected else [])


@pytest.mark.req("PH-3", "HD-11", "RULE-8")
@pytest.mark.parametrize(("after", "expected"), near_miss(
    FACE, {"pre_event": "remind", "in_event": "refuse"}, timedelta(minutes=30, seconds=1), timedelta(minutes=30),
    ids=("30min-1s", "30min")))
def test_a_face_settlement_names_a_check_at_most_30_minutes_old(env, after, expected):
    seen = face_settlement(env, after)
    assert seen.hits == only(FACE, expected, SETTLEMENT) and seen.result == _result(expected, "refused")


@pytest.mark.req("PH-3", "HD-11", "RULE-8")
@fires(FACE, "pre_event", "in_event")
def test_a_face_settlement_naming_a_failed_check_is_refused(env):
    seen = face_settlement(env, timedelta(0), genuine=False)
    assert seen.hits == only(FACE, {"pre_event": "remind", "in_event": "refuse"}, SETTLEMENT)


@pytest.mark.req("GEN-3", "SUP-1")
@pytest.mark.parametrize(("delay", "expected"), near_miss(
    FAULT, SUSPICION, timedelta(hours=24, seconds=1), timedelta(hours=24), ids=("24h-1s", "24h")))
def test_a_fault_reported_more_than_24_hours_after_it_occurred_is_a_lead(env, delay, expected):
    seen = late_fault_reports(env, delay)
    assert seen.hits == only(FAULT, expected, POST)
    assert seen.subjects == ({FAULT: [env.hospital.code]} if expected else {})
    for lead in seen.leads:  # the lead carries the late ticket as evidence
        assert lead["summary"] == "1 fault(s) reported more than 24 h after they occurred"
        assert [e["kind"] for e in lead["evidence"]] == ["decision", "fault_ticket"]
