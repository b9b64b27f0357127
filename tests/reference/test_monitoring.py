"""Monitored scenes (8014): a scene's transactions and rules apply to an institution only while the
scene is enabled for it, from its `since` date (GEN-1; the county report's scene-by-scene
roll-out). And every answer that names a person is in the access log (GEN-5)."""

from __future__ import annotations

import pytest

from tests.reference.scenes.inpatient_support import make_ward

SETTLEMENT = {"scene": "pharmacy", "setl_time": "2026-03-02T07:59:00", "method": "ssc", "total_amount": 1500.0,
              "items": [{"item_code": "XA01", "item_name": "阿莫西林", "qty": 1, "amount": 1500.0}]}
ADMISSION = {"adm_time": "2026-03-02T08:00:00", "dept_code": "NK", "dept_name": "内科", "bed_no": "9",
             "dept_equipped": True,
             "consent": {"face_recognition": True, "video_monitoring": True, "signed_at": "2026-03-02T08:00:00"}}

def _scene(admin, code: str, scene: str, enabled: bool, since: str) -> None:
    admin.call("8014", {"fixmedins_code": code, "scene": scene, "enabled": enabled, "since": since})

@pytest.mark.req("GEN-1")
def test_scene_transactions_need_the_scene_enabled_from_its_date(world, admin):
    ward = make_ward(world, admin)
    psn = ward.new_person()
    _scene(admin, ward.code, "inpatient", False, "2026-01-01")
    r = ward.inst.send("8201", {"mdtrt_id": "MS1", "psn_no": psn, **ADMISSION})
    assert r.infcode == 3004 and r.envelope["err_field"] == "infno" and "8014" in r.envelope["err_msg"]
    _scene(admin, ward.code, "inpatient", True, "2026-03-03")  # from tomorrow
    assert ward.inst.send("8201", {"mdtrt_id": "MS1", "psn_no": psn, **ADMISSION}).infcode == 3004
    _scene(admin, ward.code, "inpatient", True, "2026-03-02")
    assert ward.inst.call("8201", {"mdtrt_id": "MS1", "psn_no": psn, **ADMISSION})["status"] == "in_hospital"

@pytest.mark.req("GEN-1", "PH-3")
def test_scene_rules_judge_only_where_the_scene_is_monitored(world, admin):
    ward = make_ward(world, admin)
    psn = ward.new_person()
    _scene(admin, ward.code, "pharmacy", False, "2026-01-01")
    off = ward.inst.call("8712", {"setl_id": "SOFF", "psn_no": psn, **SETTLEMENT})
    assert off["result"] == "accepted" and not any(d["rule_id"].startswith("PH-") for d in off["decisions"])
    _scene(admin, ward.code, "pharmacy", True, "2026-03-01")
    on = ward.inst.call("8712", {"setl_id": "SON", "psn_no": psn, **SETTLEMENT})
    assert on["result"] == "refused" and "PH-FACE-OVER-AMOUNT" in {d["rule_id"] for d in on["decisions"]}

@pytest.mark.req("GEN-1", "INP-3", "INP-8")
def test_a_disabled_scene_gets_no_findings_but_rules_of_any_scene_still_apply(world, admin):
    ward = make_ward(world, admin)
    mdtrt, _ = ward.admit()
    ward.inst.call("8104", {"terminal_id": ward.term.sender, "device_kind": "camera", "description": "坏",
                            "occurred_at": "2026-02-20T08:00:00"})  # reported late (GEN-FAULT-LATE-REPORT)
    ward.set_clock("2026-03-04T09:00:00")
    _scene(admin, ward.code, "inpatient", False, "2026-01-01")
    end = ward.day_end("2026-03-03")
    assert end.ok and end.output["findings"] == [], end.envelope
    admin.call("8801", {"start": "2026-03-01", "end": "2026-03-03"})
    rules = {lead["rule_id"] for lead in admin.call("8811", {"fixmedins_code": ward.code})["leads"]}
    assert "GEN-FAULT-LATE-REPORT" in rules and not any(r.startswith("INP-") for r in rules), rules
    assert mdtrt

@pytest.mark.req("GEN-5")
def test_every_answer_naming_a_person_is_in_the_access_log(world, admin):
    """Reads of 8206, 8212, 8605 and 8811 returned person data without an access-log entry."""
    ward = make_ward(world, admin)
    mdtrt, psn = ward.admit()
    ward.set_clock("2026-03-03T09:00:00")
    task = admin.call("8211", {"fixmedins_code": ward.code, "selection": "patients", "mdtrt_ids": [mdtrt],
                               "deadline": "2026-03-03T12:00:00"})
    assert ward.register(mdtrt, day="2026-03-03").ok
    ward.set_clock("2026-03-05T09:00:00")
    ward.day_end("2026-03-04")
    calls = [(ward.inst, "8206", {}), (ward.term, "8212", {"task_id": task["task_id"]}),
             (ward.inst, "8605", {}), (admin, "8811", {"fixmedins_code": ward.code})]
    for client, infno, inp in calls:
        env = client.envelope(infno, inp)
        res = client.send_envelope(env)
        assert res.ok, res.envelope
        assert psn in str(res.output), (infno, res.output)
        entries = admin.call("8902", {"psn_no": psn, "limit": 1000})["entries"]
        assert any(e["msgid"] == env["msgid"] and e["action"] == "read" and e["infno"] == infno for e in entries), \
            f"{infno} named {psn} without an access-log entry"
