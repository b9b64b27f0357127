"""The national basic-information transactions: 1101 person information (人员信息获取) and 1201
institution information (医药机构信息获取) in the national shape, read through the same services,
scope and access log as our 8002 and 8013 (GEN-1, GEN-5)."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import pytest

from device_mocks.client import Client
from reference.codes import table
from reference.idcard import make_certno
from reference.scenes.basic_info import HOSP_LV, NATIONAL_TYPES
from tests.conftest import BASE

D1, D2 = "410102", "410105"
CERT_A = make_certno(D1, date(1960, 5, 1), 11)  # 65 on the business date 2026-03-02 (born 1 May)


def _hospital(admin, http, code: str, district: str, *, inst_type: str = "secondary_hospital",
              level: str = "2A", name: str | None = None) -> Client:
    out = admin.call("8012", {"fixmedins_code": code, "fixmedins_name": name or f"医院{code}",
                              "inst_type": inst_type, "level": level, "district_code": district})
    return Client(BASE, sender=code, secret=out["secret"], fixmedins_code=code, http=http)


def _user(admin, http, uid: str, role: str, district: str | None) -> Client:
    inp = {"id": uid, "role": role, "display_name": uid, **({"district_code": district} if district else {})}
    return Client(BASE, sender=uid, secret=admin.call("8015", inp)["secret"], http=http)


@pytest.fixture
def w(admin, http):
    for code in (D1, D2):
        admin.call("8011", {"code": code, "name": f"区{code}"})
    a = _hospital(admin, http, "HA0001", D1)
    b = _hospital(admin, http, "HB0001", D2, level="3A", name="市第二人民医院")
    p = _hospital(admin, http, "PB0001", D2, inst_type="retail_pharmacy", level="ungraded", name="第二大药房")
    a.call("8001", {"psn_no": "PA0001", "certno": CERT_A, "psn_name": "张三", "insuplc_admdvs": D1})
    return {"a": a, "b": b, "pharmacy": p, "d1": _user(admin, http, "u-d1", "district_bureau", D1),
            "d2": _user(admin, http, "u-d2", "district_bureau", D2)}


def card(certno: str = CERT_A, name: str | None = "张三", **more) -> dict:
    """A 1101 input the way a HIS sends it after reading an ID card (mdtrt_cert_type 02)."""
    data = {"mdtrt_cert_type": "02", "mdtrt_cert_no": certno, "psn_cert_type": "01", "certno": certno,
            **({"psn_name": name} if name is not None else {}), **more}
    return {"data": data}


def _same_refusal(r1, r2, *values: str) -> None:
    def shape(r):
        msg = r.envelope.get("err_msg") or ""
        for v in values:
            msg = msg.replace(v, "<id>")
        return r.status, r.infcode, r.envelope.get("err_field"), msg

    assert shape(r1) == shape(r2), (r1.envelope, r2.envelope)


# --- 1101 ------------------------------------------------------------------------------------------
@pytest.mark.req("GEN-1", "GEN-5")
def test_1101_card_read_answers_the_national_shape_and_names_local_fields_in_warn_msg(w, admin):
    """A national 1101 with a local extra field (as deployed clients send) is answered in the national
    shape: baseinfo from the registry, insuinfo with the insured area and nulls for what the registry
    does not keep, an empty idetinfo; warn_msg names the extra field and its value is not echoed."""
    inp = card()
    inp["data"]["hosp_local_cardflag"] = "SECRET-LOCAL-VALUE"
    r = w["b"].send("1101", inp)
    assert r.ok, r.envelope
    assert r.output == {
        "baseinfo": {"psn_no": "PA0001", "psn_cert_type": "01", "certno": CERT_A, "psn_name": "张三",
                     "gend": "1" if int(CERT_A[16]) % 2 else "2", "naty": None, "brdy": "1960-05-01", "age": 65},
        "insuinfo": [{"balc": None, "insutype": None, "psn_type": None, "psn_insu_stas": None,
                      "psn_insu_date": None, "paus_insu_date": None, "cvlserv_flag": None,
                      "insuplc_admdvs": D1, "emp_name": None}],
        "idetinfo": [],
    }
    assert "input.data.hosp_local_cardflag" in r.envelope["warn_msg"]
    assert "SECRET-LOCAL-VALUE" not in str(r.envelope)


@pytest.mark.req("GEN-1", "GEN-5")
def test_1101_card_read_links_the_person_like_8002_and_is_in_the_access_log(w, admin):
    """Before the card read, institution B (another district) does not see the person (8002 by
    psn_no is 3003); after 1101 with the number and the name on the card it does, and the access
    log holds B's 1101 read of that person."""
    assert w["b"].send("8002", {"psn_no": "PA0001"}).infcode == 3003
    w["b"].call("1101", card())
    assert w["b"].call("8002", {"psn_no": "PA0001"})["psn_name"] == "张三"
    entries = admin.call("8902", {"psn_no": "PA0001"})["entries"]
    assert ("HB0001", "1101", "read") in {(e["principal_id"], e["infno"], e["action"]) for e in entries}


