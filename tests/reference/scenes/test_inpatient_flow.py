"""The inpatient scene through the server: admission with consent, the 24 h capture, daily checks
and the day end, discharge, remote bed checks, special registration and its review, indicators,
and findings as leads."""

from __future__ import annotations

import pytest
from inpatient_support import make_ward


@pytest.fixture
def ward(world, admin):
    return make_ward(world, admin)


def _leads(admin, rule_id: str) -> list[dict]:
    return admin.call("8811", {"rule_id": rule_id})["leads"]


@pytest.mark.req("INP-1", "GEN-4")
def test_admission_records_consent_and_a_capture_within_24_hours_is_on_time(ward):
    mdtrt, psn = ward.admit(enrol=False)
    ward.advance(hours=23)
    out = ward.enrol(mdtrt, psn)
    assert out["visit"]["enrolled_late"] is False and out["visit"]["consent_face"] is True
    late_mdtrt, late_psn = ward.admit(enrol=False)
    ward.advance(hours=25)
    assert ward.enrol(late_mdtrt, late_psn)["visit"]["enrolled_late"] is True


@pytest.mark.req("GEN-4")
def test_admission_without_consent_to_face_recognition_is_refused(ward):
    psn = ward.new_person()
    res = ward.inst.send("8201", {"mdtrt_id": "MX1", "psn_no": psn, "adm_time": "2026-03-02T08:00:00",
                                  "dept_code": "NK", "dept_name": "内科", "bed_no": "1", "dept_equipped": True,
                                  "consent": {"face_recognition": False, "video_monitoring": True,
                                              "signed_at": "2026-03-02T08:00:00"}})
    assert res.infcode == 1001 and res.envelope["err_field"] == "input.consent.face_recognition"


@pytest.mark.req("INP-1")
def test_a_capture_with_another_persons_id_card_is_refused(ward):
    mdtrt, psn = ward.admit(enrol=False)
    other = ward.new_person()
    res = ward.term.send("8202", {"mdtrt_id": mdtrt, "certno": ward.certnos[other],
                                  "capture": {"embedding": [0.1] * 128, "embedding_model": "synthetic:v1"}})
    assert res.infcode == 1001 and res.envelope["err_field"] == "input.certno"


@pytest.mark.req("INP-3", "INP-8")
def test_day_end_marks_checked_patients_compliant_and_the_others_findings_with_leads(ward, admin):
    ward.set_clock("2026-03-02T09:00:00")
    a = ward.admit()
    b = ward.admit()
    c = ward.admit()
    ward.set_clock("2026-03-03T09:00:00")
    assert ward.check(*a).output["verification"]["passed"] is True
    failed = ward.check(*b, genuine=False).output
    assert failed["verification"]["passed"] is False and failed["passed_today"] == 0
    assert ward.register(c[0], day="2026-03-03").ok
    early = ward.day_end("2026-03-03")
    assert early.infcode == 3004 and early.envelope["err_field"] == "input.day"
    ward.set_clock("2026-03-04T00:00:01")
    out = ward.day_end("2026-03-03").output
    status = {d["mdtrt_id"]: d["status"] for d in out["patient_days"]}
    assert status == {a[0]: "compliant", b[0]: "finding", c[0]: "excused"}
    daily = [f for f in out["findings"] if f["rule_id"] == "INP-DAILY-FACE-CHECK"]
    assert [f["subject_id"] for f in daily] == [f"{ward.code}/{b[0]}/2026-03-03"]
    lead = _leads(admin, "INP-DAILY-FACE-CHECK")
    assert len(lead) == 1 and lead[0]["status"] == "new"
    assert {"kind": "inpatient_visit", "id": b[0]} in lead[0]["evidence"]
    again = ward.day_end("2026-03-03").output
    assert again["closed"] == [] and again["already_closed"] == [ward.code] and again["findings"] == []
    admin.call("8801", {"start": "2026-03-01", "end": "2026-03-03"})
    assert len(_leads(admin, "INP-DAILY-FACE-CHECK")) == 1  # a wider post-event run never duplicates
    late = ward.register(a[0], day="2026-03-03")
    assert late.infcode == 3004 and late.envelope["err_field"] == "input.subject.patient_day.day"


@pytest.mark.req("INP-1", "INP-8")
def test_missing_capture_becomes_a_finding_at_the_day_end_of_its_deadline(ward, admin):
    ward.set_clock("2026-03-02T10:00:00")
    mdtrt, _ = ward.admit(enrol=False)
    ward.set_clock("2026-03-03T23:00:00")
    assert ward.day_end("2026-03-02").output["findings"] == []
    ward.set_clock("2026-03-04T01:00:00")
    found = [f for f in ward.day_end("2026-03-03").output["findings"] if f["rule_id"] == "INP-ENROL-24H"]
    assert [f["subject_id"] for f in found] == [f"{ward.code}/{mdtrt}"]


