"""Envelope validation: every bad field gets 1001 with the field named; unknown transactions,
malformed JSON and oversized bodies get their own codes."""

from __future__ import annotations

import json

import pytest

from reference.signing import sign_headers


def _send_raw(client, env: dict, path_infno: str | None = "auto"):
    body = json.dumps(env, ensure_ascii=False).encode()
    infno = env.get("infno") if path_infno == "auto" else path_infno
    return client.post_raw(infno, body)


@pytest.mark.req("GEN-2", "RULE-9")
@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda e: e.pop("msgid"), "msgid"),
        (lambda e: e.update(msgid="has space"), "msgid"),
        (lambda e: e.update(inf_time="2026/03/02 08:00"), "inf_time"),
        (lambda e: e.pop("opter"), "opter"),
        (lambda e: e.update(opter_type="9"), "opter_type"),
        (lambda e: e.update(mdtrtarea_admvs="41"), "mdtrtarea_admvs"),
        (lambda e: e["input"].update(extra_field=1), "input.extra_field"),
        (lambda e: e["input"].pop("psn_name"), "input.psn_name"),
        (lambda e: e["input"].update(certno="410102197001010012"), "input.certno"),
        (lambda e: e["input"].update(certno="12345"), "input.certno"),
        (lambda e: e["input"].update(insuplc_admdvs="4101"), "input.insuplc_admdvs"),
        (lambda e: e["input"].update(flags=["not_a_flag"]), "input.flags.0"),
    ],
)
def test_bad_field_is_refused_with_its_name(world, mutate, field):
    inst = next(iter(world.institutions.values())).client
    env = inst.envelope("8001", {"psn_no": "PX1", "certno": "41010219700101011X",
                                 "psn_name": "王五", "insuplc_admdvs": "410100"})
    mutate(env)
    resp = _send_raw(inst, env, path_infno="8001")
    body = resp.json()
    assert resp.status_code == 422
    assert body["infcode"] == 1001
    assert body["err_field"] == field
    assert body["err_msg"].startswith(field + ":")
    assert body["output"] is None


@pytest.mark.req("GEN-2")
def test_bad_input_stores_nothing(world):
    inst = next(iter(world.institutions.values())).client
    r = inst.send("8001", {"psn_no": "PX2", "certno": "41010219700101011X", "psn_name": "",
                           "insuplc_admdvs": "410100"})
    assert r.infcode == 1001 and r.envelope["err_field"] == "input.psn_name"
    q = world.bureau.send("8002", {"psn_no": "PX2"})
    assert q.infcode == 3003


@pytest.mark.req("GEN-2")
def test_unknown_transaction_number(admin):
    assert admin.send("1999", {}).infcode == 1003
    env = admin.envelope("1999", {})
    resp = _send_raw(admin, env, path_infno=None)  # the single national-style endpoint /tx
    assert resp.status_code == 404 and resp.json()["infcode"] == 1003
    assert resp.json()["err_field"] == "infno"


def test_single_endpoint_dispatches_by_infno(admin):
    resp = _send_raw(admin, admin.envelope("8000", {}), path_infno=None)
    assert resp.status_code == 200 and resp.json()["output"]["sender"] == "city-admin"


def test_url_and_body_infno_must_agree(admin):
    resp = _send_raw(admin, admin.envelope("8000", {}), path_infno="8011")
    assert resp.json()["infcode"] == 1001 and resp.json()["err_field"] == "infno"


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b"\xff\xfe", b""])
def test_malformed_json(admin, body):
    resp = admin.post_raw("8000", body)
    assert resp.status_code == 400 and resp.json()["infcode"] == 1002


def test_oversized_body_is_refused_before_anything_else(app, http, admin):
    limit = app.state.scenemon.settings.max_body_bytes
    body = b"{" + b" " * (limit + 1) + b"}"
    resp = admin.post_raw("8000", body)
    assert resp.status_code == 413 and resp.json()["infcode"] == 1004
    # also without a Content-Length the stream is cut at the limit
    def chunks():
        for _ in range(limit // 65536 + 2):
            yield b" " * 65536

    headers = sign_headers("city-admin", "irrelevant", b"")
    resp = http.post("/tx/8000", content=chunks(), headers=headers)
    assert resp.json()["infcode"] == 1004


def test_success_envelope_shape(admin):
    res = admin.send("8000", {})
    env = res.envelope
    assert env["infcode"] == 0 and env["err_msg"] is None
    assert set(env) == {"infcode", "inf_refmsgid", "msgid", "refmsg_time", "respond_time",
                        "err_msg", "err_field", "warn_msg", "output"}
    assert env["refmsg_time"] == "2026-03-02 08:00:00"


@pytest.mark.req("GEN-2")
def test_envelope_parsing_takes_utf8_json_only(app):
    """One parser (pydantic-core) and one encoding (UTF-8, RFC 8259): UTF-16 and UTF-32 bodies, lone
    surrogates, NaN and Infinity and malformed bodies are all refused as malformed (1002)."""
    from reference import errors as E

    gw = app.state.gateway
    env = {"infno": "8000", "msgid": "M" * 20, "opter_type": "1", "opter": "x", "opter_name": "经办人",
           "inf_time": "2026-01-01 00:00:00", "input": {"v": [0.5, -1e-7, 3]}}
    parsed = gw._parse_envelope(json.dumps(env, ensure_ascii=False).encode())
    assert parsed.opter_name == env["opter_name"] and parsed.input == env["input"]
    assert gw._parse_envelope(json.dumps(env).encode()).opter_name == env["opter_name"]  # \u-escaped
    odd = {**env, "input": {"s": "\ud800"}}  # a lone surrogate, \u-escaped: no UTF-8 text holds it
    for body in (json.dumps(env).encode("utf-16"), json.dumps(env).encode("utf-32"), json.dumps(odd).encode(),
                 b"{", b"[]", b'{"infno": NaN}', b'{"v": Infinity}', b"\xff"):
        with pytest.raises(E.MalformedJson):
            gw._parse_envelope(body)
