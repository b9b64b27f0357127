"""The scope leaks found by probing every transaction as 19 kinds of account (issue 11), each
reproduced: impersonation by re-enrolment elsewhere, erasure and flags across districts, the
city-wide access log, district-scoped analysis, disclosing refusals, city-wide persons."""

from __future__ import annotations

import numpy as np
import pytest

from device_mocks.client import Client
from reference.idcard import make_certno
from tests.conftest import BASE
from tests.reference.scenes.inpatient_support import capture

SINCE = "2026-01-01"


def _district(admin, code: str) -> None:
    r = admin.send("8011", {"code": code, "name": f"区{code}"})
    assert r.ok or r.infcode == 3002


def _hospital(admin, http, code: str, district: str) -> tuple[Client, Client]:
    out = admin.call("8012", {"fixmedins_code": code, "fixmedins_name": f"医院{code}",
                              "inst_type": "secondary_hospital", "level": "2A", "district_code": district})
    inst = Client(BASE, sender=code, secret=out["secret"], fixmedins_code=code, http=http)
    for scene in ("inpatient", "pharmacy"):
        admin.call("8014", {"fixmedins_code": code, "scene": scene, "enabled": True, "since": SINCE})
    t = inst.call("8101", {"terminal_id": f"T{code}", "model": "SM-3", "serial_no": f"S{code}", "cert_class": "III",
                           "certification_id": f"C{code}"})
    admin.call("8102", {"terminal_id": f"T{code}", "approve": True})
    return inst, Client(BASE, sender=f"T{code}", secret=t["secret"], fixmedins_code=code, http=http, opter_type="2")


def _user(admin, http, uid: str, role: str, district: str | None) -> Client:
    inp = {"id": uid, "role": role, "display_name": uid}
    if district:
        inp["district_code"] = district
    return Client(BASE, sender=uid, secret=admin.call("8015", inp)["secret"], http=http)


@pytest.fixture
def two_districts(admin, http):
    _district(admin, "410102")
    _district(admin, "410105")
    a, ta = _hospital(admin, http, "HA0001", "410102")
    b, tb = _hospital(admin, http, "HB0001", "410105")
    pa = "PA0001"
    a.call("8001", {"psn_no": pa, "certno": make_certno("410102", np.datetime64("1960-05-01").item(), 11),
                    "psn_name": "甲", "insuplc_admdvs": "410102"})
    return {"a": a, "ta": ta, "b": b, "tb": tb, "pa": pa}


@pytest.mark.req("GEN-1", "GEN-5", "INP-1")
def test_another_institution_cannot_replace_a_patients_template(two_districts, admin):
    """Finding 1: a terminal elsewhere re-enrolled a patient enrolled by another hospital (replaced:
    true); then the real patient failed and the impostor passed. Now: a person the terminal's
    institution has no link to does not exist for it; once linked (ID-card read), re-enrolment is
    refused with 3002 and the genuine patient still passes at the hospital that enrolled them."""
    w, rng = two_districts, np.random.default_rng(1)
    pa = w["pa"]
    assert w["ta"].call("8121", {"psn_no": pa, "capture": capture(pa, rng)})["replaced"] is False
    attack = w["tb"].send("8121", {"psn_no": pa, "capture": capture("impostor", rng)})
    absent = w["tb"].send("8121", {"psn_no": "PNOSUCH", "capture": capture("impostor", rng)})
    assert (attack.infcode, attack.envelope["err_field"]) == (absent.infcode, absent.envelope["err_field"]) == (
        3003, "input.psn_no")
    person = admin.call("8002", {"psn_no": pa})
    w["b"].call("8002", {"certno": person["certno"], "psn_name": person["psn_name"]})  # B reads the ID card
    again = w["tb"].send("8121", {"psn_no": pa, "capture": capture("impostor", rng)})
    assert again.infcode == 3002 and again.envelope["err_field"] == "input.psn_no"
    assert "HA0001" not in again.envelope["err_msg"]
    assert w["ta"].call("8122", {"psn_no": pa, "scene": "inpatient", "capture": capture(pa, rng)})["passed"]
    assert not w["tb"].call("8122", {"psn_no": pa, "scene": "inpatient", "capture": capture("impostor", rng)})[
        "passed"]


