"""A certified terminal reports its running state (运行状态监控)."""

import pytest

from conformance.kit.support import expect_ok, send


@pytest.mark.req("GEN-6", "DEV-3")
def test_certified_terminal_heartbeat_is_recorded(world):
    """A certified terminal's heartbeat (8103) is accepted for that terminal, and the
    institution's terminal list (8106) then shows the terminal certified with a last
    heartbeat time."""
    term = world.terminal.client
    out = expect_ok(send(term, term.envelope("8103", {
        "app_version": "ck-1.0", "camera_ok": True, "liveness_module_ok": True, "free_disk_mb": 2048,
    })))
    assert out.get("terminal_id") == world.terminal.sender, out
    assert out.get("received_at"), out
    inst = world.inst_a.client
    listed = expect_ok(send(inst, inst.envelope("8106", {})))
    mine = [t for t in listed.get("terminals") or [] if t.get("terminal_id") == world.terminal.sender]
    assert mine, f"terminal {world.terminal.sender} missing from 8106: {listed}"
    assert mine[0].get("status") == "certified", mine[0]
    assert mine[0].get("last_heartbeat_at"), f"8106 must show the last heartbeat: {mine[0]}"
    assert not mine[0].get("secret"), "a terminal list must never return signing secrets"
