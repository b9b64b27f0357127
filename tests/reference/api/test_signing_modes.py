"""Signing modes at the gateway (GEN-1, GEN-2): HMAC-SHA256 (default), HMAC-SM3 over the body, and the
national gateway's x-tif headers for a sender a city bureau switched to them (8016), with a warning."""

from __future__ import annotations

import json
import time

import pytest

from device_mocks.client import Client
from reference import signing
from tests.conftest import BASE


def _inst(world) -> tuple[str, str]:
    inst = next(iter(world.institutions.values()))
    return inst.code, inst.client.secret


def _body(sender: str, fixmedins_code: str | None, infno: str = "8000", **extra) -> bytes:
    env = {"infno": infno, "msgid": f"{sender[:20]}{time.time_ns()}", "opter": "1", "opter_name": "测试",
           "inf_time": "2026-03-02 08:00:00", "input": {}, **extra}
    if fixmedins_code:
        env["fixmedins_code"] = fixmedins_code
    return json.dumps(env, ensure_ascii=False).encode()


def _switch(admin: Client, sender: str, on: bool = True) -> None:
    out = admin.registry.signing_mode(sender=sender, x_tif_enabled=on)
    assert out.x_tif_enabled is on and out.sender == sender


def _answer(resp) -> dict:
    return resp.json()


@pytest.fixture
def switched(admin, world) -> tuple[str, str]:
    """An institution (code, secret) that the city bureau has switched to the x-tif headers."""
    code, secret = _inst(world)
    _switch(admin, code)
    return code, secret


# -- x-tif: on only for a switched sender ---------------------------------------------------------


@pytest.mark.req("GEN-2", "GEN-1")
def test_x_tif_request_of_a_switched_sender_is_accepted_with_a_warning(http, switched):
    code, secret = switched
    tif = Client(BASE, sender=code, secret=secret, fixmedins_code=code, http=http, signing=signing.MODE_TIF)
    res = tif.send("8000", {})
    assert res.ok, res.envelope
    assert signing.TIF_WARNING in res.envelope["warn_msg"]
    # X-SM-* keeps working for the switched sender, without the warning
    strong = tif.for_account(code, secret, fixmedins_code=code, signing=signing.ALG_SHA256).send("8000", {})
    assert strong.ok and not strong.envelope["warn_msg"]


@pytest.mark.req("GEN-1")
def test_x_tif_headers_of_a_sender_not_switched_are_refused_naming_the_header(http, admin, world):
    code, secret = _inst(world)
    tif = Client(BASE, sender=code, secret=secret, fixmedins_code=code, http=http, signing=signing.MODE_TIF)
    res = tif.send("8000", {})
    assert (res.status, res.infcode, res.envelope["err_field"]) == (401, 2001, signing.TIF_PAASID)
    assert "8016" in res.envelope["err_msg"]
    _switch(admin, code)
    assert tif.send("8000", {}).ok
    _switch(admin, code, on=False)  # switched off again: refused again
    assert tif.send("8000", {}).infcode == 2001


@pytest.mark.req("GEN-1")
def test_x_tif_wrong_token_stale_timestamp_and_replayed_nonce_are_refused(http, switched):
    code, secret = switched
    body = _body(code, code)
    wrong = signing.tif_headers(code, "not-the-secret")
    r = _answer(http.post("/tx/8000", content=body, headers=wrong))
    assert (r["infcode"], r["err_field"]) == (2002, signing.TIF_SIGNATURE)
    stale = signing.tif_headers(code, secret, now=time.time() - 400)
    r = _answer(http.post("/tx/8000", content=body, headers=stale))
    assert (r["infcode"], r["err_field"]) == (2003, signing.TIF_TIMESTAMP)
    millis = {**signing.tif_headers(code, secret), signing.TIF_TIMESTAMP: str(int(time.time() * 1000))}
    millis[signing.TIF_SIGNATURE] = signing.tif_signature(secret, millis[signing.TIF_TIMESTAMP],
                                                          millis[signing.TIF_NONCE])
    r = _answer(http.post("/tx/8000", content=body, headers=millis))
    assert r["infcode"] == 2003 and "milliseconds" in r["err_msg"]
    headers = signing.tif_headers(code, secret)
    assert _answer(http.post("/tx/8000", content=body, headers=headers))["infcode"] == 0
    r = _answer(http.post("/tx/8000", content=_body(code, code), headers=headers))
    assert (r["infcode"], r["err_field"]) == (2004, signing.TIF_NONCE)
    short = signing.tif_headers(code, secret, nonce="abc1234")  # 7 characters
    r = _answer(http.post("/tx/8000", content=body, headers=short))
    assert (r["infcode"], r["err_field"]) == (2001, signing.TIF_NONCE)