@pytest.mark.req("INP-2")
def test_discharge_registration_on_the_day_and_no_face_check_afterwards(ward, admin):
    ward.set_clock("2026-03-02T09:00:00")
    on_time = ward.admit()
    missed = ward.admit()
    early = ward.term.send("8204", {"mdtrt_id": on_time[0], "psn_no": on_time[1],
                                    "capture": {"embedding": [0.1] * 128, "embedding_model": "synthetic:v1"}})
    assert early.infcode == 3004 and early.envelope["err_field"] == "input.mdtrt_id"
    ward.set_clock("2026-03-03T10:00:00")
    for m, _ in (on_time, missed):
        ward.inst.call("8203", {"mdtrt_id": m, "dscg_time": "2026-03-03T10:00:00"})
    from inpatient_support import capture

    reg = ward.term.call("8204", {"mdtrt_id": on_time[0], "psn_no": on_time[1],
                                  "capture": capture(on_time[1], ward.rng)})
    assert reg["registered"] is True and reg["visit"]["dscg_registered_at"].startswith("2026-03-03")
    refused = ward.check(*on_time)
    assert refused.infcode == 3004 and refused.envelope["err_field"] == "input.mdtrt_id"
    ward.set_clock("2026-03-04T00:10:00")
    out = ward.day_end("2026-03-03").output
    assert [f["subject_id"] for f in out["findings"] if f["rule_id"] == "INP-DISCHARGE-SAME-DAY"] == [
        f"{ward.code}/{missed[0]}"]
    assert out["patient_days"] == []  # the discharge day is covered by the discharge registration


@pytest.mark.req("INP-4", "INP-8")
def test_remote_bed_check_task_items_status_completion_and_expiry(ward, admin):
    ward.set_clock("2026-03-02T09:00:00")
    a, b, c = ward.admit(), ward.admit(), ward.admit(ward="W2")
    task = admin.call("8211", {"fixmedins_code": ward.code, "selection": "ward", "ward": "W1",
                               "deadline": "2026-03-02T11:00:00"})
    assert sorted(i["mdtrt_id"] for i in task["items"]) == sorted([a[0], b[0]]) and task["completion"] == 0
    polled = ward.term.call("8212", {})["tasks"]
    assert [t["task_id"] for t in polled] == [task["task_id"]]
    assert ward.term.call("8212", {"since_task_id": task["task_id"]})["tasks"] == []
    out = ward.check(*a, task_id=task["task_id"]).output
    assert out["task_item_status"] == "passed"
    not_listed = ward.check(*c, task_id=task["task_id"])
    assert not_listed.infcode == 3003 and not_listed.envelope["err_field"] == "input.task_id"
    ward.set_clock("2026-03-02T11:00:01")
    expired = ward.check(*b, task_id=task["task_id"])
    assert expired.infcode == 3004 and expired.envelope["err_field"] == "input.task_id"
    view = admin.call("8212", {"task_id": task["task_id"]})["tasks"][0]
    assert view["completion"] == 0.5 and {i["status"] for i in view["items"]} == {"passed", "expired"}
    ward.set_clock("2026-03-03T00:00:01")
    found = [f for f in ward.day_end("2026-03-02").output["findings"] if f["rule_id"] == "INP-REMOTE-CHECK-EXPIRED"]
    assert [f["subject_id"] for f in found] == [f"{task['task_id']}/{b[0]}"]


@pytest.mark.req("INP-4")
def test_a_task_deadline_shorter_than_the_rule_allows_is_refused(ward, admin):
    a = ward.admit()
    now = ward.now()
    from datetime import timedelta

    res = admin.send("8211", {"fixmedins_code": ward.code, "selection": "patients", "mdtrt_ids": [a[0]],
                              "deadline": (now + timedelta(minutes=5)).isoformat()})
    assert res.infcode == 1001 and res.envelope["err_field"] == "input.deadline"


@pytest.mark.req("INP-6")
def test_each_reason_requires_its_attachment_type(ward):
    mdtrt, _ = ward.admit(at="2026-03-01T08:00:00")
    wrong = ward.register(mdtrt, day="2026-03-02", reason="transfer", att_type="leave_note")
    assert wrong.infcode == 1001 and wrong.envelope["err_field"] == "input.attachment_ids"
    right = ward.register(mdtrt, day="2026-03-02", reason="transfer", att_type="transfer_voucher")
    assert right.ok and right.output["status"] == "submitted"
    assert right.output["attachments"][0]["sha256"] and right.output["events"][0]["to_status"] == "submitted"


@pytest.mark.req("INP-6")
def test_attachment_limits_and_content_type_are_enforced(ward):
    import base64

    png_as_pdf = ward.inst.send("8601", {"att_type": "evidence", "filename": "x.pdf", "media_type": "application/pdf",
                                         "content_b64": base64.b64encode(b"\x89PNG\r\n\x1a\nxx").decode()})
    assert png_as_pdf.infcode == 1001 and png_as_pdf.envelope["err_field"] == "input.content_b64"
    exe = ward.inst.send("8601", {"att_type": "evidence", "filename": "x.exe", "media_type": "application/x-msdownload",
                                  "content_b64": "TVo="})
    assert exe.infcode == 1001 and exe.envelope["err_field"] == "input.media_type"
    big = base64.b64encode(b"%PDF-" + b"0" * (2 * 1024 * 1024)).decode()
    too_big = ward.inst.send("8601", {"att_type": "evidence", "filename": "big.pdf", "media_type": "application/pdf",
                                      "content_b64": big})
    assert too_big.infcode == 1001 and too_big.envelope["err_field"] == "input.content_b64"


