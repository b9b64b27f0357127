"""Pre-event analysis (3101 明细审核事前分析服务) in the national shape: a violation comes back as
`output.result[]` with the national fields, a purchase within the rules as an empty `result`,
and the sender's local fields are named in `warn_msg` instead of being refused."""

import pytest

from conformance.kit.analysis import DETAIL_FIELDS, RESULT_FIELDS, purchase
from conformance.kit.support import expect_ok, send


@pytest.mark.req("RULE-3", "RULE-4")
def test_pre_event_analysis_answers_the_national_shape(world):
    """3101 about a 1,500-yuan drug purchase with no face check (the pharmacy threshold is 1,000
    yuan, PH-FACE-OVER-AMOUNT) answers one result per violation with jr_id, rule_id, rule_name,
    vola_cont, patn_id, mdtrt_id, judge_result_detail_dtos[] (jrd_id, patn_id, mdtrt_id, rx_id,
    vola_item_type, vola_amt), vola_amt, vola_amt_stas, sev_deg, vola_evid, vola_bhvr_type and
    task_id; the local fields inside the patient, encounter and order and at the envelope's top
    level are named in warn_msg. A 200-yuan purchase answers an empty result."""
    person = world.new_person()
    inst = world.inst_a.client
    inp = purchase(world, person.psn_no, 1500, local_fields=True)
    env = inst.envelope("3101", inp)
    env["ck_local_top_level"] = "t"
    ans = send(inst, env)
    out = expect_ok(ans)
    hits = [r for r in out.get("result", []) if r.get("rule_id") == "PH-FACE-OVER-AMOUNT"]
    assert len(hits) == 1, out
    r = hits[0]
    assert set(r) >= RESULT_FIELDS, sorted(RESULT_FIELDS - set(r))
    assert r["patn_id"] == person.psn_no and r["task_id"] == inp["data"]["task_id"], r
    assert r["mdtrt_id"] == inp["data"]["patient_dtos"][0]["curr_mdtrt_id"], r
    details = r["judge_result_detail_dtos"]
    assert details and all(set(d) >= DETAIL_FIELDS for d in details), details
    assert {d["rx_id"] for d in details} == {inp["data"]["patient_dtos"][0]["fsi_encounter_dtos"][0]
                                              ["fsi_order_dtos"][0]["rx_id"]}, details
    warn = ans.envelope.get("warn_msg") or ""
    for name in ("ck_local_top_level", "ck_local_patient_tag", "ck_local_ward", "ck_local_batch"):
        assert name in warn, f"warn_msg must name the local field {name}: {warn!r}"
    small = expect_ok(send(inst, inst.envelope("3101", purchase(world, person.psn_no, 200))))
    assert small.get("result") == [], small
