"""1101 person information (人员信息获取) answers in the national shape and keeps the data scope."""

import pytest

from conformance.kit.support import expect_error, expect_ok, send


def _card(certno: str, name: str) -> dict:
    return {"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": certno, "psn_cert_type": "01", "certno": certno,
                     "psn_name": name}}


@pytest.mark.req("GEN-1", "GEN-5")
def test_person_information_card_read_answers_the_national_shape(world):
    """Institution B reading a person's ID card with 1101 (mdtrt_cert_type 02, the number and the
    name on the card, plus a local extra field as deployed clients send) gets `output.baseinfo`
    with that person's psn_no, certno, name, gender and birth date, `output.insuinfo` as a list
    naming the insured area and `output.idetinfo` as a list; `warn_msg` names the extra field
    (`input.data.<field>`) instead of refusing the message."""
    person = world.new_person()
    client = world.inst_b.client
    inp = _card(person.certno, person.psn_name)
    inp["data"]["local_his_flag"] = "1"
    ans = send(client, client.envelope("1101", inp))
    out = expect_ok(ans)
    base = out.get("baseinfo") or {}
    assert (base.get("psn_no"), base.get("certno"), base.get("psn_name")) == (
        person.psn_no, person.certno, person.psn_name), out
    assert base.get("gend") == ("1" if int(person.certno[16]) % 2 else "2"), base
    assert base.get("brdy") == f"{person.certno[6:10]}-{person.certno[10:12]}-{person.certno[12:14]}", base
    assert isinstance(out.get("insuinfo"), list) and out["insuinfo"], out
    assert all(i.get("insuplc_admdvs") for i in out["insuinfo"]), out
    assert isinstance(out.get("idetinfo"), list), out
    assert "input.data.local_his_flag" in (ans.envelope.get("warn_msg") or ""), ans.envelope


@pytest.mark.req("GEN-1", "GEN-5")
def test_person_information_with_a_wrong_name_looks_like_no_person(world):
    """An institution's 1101 with the right ID number but another name is refused exactly like a
    number nobody has: 3003 (HTTP 404) naming `input.data.mdtrt_cert_no`, the same message once
    the numbers are blanked."""
    person = world.new_person()
    client = world.inst_b.client
    wrong = send(client, client.envelope("1101", _card(person.certno, person.psn_name + "乙")))
    expect_error(wrong, 3003, field="input.data.mdtrt_cert_no")
    absent_no = world.new_certno()
    absent = send(client, client.envelope("1101", _card(absent_no, person.psn_name + "乙")))
    expect_error(absent, 3003, field="input.data.mdtrt_cert_no")
    assert (wrong.envelope["err_msg"].replace(person.certno, "<no>")
            == absent.envelope["err_msg"].replace(absent_no, "<no>")), (wrong, absent)
