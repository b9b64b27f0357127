"""Sign-in (9001 签到) and sign-out (9002 签退) in the national shape, sessions scoped to the
sender, and the sign_in_policy that decides whether transactions need a live sign_no."""

from __future__ import annotations

import warnings

import pytest

from device_mocks.results import TxError
from device_mocks.world import bootstrap_world
from reference.api.app import create_app
from tests.conftest import ADMIN_SECRET, BASE, make_settings

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

SIGN_IN = {"signIn": {"opter_no": "0001", "mac": "00-1A-2B-3C-4D-5E", "ip": "10.0.0.7"}}


@pytest.fixture
def required_world(tmp_path):
    """A world on a server whose sign_in_policy is `required`: built with the policy off (its
    institutions register their terminals), then the server restarted on the same database with
    the policy required, the world's transports reaching the new server."""
    app = create_app(make_settings(tmp_path))
    with TestClient(app, base_url=BASE) as http:
        world = bootstrap_world(BASE, "city-admin", ADMIN_SECRET, http=http, tag="516E01")
    app.state.scenemon.store.close()
    app = create_app(make_settings(tmp_path, sign_in_policy="required"))
    with TestClient(app, base_url=BASE) as http:
        for t in _transports(world):
            t.http = http
        yield world
    app.state.scenemon.store.close()


def _transports(world):
    yield world.bureau
    for inst in world.institutions.values():
        yield inst.client
        yield from inst.terminals.values()


def _his(world):
    return next(iter(world.institutions.values())).client


@pytest.mark.req("GEN-2")
def test_sign_in_returns_a_national_sign_no_and_sign_out_closes_it(world):
    his = _his(world)
    out = his.call("9001", SIGN_IN)
    sign_no, sign_time = out["signinoutb"]["sign_no"], out["signinoutb"]["sign_time"]
    assert len(sign_no) == 30 and sign_no.isdigit()
    assert sign_time == "2026-03-02 08:00:00"  # the business clock, in the national form
    assert his.call("9002", {"signOut": {"sign_no": sign_no, "opter_no": "0001"}}) == {
        "signoutoutb": {"sign_time": "2026-03-02 08:00:00"}}


@pytest.mark.req("GEN-2")
def test_each_sign_in_opens_its_own_session(world):
    his = _his(world)
    a = his.call("9001", SIGN_IN)["signinoutb"]["sign_no"]
    b = his.call("9001", SIGN_IN)["signinoutb"]["sign_no"]
    assert a != b


@pytest.mark.req("GEN-2")
def test_retried_sign_in_returns_the_same_sign_no(world):
    his = _his(world)
    first = his.send("9001", SIGN_IN, msgid="H1RETRY9001A")
    again = his.send("9001", SIGN_IN, msgid="H1RETRY9001A")
    assert first.ok and again.ok
    assert again.output["signinoutb"]["sign_no"] == first.output["signinoutb"]["sign_no"]


@pytest.mark.req("GEN-2")
def test_signing_out_twice_is_refused(world):
    his = _his(world)
    sign_no = his.call("9001", SIGN_IN)["signinoutb"]["sign_no"]
    his.call("9002", {"signOut": {"sign_no": sign_no, "opter_no": "0001"}})
    r = his.send("9002", {"signOut": {"sign_no": sign_no, "opter_no": "0001"}})
    assert (r.infcode, r.envelope["err_field"]) == (3004, "input.signOut.sign_no")


@pytest.mark.req("GEN-2")
def test_sign_out_by_another_operator_is_refused(world):
    his = _his(world)
    sign_no = his.call("9001", SIGN_IN)["signinoutb"]["sign_no"]
    r = his.send("9002", {"signOut": {"sign_no": sign_no, "opter_no": "0002"}})
    assert (r.infcode, r.envelope["err_field"]) == (1001, "input.signOut.opter_no")


@pytest.mark.req("GEN-1", "GEN-2")
def test_another_senders_sign_no_is_answered_like_an_absent_one(world):
    a, b = (i.client for i in world.institutions.values())
    theirs = a.call("9001", SIGN_IN)["signinoutb"]["sign_no"]
    other = b.send("9002", {"signOut": {"sign_no": theirs, "opter_no": "0001"}})
    absent = b.send("9002", {"signOut": {"sign_no": "4101002026030208000099999999", "opter_no": "0001"}})
    assert (other.status, other.infcode, other.envelope["err_field"]) == \
        (absent.status, absent.infcode, absent.envelope["err_field"]) == (404, 3003, "input.signOut.sign_no")
    assert other.envelope["err_msg"].replace(theirs, "#") == absent.envelope["err_msg"].replace(
        "4101002026030208000099999999", "#")
    assert a.call("9002", {"signOut": {"sign_no": theirs, "opter_no": "0001"}})  # still a's, still live


