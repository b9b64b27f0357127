"""Rules through the server: pre-event reminders never block, in-event refusal and suspicion with
appeal, post-event analysis and composite rules, releases with effective dates, decision replay,
draft simulation without side effects, the lead workflow, audit plans and statistics."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from reference.face.synthetic import SyntheticFaces

FACES = SyntheticFaces()
_ids = itertools.count(1)


def _inst(world):
    return next(iter(world.institutions.values()))


def _settlement(psn_no: str, amount: float, *, method="ssc", scene="pharmacy", at="2026-03-02T08:00:00",
                item=("XA01AA01", "阿莫西林胶囊"), setl_id=None, verification_id: int | None = None) -> dict:
    s = {"setl_id": setl_id or f"S{next(_ids):05d}", "psn_no": psn_no, "scene": scene, "setl_time": at,
         "method": method, "total_amount": amount,
         "items": [{"item_code": item[0], "item_name": item[1], "qty": 1, "amount": amount}]}
    if verification_id is not None:
        s["verification_id"] = verification_id
    return s


def _clock(admin, at: str) -> None:
    admin.call("8901", {"set_to": at})


def _hits(out: dict) -> set[str]:
    return {d["rule_id"] for d in out["decisions"]}


@pytest.mark.req("RULE-3", "PH-3")
def test_pre_event_reminders_never_block_and_store_nothing(world, app):
    inst = _inst(world).client
    p = world.persons[0]
    out = inst.call("8711", _settlement(p, 1500))
    assert [r["rule_id"] for r in out["reminders"]] == ["PH-FACE-OVER-AMOUNT"]
    assert out["reminders"][0]["outcome"] == "remind"
    with app.state.scenemon.store.read() as db:
        assert db.scalar("SELECT count(*) FROM settlements") == 0
        assert db.scalar("SELECT count(*) FROM leads") == 0
    assert inst.call("8711", _settlement(p, 999))["reminders"] == []


@pytest.mark.req("RULE-8", "PH-3")
def test_in_event_refuses_a_large_purchase_without_face_and_accepts_one_with_face(world):
    inst, term = _inst(world).client, world.terminal()
    p = world.persons[0]
    refused = inst.call("8712", _settlement(p, 1500))
    assert refused["result"] == "refused" and _hits(refused) == {"PH-FACE-OVER-AMOUNT"}
    rng = np.random.default_rng(0)
    cap = {"embedding_model": FACES.model_id, "liveness": {"passed": True}, "quality": 0.9}
    term.call("8121", {"psn_no": p, "capture": {**cap, "embedding": FACES.capture(p, rng).tolist()}})
    v = term.call("8122", {"psn_no": p, "scene": "pharmacy",
                           "capture": {**cap, "embedding": FACES.capture(p, rng).tolist()}})
    assert v["passed"]
    accepted = inst.call("8712", _settlement(p, 1500))
    assert accepted["result"] == "accepted" and accepted["decisions"] == []
    face = inst.call("8712", _settlement(p, 1500, method="face", verification_id=v["verification_id"]))
    assert face["result"] == "accepted" and face["decisions"] == []
    # "face" without the verification it relies on is not a face settlement (PH-3, HD-11)
    r = inst.send("8712", _settlement(p, 1500, method="face"))
    assert r.infcode == 1001 and r.envelope["err_field"] == "input.verification_id"


def test_a_settlement_id_is_reviewed_once(world):
    inst = _inst(world).client
    s = _settlement(world.persons[0], 100)
    inst.call("8712", s)
    r = inst.send("8712", s)
    assert r.infcode == 3002 and r.envelope["err_field"] == "input.setl_id"


@pytest.mark.parametrize(("change", "field"), [
    ({"total_amount": 99}, "input"),
    ({"setl_time": "2026-03-09T08:00:00"}, "input.setl_time"),
    ({"method": "cash"}, "input.method"),
    ({"psn_no": "NOBODY"}, "input.psn_no"),
])
def test_bad_settlements_get_a_coded_error_naming_the_field(world, change, field):
    r = _inst(world).client.send("8712", {**_settlement(world.persons[0], 100), **change})
    assert r.infcode != 0 and r.envelope["err_field"].startswith(field), r.envelope


@pytest.mark.req("RULE-8", "BD-3")
def test_suspicion_suspends_and_an_appeal_decides(world, admin):
    inst = _inst(world).client
    p = world.persons[0]
    world.bureau.call("8003", {"psn_no": p, "add": ["suspected_deceased"]})
    s = _settlement(p, 80, scene="inpatient", item=("F0001", "护理费"))
    out = inst.call("8712", s)
    assert out["result"] == "suspended" and _hits(out) == {"BD-SUSPECTED-DEATH-CARE"}
    lead_id = out["decisions"][0]["lead_id"]
    assert lead_id
    appeal = inst.call("8713", {"setl_id": s["setl_id"], "reason": "患者在院，死亡标识错误",
                                "evidence": ["HIS:nursing-record-1"]})
    assert appeal["status"] == "submitted"
    r = inst.send("8714", {"appeal_id": appeal["appeal_id"], "overturn": True, "note": "x"})
    assert r.infcode == 2005  # an institution may not decide its own appeal
    decided = world.bureau.call("8714", {"appeal_id": appeal["appeal_id"], "overturn": True,
                                         "note": "户籍核实仍健在"})
    assert decided["status"] == "overturned" and decided["settlement_status"] == "accepted"
    lead = world.bureau.call("8811", {"lead_id": lead_id})["leads"][0]
    assert lead["status"] == "cleared"
    stats = {s["rule_id"]: s for s in world.bureau.call("8721", {"start": "2026-03-01",
                                                                 "end": "2026-03-31"})["rules"]}
    assert stats["BD-SUSPECTED-DEATH-CARE"]["suspicions"] == 1


@pytest.mark.req("RULE-4", "RULE-1", "PH-5")
def test_post_event_composite_rule_raises_one_lead_per_group_and_reruns_do_not_duplicate(world, admin):
    inst = _inst(world).client
    for k in range(3):
        inst.call("8712", _settlement(world.persons[k % 2], 1200 + k))
    _clock(admin, "2026-03-05T02:00:00")
    run = world.bureau.call("8801", {"start": "2026-03-01", "end": "2026-03-04"})
    assert run["by_rule"] == {"PH-REPEATED-NO-FACE": 1} and run["leads_created"] == 1
    again = world.bureau.call("8801", {"start": "2026-03-01", "end": "2026-03-04"})
    assert again["leads_created"] == 0
    leads = world.bureau.call("8811", {"rule_id": "PH-REPEATED-NO-FACE"})["leads"]
    assert len(leads) == 1 and leads[0]["subject_id"] == _inst(world).code
    assert sum(e["kind"] == "decision" for e in leads[0]["evidence"]) == 4  # its own + 3 component hits
    assert leads[0]["amount"] == 1200 + 1201 + 1202


def test_two_hits_do_not_make_the_at_least_three_composite(world, admin):
    inst = _inst(world).client
    for k in range(2):
        inst.call("8712", _settlement(world.persons[0], 1200 + k))
    _clock(admin, "2026-03-05T02:00:00")
    run = world.bureau.call("8801", {"start": "2026-03-01", "end": "2026-03-04"})
    assert run["hits"] == 0 and run["by_rule"] == {}


def test_post_event_periods_must_have_begun(world):
    r = world.bureau.send("8801", {"start": "2026-03-10", "end": "2026-03-12"})
    assert r.infcode == 1001 and r.envelope["err_field"] == "input.end"
    r = world.bureau.send("8801", {"start": "2026-03-02", "end": "2026-03-01"})
    assert r.infcode == 1001


@pytest.mark.req("RULE-5")
def test_a_decision_replays_to_the_recorded_result_after_the_rules_change(world, admin):
    inst = _inst(world).client
    out = inst.call("8712", _settlement(world.persons[0], 1500))
    decision_id = out["decisions"][0]["decision_id"]
    world.bureau.call("8703", {"base_version": "2026.1", "version": "2026.2", "effective_from": "2026-03-03",
                               "notes": "raise the threshold",
                               "changes": [{"rule_id": "PH-FACE-OVER-AMOUNT",
                                            "params": {"amount_threshold_yuan": 2000}}]})
    world.bureau.call("8704", {"version": "2026.2"})
    _clock(admin, "2026-03-03T09:00:00")
    later = inst.call("8712", _settlement(world.persons[0], 1500, at="2026-03-03T09:00:00"))
    assert later["result"] == "accepted" and later["release_version"] == "2026.2"
    explained = world.bureau.call("8722", {"decision_id": decision_id})
    assert explained["matches"] is True
    assert explained["release_version"] == "2026.1"
    assert explained["params"]["amount_threshold_yuan"] == 1000


@pytest.mark.req("RULE-5")
def test_publishing_needs_a_future_effective_date_and_published_releases_are_frozen(world):
    b = world.bureau
    b.call("8703", {"base_version": "2026.1", "version": "2026.0-old", "effective_from": "2026-02-01",
                    "changes": [{"rule_id": "HD-MONTHLY-CAP", "params": {"cap_yuan": 6000}}]})
    r = b.send("8704", {"version": "2026.0-old"})
    assert r.infcode == 1001 and r.envelope["err_field"] == "input.version"
    b.call("8703", {"base_version": "2026.1", "version": "2026.3", "effective_from": "2026-04-01",
                    "changes": [{"rule_id": "HD-MONTHLY-CAP", "params": {"cap_yuan": 6000}}]})
    b.call("8704", {"version": "2026.3"})
    r = b.send("8703", {"base_version": "2026.1", "version": "2026.3", "effective_from": "2026-04-02",
                        "changes": [{"rule_id": "HD-MONTHLY-CAP", "params": {"cap_yuan": 5000}}]})
    assert r.infcode == 3002
    r = b.send("8703", {"base_version": "2026.1", "version": "2026.4", "effective_from": "2026-04-01",
                        "changes": [{"rule_id": "HD-MONTHLY-CAP", "params": {"cap_yuan": -1}}]})
    assert r.infcode == 1001 and r.envelope["err_field"] == "input.changes" and "minimum" in r.envelope["err_msg"]
    cat = b.call("8701", {})
    assert cat["version"] == "2026.1"  # 2026.3 is not in force until April


def _deceased_care_lead(world, psn_no: str, amount: float) -> int:
    world.bureau.call("8003", {"psn_no": psn_no, "add": ["suspected_deceased"]})
    out = _inst(world).client.call("8712", _settlement(psn_no, amount, scene="inpatient", item=("F1", "护理费")))
    assert out["result"] == "suspended"
    return out["decisions"][0]["lead_id"]


def _snapshot(app) -> dict:
    with app.state.scenemon.store.read() as db:
        return {t: db.all(f"SELECT * FROM {t}") for t in ("decisions", "leads", "lead_events", "settlements")} | {
            "published": db.all("SELECT version, status FROM rule_releases WHERE status='published'")}


@pytest.mark.req("RULE-5")
def test_a_draft_evaluated_on_history_changes_no_live_state(world, admin, app):
    inst = _inst(world).client
    for amount in (600, 800, 1500):
        inst.call("8712", _settlement(world.persons[0], amount))
    _clock(admin, "2026-03-10T09:00:00")
    world.bureau.call("8703", {"base_version": "2026.1", "version": "draft-500", "effective_from": "2026-04-01",
                               "changes": [{"rule_id": "PH-FACE-OVER-AMOUNT",
                                            "params": {"amount_threshold_yuan": 500}}]})
    before = _snapshot(app)
    sim = world.bureau.call("8705", {"version": "draft-500", "start": "2026-03-01", "end": "2026-03-09"})
    assert _snapshot(app) == before
    rows = {r["rule_id"]: r for r in sim["rows"]}
    row = rows["PH-FACE-OVER-AMOUNT"]
    assert (row["live_hits"], row["draft_hits"]) == (1, 3)
    assert len(row["newly_flagged"]) == 2 and row["no_longer_flagged"] == []
    # three component hits in the draft make the composite fire too
    assert rows["PH-REPEATED-NO-FACE"]["draft_hits"] == 1 and rows["PH-REPEATED-NO-FACE"]["live_hits"] == 0


@pytest.mark.req("RULE-7")
def test_leads_move_only_along_allowed_edges_by_allowed_roles(world, admin):
    inst = _inst(world).client
    lead_id = _deceased_care_lead(world, world.persons[0], 1500)
    r = world.bureau.send("8812", {"lead_id": lead_id, "to_status": "confirmed"})
    assert r.infcode == 3004 and "allowed" in r.envelope["err_msg"]
    r = inst.send("8812", {"lead_id": lead_id, "to_status": "screened"})
    assert r.infcode == 2005  # institutions never move leads
    auditor = admin.call("8015", {"id": "audit-1", "role": "audit_centre", "display_name": "稽核中心"})
    from device_mocks.client import Client

    audit = Client(admin.base_url, sender="audit-1", secret=auditor["secret"], http=admin.http)
    r = audit.send("8812", {"lead_id": lead_id, "to_status": "screened"})
    assert r.infcode == 2005  # screening belongs to the bureau / agency
    world.bureau.call("8812", {"lead_id": lead_id, "to_status": "screened", "note": "复核属实"})
    audit.call("8812", {"lead_id": lead_id, "to_status": "audit_planned"})
    r = audit.send("8812", {"lead_id": lead_id, "to_status": "cleared", "amount_recovered": 10})
    assert r.infcode == 1001 and r.envelope["err_field"] == "input.amount_recovered"
    done = audit.call("8812", {"lead_id": lead_id, "to_status": "confirmed", "amount_recovered": 1500,
                               "note": "追回基金"})
    assert done["status"] == "confirmed" and done["amount_recovered"] == 1500
    assert [(e["from_status"], e["to_status"], e["role"]) for e in done["events"]] == [
        (None, "new", "system"), ("new", "screened", "city_bureau"),
        ("screened", "audit_planned", "audit_centre"), ("audit_planned", "confirmed", "audit_centre")]
    r = world.bureau.send("8812", {"lead_id": lead_id, "to_status": "cleared"})
    assert r.infcode == 3004  # final


@pytest.mark.req("PH-6")
def test_the_monthly_audit_plan_takes_the_riskiest_screened_leads_up_to_capacity(world, admin):
    for amount in (110, 5000, 2500, 130):
        lead_id = _deceased_care_lead(world, world.persons[0], amount)
        world.bureau.call("8812", {"lead_id": lead_id, "to_status": "screened"})
    _deceased_care_lead(world, world.persons[0], 9000)  # not screened: never planned
    plan = world.bureau.call("8813", {"month": "2026-04", "capacity": 2})
    planned = sorted(x["amount"] for x in plan["planned"])
    assert planned == [2500, 5000]
    again = world.bureau.call("8813", {"month": "2026-04", "capacity": 2})
    assert again["planned"] == []  # the month is full