@pytest.mark.req("INP-5", "INP-8")
def test_review_workflow_rejection_supplement_and_final_rejection_is_a_violation(ward, admin):
    ward.set_clock("2026-03-02T09:00:00")
    mdtrt, _ = ward.admit(at="2026-03-01T08:00:00")
    reg = ward.register(mdtrt, day="2026-03-02").output
    by_inst = ward.inst.send("8604", {"reg_id": reg["reg_id"], "approve": True, "note": "ok"})
    assert by_inst.infcode == 2005
    rejected = admin.call("8604", {"reg_id": reg["reg_id"], "approve": False, "note": "记录不清晰"})
    assert rejected["status"] == "rejected" and rejected["supplement_due"] == "2026-03-07"
    sup = ward.inst.call("8603", {"reg_id": reg["reg_id"], "note": "补充检查单原件",
                                  "attachment_ids": [ward.attach("treatment_record", b"%PDF-2")]})
    assert sup["status"] == "supplemented"
    again = ward.inst.send("8603", {"reg_id": reg["reg_id"], "note": "再次补充材料",
                                    "attachment_ids": [ward.attach("evidence")]})
    assert again.infcode == 3004 and again.envelope["err_field"] == "input.reg_id"
    final = admin.call("8604", {"reg_id": reg["reg_id"], "approve": False, "note": "仍不符合"})
    assert final["status"] == "rejected_final"
    assert [(e["from_status"], e["to_status"], e["role"]) for e in final["events"]] == [
        (None, "submitted", "institution"), ("submitted", "rejected", "city_bureau"),
        ("rejected", "supplemented", "institution"), ("supplemented", "rejected_final", "city_bureau")]
    after = admin.send("8604", {"reg_id": reg["reg_id"], "approve": True, "note": "改判"})
    assert after.infcode == 3004
    ward.set_clock("2026-03-03T00:00:01")
    found = [f for f in ward.day_end("2026-03-02").output["findings"] if f["rule_id"] == "INP-SR-VIOLATION"]
    assert [f["subject_id"] for f in found] == [str(reg["reg_id"])]


@pytest.mark.req("INP-5")
def test_a_review_left_open_past_its_deadline_is_a_finding(ward, admin):
    ward.set_clock("2026-03-02T09:00:00")
    mdtrt, _ = ward.admit(at="2026-03-01T08:00:00")
    reg = ward.register(mdtrt, day="2026-03-02").output
    assert reg["review_due"] == "2026-03-07"
    ward.set_clock("2026-03-08T01:00:00")
    for day in ("2026-03-02", "2026-03-03", "2026-03-04", "2026-03-05", "2026-03-06"):
        assert not [f for f in ward.day_end(day).output["findings"] if f["rule_id"] == "INP-SR-REVIEW-OVERDUE"]
    found = [f for f in ward.day_end("2026-03-07").output["findings"] if f["rule_id"] == "INP-SR-REVIEW-OVERDUE"]
    assert [f["subject_id"] for f in found] == [f"{reg['reg_id']}/first"]


@pytest.mark.req("INP-7", "SUP-2")
def test_indicators_and_ranking_follow_the_closed_days(ward, admin):
    ward.set_clock("2026-03-02T09:00:00")
    a, _b = ward.admit(), ward.admit()
    ward.set_clock("2026-03-03T09:00:00")
    ward.check(*a)
    ward.set_clock("2026-03-04T00:00:01")
    ward.day_end("2026-03-03")
    out = admin.call("8231", {"start": "2026-03-01", "end": "2026-03-31"})
    row = next(r for r in out["ranking"] if r["fixmedins_code"] == ward.code)
    assert (row["daily_due"], row["daily_compliant"], row["daily_check_rate"]) == (2, 1, 0.5)
    assert row["remote_check_rate"] is None and row["rank"] == 1
    assert row["score"] == pytest.approx(0.4 * 0.5)
    refused = ward.inst.send("8231", {"start": "2026-03-01", "end": "2026-03-31"})
    assert refused.infcode == 2005


@pytest.mark.req("INP-3", "INP-4", "INP-8")
def test_the_mock_runs_a_full_inpatient_day(http):
    from device_mocks.inpatient_day import run_day
    from tests.conftest import ADMIN_SECRET, BASE

    lines: list[str] = []
    out = run_day(BASE, "city-admin", ADMIN_SECRET, patients=4, log=lines.append, http=http)
    status = sorted(pd["status"] for pd in out["day_end"]["patient_days"])
    assert status == ["compliant", "excused", "finding"]  # the discharged patient is registered instead
    assert [f["rule_id"] for f in out["day_end"]["findings"]] == ["INP-DAILY-FACE-CHECK"]
    assert out["indicators"][0]["daily_check_rate"] == pytest.approx(1 / 3) and any("day end" in line for line in lines)
