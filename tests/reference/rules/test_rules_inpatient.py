"""Inpatient rules at their lines (INP-1 … INP-8): each deadline one second late makes a finding
at the day end (8209) and exactly on time does not; the daily check belongs to its calendar day
and skips the admission day; the targeting score fires at its threshold (0.2) and minimum of
10 due patient-days (INP-7, SUP-2), judged by the post-event run (8801)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from rule_scenarios import (
    admission_capture,
    daily_check,
    discharge_registration,
    remote_check,
    review_deadline,
    unsupplemented_rejection,
    ward_compliance,
)
from rule_support import POST, fires, near_miss, only, quiet

SUSPICION = {"post_event": "suspicion"}
DEADLINES = [  # rule, scenario, one second too late, exactly on time, what the finding says, its evidence
    ("INP-ENROL-24H", admission_capture, timedelta(hours=24, seconds=1), timedelta(hours=24),  # capture
     "captured late at 2026-03-03T10:00:01", ["inpatient_visit"]),
    ("INP-DISCHARGE-SAME-DAY", discharge_registration, "2026-03-04T00:00:00", "2026-03-03T23:59:59",
     "discharge-registered late at 2026-03-04T00:00:00", ["inpatient_visit"]),
    ("INP-DAILY-FACE-CHECK", daily_check, "2026-03-04T00:00:00", "2026-03-03T23:59:59",  # the check of 03-03
     "passed 0 face check(s) on 2026-03-03, 1 required", ["inpatient_visit"]),
    ("INP-REMOTE-CHECK-EXPIRED", remote_check, "2026-03-02T11:00:01", "2026-03-02T11:00:00",
     "not verified by the deadline 2026-03-02T11:00:00", ["bed_check_task", "inpatient_visit"]),
    ("INP-SR-REVIEW-OVERDUE", review_deadline, "2026-03-08T00:00:00", "2026-03-07T23:59:59",
     "first review due by 2026-03-07 (5 days) done late at 2026-03-08T00:00:00", ["special_registration"]),
    ("INP-SR-VIOLATION", unsupplemented_rejection, "2026-03-08T00:00:00", "2026-03-07T23:59:59",  # supplement
     "rejected and not supplemented by 2026-03-07: a violation", ["special_registration"]),
]


@pytest.mark.req("INP-1", "INP-2", "INP-3", "INP-4", "INP-5", "INP-8")
@pytest.mark.parametrize(("rule_id", "scenario", "said", "evidence", "when", "expected"), [
    p for rule_id, scenario, late, on_time, said, evidence in DEADLINES
    for p in near_miss(rule_id, SUSPICION, late, on_time, before=(rule_id, scenario, said, evidence),
                       ids=(f"{rule_id}-1s-late", f"{rule_id}-on-time"))])
def test_one_second_past_a_deadline_is_a_finding_at_the_day_end_and_on_time_is_not(env, rule_id, scenario, said,
                                                                                    evidence, when, expected):
    seen = scenario(env, when)
    assert seen.hits == only(rule_id, expected, POST)
    assert seen.subjects == ({rule_id: [seen.subject]} if expected else {})
    for lead in seen.leads:  # the finding says why and points at its records
        assert said in lead["summary"], lead["summary"]
        assert [e["kind"] for e in lead["evidence"]] == ["decision", *evidence]
        assert all(str(e["id"]) in seen.subject.split("/") for e in lead["evidence"][1:]), lead["evidence"]


@pytest.mark.req("INP-2")
@pytest.mark.parametrize(("registered_at", "expected"), near_miss(
    "INP-DISCHARGE-SAME-DAY", SUSPICION, "2026-03-05T00:00:00", "2026-03-04T23:59:59",
    ids=("after-the-grace-day", "on-the-grace-day")))
def test_a_grace_day_moves_the_discharge_registration_deadline(env, registered_at, expected):
    env.publish([{"rule_id": "INP-DISCHARGE-SAME-DAY", "params": {"grace_days": 1}}])
    seen = discharge_registration(env, registered_at, judged_on="2026-03-04")
    assert seen.hits == only("INP-DISCHARGE-SAME-DAY", expected, POST)


@pytest.mark.req("INP-5")
@quiet("INP-SR-VIOLATION")
def test_an_unsupplemented_rejection_is_no_violation_when_the_release_says_so(env):
    env.publish([{"rule_id": "INP-SR-VIOLATION", "params": {"count_unsupplemented": False}}])
    assert unsupplemented_rejection(env, "2026-03-08T00:00:00").hits == {"post_event": {}}

@pytest.mark.req("INP-3")
@pytest.mark.parametrize(("admitted_at", "expected"), near_miss(
    "INP-DAILY-FACE-CHECK", SUSPICION, "2026-03-02T23:59:59", "2026-03-03T00:00:00",
    ids=("admitted-day-before", "admission-day")))
def test_the_admission_day_needs_no_daily_check(env, admitted_at, expected):
    seen = daily_check(env, "2026-03-04T00:00:00", admitted_at=admitted_at)
    assert seen.hits == only("INP-DAILY-FACE-CHECK", expected, POST)


@pytest.mark.req("INP-7", "SUP-2", "RULE-2")
@pytest.mark.parametrize(("patients", "checked", "expected"), [
    # score = 0.4 × (1 − daily-check rate); a lead at ≥ 0.2 with ≥ 10 due patient-days
    pytest.param(10, 5, SUSPICION, marks=fires("INP-LOW-COMPLIANCE", "post_event"), id="score-0.2"),
    pytest.param(10, 6, {}, marks=quiet("INP-LOW-COMPLIANCE"), id="score-0.16"),
    pytest.param(9, 4, {}, marks=quiet("INP-LOW-COMPLIANCE"), id="9-patient-days"),
])
def test_an_institution_at_the_targeting_threshold_becomes_a_lead(env, patients, checked, expected):
    seen = ward_compliance(env, patients=patients, checked=checked)
    assert seen.hits == only("INP-LOW-COMPLIANCE", expected, POST)
    assert seen.subjects == ({"INP-LOW-COMPLIANCE": [env.hospital.code]} if expected else {})
    for lead in seen.leads:
        assert "targeting score 0.200 ≥ 0.2 (daily_check_rate 0.50, special_registration_rate 0.00)" in lead["summary"]
        assert lead["evidence"][1:] == [{"kind": "institution", "id": env.hospital.code}]


@pytest.mark.req("INP-7", "SUP-2")
@quiet("INP-LOW-COMPLIANCE")
def test_the_targeting_score_counts_the_days_of_the_period_only(env):
    """Six of ten checked on 2026-03-03 (score 0.16); the unchecked day after is outside the run."""
    assert ward_compliance(env, 10, 6, unchecked_day_after=True).of("INP-LOW-COMPLIANCE") == {}


@pytest.mark.req("INP-7", "SUP-2", "RULE-2")
def test_the_targeting_score_weighs_each_rate_as_documented():
    from reference.rules.checks.inpatient import score
    from reference.rules.library import load_library

    params = load_library().rules["INP-LOW-COMPLIANCE"].resolve(None)
    facts = {"daily_due": 12, "daily_compliant": 8, "remote_due": 3, "remote_passed": 1,
             "special_registrations": 5, "reviewed": 6, "rejected": 2}
    total, rates = score(facts, params)
    assert rates == {"daily_check_rate": 0.666667, "remote_check_rate": 0.333333,
                     "special_registration_rate": 0.333333, "rejection_rate": 0.333333}
    # 0.4 × 1/3 + 0.3 × 2/3 + 0.2 × 1/3 + 0.1 × 1/3
    assert total == round(0.4 / 3 + 0.3 * 2 / 3 + 0.2 / 3 + 0.1 / 3, 6) == 0.433333
    nothing = dict.fromkeys(facts, 0)
    assert score(nothing, params) == (0, dict.fromkeys(rates))  # no rate without something to count
