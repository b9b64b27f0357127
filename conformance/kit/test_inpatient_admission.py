"""Admission with consent, and identity + face capture within 24 hours (入院24小时内采集, INP-1)."""

from datetime import timedelta

import pytest

from conformance.kit.inpatient import Inpatient
from conformance.kit.support import expect_error, expect_ok, send


@pytest.mark.req("INP-1", "GEN-4")
def test_capture_within_24_hours_is_on_time_and_after_is_flagged_late(world, bureau, faces):
    """An admission (8201) records the consent to face recognition and video monitoring; a
    capture (8202) 23 business hours later is on time, one 25 hours after admission is accepted
    but flagged `enrolled_late`."""
    ip = Inpatient(world, bureau, faces)
    ip.require_manual_clock()
    t0 = ip.now()
    on_time, on_psn = ip.admit(at=t0, enrol=False)
    late, late_psn = ip.admit(at=t0, enrol=False)
    ip.set_clock(t0 + timedelta(hours=23))
    out = expect_ok(ip.enrol(on_time, on_psn))
    assert out["visit"]["enrolled_late"] is False and out["visit"]["consent_face"] is True, out
    ip.set_clock(t0 + timedelta(hours=25))
    assert expect_ok(ip.enrol(late, late_psn))["visit"]["enrolled_late"] is True


@pytest.mark.req("INP-1")
def test_capture_with_another_persons_id_card_is_refused_with_1001(world, bureau, faces):
    """The identity read on the terminal must be the visit's patient: a capture (8202) with
    another person's ID number is refused with 1001 naming `input.certno`."""
    ip = Inpatient(world, bureau, faces)
    mdtrt, psn = ip.admit(enrol=False)
    other = world.new_person()
    ans = send(ip.term, ip.term.envelope("8202", {"mdtrt_id": mdtrt, "certno": other.certno,
                                                  "capture": faces.capture(psn)}))
    expect_error(ans, 1001, "input.certno")


@pytest.mark.req("GEN-4", "INP-1")
def test_admission_without_consent_is_refused_with_1001(world, bureau, faces):
    """An admission (8201) whose consent to face recognition is false is refused with 1001
    naming `input.consent.face_recognition`."""
    ip = Inpatient(world, bureau, faces)
    person = world.new_person()
    when = ip.now().isoformat(timespec="seconds")
    ans = send(ip.inst, ip.inst.envelope("8201", {
        "mdtrt_id": f"CK{world.tag}NOCONSENT", "psn_no": person.psn_no, "adm_time": when, "dept_code": "CKNK",
        "dept_name": "内科", "bed_no": "01", "dept_equipped": True,
        "consent": {"face_recognition": False, "video_monitoring": True, "signed_at": when}}))
    expect_error(ans, 1001, "input.consent.face_recognition")
