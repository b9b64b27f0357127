"""Leads and rule statistics across districts (RULE-6, RULE-7, PH-6, GEN-1) and the lead workflow's
details, gaps found by mutation testing of reference/rules/leads.py and stats.py: a district's
audit plan and statistics cover its own district only, a lead of another district does not exist
for a district account, a refused move names the field and the allowed moves, the audit note is
the conclusion's, and a confirmed lead may have recovered nothing yet."""

from __future__ import annotations

import pytest
from rule_scenarios import care_of_flagged_person

DEATH = "BD-SUSPECTED-DEATH-CARE"


def _screened_lead(env, site) -> dict:
    psn = env.person(site, flags=("suspected_deceased",), enrol=False)
    env.settle(site, psn, 80, scene="inpatient", stages=("in_event",))
    (lead,) = [x for x in env.bureau.call("8811", {"rule_id": DEATH, "fixmedins_code": site.code})["leads"]]
    return env.bureau.call("8812", {"lead_id": lead["lead_id"], "to_status": "screened", "note": "复核属实"})


@pytest.mark.req("PH-6", "GEN-1")
def test_a_district_audit_plan_takes_the_leads_of_its_own_district_only(env):
    district = env.other_district()
    here, there = _screened_lead(env, env.hospital), _screened_lead(env, env.add_site(
        "secondary_hospital", "2A", district=district))
    auditor = env.user("audit_centre", district=district)
    plan = auditor.call("8813", {"month": "2026-04", "capacity": 5})
    assert [x["lead_id"] for x in plan["planned"]] == [there["lead_id"]]
    assert plan["planned"][0]["events"][-1]["note"] == "audit plan 2026-04"
    city = env.bureau.call("8813", {"month": "2026-04", "capacity": 5})
    assert [x["lead_id"] for x in city["planned"]] == [here["lead_id"]]


@pytest.mark.req("RULE-7", "GEN-1")
def test_a_lead_of_another_district_does_not_exist_for_a_district_account(env):
    lead = _screened_lead(env, env.hospital)
    outsider = env.user("district_bureau", district=env.other_district())
    assert outsider.call("8811", {"lead_id": lead["lead_id"]})["leads"] == []
    moved = outsider.send("8812", {"lead_id": lead["lead_id"], "to_status": "cleared"})
    missing = outsider.send("8812", {"lead_id": 10**6, "to_status": "cleared"})
    for r in (moved, missing):
        assert (r.infcode, r.envelope["err_field"]) == (3003, "input.lead_id")
    assert env.bureau.call("8811", {"lead_id": lead["lead_id"]})["leads"][0]["status"] == "screened"


@pytest.mark.req("RULE-7")
def test_a_refused_move_names_the_field_and_the_allowed_moves(env):
    seen = care_of_flagged_person(env)
    (lead,) = env.bureau.call("8811", {"rule_id": DEATH})["leads"]
    assert seen.result == "suspended"
    wrong = env.bureau.send("8812", {"lead_id": lead["lead_id"], "to_status": "confirmed"})
    assert (wrong.infcode, wrong.envelope["err_field"]) == (3004, "input.to_status")
    assert wrong.envelope["err_msg"].endswith("a new lead cannot become confirmed; allowed: ['cleared', 'screened']")
    agency = env.user("agency")
    env.bureau.call("8812", {"lead_id": lead["lead_id"], "to_status": "screened"})
    forbidden = agency.send("8812", {"lead_id": lead["lead_id"], "to_status": "audit_planned"})
    assert (forbidden.infcode, forbidden.envelope["err_field"]) == (2005, "input.to_status")


@pytest.mark.req("RULE-6", "GEN-1")
def test_rule_statistics_of_a_district_account_count_its_district_only(env):
    district = env.other_district()
    _screened_lead(env, env.hospital)
    _screened_lead(env, env.add_site("secondary_hospital", "2A", district=district))
    period = {"start": "2026-03-01", "end": "2026-03-31"}
    city = {r["rule_id"]: r for r in env.bureau.call("8721", period)["rules"]}
    mine = {r["rule_id"]: r for r in env.user("district_bureau", district=district).call("8721", period)["rules"]}
    assert (city[DEATH]["suspicions"], city[DEATH]["leads"]) == (2, 2)
    assert (mine[DEATH]["suspicions"], mine[DEATH]["leads"]) == (1, 1)


@pytest.mark.req("RULE-7", "PH-6")
def test_the_audit_note_is_the_conclusion_and_nothing_recovered_yet_is_a_confirmation(env):
    lead = _screened_lead(env, env.hospital)
    assert lead["audit_note"] is None  # the screening's note is no conclusion
    lead_id = lead["lead_id"]
    env.bureau.call("8812", {"lead_id": lead_id, "to_status": "audit_planned", "note": "列入四月计划"})
    done = env.bureau.call("8812", {"lead_id": lead_id, "to_status": "confirmed", "amount_recovered": 0,
                                    "note": "违规属实，待追回"})
    assert (done["status"], done["amount_recovered"], done["audit_note"]) == ("confirmed", 0, "违规属实，待追回")


@pytest.mark.req("RULE-5", "GEN-1")
def test_a_decision_of_another_district_does_not_exist_for_a_district_account(env):
    lead = _screened_lead(env, env.hospital)
    decision_id = next(e["id"] for e in lead["evidence"] if e["kind"] == "decision")
    outsider = env.user("district_bureau", district=env.other_district())
    for asked in (decision_id, 10**6):
        r = outsider.send("8722", {"decision_id": asked})
        assert (r.infcode, r.envelope["err_field"]) == (3003, "input.decision_id")
    insider = env.user("district_bureau", district=env.world.district)
    assert insider.call("8722", {"decision_id": decision_id})["rule_id"] == DEATH
