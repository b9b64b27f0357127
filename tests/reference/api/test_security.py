"""Authentication and scope (GEN-1, GEN-5, GEN-6, DEV-3): signed requests, bounded clock skew,
no nonce replay, roles per transaction, data only within the sender's scope."""

from __future__ import annotations

import json
import logging
import time

import pytest

from device_mocks.client import Client
from reference import signing
from tests.conftest import ADMIN_SECRET, BASE


def _body(client: Client, infno: str = "8000", input: dict | None = None) -> bytes:
    return json.dumps(client.envelope(infno, input or {})).encode()


@pytest.mark.req("GEN-1")
def test_missing_signature_headers(admin):
    body = _body(admin)
    full = signing.sign_headers("city-admin", ADMIN_SECRET, body)
    for header in full:
        partial = {k: v for k, v in full.items() if k != header}
        resp = admin.post_raw("8000", body, headers=partial)
        assert resp.status_code == 401
        assert resp.json()["infcode"] == 2001 and resp.json()["err_field"] == header


@pytest.mark.req("GEN-1")
def test_unknown_sender(http):
    ghost = Client(BASE, sender="nobody", secret="x" * 20, http=http)
    r = ghost.send("8000", {})
    assert r.infcode == 2001 and r.envelope["err_field"] == signing.HEADER_SENDER


@pytest.mark.req("GEN-1")
def test_bad_signature(http, admin):
    wrong = Client(BASE, sender="city-admin", secret="not-the-secret", http=http)
    assert wrong.send("8000", {}).infcode == 2002
    # a correct signature over a different body does not pass either
    body = _body(admin)
    headers = signing.sign_headers("city-admin", ADMIN_SECRET, body)
    tampered = body.replace(b'"input": {}', b'"input": {} ')
    assert admin.post_raw("8000", tampered, headers=headers).json()["infcode"] == 2002


@pytest.mark.req("GEN-1")
@pytest.mark.parametrize("skew", [-3600, -301, 301, 3600])
def test_stale_timestamp(http, skew):
    c = Client(BASE, sender="city-admin", secret=ADMIN_SECRET, http=http, clock_skew_s=skew)
    r = c.send("8000", {})
    assert r.status == 401 and r.infcode == 2003


@pytest.mark.parametrize("skew", [-290, 290])
def test_timestamp_within_skew_passes(http, skew):
    c = Client(BASE, sender="city-admin", secret=ADMIN_SECRET, http=http, clock_skew_s=skew)
    assert c.send("8000", {}).ok


@pytest.mark.req("GEN-1")
def test_replayed_nonce_is_refused(admin):
    body = _body(admin)
    headers = signing.sign_headers("city-admin", ADMIN_SECRET, body)
    first = admin.post_raw("8000", body, headers=headers)
    again = admin.post_raw("8000", body, headers=headers)
    assert first.json()["infcode"] == 0
    assert again.status_code == 401 and again.json()["infcode"] == 2004


@pytest.mark.req("GEN-1")
def test_role_may_not_run_transaction(world):
    inst = next(iter(world.institutions.values())).client
    r = inst.send("8011", {"code": "410188", "name": "x"})
    assert r.status == 403 and r.infcode == 2005 and r.envelope["err_field"] == "infno"
    term = world.terminal()
    assert term.send("8001", {"psn_no": "Q1", "certno": "41010219700101011X", "psn_name": "x",
                              "insuplc_admdvs": "410100"}).infcode == 2005


@pytest.mark.req("GEN-1")
def test_institution_reaches_only_its_own_data(world):
    (a, b) = list(world.institutions.values())[:2]
    r = a.client.send("8013", {"fixmedins_code": b.code})
    # another institution is answered like one that does not exist (no disclosure, GEN-1)
    assert r.status == 404 and r.infcode == 3003 and r.envelope["err_field"] == "input.fixmedins_code"
    assert r.envelope["err_msg"] == a.client.send("8013", {"fixmedins_code": "HNOSUCH"}).envelope[
        "err_msg"].replace("HNOSUCH", b.code)
    assert a.client.call("8013", {"fixmedins_code": a.code})["fixmedins_code"] == a.code
    # claiming another institution in the envelope is refused too
    spoof = Client(BASE, sender=a.code, secret=a.client.secret, fixmedins_code=b.code, http=a.client.http)
    r = spoof.send("8000", {})
    assert r.infcode == 2006 and r.envelope["err_field"] == "fixmedins_code"
    # and institutions must name themselves
    anon = Client(BASE, sender=a.code, secret=a.client.secret, http=a.client.http)
    assert anon.send("8000", {}).envelope["err_field"] == "fixmedins_code"


