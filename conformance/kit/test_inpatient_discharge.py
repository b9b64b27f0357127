"""Discharge registration on the discharge day (出院当日登记, INP-2)."""

import pytest

from conformance.kit.inpatient import Inpatient
from conformance.kit.support import expect_error, expect_ok, send


@pytest.mark.req("INP-2")
def test_discharge_registration_on_the_day_and_missing_one_is_a_finding(world, bureau, faces):
    """After the HIS uploads the discharge (8203), a passed face verification on a terminal
    (8204) records the discharge registration that day; a patient discharged without one is a
    finding of rule INP-DISCHARGE-SAME-DAY at that day's day end (8209)."""
    ip = Inpatient(world, bureau, faces)
    ip.require_manual_clock()
    done, done_psn = ip.admit()
    missed, _ = ip.admit()
    t = ip.next_day()
    for m in (done, missed):
        expect_ok(send(ip.inst, ip.inst.envelope("8203", {"mdtrt_id": m, "dscg_time": t.isoformat()})))
    out = expect_ok(send(ip.term, ip.term.envelope("8204", {"mdtrt_id": done, "psn_no": done_psn,
                                                            "capture": faces.capture(done_psn)})))
    assert out["registered"] is True and out["visit"]["dscg_registered_at"].startswith(t.date().isoformat()), out
    ip.next_day(hour=1)
    found = expect_ok(ip.day_end(t.date().isoformat()))["findings"]
    subjects = {f["subject_id"] for f in found if f["rule_id"] == "INP-DISCHARGE-SAME-DAY"}
    assert f"{ip.code}/{missed}" in subjects and f"{ip.code}/{done}" not in subjects, found


@pytest.mark.req("INP-2", "INP-3")
def test_face_check_of_a_discharged_patient_is_refused_with_3004(world, bureau, faces):
    """Once discharged (8203), the patient's face checks (8205) are refused with 3004 naming
    `input.mdtrt_id`."""
    ip = Inpatient(world, bureau, faces)
    mdtrt, psn = ip.admit()
    expect_ok(send(ip.inst, ip.inst.envelope("8203", {"mdtrt_id": mdtrt,
                                                      "dscg_time": ip.now().isoformat(timespec="seconds")})))
    expect_error(ip.check(mdtrt, psn), 3004, "input.mdtrt_id")


@pytest.mark.req("INP-2")
def test_discharge_registration_before_the_discharge_is_refused_with_3004(world, bureau, faces):
    """A discharge registration (8204) for a visit the HIS has not discharged is refused with
    3004 naming `input.mdtrt_id`."""
    ip = Inpatient(world, bureau, faces)
    mdtrt, psn = ip.admit()
    ans = send(ip.term, ip.term.envelope("8204", {"mdtrt_id": mdtrt, "psn_no": psn, "capture": faces.capture(psn)}))
    expect_error(ans, 3004, "input.mdtrt_id")