@pytest.mark.req("GEN-1", "GEN-5")
def test_1101_answers_the_same_person_as_8002(w, admin):
    """1101 and 8002 read through one service: the same person, number, name, gender, birth date
    and insured area for the same ID number."""
    ext = admin.call("8002", {"certno": CERT_A})
    nat = admin.call("1101", card(name=None))
    assert (nat["baseinfo"]["psn_no"], nat["baseinfo"]["certno"], nat["baseinfo"]["psn_name"], nat["baseinfo"]["gend"],
            nat["baseinfo"]["brdy"], nat["insuinfo"][0]["insuplc_admdvs"]) == (
        ext["psn_no"], ext["certno"], ext["psn_name"], ext["gend"], ext["brdy"], ext["insuplc_admdvs"])


@pytest.mark.req("GEN-1", "GEN-5")
def test_1101_out_of_scope_person_is_3003_exactly_like_an_absent_one(w):
    """A district bureau of another district (D2) asking for a person insured in D1 and linked to no
    D2 institution gets 3003 naming input.data.mdtrt_cert_no — the same answer as for an ID number
    nobody has; the D1 bureau gets the person. An institution giving a wrong name gets the same 3003
    as for an absent number, and no link."""
    absent = make_certno(D1, date(1966, 6, 6), 998)
    outside, missing = w["d2"].send("1101", card(name=None)), w["d2"].send("1101", card(absent, name=None))
    assert outside.infcode == 3003 and outside.envelope["err_field"] == "input.data.mdtrt_cert_no"
    _same_refusal(outside, missing, CERT_A, absent)
    assert w["d1"].call("1101", card(name=None))["baseinfo"]["psn_no"] == "PA0001"
    wrong, none = w["b"].send("1101", card(name="李四")), w["b"].send("1101", card(absent, name="李四"))
    assert wrong.infcode == 3003
    _same_refusal(wrong, none, CERT_A, absent)
    assert w["b"].send("8002", {"psn_no": "PA0001"}).infcode == 3003  # the failed read linked nothing


@pytest.mark.req("GEN-1")
def test_1101_from_an_institution_needs_the_name_on_the_card(w):
    """An institution that sends the ID number without the name (or with "", as deployed clients
    send a field they leave out) is refused with 1001 naming input.data.psn_name."""
    for inp in (card(name=None), card(name="")):
        r = w["a"].send("1101", inp)
        assert (r.infcode, r.envelope["err_field"]) == (1001, "input.data.psn_name"), r.envelope


@pytest.mark.req("GEN-5")
def test_1101_reads_blank_optional_fields_as_absent(w):
    """A Java-style message with every optional field "" (card_sn, begntime, certno, …) and only the
    credential filled is read like one without them (a bureau in scope gets the person)."""
    inp = {"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": CERT_A, "card_sn": "", "begntime": "",
                    "psn_cert_type": "", "certno": "", "psn_name": ""}}
    r = w["d1"].send("1101", inp)
    assert r.ok and r.output["baseinfo"]["psn_no"] == "PA0001" and not r.envelope.get("warn_msg"), r.envelope


