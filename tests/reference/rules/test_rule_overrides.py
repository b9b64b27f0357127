"""Per-institution parameters (RULE-2): an override in a release, matched by institution type or
level, gives that institution its own value in the catalogue (8701) and its own decisions
(8712, 8801), while every other institution keeps the default."""

from __future__ import annotations

from datetime import timedelta

import pytest
from rule_scenarios import late_fault_reports
from rule_support import fires, quiet

OVER_AMOUNT = "PH-FACE-OVER-AMOUNT"
CAP = "HD-MONTHLY-CAP"
FAULT = "GEN-FAULT-LATE-REPORT"
LATE = timedelta(hours=25)


@pytest.mark.req("RULE-2", "RULE-4", "PH-3")
@fires(OVER_AMOUNT, "pre_event", "in_event")
@quiet(OVER_AMOUNT)
def test_a_retail_pharmacy_override_raises_the_face_threshold_there_only(env):
    pharmacy, hospital = env.pharmacy, env.hospital
    env.publish([{"rule_id": OVER_AMOUNT, "overrides": [
        {"when": {"institution_type": "retail_pharmacy"}, "params": {"amount_threshold_yuan": 2000}}]}])
    assert env.params(OVER_AMOUNT, pharmacy)["amount_threshold_yuan"] == 2000
    assert env.params(OVER_AMOUNT, hospital)["amount_threshold_yuan"] == 1000
    assert env.params(OVER_AMOUNT, pharmacy, by_bureau=True)["amount_threshold_yuan"] == 2000
    assert env.params(OVER_AMOUNT)["amount_threshold_yuan"] == 1000
    at_pharmacy = env.settle(pharmacy, env.person(pharmacy), 1500, scene="pharmacy")
    assert at_pharmacy.hits == {"pre_event": {}, "in_event": {}} and at_pharmacy.result == "accepted"
    at_hospital = env.settle(hospital, env.person(hospital), 1500, scene="pharmacy")
    assert at_hospital.hits == {"pre_event": {OVER_AMOUNT: "remind"}, "in_event": {OVER_AMOUNT: "refuse"}}
    over = env.settle(pharmacy, env.person(pharmacy), 2000.01, scene="pharmacy")
    assert over.of(OVER_AMOUNT) == {"pre_event": "remind", "in_event": "refuse"}


@pytest.mark.req("RULE-2", "RULE-4", "HD-6")
@fires(CAP, "pre_event", "in_event")
@quiet(CAP)
def test_a_grade_3a_override_raises_the_dialysis_cap_for_3a_hospitals_only(env):
    top = env.add_site("tertiary_hospital", "3A")
    other = env.dialysis  # a secondary hospital, grade 2A
    env.publish([{"rule_id": CAP, "overrides": [{"when": {"level": "3A"}, "params": {"cap_yuan": 8000}}]}])
    assert env.params(CAP, top)["cap_yuan"] == 8000
    assert env.params(CAP, other)["cap_yuan"] == 7000
    assert env.params(CAP, top, by_bureau=True)["cap_yuan"] == 8000
    assert env.params(CAP)["cap_yuan"] == 7000
    for site, expected in ((top, {}), (other, {"pre_event": "remind", "in_event": "refuse"})):
        psn = env.person(site)
        env.verify(site, psn, "hemodialysis")
        assert env.settle(site, psn, 7500, scene="hemodialysis").of(CAP) == expected


@pytest.mark.req("RULE-2", "GEN-3")
@fires(FAULT, "post_event")
@quiet(FAULT)
def test_the_shipped_village_clinic_override_needs_three_late_reports(env):
    clinic = env.add_site("village_clinic", "ungraded", scenes=())
    assert env.params(FAULT, clinic)["min_late_reports"] == 3
    assert env.params(FAULT, env.hospital)["min_late_reports"] == 1
    two = late_fault_reports(env, LATE, site=clinic, reports=2)
    assert two.hits == {"post_event": {}}
    three = late_fault_reports(env, LATE, site=clinic, reports=3)
    assert three.hits == {"post_event": {FAULT: "suspicion"}} and three.subjects == {FAULT: [clinic.code]}


@pytest.mark.req("RULE-2", "RULE-1", "PH-5")
@fires("PH-REPEATED-NO-FACE", "post_event")
def test_a_wider_composite_window_for_pharmacies_counts_their_older_hits(env):
    env.publish([{"rule_id": "PH-REPEATED-NO-FACE", "overrides": [
        {"when": {"institution_type": "retail_pharmacy"}, "params": {"window_days": 60}}]}])
    site = env.pharmacy
    assert env.params("PH-REPEATED-NO-FACE", site)["window_days"] == 60
    for at in ("2026-03-02T09:00:00", "2026-03-20T09:00:00", "2026-03-25T09:00:00"):
        env.set_clock(at)
        assert env.settle(site, env.person(site), 1200, scene="pharmacy").result == "refused"
    env.set_clock("2026-04-15T02:00:00")  # the first hit is 44 days back: outside 30, inside 60
    assert env.post_event("2026-04-15", "2026-04-15").of("PH-REPEATED-NO-FACE") == {"post_event": "suspicion"}
