"""Pharmacy rules at their lines (PH-3, PH-5): face recognition over 1,000 yuan and for key
populations within the 30-minute face window, and the composite of repeated large purchases
without face within 30 days. Each rule fires just past its line and stays quiet on the near miss."""

from __future__ import annotations

from datetime import timedelta

import pytest
from rule_scenarios import card_purchase, key_population_purchase, repeated_large_purchases
from rule_support import POST, SETTLEMENT, fires, near_miss, only, quiet

OVER_AMOUNT = "PH-FACE-OVER-AMOUNT"
KEY = "PH-KEY-POPULATION-FACE"
REPEATED = "PH-REPEATED-NO-FACE"
REMIND_REFUSE = {"pre_event": "remind", "in_event": "refuse"}
WINDOW = timedelta(minutes=30)
def _result(expected: dict[str, str]) -> str:
    return "refused" if expected else "accepted"


@pytest.mark.req("PH-3", "RULE-8")
@pytest.mark.parametrize(("amount", "expected"), [
    *near_miss(OVER_AMOUNT, REMIND_REFUSE, 1000.01, 999.99, ids=("1000.01", "999.99")),
    pytest.param(1000.00, {}, marks=quiet(OVER_AMOUNT), id="1000.00"),  # "over" 1,000: exactly 1,000 needs none
])
def test_a_card_purchase_over_1000_yuan_needs_a_face_check(env, amount, expected):
    seen = card_purchase(env, amount)
    assert seen.hits == only(OVER_AMOUNT, expected, SETTLEMENT) and seen.result == _result(expected)


@pytest.mark.req("PH-3")
@pytest.mark.parametrize(("face_before", "expected"), [
    *near_miss(OVER_AMOUNT, REMIND_REFUSE, WINDOW + timedelta(seconds=1), WINDOW, ids=("30min-1s", "30min")),
    pytest.param(timedelta(0), {}, marks=quiet(OVER_AMOUNT), id="same-second"),
])
def test_the_face_check_for_a_large_purchase_is_at_most_30_minutes_old(env, face_before, expected):
    seen = card_purchase(env, 1500, face_before=face_before)
    assert seen.hits == only(OVER_AMOUNT, expected, SETTLEMENT) and seen.result == _result(expected)


@pytest.mark.req("PH-3")
@pytest.mark.parametrize(("flag", "expected"), near_miss(
    KEY, REMIND_REFUSE, "past_violator", "frequent_inpatient", ids=("past-violator", "frequent-inpatient")))
def test_a_key_population_needs_a_face_check_for_a_10_yuan_purchase(env, flag, expected):
    seen = key_population_purchase(env, flag)
    assert seen.hits == only(KEY, expected, SETTLEMENT) and seen.result == _result(expected)


@pytest.mark.req("PH-3", "BD-3")
@fires(KEY, "pre_event", "in_event")
def test_a_suspected_deceased_buyer_needs_face_and_raises_the_death_alert(env):
    seen = key_population_purchase(env, "suspected_deceased")
    assert seen.hits == {"pre_event": {KEY: "remind", "BD-SUSPECTED-DEATH-CARE": "remind"},
                         "in_event": {KEY: "refuse", "BD-SUSPECTED-DEATH-CARE": "suspicion"}}
    assert seen.result == "refused"  # a refusal outranks a suspicion


@pytest.mark.req("PH-3")
@pytest.mark.parametrize(("face_before", "expected"), near_miss(
    KEY, REMIND_REFUSE, WINDOW + timedelta(seconds=1), WINDOW, ids=("30min-1s", "30min")))
def test_the_face_check_of_a_key_population_is_at_most_30_minutes_old(env, face_before, expected):
    seen = key_population_purchase(env, "past_violator", face_before=face_before)
    assert seen.hits == only(KEY, expected, SETTLEMENT) and seen.result == _result(expected)


@pytest.mark.req("PH-5", "RULE-1")
@pytest.mark.parametrize(("first_at", "expected"), near_miss(
    REPEATED, {"post_event": "suspicion"}, "2026-03-03T00:00:00", "2026-03-02T23:59:59",
    ids=("inside-30-days", "1s-outside")))
def test_three_large_purchases_without_face_within_30_days_make_a_card_pooling_lead(env, first_at, expected):
    seen = repeated_large_purchases(env, first_at=first_at)
    assert seen.hits == only(REPEATED, expected, POST)
    assert seen.subjects == ({REPEATED: [env.pharmacy.code]} if expected else {})
    for lead in seen.leads:  # its evidence: its own decision and the three component hits
        assert lead["summary"] == (f"3 hit(s) of {OVER_AMOUNT} for institution {env.pharmacy.code} "
                                   "within 30 days (at_least)")
        assert [e["kind"] for e in lead["evidence"]] == ["decision"] * 4 and lead["amount"] == 3600