@pytest.mark.req("GEN-5")
@pytest.mark.parametrize(("change", "field"), [
    ({"mdtrt_cert_type": "01", "mdtrt_cert_no": "E-VOUCHER-TOKEN-1"}, "input.data.mdtrt_cert_type"),
    ({"mdtrt_cert_type": "03", "mdtrt_cert_no": "A12345678", "card_sn": "CSN1"}, "input.data.mdtrt_cert_type"),
    ({"mdtrt_cert_type": "09"}, "input.data.mdtrt_cert_type"),
    ({"mdtrt_cert_no": CERT_A[:17] + ("0" if CERT_A[17] != "0" else "1")}, "input.data.mdtrt_cert_no"),
    ({"certno": make_certno(D1, date(1970, 1, 1), 5)}, "input.data.certno"),
    ({"psn_cert_type": "08"}, "input.data.psn_cert_type"),
    ({"begntime": "2026-03-02T08:00:00"}, "input.data.begntime"),
])
def test_1101_credentials_the_registry_cannot_resolve_are_refused_naming_the_field(w, change, field):
    """E-voucher tokens (01) and social-security cards (03) are refused (the registry holds resident
    ID numbers only), as are a bad check digit, a certno other than the credential's number, another
    certificate type and a time not in the national format — each 1001 naming its field."""
    inp = card()
    inp["data"].update(change)
    r = w["a"].send("1101", inp)
    assert (r.infcode, r.envelope["err_field"]) == (1001, field), r.envelope


@pytest.mark.req("GEN-5")
def test_1101_begntime_is_not_read_and_warn_msg_says_so(w):
    """A begntime (for historical insurance records) is accepted but not read: the answer is the
    current registration and warn_msg says so; without begntime there is no such warning."""
    with_time = w["a"].send("1101", card(begntime="2025-01-01 00:00:00"))
    assert with_time.ok and "begntime is not read" in with_time.envelope["warn_msg"]
    assert not w["a"].send("1101", card()).envelope.get("warn_msg")


# --- 1201 ------------------------------------------------------------------------------------------
def query(fixmedins_type: str = "1", **more) -> dict:
    return {"medinsinfo": {"fixmedins_type": fixmedins_type, **more}}


@pytest.mark.req("GEN-1")
def test_1201_answers_the_national_shape_with_hosp_lv_and_names_local_fields(w, admin):
    """A city bureau's 1201 with a local extra field finds institution B by its code: national shape
    (code, name, uscc null — not kept —, fixmedins_type 1, hosp_lv 02 for our 3A), warn_msg names the
    extra field."""
    r = admin.send("1201", query(fixmedins_code="HB0001", fixmedins_name="", local_area_flag="X"))
    assert r.ok, r.envelope
    assert r.output == {"medinsinfo": [{"fixmedins_code": "HB0001", "fixmedins_name": "市第二人民医院", "uscc": None,
                                        "fixmedins_type": "1", "hosp_lv": "02"}]}
    assert "input.medinsinfo.local_area_flag" in r.envelope["warn_msg"]


@pytest.mark.req("GEN-1")
def test_1201_searches_by_type_and_part_of_the_name_within_the_scope(w, admin):
    """Without a code, 1201 searches: the D2 bureau finds its pharmacy (type 2, hosp_lv 11 ungraded)
    and, with type 1 and part of a name, its hospital — never D1's; "%" is a literal character, not a
    wildcard; a search that matches nothing is an empty list."""
    pharmacies = w["d2"].call("1201", query("2"))["medinsinfo"]
    assert [(m["fixmedins_code"], m["fixmedins_type"], m["hosp_lv"]) for m in pharmacies] == [("PB0001", "2", "11")]
    assert [m["fixmedins_code"] for m in w["d2"].call("1201", query("1"))["medinsinfo"]] == ["HB0001"]
    assert [m["fixmedins_code"] for m in w["d2"].call("1201", query("1", fixmedins_name="第二人民"))["medinsinfo"]] \
        == ["HB0001"]
    assert w["d2"].call("1201", query("1", fixmedins_name="%"))["medinsinfo"] == []
    assert [m["fixmedins_code"] for m in admin.call("1201", query("1"))["medinsinfo"]] == ["HA0001", "HB0001"]


