"""In-event analysis (3102 明细审核事中分析服务): a clear violation of the in-event rules comes
back with the severity of a clear violation, and a within-rules encounter with an empty result."""

import pytest

from conformance.kit.analysis import RESULT_FIELDS, purchase
from conformance.kit.support import expect_ok, send


@pytest.mark.req("RULE-8", "RULE-3")
def test_in_event_analysis_reports_a_clear_violation(world):
    """3102 about a 1,500-yuan drug purchase with no face check answers a PH-FACE-OVER-AMOUNT
    result with sev_deg 1 (clear violation: the in-event rule refuses such a settlement) and a
    jr_id; the same purchase for 200 yuan answers an empty result."""
    person = world.new_person()
    inst = world.inst_a.client
    out = expect_ok(send(inst, inst.envelope("3102", purchase(world, person.psn_no, 1500))))
    hits = [r for r in out.get("result", []) if r.get("rule_id") == "PH-FACE-OVER-AMOUNT"]
    assert len(hits) == 1, out
    assert set(hits[0]) >= RESULT_FIELDS and hits[0]["sev_deg"] == "1" and hits[0]["jr_id"], hits[0]
    small = expect_ok(send(inst, inst.envelope("3102", purchase(world, person.psn_no, 200))))
    assert small.get("result") == [], small