@pytest.mark.req("GEN-1", "GEN-5", "INP-1")
def test_admission_capture_of_a_known_patient_verifies_instead_of_replacing(two_districts, admin):
    """The inpatient capture (8202) of a patient who already has a template verifies against it:
    a genuine capture records the enrolment, an impostor's records nothing and leaves the template."""
    w, rng = two_districts, np.random.default_rng(2)
    pa = w["pa"]
    w["ta"].call("8121", {"psn_no": pa, "capture": capture(pa, rng)})
    certno = admin.call("8002", {"psn_no": pa})["certno"]
    adm = {"psn_no": pa, "adm_time": "2026-03-02T08:00:00", "dept_code": "NK", "dept_name": "内科",
           "bed_no": "1", "dept_equipped": True,
           "consent": {"face_recognition": True, "video_monitoring": True, "signed_at": "2026-03-02T08:00:00"}}
    w["b"].call("8201", {"mdtrt_id": "MB1", **adm})
    fake = w["tb"].call("8202", {"mdtrt_id": "MB1", "certno": certno, "capture": capture("impostor", rng)})
    assert fake["mode"] == "verified" and fake["captured"] is False and fake["verification"]["passed"] is False
    assert fake["visit"]["enrolled_at"] is None
    real = w["tb"].call("8202", {"mdtrt_id": "MB1", "certno": certno, "capture": capture(pa, rng)})
    assert real["mode"] == "verified" and real["captured"] is True and real["visit"]["enrolled_at"]
    assert w["ta"].call("8122", {"psn_no": pa, "scene": "inpatient", "capture": capture(pa, rng)})["passed"]


@pytest.mark.req("GEN-1", "GEN-5")
def test_district_bureau_cannot_erase_or_flag_outside_its_district(two_districts, admin, http):
    """Findings 2 and 3: a district bureau erased a template enrolled in another district and
    flagged (8003) persons insured elsewhere. Now both look like a person that does not exist, and
    nothing changes."""
    w, rng = two_districts, np.random.default_rng(3)
    pa = w["pa"]
    w["ta"].call("8121", {"psn_no": pa, "capture": capture(pa, rng)})
    other = _user(admin, http, "db-410105", "district_bureau", "410105")
    for infno, inp in (("8123", {"psn_no": pa}), ("8003", {"psn_no": pa, "add": ["suspected_deceased"]})):
        r, absent = other.send(infno, inp), other.send(infno, {**inp, "psn_no": "PNOSUCH"})
        assert r.infcode == absent.infcode == 3003, (infno, r.envelope)
        assert r.envelope["err_msg"].replace(pa, "<p>") == absent.envelope["err_msg"].replace("PNOSUCH", "<p>")
    assert admin.call("8002", {"psn_no": pa})["flags"] == []
    assert w["ta"].call("8122", {"psn_no": pa, "scene": "inpatient", "capture": capture(pa, rng)})["passed"]
    own = _user(admin, http, "db-410102", "district_bureau", "410102")
    assert own.call("8003", {"psn_no": pa, "add": ["past_violator"]})["flags"] == ["past_violator"]
    assert own.call("8123", {"psn_no": pa})["deleted"] == 1


@pytest.mark.req("GEN-5")
def test_district_audit_reads_its_districts_access_log_only(two_districts, admin, http):
    """Finding 4: a district audit account read the whole city's access log (8902)."""
    w = two_districts
    w["a"].call("8002", {"psn_no": w["pa"]})
    pb = "PB0001"
    w["b"].call("8001", {"psn_no": pb, "certno": make_certno("410105", np.datetime64("1970-01-02").item(), 5),
                         "psn_name": "乙", "insuplc_admdvs": "410105"})
    w["b"].call("8002", {"psn_no": pb})
    audit = _user(admin, http, "au-410102", "audit_centre", "410102")
    entries = audit.call("8902", {})["entries"]
    assert entries and {e["principal_id"] for e in entries} == {"HA0001"}
    assert audit.call("8902", {"psn_no": pb})["entries"] == []
    city = _user(admin, http, "au-city", "audit_centre", None)
    assert {"HA0001", "HB0001"} <= {e["principal_id"] for e in city.call("8902", {})["entries"]}


