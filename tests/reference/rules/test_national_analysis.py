"""National-shape analysis: 3101 pre-event and 3102 in-event analysis answer `output.result[]` in
the national shape from the same rule library and decisions as 8711 / 8712 (replayed by 8722),
and 3103 records the institution's answer to each violation, counted per rule by 8721."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from rule_support import RuleEnv, Site

from device_mocks.results import TxError

RESULT_FIELDS = {"jr_id", "rule_id", "rule_name", "vola_cont", "patn_id", "mdtrt_id", "judge_result_detail_dtos",
                 "vola_amt", "vola_amt_stas", "sev_deg", "vola_evid", "vola_bhvr_type", "task_id"}
DETAIL_FIELDS = {"jrd_id", "patn_id", "mdtrt_id", "rx_id", "vola_item_type", "vola_amt"}


def message(psn_no: str, amount: float, *, mdtrt_id: str = "MZ0001", med_mdtrt_type: str = "3",
            extras: bool = False, task_id: str = "TASK-1", **data) -> dict:
    """A 3101/3102 input.data as a deployed HIS adapter sends it (with local fields when `extras`)."""
    order = {"rx_id": f"RX-{mdtrt_id}-1", "rxno": "CF01", "hilist_code": "XA01AA01", "hilist_name": "阿莫西林胶囊",
             "cnt": 2, "pric": round(amount / 2, 2), "sumamt": amount, "curr_drord_flag": "1",
             "drord_begn_date": "2026-03-02 08:00:00", "spec": "0.25g×24粒/盒", "spec_unt": "盒"}
    encounter = {"mdtrt_id": mdtrt_id, "medins_name": "规则测试", "med_mdtrt_type": med_mdtrt_type, "med_type": "41",
                 "medfee_sumamt": amount, "acct_payamt": "", "wardarea_codg": "", "adm_date": "2026-03-02 08:00:00",
                 "fsi_diagnose_dtos": [{"dise_id": "D1", "dise_codg": "J06.9", "dise_name": "上呼吸道感染",
                                        "maindise_flag": "1", "dise_date": "2026-03-02"}],
                 "fsi_order_dtos": [order], "fsi_operation_dtos": []}
    patient = {"patn_id": psn_no, "patn_name": "规则", "gend": "1", "brdy": "1950-01-01", "poolarea": "410100",
               "curr_mdtrt_id": mdtrt_id, "fsi_his_data_dto": "", "fsi_encounter_dtos": [encounter]}
    if extras:
        order["local_batch_no"] = "B-77"
        encounter["his_ward_code"] = "W-3"
        patient["vendor_trace"] = "t-1"
    return {"data": {"syscode": "HIS01", "rule_ids": [], "task_id": task_id, "trig_scen": "7",
                     "patient_dtos": [patient], **data}}


def _answer(site: Site, warn_type: str, *warns: dict) -> dict:
    return site.inst.call("3103", {"data": {"warn_type": warn_type, "warns": list(warns)}})


@pytest.mark.req("RULE-3", "RULE-4", "RULE-8")
def test_pre_event_analysis_answers_the_national_shape_and_names_local_fields_in_warn_msg(env: RuleEnv):
    site = env.pharmacy
    psn = env.person(site)
    env_ = site.inst.envelope("3101", message(psn, 1500.0, extras=True))
    env_["local_hospital_flag"] = "x"  # a local top-level field of the envelope
    res = site.inst.send_envelope(env_)
    assert res.ok, res.envelope
    result = res.output["result"]
    assert [r["rule_id"] for r in result] == ["PH-FACE-OVER-AMOUNT"]
    r = result[0]
    assert set(r) == RESULT_FIELDS
    assert (r["patn_id"], r["mdtrt_id"], r["task_id"], r["sev_deg"], r["vola_bhvr_type"]) == \
        (psn, "MZ0001", "TASK-1", "1", "1")
    assert r["vola_amt"] == 1500.0 and r["vola_amt_stas"] == "1" and r["rule_name"] == "大额购药须人脸识别"
    assert "Zhengzhou 2023 art. 28" in r["vola_evid"] and "1500.00 yuan" in r["vola_cont"]
    assert r["jr_id"].startswith("JR")
    [detail] = r["judge_result_detail_dtos"]
    assert set(detail) == DETAIL_FIELDS
    assert (detail["rx_id"], detail["vola_item_type"], detail["vola_amt"]) == ("RX-MZ0001-1", "2", 1500.0)
    warn = res.envelope["warn_msg"]
    for path in ("local_hospital_flag", "input.data.patient_dtos.0.vendor_trace",
                 "input.data.patient_dtos.0.fsi_encounter_dtos.0.his_ward_code",
                 "input.data.patient_dtos.0.fsi_encounter_dtos.0.fsi_order_dtos.0.local_batch_no"):
        assert path in warn, warn
    assert "B-77" not in str(res.envelope)  # an unknown field's value is never echoed
    # The same decision as 8711 would make, recorded and replayed by 8722.
    decision_id = int(r["jr_id"][2:])
    explained = env.bureau.call("8722", {"decision_id": decision_id})
    assert explained["rule_id"] == "PH-FACE-OVER-AMOUNT" and explained["recorded_outcome"] == "remind"
    assert explained["matches"] is True
    # The institution continues with a reason; the answer is recorded.
    out = _answer(site, "1", {"warn_rslt_id": r["jr_id"], "dspo_way": "1", "dspo_way_rea": "患者已当面核验身份",
                              "local_note": "n"})
    assert out["warns"] == [{"warn_rslt_id": r["jr_id"], "rule_id": "PH-FACE-OVER-AMOUNT", "dspo_way": "1",
                             "replaced": False}]


@pytest.mark.req("RULE-3", "RULE-8")
def test_pre_event_analysis_below_the_threshold_or_after_a_face_check_is_empty(env: RuleEnv):
    site = env.pharmacy
    psn = env.person(site)
    assert site.inst.call("3101", message(psn, 1000.0))["result"] == []  # exactly the threshold needs none
    env.verify(site, psn, "pharmacy")
    assert site.inst.call("3101", message(psn, 1500.0, mdtrt_id="MZ0002"))["result"] == []


@pytest.mark.req("RULE-3", "RULE-8")
def test_in_event_analysis_judges_the_in_event_stage_and_stores_no_settlement(env: RuleEnv):
    site = env.pharmacy
    psn = env.person(site)
    [r] = site.inst.call("3102", message(psn, 1500.0))["result"]
    assert (r["rule_id"], r["sev_deg"]) == ("PH-FACE-OVER-AMOUNT", "1")
    explained = env.bureau.call("8722", {"decision_id": int(r["jr_id"][2:])})
    assert explained["recorded_outcome"] == "refuse" and explained["matches"]
    # The same encounter analysed again answers again (no settlement was stored to conflict with).
    [again] = site.inst.call("3102", message(psn, 1500.0))["result"]
    assert again["jr_id"] != r["jr_id"]
    # A pre-event answer (warn_type 1) to an in-event violation is refused.
    with pytest.raises(TxError) as e:
        _answer(site, "1", {"warn_rslt_id": r["jr_id"], "dspo_way": "2"})
    assert (e.value.infcode, e.value.err_field) == (1001, "input.data.warn_type")


@pytest.mark.req("RULE-8")
def test_suspected_deceased_person_is_highly_suspicious_in_event_and_a_lead(env: RuleEnv):
    site = env.hospital
    psn = env.person(site, flags=("suspected_deceased",))
    mark = env.last_lead()
    [r] = site.inst.call("3102", message(psn, 30.0, med_mdtrt_type="1"))["result"]
    assert (r["rule_id"], r["sev_deg"], r["vola_bhvr_type"]) == ("BD-SUSPECTED-DEATH-CARE", "2", "3")
    site.inst.call("3102", message(psn, 30.0, med_mdtrt_type="1"))
    new = [x for x in env.bureau.call("8811", {"limit": 1000})["leads"] if x["lead_id"] > mark]
    assert [(x["rule_id"], x["subject_type"], x["subject_id"]) for x in new] == \
        [("BD-SUSPECTED-DEATH-CARE", "encounter", f"{site.code}/MZ0001")]  # analysed twice, one lead


@pytest.mark.req("RULE-4")
def test_rule_ids_limit_the_analysis_and_an_unknown_rule_is_refused(env: RuleEnv):
    site = env.pharmacy
    psn = env.person(site)
    assert site.inst.call("3101", message(psn, 1500.0, rule_ids=["HD-MONTHLY-CAP"]))["result"] == []
    with pytest.raises(TxError) as e:
        site.inst.call("3101", message(psn, 1500.0, rule_ids=["PH-NO-SUCH-RULE"]))
    assert (e.value.infcode, e.value.err_field) == (1001, "input.data.rule_ids.0")
    with pytest.raises(TxError) as e:  # a post-event rule judges no pre-event stage
        site.inst.call("3101", message(psn, 1500.0, rule_ids=["GEN-FAULT-LATE-REPORT"]))
    assert e.value.err_field == "input.data.rule_ids.0"


@pytest.mark.req("RULE-3")
def test_analysis_refuses_what_it_cannot_judge(env: RuleEnv):
    site = env.pharmacy
    psn = env.person(site)
    bad_time = message(psn, 10.0)
    bad_time["data"]["patient_dtos"][0]["fsi_encounter_dtos"][0]["adm_date"] = "2026-03-02T08:00:00"
    other = message(psn, 10.0)
    other["data"]["patient_dtos"][0]["fsi_encounter_dtos"][0]["medins_id"] = "H00000000000"
    current = message(psn, 10.0)
    current["data"]["patient_dtos"][0]["curr_mdtrt_id"] = "MZ9999"
    text_amount = message(psn, 10.0)
    text_amount["data"]["patient_dtos"][0]["fsi_encounter_dtos"][0]["fsi_order_dtos"][0]["sumamt"] = "10.00"
    enc = "input.data.patient_dtos.0.fsi_encounter_dtos.0"
    for inp, field in ((bad_time, f"{enc}.adm_date"), (other, f"{enc}.medins_id"),
                       (current, "input.data.patient_dtos.0.curr_mdtrt_id"),
                       (text_amount, f"{enc}.fsi_order_dtos.0.sumamt")):
        with pytest.raises(TxError) as e:
            site.inst.call("3101", inp)
        assert (e.value.infcode, e.value.err_field) == (1001, field), e.value
    stranger = message("RP99999", 10.0)
    with pytest.raises(TxError) as e:
        site.inst.call("3101", stranger)
    assert (e.value.infcode, e.value.err_field) == (3003, "input.data.patient_dtos.0.patn_id")


@pytest.mark.req("RULE-3", "RULE-6")
def test_feedback_validation(env: RuleEnv):
    site = env.pharmacy
    psn = env.person(site)
    [r] = site.inst.call("3101", message(psn, 1500.0))["result"]
    for warn, field, code in (
        ({"warn_rslt_id": r["jr_id"], "dspo_way": "1"}, "input.data.warns.0.dspo_way_rea", 1001),
        ({"warn_rslt_id": r["jr_id"], "dspo_way": "1", "dspo_way_rea": ""}, "input.data.warns.0.dspo_way_rea", 1001),
        ({"warn_rslt_id": r["jr_id"], "dspo_way": "3"}, "input.data.warns.0.dspo_way", 1001),
        ({"warn_rslt_id": "JR0999999999", "dspo_way": "2"}, "input.data.warns.0.warn_rslt_id", 3003),
    ):
        with pytest.raises(TxError) as e:
            _answer(site, "1", warn)
        assert (e.value.infcode, e.value.err_field) == (code, field), (warn, e.value)
    with pytest.raises(TxError) as e:
        _answer(site, "1", {"warn_rslt_id": r["jr_id"], "dspo_way": "2"}, {"warn_rslt_id": r["jr_id"], "dspo_way": "2"})
    assert e.value.err_field == "input.data.warns.1.warn_rslt_id"
    # Another institution's violation is answered like an absent one.
    other = env.add_site("retail_pharmacy", "ungraded")
    with pytest.raises(TxError) as e:
        _answer(other, "1", {"warn_rslt_id": r["jr_id"], "dspo_way": "2"})
    assert (e.value.infcode, e.value.err_field) == (3003, "input.data.warns.0.warn_rslt_id")


@pytest.mark.req("RULE-6")
def test_rule_statistics_count_continued_and_changed_answers_once_each(env: RuleEnv):
    site = env.pharmacy
    jrs = []
    for n in range(3):
        psn = env.person(site)
        [r] = site.inst.call("3101", message(psn, 1500.0, mdtrt_id=f"MZ1{n}"))["result"]
        jrs.append(r["jr_id"])
    _answer(site, "1", {"warn_rslt_id": jrs[0], "dspo_way": "1", "dspo_way_rea": "已人工核验"},
            {"warn_rslt_id": jrs[1], "dspo_way": "2"})
    # A retry of the same message (same msgid) and a later answer that changes its mind count once.
    msg = {"data": {"warn_type": "1", "warns": [{"warn_rslt_id": jrs[2], "dspo_way": "2"}]}}
    first = site.inst.send("3103", msg, msgid="H-RETRY-0001")
    retry = site.inst.send("3103", msg, msgid="H-RETRY-0001")
    assert first.ok and retry.output == first.output, (first.envelope, retry.envelope)
    again = _answer(site, "1", {"warn_rslt_id": jrs[2], "dspo_way": "1", "dspo_way_rea": "复核后继续"})
    assert again["warns"][0]["replaced"] is True
    day = env.now().date()
    stats = env.bureau.call("8721", {"start": day.isoformat(), "end": day.isoformat()})
    row = next(r for r in stats["rules"] if r["rule_id"] == "PH-FACE-OVER-AMOUNT")
    assert (row["continued_despite_warning"], row["changed_after_warning"]) == (2, 1)
    assert next(r for r in stats["rules"] if r["rule_id"] == "HD-MONTHLY-CAP")["continued_despite_warning"] == 0


@pytest.mark.req("RULE-3", "RULE-9")
def test_every_settlement_stage_rule_has_a_behaviour_class(env: RuleEnv):
    from reference.services.analysis import BEHAVIOUR_CLASS

    rules = env.bureau.call("8701", {})["rules"]
    judged = {r["id"] for r in rules if {"pre_event", "in_event"} & set(r["stages"])}
    assert judged == set(BEHAVIOUR_CLASS)


PAGE = Path(__file__).resolve().parents[3] / "docs" / "interface" / "national-analysis.md"


@pytest.mark.req("RULE-3", "RULE-4")
def test_the_pages_examples_are_what_the_server_answers(env: RuleEnv):
    """docs/interface/national-analysis.md: its 3101 input, sent for one of the test's persons at
    a pharmacy, answers its output (ids aside), and its 3103 answer to that violation is accepted."""
    blocks = [json.loads(b) for b in re.findall(r"```json\n(.*?)```", PAGE.read_text(encoding="utf-8"), re.S)]
    inp, expected, answer = blocks[:3]
    site = env.pharmacy
    psn = env.person(site)
    page_psn = inp["data"]["patient_dtos"][0]["patn_id"]
    inp["data"]["patient_dtos"][0]["patn_id"] = psn
    inp["data"]["patient_dtos"][0]["fsi_encounter_dtos"][0]["medins_id"] = site.code
    out = site.inst.call("3101", inp)
    [r] = out["result"]
    page_jr = expected["result"][0]["jr_id"]
    shown = json.loads(json.dumps(out, ensure_ascii=False).replace(r["jr_id"], page_jr).replace(psn, page_psn))
    assert shown == expected
    answer["data"]["warns"][0]["warn_rslt_id"] = r["jr_id"]
    assert site.inst.call("3103", answer)["warns"][0]["dspo_way"] == "1"


@pytest.mark.req("RULE-3", "HD-11")
def test_a_dialysis_order_is_judged_by_the_dialysis_rules_with_the_months_stored_settlements(env: RuleEnv):
    """An encounter whose order is a dialysis treatment (knowledge base) is judged by the
    hemodialysis rules: the month's accepted settlements (8712) plus this one over the 7,000-yuan
    cap is HD-MONTHLY-CAP (sev_deg 1: it refuses in-event, vola_bhvr_type 2 over a cap); the
    same analysis with the month below the cap is empty."""
    site = env.dialysis
    psn = env.person(site)
    env.verify(site, psn, "hemodialysis")
    assert env.settle(site, psn, 6000.0, scene="hemodialysis", stages=("in_event",)).result == "accepted"
    inp = message(psn, 500.0, med_mdtrt_type="1")
    order = inp["data"]["patient_dtos"][0]["fsi_encounter_dtos"][0]["fsi_order_dtos"][0]
    order.update(hilist_code="311000010", hilist_name="血液透析")
    assert site.inst.call("3101", inp)["result"] == []
    inp["data"]["patient_dtos"][0]["fsi_encounter_dtos"][0]["medfee_sumamt"] = 1500.0
    [r] = site.inst.call("3101", inp)["result"]
    assert (r["rule_id"], r["sev_deg"], r["vola_bhvr_type"], r["vola_amt"]) == ("HD-MONTHLY-CAP", "1", "2", 500.0)


@pytest.mark.parametrize(("encounter", "trig_scen", "inst_type", "categories", "scene"), [
    ({"med_mdtrt_type": "2"}, None, "tertiary_hospital", [], "inpatient"),
    ({"med_mdtrt_type": "1"}, "5", "tertiary_hospital", [], "inpatient"),
    ({"med_mdtrt_type": "3"}, "7", "tertiary_hospital", [], "pharmacy"),
    ({}, None, "retail_pharmacy", [], "pharmacy"),
    ({"med_mdtrt_type": "1"}, "6", "secondary_hospital", ["dialysis"], "hemodialysis"),
    ({"med_mdtrt_type": "1"}, "6", "secondary_hospital", ["western_drug"], "any"),
])
@pytest.mark.req("RULE-3")
def test_the_scene_of_an_encounter(encounter, trig_scen, inst_type, categories, scene):
    from reference.services.analysis import scene_of

    assert scene_of(encounter, trig_scen, inst_type, categories) == scene