@pytest.mark.req("GEN-1")
def test_x_tif_headers_of_a_refused_request_cannot_carry_another_body(http, switched):
    """The nonce is used up as soon as the x-tif signature checks, before the body is read."""
    code, secret = switched
    headers = signing.tif_headers(code, secret)
    refused = _answer(http.post("/tx/8000", content=b"{not json", headers=headers))
    assert refused["infcode"] == 1002
    r = _answer(http.post("/tx/8000", content=_body(code, code), headers=headers))
    assert (r["infcode"], r["err_field"]) == (2004, signing.TIF_NONCE)


@pytest.mark.req("GEN-1")
def test_x_tif_headers_not_yet_seen_are_good_for_any_body(http, switched):
    """The weakness the signing page states: the signature does not cover the body, so headers
    that reach the server before their own request carry whatever body comes with them."""
    code, secret = switched
    headers = signing.tif_headers(code, secret)
    other = _body(code, code, infno="8013", input={"fixmedins_code": code})
    r = _answer(http.post("/tx/8013", content=other, headers=headers))
    assert r["infcode"] == 0 and signing.TIF_WARNING in r["warn_msg"]


@pytest.mark.req("GEN-1")
def test_x_sm_and_x_tif_headers_together_are_refused(http, switched):
    code, secret = switched
    body = _body(code, code)
    both = {**signing.sign_headers(code, secret, body), **signing.tif_headers(code, secret)}
    r = _answer(http.post("/tx/8000", content=body, headers=both))
    assert (r["infcode"], r["err_field"]) == (2001, signing.TIF_PAASID)


@pytest.mark.req("GEN-2")
def test_x_tif_accepts_upper_case_hex_and_header_names_in_any_case(app, switched):
    """Deployed clients upper-case the digest (Go, Java) and write x-tif-paasId (C#)."""
    code, secret = switched
    h = signing.tif_headers(code, secret)
    headers = {"x-tif-paasId": h[signing.TIF_PAASID], "X-TIF-TIMESTAMP": h[signing.TIF_TIMESTAMP],
               "x-tif-nonce": h[signing.TIF_NONCE], "x-tif-signature": h[signing.TIF_SIGNATURE].upper()}
    status, payload = app.state.gateway.handle("8000", headers, _body(code, code))
    assert status == 200 and payload["infcode"] == 0, payload


@pytest.mark.req("GEN-1")
def test_stored_answer_served_again_says_how_this_request_was_signed(http, switched):
    code, secret = switched
    body = _body(code, code)
    first = _answer(http.post("/tx/8000", content=body, headers=signing.tif_headers(code, secret)))
    again = _answer(http.post("/tx/8000", content=body, headers=signing.sign_headers(code, secret, body)))
    third = _answer(http.post("/tx/8000", content=body, headers=signing.tif_headers(code, secret)))
    assert first["infcode"] == again["infcode"] == third["infcode"] == 0
    assert signing.TIF_WARNING in first["warn_msg"] and signing.TIF_WARNING in third["warn_msg"]
    assert not again["warn_msg"]


# -- 8016: who may switch whom --------------------------------------------------------------------


@pytest.mark.req("GEN-1")
def test_only_the_city_bureau_switches_and_only_institutions_and_terminals(admin, world):
    code, _ = _inst(world)
    inst = next(iter(world.institutions.values())).client
    res = inst.send("8016", {"sender": code, "x_tif_enabled": True})
    assert (res.status, res.infcode) == (403, 2005)
    res = admin.send("8016", {"sender": "city-admin", "x_tif_enabled": True})
    assert (res.infcode, res.envelope["err_field"]) == (1001, "input.sender")
    res = admin.send("8016", {"sender": "NO-SUCH-SENDER", "x_tif_enabled": True})
    assert (res.infcode, res.envelope["err_field"]) == (3003, "input.sender")
    terminal = world.terminal()
    assert admin.registry.signing_mode(sender=terminal.sender, x_tif_enabled=True).kind == "terminal"


# -- HMAC-SM3 -------------------------------------------------------------------------------------