@pytest.mark.req("GEN-1", "RULE-3", "RULE-6")
def test_district_agency_analyses_its_district_only(two_districts, admin, http):
    """Finding 5: a district agency's post-event run (8801) created a lead in another district,
    and district-scoped 8721/8705 counted the city."""
    w = two_districts
    for inst, psn in ((w["a"], w["pa"]), (w["b"], "PB0002")):
        if psn == "PB0002":
            inst.call("8001", {"psn_no": psn, "certno": make_certno("410105", np.datetime64("1971-01-02").item(), 7),
                               "psn_name": "丙", "insuplc_admdvs": "410105"})
        inst.call("8104", {"terminal_id": f"T{inst.sender}", "device_kind": "camera", "description": "坏了",
                           "occurred_at": "2026-02-25T08:00:00"})  # reported 5 days late
    agency = _user(admin, http, "ag-410102", "agency", "410102")
    out = agency.call("8801", {"start": "2026-03-01", "end": "2026-03-02"})
    leads = admin.call("8811", {"rule_id": "GEN-FAULT-LATE-REPORT"})["leads"]
    assert out["by_rule"].get("GEN-FAULT-LATE-REPORT") == 1
    assert [lead["fixmedins_code"] for lead in leads] == ["HA0001"]
    stats = {r["rule_id"]: r for r in agency.call("8721", {"start": "2026-03-01", "end": "2026-03-03"})["rules"]}
    assert stats["GEN-FAULT-LATE-REPORT"]["leads"] == 1
    admin.call("8801", {"start": "2026-03-01", "end": "2026-03-02"})
    city = {r["rule_id"]: r for r in admin.call("8721", {"start": "2026-03-01", "end": "2026-03-03"})["rules"]}
    assert city["GEN-FAULT-LATE-REPORT"]["leads"] == 2
    stats = {r["rule_id"]: r for r in agency.call("8721", {"start": "2026-03-01", "end": "2026-03-03"})["rules"]}
    assert stats["GEN-FAULT-LATE-REPORT"]["leads"] == 1


@pytest.mark.req("GEN-1")
def test_refusals_do_not_name_another_institutions_visit(two_districts):
    """Finding 6: 3001 named another hospital's visit id when the patient was in hospital there."""
    w = two_districts
    adm = {"psn_no": w["pa"], "adm_time": "2026-03-02T08:00:00", "dept_code": "NK", "dept_name": "内科",
           "bed_no": "1", "dept_equipped": True,
           "consent": {"face_recognition": True, "video_monitoring": True, "signed_at": "2026-03-02T08:00:00"}}
    w["a"].call("8201", {"mdtrt_id": "SECRET-VISIT-1", **adm})
    r = w["b"].send("8201", {"mdtrt_id": "MB2", **adm})
    assert r.infcode == 3002 and "SECRET-VISIT-1" not in r.envelope["err_msg"] and "HA0001" not in r.envelope[
        "err_msg"]
    own = w["a"].send("8201", {"mdtrt_id": "MA2", **adm})
    assert own.infcode == 3002 and "SECRET-VISIT-1" in own.envelope["err_msg"]


@pytest.mark.req("GEN-1", "GEN-5")
def test_persons_are_visible_only_to_linked_institutions(two_districts, admin):
    """Finding 7: any institution read any person (8002) and any terminal verified anyone (2002).
    Now an institution sees a person it registered, admitted, settled for, enrolled, or whose ID
    card it read (certno with the name on the card)."""
    w, rng = two_districts, np.random.default_rng(4)
    pa = w["pa"]
    w["ta"].call("8121", {"psn_no": pa, "capture": capture(pa, rng)})
    assert w["a"].call("8002", {"psn_no": pa})["psn_no"] == pa
    for r in (w["b"].send("8002", {"psn_no": pa}),
              w["tb"].send("8122", {"psn_no": pa, "scene": "inpatient", "capture": capture(pa, rng)})):
        assert r.infcode == 3003 and r.envelope["err_field"] == "input.psn_no", r.envelope
    person = admin.call("8002", {"psn_no": pa})
    wrong = w["b"].send("8002", {"certno": person["certno"], "psn_name": "别人"})
    assert wrong.infcode == 3003
    assert w["b"].send("8002", {"psn_no": pa}).infcode == 3003
    assert w["b"].send("8002", {"certno": person["certno"]}).envelope["err_field"] == "input.psn_name"
    read = w["b"].call("8002", {"certno": person["certno"], "psn_name": person["psn_name"]})
    assert read["psn_no"] == pa
    assert w["b"].call("8002", {"psn_no": pa})["psn_no"] == pa  # linked by the card read
    assert w["tb"].call("8122", {"psn_no": pa, "scene": "inpatient", "capture": capture(pa, rng)})["passed"]
