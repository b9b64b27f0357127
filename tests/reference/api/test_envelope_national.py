"""The national envelope as deployed clients send it: every national field accepted, "" read as
absent, unknown top-level fields and unknown fields inside national-shape inputs named in
warn_msg (their values never stored or echoed), unknown fields of our extension inputs refused."""

from __future__ import annotations

import json

import pytest

from reference.envelope import Model
from reference.national import NationalModel
from reference.transactions import Transaction

# A message the way public HIS integration code fills the envelope (every key, "" for the unused).
NATIONAL_FIELDS = {
    "mdtrtarea_admvs": "410102", "insuplc_admdvs": "410102", "recer_sys_code": "FSI_LOCAL", "dev_no": "",
    "dev_safe_info": "", "cainfo": "", "signtype": "SM2", "infver": "V1.0", "fixmedins_name": "测试医院",
    "sign_no": "",
}


def _post(client, env: dict, infno: str | None = None):
    resp = client.post_raw(infno or env["infno"], json.dumps(env, ensure_ascii=False).encode())
    return resp.status_code, resp.json()


@pytest.fixture
def his(world):
    return next(iter(world.institutions.values())).client


def _stored_responses(app) -> str:
    db = app.state.scenemon.store.db()
    return "\n".join(r["response"] for r in db.all("SELECT response FROM messages"))


@pytest.mark.req("GEN-2")
def test_envelope_with_every_national_field_is_accepted(his):
    env = his.envelope("8000", {})
    env.update(NATIONAL_FIELDS, dev_no="DEV-0001", cainfo="MEUCIQ" + "A" * 1000, dev_safe_info="x" * 2000,
               opter_type="1")
    status, body = _post(his, env)
    assert (status, body["infcode"], body["warn_msg"]) == (200, 0, None)


@pytest.mark.req("GEN-2")
def test_empty_optional_fields_are_read_as_absent(his):
    env = his.envelope("8000", {})
    env.update({k: "" for k in NATIONAL_FIELDS})  # "" would fail the 6-digit area patterns if read
    status, body = _post(his, env)
    assert (status, body["infcode"]) == (200, 0)


@pytest.mark.req("GEN-2")
def test_opter_type_as_a_number_is_accepted_but_not_a_boolean(his):
    env = his.envelope("8000", {})
    env["opter_type"] = 2  # deployed C# clients declare opter_type an int
    assert _post(his, env)[1]["infcode"] == 0
    env = his.envelope("8000", {})
    env["opter_type"] = True
    status, body = _post(his, env)
    assert (status, body["infcode"], body["err_field"]) == (422, 1001, "opter_type")


@pytest.mark.req("GEN-2")
@pytest.mark.parametrize(("field", "limit"), [("dev_safe_info", 2000), ("cainfo", 1024), ("signtype", 10),
                                              ("dev_no", 100), ("recer_sys_code", 10), ("infver", 6),
                                              ("sign_no", 30)])
def test_national_field_over_its_length_is_refused(his, field, limit):
    env = his.envelope("8000", {})
    env[field] = "A" * limit
    assert _post(his, env)[1]["infcode"] == 0
    env = his.envelope("8000", {})
    env[field] = "A" * (limit + 1)
    status, body = _post(his, env)
    assert (status, body["infcode"], body["err_field"]) == (422, 1001, field)


@pytest.mark.req("GEN-2")
def test_unknown_top_level_field_succeeds_with_a_warning_naming_it(app, his):
    env = his.envelope("8000", {})
    env["idfi_mode"] = "secret-local-value-1"  # a deployed client's local extension
    env["zz_trace"] = {"nested": ["secret-local-value-2"]}
    status, body = _post(his, env)
    assert (status, body["infcode"]) == (200, 0)
    assert "idfi_mode" in body["warn_msg"] and "zz_trace" in body["warn_msg"]
    assert "2 unknown field" in body["warn_msg"]
    assert "secret-local-value" not in json.dumps(body)
    assert "secret-local-value" not in _stored_responses(app)


@pytest.mark.req("GEN-2")
def test_unknown_top_level_field_still_passes_the_json_checks(his):
    env = his.envelope("8000", {})
    env["local"] = "bell\u0007"
    status, body = _post(his, env)
    assert (status, body["infcode"], body["err_field"]) == (422, 1001, "local")


@pytest.mark.req("GEN-2")
def test_a_very_long_unknown_name_is_cut_in_the_warning(his):
    env = his.envelope("8000", {})
    env["x" * 5000] = 1
    body = _post(his, env)[1]
    assert body["infcode"] == 0 and len(body["warn_msg"]) < 200


@pytest.mark.req("GEN-2")
def test_unknown_field_in_an_extension_input_is_refused_naming_it(his):
    env = his.envelope("8000", {"surprise": 1})
    status, body = _post(his, env)
    assert (status, body["infcode"], body["err_field"]) == (422, 1001, "input.surprise")


# -- a tiny national-shape transaction, registered on this test's gateway only --------------------

class _Item(NationalModel):
    code: str


class _Data(NationalModel):
    items: list[_Item]


class _EchoIn(NationalModel):
    data: _Data


class _EchoOut(Model):
    seen: list[str]
    dumped: str


def _echo(ctx, inp: _EchoIn) -> _EchoOut:
    # A handler that dumps its whole input: an unknown field's value must not be in it.
    return _EchoOut(seen=[i.code for i in inp.data.items], dumped=json.dumps(inp.model_dump(), ensure_ascii=False))


@pytest.fixture
def national_tx(app):
    tx = Transaction(infno="8999", operation_id="test-national-echo", title_en="Echo", title_zh="回显",
                     tag="test", roles=frozenset({"institution"}), requirements=("GEN-2",), input_model=_EchoIn,
                     output_model=_EchoOut, handler=_echo, description="")
    app.state.gateway.transactions["8999"] = tx
    yield tx
    del app.state.gateway.transactions["8999"]


@pytest.mark.req("GEN-2")
def test_unknown_fields_inside_a_national_input_are_warned_not_refused(app, his, national_tx):
    inp = {"data": {"items": [{"code": "A", "local_flag": "secret-in-1"}, {"code": "B"}],
                    "hosp_ext": {"deep": "secret-in-2"}}, "vendor": "secret-in-3"}
    status, body = _post(his, his.envelope("8999", inp))
    assert (status, body["infcode"]) == (200, 0)
    assert body["output"]["seen"] == ["A", "B"]
    for path in ("input.vendor", "input.data.hosp_ext", "input.data.items.0.local_flag"):
        assert path in body["warn_msg"]
    assert "secret-in" not in json.dumps(body)  # neither echoed nor seen by the handler
    assert "secret-in" not in _stored_responses(app)


@pytest.mark.req("GEN-2")
def test_known_fields_of_a_national_input_stay_strict(his, national_tx):
    status, body = _post(his, his.envelope("8999", {"data": {"items": [{"code": 7}]}}))
    assert (status, body["infcode"], body["err_field"]) == (422, 1001, "input.data.items.0.code")


@pytest.mark.req("GEN-2")
def test_top_level_and_input_warnings_come_together(his, national_tx):
    env = his.envelope("8999", {"data": {"items": [], "x": 1}})
    env["local_top"] = 1
    body = _post(his, env)[1]
    assert body["infcode"] == 0
    assert body["warn_msg"].index("local_top") < body["warn_msg"].index("input.data.x")
