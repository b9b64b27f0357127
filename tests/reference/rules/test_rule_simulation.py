"""Draft simulation on history (8705, RULE-5): a draft that retires a rule lists what it would no
longer flag, a draft override is resolved per institution, live post-event hits are counted, and a
district account sees its district's institutions only (GEN-1) — gaps found by mutation testing of
reference/rules/engine.py."""

from __future__ import annotations

from datetime import timedelta

import pytest
from rule_scenarios import late_fault_reports

OVER_AMOUNT = "PH-FACE-OVER-AMOUNT"
FAULT = "GEN-FAULT-LATE-REPORT"


def _refused_purchase(env, site) -> str:
    seen = env.settle(site, env.person(site), 1500, scene="pharmacy")
    assert seen.of(OVER_AMOUNT) == {"pre_event": "remind", "in_event": "refuse"}
    return site.code


def _draft(env, changes: list[dict]) -> str:
    version = "draft-sim"
    env.bureau.call("8703", {"base_version": env.bureau.call("8702", {})["in_force"], "version": version,
                             "effective_from": "2026-06-01", "changes": changes})
    return version


def _rows(client, version: str) -> dict[str, dict]:
    out = client.call("8705", {"version": version, "start": "2026-03-01", "end": "2026-03-31"})
    return {r["rule_id"]: r for r in out["rows"]}


def _history(env) -> list[str]:
    """Refused large purchases at the pharmacy and at the hospital, and a late fault report that
    the post-event run made a lead; the clock then moves past the analysed days."""
    codes = [_refused_purchase(env, env.pharmacy), _refused_purchase(env, env.hospital)]
    assert late_fault_reports(env, timedelta(hours=25)).of(FAULT) == {"post_event": "suspicion"}
    env.set_clock("2026-04-01T09:00:00")
    return codes


@pytest.mark.req("RULE-5")
def test_a_draft_retiring_a_rule_lists_what_it_would_no_longer_flag(env):
    pharmacy, hospital = _history(env)
    rows = _rows(env.bureau, _draft(env, [{"rule_id": OVER_AMOUNT, "enabled": False}]))
    row = rows[OVER_AMOUNT]
    assert (row["live_hits"], row["draft_hits"], row["newly_flagged"]) == (2, 0, [])
    assert sorted(s.split("/")[0] for s in row["no_longer_flagged"]) == sorted([pharmacy, hospital])
    fault = rows[FAULT]
    assert (fault["live_hits"], fault["draft_hits"]) == (1, 1) and fault["no_longer_flagged"] == []


@pytest.mark.req("RULE-5", "RULE-2")
def test_a_draft_override_is_resolved_for_each_institution_of_the_history(env):
    pharmacy, hospital = _history(env)
    rows = _rows(env.bureau, _draft(env, [{"rule_id": OVER_AMOUNT, "overrides": [
        {"when": {"institution_type": "retail_pharmacy"}, "params": {"amount_threshold_yuan": 2000}}]}]))
    row = rows[OVER_AMOUNT]
    assert (row["live_hits"], row["draft_hits"]) == (2, 1)
    assert [s.split("/")[0] for s in row["no_longer_flagged"]] == [pharmacy]


@pytest.mark.req("RULE-5", "GEN-1")
def test_a_district_account_simulates_over_its_own_district_only(env):
    district = env.other_district()
    other = env.add_site("retail_pharmacy", "ungraded", district=district)
    _refused_purchase(env, other)
    _history(env)
    district_bureau = env.user("district_bureau", district=district)
    rows = _rows(district_bureau, _draft(env, [{"rule_id": OVER_AMOUNT, "enabled": False}]))
    row = rows[OVER_AMOUNT]
    assert (row["live_hits"], row["draft_hits"]) == (1, 0)
    assert [s.split("/")[0] for s in row["no_longer_flagged"]] == [other.code]
    assert (rows[FAULT]["live_hits"], rows[FAULT]["draft_hits"]) == (0, 0)  # the late report is elsewhere
    city = _rows(env.bureau, "draft-sim")
    assert (city[OVER_AMOUNT]["live_hits"], city[FAULT]["draft_hits"]) == (3, 1)
