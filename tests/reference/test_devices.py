"""Terminals and faults: class III only (GEN-6), certification gate (DEV-3), heartbeat, fault
tickets with the 24-hour reporting rule and resolution time (GEN-3)."""

from __future__ import annotations

import pytest


def _inst(world):
    return next(iter(world.institutions.values()))


@pytest.mark.req("GEN-6")
@pytest.mark.parametrize("klass", ["I", "II", "IV", "iii"])
def test_only_class_iii_terminals_register(world, klass):
    r = _inst(world).client.send("8101", {"terminal_id": "T-C", "model": "M", "serial_no": "S-c",
                                          "cert_class": klass, "certification_id": "C"})
    assert r.infcode == 1001 and r.envelope["err_field"] == "input.cert_class"


def test_terminal_serial_registers_once(world):
    inst = _inst(world).client
    inst.call("8101", {"terminal_id": "T-D1", "model": "M", "serial_no": "S-d", "cert_class": "III",
                       "certification_id": "C"})
    r = inst.send("8101", {"terminal_id": "T-D2", "model": "M", "serial_no": "S-d", "cert_class": "III",
                           "certification_id": "C"})
    assert r.infcode == 3002 and r.envelope["err_field"] == "input.serial_no"


@pytest.mark.req("DEV-3")
def test_heartbeat_is_kept(world):
    term = world.terminal()
    term.call("8103", {"app_version": "2.1.0", "camera_ok": True, "liveness_module_ok": False,
                       "free_disk_mb": 900})
    listed = _inst(world).client.call("8106", {})["terminals"]
    assert listed[0]["last_heartbeat_at"] == "2026-03-02T08:00:00+08:00"


@pytest.mark.req("GEN-3")
@pytest.mark.parametrize(("hours_ago", "late"), [(1, False), (23.9, False), (24.1, True), (72, True)])
def test_fault_reported_after_24_hours_is_late(world, hours_ago, late):
    from datetime import datetime, timedelta

    occurred = datetime.fromisoformat("2026-03-02T08:00:00") - timedelta(hours=hours_ago)
    term_id = next(iter(_inst(world).terminals))
    t = _inst(world).client.call("8104", {"terminal_id": term_id, "device_kind": "terminal",
                                          "description": "屏幕无响应",
                                          "occurred_at": occurred.isoformat(timespec="seconds")})
    assert t["reported_late"] is late and t["status"] == "open"


@pytest.mark.req("GEN-3")
def test_fault_resolution_time_is_tracked(world, admin):
    user = admin.call("8015", {"id": "ops-1", "role": "ops_vendor", "display_name": "运维公司"})
    from device_mocks.client import Client

    ops = Client(admin.base_url, sender="ops-1", secret=user["secret"], http=admin.http)
    term_id = next(iter(_inst(world).terminals))
    t = world.terminal().call("8104", {"terminal_id": term_id, "device_kind": "camera",
                                       "description": "摄像头离线", "occurred_at": "2026-03-02T05:00:00"})
    admin.call("8901", {"advance_seconds": 2 * 3600})
    done = ops.call("8105", {"ticket_id": t["ticket_id"], "resolution": "更换摄像头"})
    assert done["status"] == "resolved" and done["resolution_hours"] == 5.0
    again = ops.send("8105", {"ticket_id": t["ticket_id"], "resolution": "x"})
    assert again.infcode == 3004
    summary = world.bureau.call("8107", {})
    assert summary["mean_resolution_hours"] == 5.0 and summary["open_count"] == 0


def test_future_fault_is_refused(world):
    term_id = next(iter(_inst(world).terminals))
    r = world.terminal().send("8104", {"terminal_id": term_id, "device_kind": "camera", "description": "x",
                                       "occurred_at": "2026-03-03T08:00:00"})
    assert r.infcode == 1001 and r.envelope["err_field"] == "input.occurred_at"
