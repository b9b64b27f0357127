"""The business clock is injectable; only a manual-clock server lets a bureau move it."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from reference.clock import CST, ManualClock


def test_manual_clock_moves_only_forward():
    c = ManualClock(datetime(2026, 1, 1, 8, 0))
    assert c.now() == datetime(2026, 1, 1, 8, 0, tzinfo=CST)
    c.advance(timedelta(days=31))
    assert c.now().month == 2
    with pytest.raises(ValueError):
        c.set(datetime(2026, 1, 5))


def test_clock_transaction(admin):
    assert admin.call("9001", {"set_to": "2026-04-01T00:00:00"})["business_time"] == "2026-04-01T00:00:00+08:00"
    assert admin.call("9001", {"advance_seconds": 86400})["business_time"] == "2026-04-02T00:00:00+08:00"
    assert admin.call("1001", {})["business_time"] == "2026-04-02T00:00:00+08:00"
    r = admin.send("9001", {"set_to": "2026-01-01T00:00:00"})
    assert r.infcode == 1001 and "backwards" in r.envelope["err_msg"]
    assert admin.send("9001", {}).infcode == 1001


def test_real_time_server_refuses_clock_changes(tmp_path):
    from device_mocks.client import Client
    from reference.api.app import create_app
    from tests.conftest import ADMIN_SECRET, BASE, TestClient, make_settings

    app = create_app(make_settings(tmp_path, clock="system"))
    with TestClient(app, base_url=BASE) as tc:
        admin = Client(BASE, sender="city-admin", secret=ADMIN_SECRET, http=tc)
        r = admin.send("9001", {"advance_seconds": 60})
    app.state.scenemon.store.close()
    assert r.infcode == 3004
