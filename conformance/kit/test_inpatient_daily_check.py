"""The daily face check (每日人脸识别, INP-3) judged at the day end, findings as leads (INP-8)."""

import pytest

from conformance.kit.inpatient import Inpatient
from conformance.kit.support import expect_error, expect_ok, send


@pytest.mark.req("INP-3", "INP-8")
def test_day_end_lists_patients_with_neither_a_pass_nor_a_special_registration(world, bureau, faces):
    """Three patients of an equipped department, on a day after admission: one passes a face
    check (8205), one fails it, one gets a special registration (8602). The day end (8209) makes
    them compliant, finding and excused; the finding is a lead of rule INP-DAILY-FACE-CHECK that
    the bureau can query (8811) with the visit as evidence."""
    ip = Inpatient(world, bureau, faces)
    ip.require_manual_clock()
    a, b, c = ip.admit(), ip.admit(), ip.admit()
    day = ip.next_day().date().isoformat()
    assert expect_ok(ip.check(*a))["verification"]["passed"] is True
    assert expect_ok(ip.check(*b, genuine=False))["verification"]["passed"] is False
    expect_ok(ip.register(c[0], day=day))
    ip.next_day(hour=0)
    out = expect_ok(ip.day_end(day))
    status = {d["mdtrt_id"]: d["status"] for d in out["patient_days"] if d["mdtrt_id"] in {a[0], b[0], c[0]}}
    assert status == {a[0]: "compliant", b[0]: "finding", c[0]: "excused"}, out["patient_days"]
    (finding,) = [f for f in out["findings"] if f["rule_id"] == "INP-DAILY-FACE-CHECK"
                  and f["subject_id"].endswith(f"/{b[0]}/{day}")]
    leads = expect_ok(send(bureau, bureau.envelope("8811", {"lead_id": finding["lead_id"]})))["leads"]
    assert leads and leads[0]["status"] == "new" and leads[0]["rule_id"] == "INP-DAILY-FACE-CHECK", leads
    assert {"kind": "inpatient_visit", "id": b[0]} in leads[0]["evidence"], leads[0]


@pytest.mark.req("INP-3")
def test_day_end_of_a_day_that_has_not_ended_is_refused_with_3004(world, bureau, faces):
    """The day end (8209) of the current business day is refused with 3004 naming `input.day`."""
    ip = Inpatient(world, bureau, faces)
    expect_error(ip.day_end(ip.now().date().isoformat()), 3004, "input.day")


@pytest.mark.req("INP-8")
def test_an_institution_cannot_query_leads_2005(world, bureau, faces):
    """Leads (8811) are for bureau users in scope; an institution is refused with 2005."""
    ip = Inpatient(world, bureau, faces)
    expect_error(send(ip.inst, ip.inst.envelope("8811", {"rule_id": "INP-DAILY-FACE-CHECK"})), 2005)