@pytest.mark.req("GEN-1")
def test_terminal_reaches_only_its_institution(world):
    (a, b) = list(world.institutions.values())[:2]
    term_a = next(iter(a.terminals.values()))
    term_b_id = next(iter(b.terminals))
    r = term_a.send("8104", {"terminal_id": term_b_id, "device_kind": "camera", "description": "x",
                             "occurred_at": "2026-03-02T07:00:00"})
    assert r.infcode == 3003 and r.envelope["err_field"] == "input.terminal_id"


@pytest.mark.req("GEN-1")
def test_district_bureau_reaches_only_its_district(world, admin):
    admin.call("8011", {"code": "410105", "name": "金水区"})
    other = admin.call("8012", {"fixmedins_code": "H41010500001", "fixmedins_name": "金水医院",
                                "inst_type": "primary_hospital", "level": "1", "district_code": "410105"})
    assert other["secret"]
    user = admin.call("8015", {"id": "zy-bureau", "role": "district_bureau", "display_name": "中原区医保局",
                               "district_code": world.district})
    zy = Client(BASE, sender="zy-bureau", secret=user["secret"], http=admin.http)
    mine = next(iter(world.institutions))
    assert zy.call("8013", {"fixmedins_code": mine})["fixmedins_code"] == mine
    r = zy.send("8013", {"fixmedins_code": "H41010500001"})
    assert r.infcode == 3003
    # its terminal list holds only its district's terminals
    listed = zy.call("8106", {})["terminals"]
    assert listed and all(t["fixmedins_code"] in world.institutions for t in listed)
    # and it may not add institutions to another district
    r = zy.send("8012", {"fixmedins_code": "H41010500002", "fixmedins_name": "x", "inst_type": "primary_hospital",
                         "level": "1", "district_code": "410105"})
    assert r.infcode == 3003 and r.envelope["err_field"] == "input.district_code"


@pytest.mark.req("GEN-6", "DEV-3")
def test_uncertified_terminal_is_refused(world):
    inst = next(iter(world.institutions.values()))
    out = inst.client.call("8101", {"terminal_id": "T-NEW-1", "model": "M", "serial_no": "S-new",
                                    "cert_class": "III", "certification_id": "C-1"})
    term = Client(BASE, sender="T-NEW-1", secret=out["secret"], fixmedins_code=inst.code,
                  http=inst.client.http, opter_type="2")
    r = term.send("8000", {})
    assert r.status == 403 and r.infcode == 2007
    world.bureau.call("8102", {"terminal_id": "T-NEW-1", "approve": True})
    assert term.send("8000", {}).ok
    world.bureau.call("8102", {"terminal_id": "T-NEW-1", "approve": False, "reason": "camera tampered"})
    assert term.send("8000", {}).infcode == 2007


@pytest.mark.req("GEN-5")
def test_person_reads_are_in_the_access_log(world):
    inst = next(iter(world.institutions.values())).client
    psn = world.persons[0]
    inst.call("8002", {"psn_no": psn})
    entries = world.bureau.call("8902", {"psn_no": psn})["entries"]
    reads = [e for e in entries if e["action"] == "read" and e["principal_id"] == inst.sender]
    assert reads and reads[0]["infno"] == "8002"
    # institutions may not read the log
    assert inst.send("8902", {"psn_no": psn}).infcode == 2005


@pytest.mark.req("GEN-5")
def test_secrets_are_never_logged(app, http, caplog):
    caplog.set_level(logging.DEBUG)
    wrong = Client(BASE, sender="city-admin", secret="wrong-secret-value", http=http)
    wrong.send("8000", {})
    good = Client(BASE, sender="city-admin", secret=ADMIN_SECRET, http=http)
    out = good.call("8012", {"fixmedins_code": "HX1", "fixmedins_name": "x", "inst_type": "primary_hospital",
                             "level": "1", "district_code": "410102"}) if good.send(
        "8011", {"code": "410102", "name": "中原区"}).ok else None
    text = caplog.text
    assert "tx sender=city-admin" in text  # the gateway does log each transaction
    for secret in (ADMIN_SECRET, "wrong-secret-value", out["secret"]):
        assert secret not in text


def test_request_time_uses_real_time_not_business_time(app, admin):
    # business time is 2026-03-02 (manual clock) but signatures are checked against real time
    assert abs(app.state.scenemon.wall_time() - time.time()) < 5
    assert admin.send("8000", {}).ok
