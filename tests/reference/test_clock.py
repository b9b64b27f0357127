"""The business clock is injectable; only a manual-clock server lets a bureau move it (8901), and a
manual clock is stored in the database: a restarted server resumes where it stopped, never earlier."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from pydantic import ValidationError

from device_mocks.client import Client
from reference.api.app import create_app
from reference.clock import CST, LATEST, MAX_ADVANCE_SECONDS, ManualClock
from reference.server import ServerProcess
from reference.services import business_clock
from reference.state import build_state
from tests.conftest import ADMIN_SECRET, BASE, START, TestClient, make_settings, server_env


def business_time(admin: Client) -> str:
    return admin.call("8000", {})["business_time"]


def stored(settings) -> datetime | None:
    state = build_state(settings)
    try:
        return business_clock.stored_time(state.store.db())
    finally:
        state.store.close()


def run_app(settings, calls):
    """Start an in-process server on `settings`, run `calls(admin)`, stop it; returns its result."""
    app = create_app(settings)
    try:
        with TestClient(app, base_url=BASE) as tc:
            return calls(Client(BASE, sender="city-admin", secret=ADMIN_SECRET, http=tc))
    finally:
        app.state.scenemon.store.close()


def test_manual_clock_moves_only_forward():
    c = ManualClock(datetime(2026, 1, 1, 8, 0))
    assert c.now() == datetime(2026, 1, 1, 8, 0, tzinfo=CST)
    c.advance(timedelta(days=31))
    assert c.now().month == 2
    with pytest.raises(ValueError):
        c.set(datetime(2026, 1, 5))
    c.catch_up(datetime(2026, 1, 5))  # an older time is ignored, not an error
    assert c.now().month == 2


def test_clock_transaction_sets_and_advances_business_time(admin):
    assert admin.call("8901", {"set_to": "2026-04-01T00:00:00"})["business_time"] == "2026-04-01T00:00:00+08:00"
    assert admin.call("8901", {"advance_seconds": 86400})["business_time"] == "2026-04-02T00:00:00+08:00"
    assert business_time(admin) == "2026-04-02T00:00:00+08:00"
    r = admin.send("8901", {"set_to": "2026-01-01T00:00:00"})
    assert r.infcode == 1001 and "backwards" in r.envelope["err_msg"]
    assert r.envelope["err_field"] == "input.set_to"
    assert admin.send("8901", {}).infcode == 1001


def test_real_time_server_refuses_clock_changes(tmp_path):
    app = create_app(make_settings(tmp_path, clock="system"))
    with TestClient(app, base_url=BASE) as tc:
        admin = Client(BASE, sender="city-admin", secret=ADMIN_SECRET, http=tc)
        r = admin.send("8901", {"advance_seconds": 60})
    app.state.scenemon.store.close()
    assert r.infcode == 3004


def test_clock_survives_a_killed_server_and_moves_on_after_the_restart(tmp_path):
    env = server_env(tmp_path / "clock.db")
    with ServerProcess(env, log_path=tmp_path / "server.log") as srv:
        admin = Client(srv.base_url, sender="city-admin", secret=ADMIN_SECRET)
        moved = admin.call("8901", {"advance_seconds": 3 * 86400})["business_time"]
        assert moved == "2026-03-05T08:00:00+08:00"
        srv.kill()  # no shutdown handler runs: the time was stored when 8901 answered
        admin.close()
    with ServerProcess(env, log_path=tmp_path / "server.log") as srv:  # the same clock_start as before
        admin = Client(srv.base_url, sender="city-admin", secret=ADMIN_SECRET)
        assert business_time(admin) == moved
        assert admin.call("8901", {"advance_seconds": 3600})["business_time"] == "2026-03-05T09:00:00+08:00"
        back = admin.send("8901", {"set_to": START})  # where a fresh server would have started
        assert back.infcode == 1001 and "backwards" in back.envelope["err_msg"]
        assert business_time(admin) == "2026-03-05T09:00:00+08:00"
        admin.close()


def test_restart_resumes_the_stored_time_and_an_earlier_clock_start_does_not_move_it_back(tmp_path):
    run_app(make_settings(tmp_path), lambda a: a.call("8901", {"set_to": "2026-06-01T12:00:00"}))
    assert run_app(make_settings(tmp_path), business_time) == "2026-06-01T12:00:00+08:00"
    assert run_app(make_settings(tmp_path, clock_start=None), business_time) == "2026-06-01T12:00:00+08:00"
    assert run_app(make_settings(tmp_path, clock_start="2026-01-01T00:00:00"),
                   business_time) == "2026-06-01T12:00:00+08:00"


def test_a_later_clock_start_moves_a_resumed_clock_forward_and_is_stored(tmp_path):
    run_app(make_settings(tmp_path), lambda a: a.call("8901", {"set_to": "2026-06-01T12:00:00"}))
    assert run_app(make_settings(tmp_path, clock_start="2026-09-01T00:00:00"),
                   business_time) == "2026-09-01T00:00:00+08:00"
    assert run_app(make_settings(tmp_path, clock_start=None), business_time) == "2026-09-01T00:00:00+08:00"


def test_a_fresh_database_starts_at_clock_start_and_stores_it(tmp_path):
    settings = make_settings(tmp_path)
    assert run_app(settings, business_time) == "2026-03-02T08:00:00+08:00"
    assert stored(settings) == datetime(2026, 3, 2, 8, 0, tzinfo=CST)


@pytest.mark.parametrize("inp, field", [
    ({"set_to": "2026-01-01T00:00:00"}, "input.set_to"),              # backwards
    ({"set_to": "2100-01-01T00:00:00"}, "input.set_to"),              # past LATEST
    ({"set_to": "1999-12-31T23:59:59"}, "input.set_to"),              # before EARLIEST
    ({"set_to": "9999-12-31T23:00:00-12:00"}, "input.set_to"),        # leaves year 9999 in CST
    ({"set_to": "0001-01-01T00:00:00+14:00"}, "input.set_to"),        # before year 1 in CST
    ({"advance_seconds": 10**12}, "input.advance_seconds"),           # crashed with 9999 before
    ({"advance_seconds": MAX_ADVANCE_SECONDS + 1}, "input.advance_seconds"),
    ({"advance_seconds": MAX_ADVANCE_SECONDS}, "input.advance_seconds"),  # allowed step, passes LATEST
    ({"advance_seconds": -1}, "input.advance_seconds"),
])
def test_refused_clock_change_names_the_field_and_moves_nothing(tmp_path, inp, field):
    settings = make_settings(tmp_path)

    def refused(admin):
        r = admin.send("8901", inp)
        return r.infcode, r.envelope["err_field"], business_time(admin)

    assert run_app(settings, refused) == (1001, field, "2026-03-02T08:00:00+08:00")
    assert stored(settings) == datetime(2026, 3, 2, 8, 0, tzinfo=CST)  # and a restart would resume there


def test_clock_may_be_advanced_up_to_its_last_second(admin):
    out = admin.call("8901", {"set_to": LATEST.replace(tzinfo=None).isoformat()})
    assert out["business_time"] == "2099-12-31T23:59:59+08:00"
    assert admin.send("8901", {"advance_seconds": 1}).envelope["err_field"] == "input.advance_seconds"


def test_a_rolled_back_clock_change_moves_neither_the_stored_nor_the_running_clock(tmp_path):
    state = build_state(make_settings(tmp_path))
    try:
        before = state.clock.now()
        with pytest.raises(RuntimeError), state.store.write() as db:
            business_clock.move(db, state.clock, advance_seconds=3600)
            raise RuntimeError("the transaction fails after the clock was moved")
        assert business_clock.stored_time(state.store.db()) == before
        assert state.clock.now() == before
    finally:
        state.store.close()


def test_a_clock_change_counts_from_a_committed_time_the_running_clock_has_not_caught_up_with(tmp_path):
    """Two 9001s at once: the second may run before the first's follow-up moved the memory clock."""
    state = build_state(make_settings(tmp_path))
    try:
        with state.store.write() as db:
            first = business_clock.move(db, state.clock, advance_seconds=3600)
        assert state.clock.now() < first  # committed, not yet caught up
        with state.store.write() as db:
            second = business_clock.move(db, state.clock, advance_seconds=60)
        assert second == first + timedelta(seconds=60)
        state.clock.catch_up(second)
        state.clock.catch_up(first)  # the follow-ups in the other order
        assert state.clock.now() == second
    finally:
        state.store.close()


@pytest.mark.parametrize("value", ["yesterday", "1999-12-31T00:00:00", "2100-01-01T00:00:00"])
def test_clock_start_outside_the_clock_span_is_refused_at_start(tmp_path, value):
    with pytest.raises(ValidationError, match="clock_start"):
        make_settings(tmp_path, clock_start=value)
