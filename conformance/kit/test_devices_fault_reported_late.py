"""Terminal faults are due within 24 hours; later reports are flagged (故障24小时内报告)."""

from datetime import timedelta

import pytest

from conformance.kit.support import expect_ok, parse_time, send


def _fault(world, occurred_at: str) -> dict:
    term = world.terminal.client
    return expect_ok(send(term, term.envelope("8104", {
        "terminal_id": world.terminal.sender, "device_kind": "camera",
        "description": "一致性测试：画面黑屏", "occurred_at": occurred_at,
    })))


def _business_now(client) -> str:
    return expect_ok(send(client, client.envelope("8000", {})))["business_time"]


@pytest.mark.req("GEN-3")
def test_fault_reported_after_24_hours_is_flagged_late(world, bureau):
    """A fault reported 23 business hours after it occurred is on time (`reported_late`
    false); one reported 25 hours after is accepted but flagged `reported_late` true. On a
    server with a manual business clock (8901) the kit moves the clock; otherwise it dates
    the faults back from the server's business time (8000)."""
    t0 = parse_time(_business_now(bureau))
    manual = send(bureau, bureau.envelope("8901", {"advance_seconds": 0})).infcode == 0
    if manual:
        occurred = t0.isoformat(timespec="seconds")
        expect_ok(send(bureau, bureau.envelope("8901", {"advance_seconds": 23 * 3600})))
        on_time = _fault(world, occurred)
        expect_ok(send(bureau, bureau.envelope("8901", {"advance_seconds": 2 * 3600})))
        late = _fault(world, occurred)
    else:
        on_time = _fault(world, (t0 - timedelta(hours=23)).isoformat(timespec="seconds"))
        late = _fault(world, (t0 - timedelta(hours=25)).isoformat(timespec="seconds"))
    assert on_time.get("reported_late") is False, f"reported 23 h after: must not be late: {on_time}"
    assert late.get("reported_late") is True, f"reported 25 h after: must be flagged late: {late}"
    assert late.get("status") == "open" and late.get("ticket_id"), late
