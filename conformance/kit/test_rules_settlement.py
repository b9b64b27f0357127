"""Rules at settlement time (事前提醒 / 事中审核): the pharmacy face threshold of the shipped rule
library (PH-FACE-OVER-AMOUNT, 1,000 yuan by default), reminders that never block, refusals,
settlement ids reviewed once, and the catalogue that tells institutions the rules in force."""

import itertools

import pytest

from conformance.kit.support import expect_error, expect_ok, parse_time, send

_n = itertools.count(1)


def _settlement(world, psn_no: str, amount: float, method: str = "ssc", verification_id: int | None = None) -> dict:
    # The server's business time (other kit tests move a manual clock), not the kit's wall clock:
    # a face settlement must not predate the verification it relies on.
    inst = world.inst_a.client
    at = parse_time(expect_ok(send(inst, inst.envelope("8000", {})))["business_time"])
    s = {"setl_id": f"CK{world.tag}S{next(_n):03d}", "psn_no": psn_no, "scene": "pharmacy",
         "setl_time": at.isoformat(timespec="seconds"), "method": method, "total_amount": amount,
         "items": [{"item_code": "XA01AA01", "item_name": "阿莫西林胶囊", "qty": 1, "amount": amount}]}
    if verification_id is not None:
        s["verification_id"] = verification_id
    return s


def _verified(world, faces, psn_no: str, *, genuine: bool = True) -> int:
    """Enrol the person on A's terminal and verify a capture (of them, or of someone else)."""
    term = world.terminal.client
    expect_ok(send(term, term.envelope("8121", {"psn_no": psn_no, "capture": faces.capture(psn_no)})))
    key = psn_no if genuine else f"someone-else-{psn_no}"
    out = expect_ok(send(term, term.envelope("8122", {"psn_no": psn_no, "scene": "pharmacy",
                                                       "capture": faces.capture(key)})))
    assert out.get("passed") is genuine, out
    return int(out["verification_id"])


@pytest.mark.req("RULE-3", "PH-3")
def test_precheck_reminds_and_never_blocks(world):
    """A pre-event check (8711) of a 1,500-yuan card purchase without a face check returns a
    `remind` for PH-FACE-OVER-AMOUNT; it stores nothing, so the same settlement id can still be
    reviewed (8712) afterwards."""
    person = world.new_person()
    inst = world.inst_a.client
    s = _settlement(world, person.psn_no, 1500)
    out = expect_ok(send(inst, inst.envelope("8711", s)))
    reminders = {r.get("rule_id"): r.get("outcome") for r in out.get("reminders", [])}
    assert reminders.get("PH-FACE-OVER-AMOUNT") == "remind", out
    expect_ok(send(inst, inst.envelope("8712", s)))


@pytest.mark.req("RULE-8", "PH-3")
def test_review_refuses_a_large_card_purchase_without_face_and_accepts_it_after_a_face_check(world, faces):
    """In-event review (8712) refuses a 1,500-yuan social-security-card purchase with no passed
    face verification and accepts a small one; after a passed 1:1 verification (8122) at the
    pharmacy, the same amount settled by face naming that verification is accepted."""
    person = world.new_person()
    inst = world.inst_a.client
    refused = expect_ok(send(inst, inst.envelope("8712", _settlement(world, person.psn_no, 1500))))
    assert refused.get("result") == "refused", refused
    assert "PH-FACE-OVER-AMOUNT" in {d.get("rule_id") for d in refused.get("decisions", [])}, refused
    small = expect_ok(send(inst, inst.envelope("8712", _settlement(world, person.psn_no, 200))))
    assert small.get("result") == "accepted", small
    vid = _verified(world, faces, person.psn_no)
    face = expect_ok(send(inst, inst.envelope("8712", _settlement(world, person.psn_no, 1500, "face", vid))))
    assert face.get("result") == "accepted", face


@pytest.mark.req("PH-3", "HD-11", "RULE-8")
def test_a_face_settlement_must_name_a_verification(world):
    """A settlement with method `face` that names no verification is refused with 1001 naming
    `input.verification_id` — claiming "face" is not a face check."""
    person = world.new_person()
    inst = world.inst_a.client
    expect_error(send(inst, inst.envelope("8712", _settlement(world, person.psn_no, 1500, "face"))), 1001,
                 "input.verification_id")


@pytest.mark.req("PH-3", "HD-11", "RULE-8")
def test_a_face_settlement_relying_on_a_failed_verification_is_refused(world, faces):
    """A face settlement naming a verification that did not pass (someone else's face) is refused
    by rule GEN-FACE-SETTLEMENT-VERIFIED; one naming a verification id that does not exist at the
    institution is refused with 3003 naming `input.verification_id`."""
    person = world.new_person()
    inst = world.inst_a.client
    vid = _verified(world, faces, person.psn_no, genuine=False)
    out = expect_ok(send(inst, inst.envelope("8712", _settlement(world, person.psn_no, 1500, "face", vid))))
    assert out.get("result") == "refused", out
    assert "GEN-FACE-SETTLEMENT-VERIFIED" in {d.get("rule_id") for d in out.get("decisions", [])}, out
    missing = _settlement(world, person.psn_no, 1500, "face", 2**40)
    expect_error(send(inst, inst.envelope("8712", missing)), 3003, "input.verification_id")


@pytest.mark.req("RULE-8")
def test_a_settlement_id_is_reviewed_once(world):
    """A second review (8712) of a settlement id with a new msgid is refused with 3002 naming
    input.setl_id (a retry with the same msgid would get the first answer instead)."""
    person = world.new_person()
    inst = world.inst_a.client
    s = _settlement(world, person.psn_no, 100)
    expect_ok(send(inst, inst.envelope("8712", s)))
    expect_error(send(inst, inst.envelope("8712", s)), 3002, "input.setl_id")


@pytest.mark.req("RULE-8")
def test_total_must_equal_the_items(world):
    """A settlement whose total differs from the sum of its items is refused with 1001."""
    person = world.new_person()
    inst = world.inst_a.client
    s = {**_settlement(world, person.psn_no, 100), "total_amount": 150}
    expect_error(send(inst, inst.envelope("8712", s)), 1001)


@pytest.mark.req("RULE-5", "RULE-2")
def test_catalogue_shows_the_rules_in_force_with_parameters(world):
    """The rule catalogue (8701) tells an institution the release in force and each rule's
    parameters resolved for it, including PH-FACE-OVER-AMOUNT's amount threshold in yuan."""
    inst = world.inst_a.client
    out = expect_ok(send(inst, inst.envelope("8701", {})))
    assert out.get("version"), out
    rules = {r.get("id"): r for r in out.get("rules", [])}
    assert "PH-FACE-OVER-AMOUNT" in rules, sorted(rules)
    assert isinstance(rules["PH-FACE-OVER-AMOUNT"]["params"].get("amount_threshold_yuan"), (int, float))


@pytest.mark.req("RULE-7", "GEN-1")
def test_institutions_cannot_read_or_move_leads(world):
    """Leads are for bureau users: an institution's 8811 or 8812 is refused with 2005."""
    inst = world.inst_a.client
    expect_error(send(inst, inst.envelope("8811", {})), 2005)
    expect_error(send(inst, inst.envelope("8812", {"lead_id": 1, "to_status": "screened"})), 2005)
