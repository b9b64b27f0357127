"""Feedback on a violation (3103 事前事中服务反馈服务): the institution answers each jr_id of a
3101 answer, continuing (with a reason) or changing the order; the statistics count it."""

import pytest

from conformance.kit.analysis import purchase
from conformance.kit.support import expect_error, expect_ok, send


@pytest.mark.req("RULE-6", "RULE-3")
def test_feedback_needs_a_reason_to_continue_and_a_known_violation(world, bureau):
    """Answering a 3101 violation with dspo_way 1 (continue) and no dspo_way_rea is refused with
    1001 naming input.data.warns.0.dspo_way_rea; a jr_id that does not exist is refused with 3003
    naming input.data.warns.0.warn_rslt_id; an answer with a reason is accepted, and the rule
    statistics (8721) of today count it as continued despite the warning."""
    person = world.new_person()
    inst = world.inst_a.client
    out = expect_ok(send(inst, inst.envelope("3101", purchase(world, person.psn_no, 1500))))
    jr = next(r["jr_id"] for r in out.get("result", []) if r.get("rule_id") == "PH-FACE-OVER-AMOUNT")

    def answer(*warns):
        return send(inst, inst.envelope("3103", {"data": {"warn_type": "1", "warns": list(warns)}}))

    expect_error(answer({"warn_rslt_id": jr, "dspo_way": "1"}), 1001, "input.data.warns.0.dspo_way_rea")
    expect_error(answer({"warn_rslt_id": f"{jr}9", "dspo_way": "2"}), 3003, "input.data.warns.0.warn_rslt_id")
    day = expect_ok(send(bureau, bureau.envelope("8000", {})))["business_time"][:10]

    def continued() -> int:
        stats = expect_ok(send(bureau, bureau.envelope("8721", {"start": day, "end": day})))
        return next(r for r in stats["rules"] if r["rule_id"] == "PH-FACE-OVER-AMOUNT")["continued_despite_warning"]

    before = continued()
    expect_ok(answer({"warn_rslt_id": jr, "dspo_way": "1", "dspo_way_rea": "购药人已当面核验身份"}))
    assert continued() == before + 1