@pytest.mark.req("GEN-1", "GEN-2")
def test_hmac_sm3_request_is_accepted_and_a_wrong_one_refused(http, world):
    code, secret = _inst(world)
    sm3 = Client(BASE, sender=code, secret=secret, fixmedins_code=code, http=http, signing=signing.ALG_SM3)
    assert sm3.send("8000", {}).ok
    body = _body(code, code)
    wrong = signing.sign_headers(code, "not-the-secret", body, alg=signing.ALG_SM3)
    r = _answer(http.post("/tx/8000", content=body, headers=wrong))
    assert (r["infcode"], r["err_field"]) == (2002, signing.HEADER_SIGNATURE)
    # an SM3 signature without the algorithm header is checked as HMAC-SHA256, and fails
    unnamed = {k: v for k, v in signing.sign_headers(code, secret, body, alg=signing.ALG_SM3).items()
               if k != signing.HEADER_ALG}
    assert _answer(http.post("/tx/8000", content=body, headers=unnamed))["infcode"] == 2002
    odd = {**signing.sign_headers(code, secret, body), signing.HEADER_ALG: "HMAC-MD5"}
    r = _answer(http.post("/tx/8000", content=body, headers=odd))
    assert (r["infcode"], r["err_field"]) == (2001, signing.HEADER_ALG)


@pytest.mark.req("GEN-2")
def test_signtype_must_agree_with_hmac_sm3_and_is_noted_under_hmac_sha256(http, world):
    code, secret = _inst(world)

    def send(signtype: str, alg: str) -> dict:
        body = _body(code, code, signtype=signtype)
        return _answer(http.post("/tx/8000", content=body, headers=signing.sign_headers(code, secret, body, alg=alg)))

    r = send("SM2", signing.ALG_SM3)
    assert (r["infcode"], r["err_field"]) == (1001, "signtype")
    r = send("SM3", signing.ALG_SM3)
    assert r["infcode"] == 0 and not r["warn_msg"]
    r = send("SM3", signing.ALG_SHA256)
    assert r["infcode"] == 0 and "signtype SM3" in r["warn_msg"]


@pytest.mark.req("GEN-1")
def test_hmac_sm3_on_pure_python_sm3_is_accepted_up_to_its_body_limit(http, world, monkeypatch):
    monkeypatch.setattr(signing, "_HMAC_SM3", signing.hmac_sm3_gmssl)
    assert signing.sm3_backend() == "gmssl"
    code, secret = _inst(world)
    body = _body(code, code)
    r = _answer(http.post("/tx/8000", content=body, headers=signing.sign_headers(code, secret, body,
                                                                                   alg=signing.ALG_SM3)))
    assert r["infcode"] == 0
    big = _body(code, code, dev_safe_info="x")[:-1] + b" " * signing.PURE_SM3_MAX_BODY + b"}"
    r = _answer(http.post("/tx/8000", content=big, headers={signing.HEADER_SENDER: code, signing.HEADER_ALG:
                          signing.ALG_SM3, signing.HEADER_TIMESTAMP: str(int(time.time())),
                          signing.HEADER_NONCE: "n" * 20, signing.HEADER_SIGNATURE: "0" * 64}))
    assert (r["infcode"], r["err_field"]) == (1004, "body")


@pytest.mark.req("GEN-1")
def test_hmac_sha256_headers_are_unchanged(admin):
    headers = admin.sign(b"{}")
    assert set(headers) == {signing.HEADER_SENDER, signing.HEADER_TIMESTAMP, signing.HEADER_NONCE,
                            signing.HEADER_SIGNATURE}
    assert admin.send("8000", {}).ok


@pytest.mark.req("GEN-2")
def test_openapi_names_the_x_tif_headers_as_an_alternative_security_requirement():
    from reference.api.openapi import build_openapi
    from reference.transactions import load_all

    doc = build_openapi(load_all())
    schemes = doc["components"]["securitySchemes"]
    assert [schemes[k]["name"] for k in ("tif_paasid", "tif_timestamp", "tif_nonce", "tif_signature")] == list(
        signing.TIF_HEADERS)
    assert "NOT signed" in schemes["tif_signature"]["description"]
    assert signing.ALG_SM3 in schemes["signature"]["description"]
    security = doc["paths"]["/tx/8000"]["post"]["security"]
    assert {frozenset(s) for s in security} == {frozenset({"sender", "timestamp", "nonce", "signature"}),
                                               frozenset({"tif_paasid", "tif_timestamp", "tif_nonce", "tif_signature"})}
