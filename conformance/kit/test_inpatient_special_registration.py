"""Special registration (特殊登记): required material per reason (INP-6), review (INP-5)."""

from datetime import timedelta

import pytest

from conformance.kit.inpatient import Inpatient
from conformance.kit.support import expect_error, expect_ok, send


def _patient_for_today(ip: Inpatient) -> tuple[str, str]:
    """A patient admitted yesterday, so today is a daily-check day."""
    return ip.admit(at=ip.now().replace(hour=0, minute=0, second=0) - timedelta(hours=1))


@pytest.mark.req("INP-6")
def test_each_reason_needs_its_attachment_type(world, bureau, faces):
    """A special registration (8602) for reason `transfer` with a leave note is refused with 1001
    naming `input.attachment_ids`; with a transfer voucher it is accepted as `submitted`, and the
    attachment's SHA-256 is returned."""
    ip = Inpatient(world, bureau, faces)
    mdtrt, _ = _patient_for_today(ip)
    day = ip.now().date().isoformat()
    expect_error(ip.register(mdtrt, day=day, reason="transfer", att_type="leave_note"), 1001, "input.attachment_ids")
    out = expect_ok(ip.register(mdtrt, day=day, reason="transfer", att_type="transfer_voucher"))
    assert out["status"] == "submitted" and len(out["attachments"][0]["sha256"]) == 64, out


@pytest.mark.req("INP-6")
def test_attachment_content_must_match_its_media_type_1001(world, bureau, faces):
    """An attachment (8601) declared as PDF whose content is not a PDF is refused with 1001 naming
    `input.content_b64`."""
    ip = Inpatient(world, bureau, faces)
    ans = send(ip.inst, ip.inst.envelope("8601", {"att_type": "evidence", "filename": "x.pdf",
                                                  "media_type": "application/pdf", "content_b64": "aGVsbG8="}))
    expect_error(ans, 1001, "input.content_b64")


@pytest.mark.req("INP-5")
def test_review_reject_supplement_and_second_rejection_is_final(world, bureau, faces):
    """The bureau rejects (8604), the institution supplements (8603), the bureau rejects again:
    the registration is `rejected_final` (a violation) and its audit trail lists every change
    with the acting role; a further review is refused with 3004."""
    ip = Inpatient(world, bureau, faces)
    mdtrt, _ = _patient_for_today(ip)
    reg = expect_ok(ip.register(mdtrt, day=ip.now().date().isoformat()))
    r1 = expect_ok(send(bureau, bureau.envelope("8604", {"reg_id": reg["reg_id"], "approve": False,
                                                         "note": "材料不清晰"})))
    assert r1["status"] == "rejected" and r1["supplement_due"], r1
    expect_ok(send(ip.inst, ip.inst.envelope("8603", {"reg_id": reg["reg_id"], "note": "补充检查记录原件",
                                                      "attachment_ids": [ip.attach("treatment_record")]})))
    final = expect_ok(send(bureau, bureau.envelope("8604", {"reg_id": reg["reg_id"], "approve": False,
                                                            "note": "仍不符合"})))
    assert final["status"] == "rejected_final", final
    assert [e["to_status"] for e in final["events"]] == ["submitted", "rejected", "supplemented", "rejected_final"]
    assert [e["role"] for e in final["events"]][1::2] == ["city_bureau", "city_bureau"], final["events"]
    expect_error(send(bureau, bureau.envelope("8604", {"reg_id": reg["reg_id"], "approve": True, "note": "x"})),
                 3004, "input.reg_id")


@pytest.mark.req("INP-5")
def test_an_institution_cannot_review_2005(world, bureau, faces):
    """A review (8604) sent by an institution is refused with 2005."""
    ip = Inpatient(world, bureau, faces)
    mdtrt, _ = _patient_for_today(ip)
    reg = expect_ok(ip.register(mdtrt, day=ip.now().date().isoformat()))
    expect_error(send(ip.inst, ip.inst.envelope("8604", {"reg_id": reg["reg_id"], "approve": True,
                                                         "note": "自审"})), 2005)
