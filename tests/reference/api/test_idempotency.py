"""Retried messages (same msgid) have exactly one effect, sequentially and concurrently."""

from __future__ import annotations

import json
from datetime import date

import pytest

from device_mocks.client import Client
from reference.idcard import make_certno


def _person(k: int) -> dict:
    return {"psn_no": f"IDEM{k}", "certno": make_certno("410102", date(1980, 1, 1), k),
            "psn_name": "赵六", "insuplc_admdvs": "410100"}


@pytest.mark.req("GEN-2")
def test_same_msgid_returns_the_original_response_once(world):
    inst = next(iter(world.institutions.values())).client
    env = inst.envelope("8001", _person(1))
    first = inst.send_envelope(env)
    second = inst.send_envelope(env)  # re-signed with a new nonce: a legitimate retry
    assert first.ok and second.envelope == first.envelope
    # a new msgid with the same content is a new message: the person exists once already
    assert inst.send("8001", _person(1)).infcode == 3002
    log = world.bureau.call("8902", {"psn_no": "IDEM1"})["entries"]
    assert [e["action"] for e in log] == ["write"]


def test_same_msgid_with_different_body_is_refused(world):
    inst = next(iter(world.institutions.values())).client
    env = inst.envelope("8001", _person(2))
    assert inst.send_envelope(env).ok
    env["input"]["psn_name"] = "改名"
    r = inst.send_envelope(env)
    assert r.status == 409 and r.infcode == 3001 and r.envelope["err_field"] == "msgid"


def test_refusals_by_the_handler_are_also_answered_again(world):
    inst = next(iter(world.institutions.values())).client
    env = inst.envelope("8013", {"fixmedins_code": "NOPE"})
    a, b = inst.send_envelope(env), inst.send_envelope(env)
    assert a.infcode == 3003 and b.envelope == a.envelope


def test_msgids_are_per_sender(world):
    (a, b) = list(world.institutions.values())[:2]
    env = a.client.envelope("8000", {})
    assert a.client.send_envelope(env).ok
    env_b = dict(env, fixmedins_code=b.code)
    assert b.client.send_envelope(env_b).output["sender"] == b.code


@pytest.mark.req("GEN-2")
def test_concurrent_retries_have_one_effect(live_server):
    """Eight threads send the same message at once to a real server: one effect, one answer."""
    from concurrent.futures import ThreadPoolExecutor

    world = live_server.world
    inst = next(iter(world.institutions.values())).client
    env = inst.envelope("8001", _person(7))
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: inst.send_envelope(json.loads(json.dumps(env))), range(8)))
    assert all(r.ok for r in results)
    assert len({json.dumps(r.envelope, sort_keys=True) for r in results}) == 1
    log = world.bureau.call("8902", {"psn_no": "IDEM7"})["entries"]
    assert len([e for e in log if e["action"] == "write"]) == 1
    assert world.bureau.call("8002", {"psn_no": "IDEM7"})["psn_name"] == "赵六"
    _ = Client


@pytest.mark.req("GEN-5", "GEN-2")
def test_the_message_log_never_holds_a_secret_yet_a_retry_returns_it(world, app):
    env = world.bureau.envelope("8015", {"id": "ops-idem", "role": "ops_vendor", "display_name": "运维"})
    first = world.bureau.send_envelope(env)
    secret = first.output["secret"]
    assert len(secret) >= 32
    with app.state.scenemon.store.read() as db:
        logged = db.all("SELECT response FROM messages")
    assert logged and not any(secret in row["response"] for row in logged)
    retry = world.bureau.send_envelope(env)
    assert retry.envelope == first.envelope
    ops = Client(world.base_url, sender="ops-idem", secret=retry.output["secret"], http=world.http)
    assert ops.send("8000", {}).ok