@pytest.mark.req("GEN-1")
def test_1201_another_institution_is_3003_exactly_like_an_absent_one(w):
    """Institution A finds itself; B's code is 3003 naming input.medinsinfo.fixmedins_code, the same
    answer as for a code nobody has and as 8013 gives; A's search lists only A."""
    assert [m["fixmedins_code"] for m in w["a"].call("1201", query(fixmedins_code="HA0001"))["medinsinfo"]] \
        == ["HA0001"]
    outside, absent = (w["a"].send("1201", query(fixmedins_code=c)) for c in ("HB0001", "HZ9999"))
    assert outside.infcode == 3003 and outside.envelope["err_field"] == "input.medinsinfo.fixmedins_code"
    _same_refusal(outside, absent, "HB0001", "HZ9999")
    ext = w["a"].send("8013", {"fixmedins_code": "HB0001"})
    assert ext.infcode == 3003
    assert [m["fixmedins_code"] for m in w["a"].call("1201", query())["medinsinfo"]] == ["HA0001"]


@pytest.mark.req("GEN-1")
def test_1201_a_code_of_another_type_is_not_found(w, admin):
    """A lookup of the pharmacy's code with fixmedins_type 1 (medical institution) is 3003: no
    institution of that type has the code."""
    r = admin.send("1201", query("1", fixmedins_code="PB0001"))
    assert (r.infcode, r.envelope["err_field"]) == (3003, "input.medinsinfo.fixmedins_code")


def test_every_institution_type_and_level_has_its_national_code():
    """Every institution_type maps to exactly one fixmedins_type and every institution_level to a
    hosp_lv (or null for level 1, which keeps no grade); the codes are in the national tables."""
    ours = {c.code for c in table("institution_type").codes}
    mapped = [t for types in NATIONAL_TYPES.values() for t in types]
    assert sorted(mapped) == sorted(ours)
    assert set(NATIONAL_TYPES) == {c.code for c in table("fixmedins_type").codes}
    assert set(HOSP_LV) == {c.code for c in table("institution_level").codes}
    assert {v for v in HOSP_LV.values() if v} <= {c.code for c in table("hosp_lv").codes}


# --- the spec page's examples ------------------------------------------------------------------------
PAGE = Path(__file__).resolve().parents[3] / "docs" / "interface" / "national-basic.md"


def _examples() -> list:
    return [json.loads(block) for block in re.findall(r"```json\n(.*?)```", PAGE.read_text(encoding="utf-8"), re.S)]


@pytest.mark.req("GEN-5")
def test_the_pages_examples_are_what_the_server_answers(w, admin):
    """The 1101 and 1201 examples on docs/interface/national-basic.md are real: each input, sent to
    the reference server (1101 as institution B reading the card, 1201 as the city bureau), gets
    exactly the output the page shows."""
    person_in, person_out, inst_in, inst_out = _examples()
    assert w["b"].call("1101", person_in) == person_out
    assert admin.call("1201", inst_in) == inst_out


@pytest.mark.req("GEN-2")
def test_the_typed_drivers_send_1101_and_1201_and_parse_the_national_answers(w):
    """device_mocks' registry driver has a typed method for each (`person_info`, `institution_info`):
    the answers come back as the national output models."""
    person = w["b"].registry.person_info(data={"mdtrt_cert_type": "02", "mdtrt_cert_no": CERT_A, "psn_name": "张三"})
    assert (person.baseinfo.psn_no, person.insuinfo[0].insuplc_admdvs, person.idetinfo) == ("PA0001", D1, [])
    found = w["b"].registry.institution_info(medinsinfo={"fixmedins_type": "1"})
    assert [(m.fixmedins_code, m.hosp_lv) for m in found.medinsinfo] == [("HB0001", "02")]