@pytest.mark.req("GEN-2")
def test_unknown_field_in_the_sign_in_input_is_warned(world):
    his = _his(world)
    r = his.send("9001", {"signIn": {**SIGN_IN["signIn"], "hosp_ext": "x"}, "vendor_id": "y"})
    assert r.ok
    assert "input.signIn.hosp_ext" in r.envelope["warn_msg"] and "input.vendor_id" in r.envelope["warn_msg"]


@pytest.mark.req("GEN-1")
def test_bureau_users_do_not_sign_in(world):
    r = world.bureau.send("9001", SIGN_IN)
    assert r.infcode == 2005


# -- the policy -----------------------------------------------------------------------------------

@pytest.mark.req("GEN-2")
def test_policy_off_ignores_sign_no(world):
    his = _his(world)
    his.sign_no = "NOT-A-SIGN-IN"
    assert his.send("8013", {"fixmedins_code": his.fixmedins_code}).ok


@pytest.mark.req("GEN-2")
def test_policy_required_refuses_a_transaction_without_sign_no(required_world):
    his = _his(required_world)
    r = his.send("8013", {"fixmedins_code": his.fixmedins_code})
    assert (r.status, r.infcode, r.envelope["err_field"]) == (403, 2008, "sign_no")


@pytest.mark.req("GEN-2")
def test_policy_required_accepts_a_live_sign_no(required_world):
    his = _his(required_world)
    his.session.sign_in(SIGN_IN)  # the transport now sends the sign_no
    assert his.sign_no is not None
    assert his.send("8013", {"fixmedins_code": his.fixmedins_code}).ok


@pytest.mark.req("GEN-2")
def test_policy_required_refuses_a_signed_out_sign_no(required_world):
    his = _his(required_world)
    sign_no = his.session.sign_in(SIGN_IN).signinoutb.sign_no
    his.session.sign_out(signOut={"sign_no": sign_no, "opter_no": "0001"})
    assert his.sign_no is None
    his.sign_no = sign_no
    r = his.send("8013", {"fixmedins_code": his.fixmedins_code})
    assert (r.infcode, r.envelope["err_field"]) == (2008, "sign_no")
    assert "signed out" in r.envelope["err_msg"]


@pytest.mark.req("GEN-1", "GEN-2")
def test_policy_required_refuses_another_senders_sign_no(required_world):
    a, b = (i.client for i in required_world.institutions.values())
    b.sign_no = a.call("9001", SIGN_IN)["signinoutb"]["sign_no"]
    unknown = b.send("8013", {"fixmedins_code": b.fixmedins_code})
    b.sign_no = "4101002026030208000099999999"
    absent = b.send("8013", {"fixmedins_code": b.fixmedins_code})
    assert (unknown.infcode, unknown.envelope["err_field"]) == (absent.infcode, absent.envelope["err_field"]) == \
        (2008, "sign_no")


@pytest.mark.req("GEN-2")
def test_policy_required_exempts_ping_sign_in_and_bureau_users(required_world):
    his = _his(required_world)
    assert his.send("8000", {}).ok
    assert his.send("9001", SIGN_IN).ok
    assert required_world.bureau.send("8013", {"fixmedins_code": his.fixmedins_code}).ok


@pytest.mark.req("GEN-2", "DEV-3")
def test_policy_required_applies_to_terminals(required_world):
    term = required_world.terminal()
    assert term.send("8103", {"app_version": "3.1", "camera_ok": True, "liveness_module_ok": True}).infcode == 2008
    term.session.sign_in({"signIn": {"opter_no": "T1", "mac": "001A2B3C4D5E", "ip": "10.0.0.9"}})
    assert term.send("8103", {"app_version": "3.1", "camera_ok": True, "liveness_module_ok": True}).ok


def test_driver_sign_in_refusal_raises(world):
    with pytest.raises(TxError) as err:
        world.bureau.session.sign_in(SIGN_IN)
    assert err.value.infcode == 2005


@pytest.mark.req("GEN-2")
def test_a_retry_after_sign_out_gets_the_original_answer(required_world):
    """The policy is checked after the retry check: a message answered while its session was live
    is answered the same once the session has ended (one message, one answer)."""
    his = _his(required_world)
    sign_no = his.session.sign_in(SIGN_IN).signinoutb.sign_no
    env = his.envelope("8013", {"fixmedins_code": his.fixmedins_code})
    first = his.send_envelope(env)
    his.session.sign_out(signOut={"sign_no": sign_no, "opter_no": "0001"})
    again = his.send_envelope(env)
    assert first.ok and again.envelope == first.envelope
