"""Special registration (特殊登记) for any scene: 8602 names its subject by a type a scene registers
(reference.services.special_registration), and the reasons and material per scene are data
(interface_spec/special_registration/workflow.yaml), validated with every problem at once."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from inpatient_support import make_ward

from reference.scenes.special_registration import SubmitIn
from reference.services import special_registration as sr


@pytest.fixture
def ward(world, admin):
    return make_ward(world, admin)


def _registrations(store) -> int:
    return store.db().scalar("SELECT count(*) FROM special_registrations")


@pytest.mark.req("INP-6", "GEN-2")
@pytest.mark.parametrize(("subject", "field"), [
    ({"dialysis_session": {"session_id": "S1"}}, "input.subject.dialysis_session"),
    ({}, "input.subject"),
    ({"patient_day": {"mdtrt_id": "M1", "day": "2026-03-02"},
      "bed_check_item": {"mdtrt_id": "M1", "task_id": 1}}, "input.subject"),
    ({"patient_day": {"mdtrt_id": "M1"}}, "input.subject.patient_day.day"),
], ids=["unknown-type", "none", "two", "incomplete"])
def test_a_subject_that_is_not_exactly_one_registered_type_is_refused_with_1001(ward, app, subject, field):
    before = _registrations(app.state.scenemon.store)
    res = ward.inst.send("8602", {"subject": subject, "reason": "under_treatment", "explanation": "患者在做检查",
                                  "attachment_ids": [ward.attach("treatment_record")]})
    assert res.infcode == 1001 and res.envelope["err_field"] == field, res.envelope
    assert _registrations(app.state.scenemon.store) == before


@pytest.mark.req("INP-3", "INP-6")
def test_a_resolver_refusal_names_the_subjects_own_field(ward):
    ward.set_clock("2026-03-02T09:00:00")
    mdtrt, _ = ward.admit()
    absent = ward.register("NO-SUCH-VISIT", day="2026-03-02")
    assert absent.infcode == 3003 and absent.envelope["err_field"] == "input.subject.patient_day.mdtrt_id"
    future = ward.register(mdtrt, day="2026-03-05")
    assert future.infcode == 1001 and future.envelope["err_field"] == "input.subject.patient_day.day"
    task = ward.register(mdtrt, task_id=999)
    assert task.infcode == 3003 and task.envelope["err_field"] == "input.subject.bed_check_item.task_id"
    assert ward.register(mdtrt, day="2026-03-02").ok
    twice = ward.register(mdtrt, day="2026-03-02", reason="transfer", att_type="transfer_voucher")
    assert twice.infcode == 3002 and twice.envelope["err_field"] == "input.subject.patient_day", twice.envelope


@pytest.mark.req("GEN-1", "INP-6")
def test_a_subject_of_a_scene_not_monitored_is_refused(ward, admin):
    ward.set_clock("2026-03-02T09:00:00")
    mdtrt, _ = ward.admit()
    admin.call("8014", {"fixmedins_code": ward.code, "scene": "inpatient", "enabled": False, "since": "2026-01-01"})
    res = ward.register(mdtrt, day="2026-03-02")
    assert res.infcode == 3004 and res.envelope["err_field"] == "input.subject"


@pytest.mark.req("INP-6", "GEN-2")
def test_the_submission_model_offers_every_registered_subject_type_typed():
    schema = SubmitIn.model_json_schema()
    subject = schema["$defs"]["SubjectIn"]
    assert set(subject["properties"]) == set(sr.subject_types()) == {"patient_day", "bed_check_item"}
    assert (subject["minProperties"], subject["maxProperties"], subject["additionalProperties"]) == (1, 1, False)
    assert schema["$defs"]["PatientDayRef"]["required"] == ["mdtrt_id", "day"]


@pytest.mark.req("INP-6")
def test_the_shipped_workflow_matches_the_code_tables_subjects_and_rules():
    wf = sr.load_workflow()
    inpatient = wf.scenes["inpatient"]
    assert inpatient.reasons["transfer"] == ("transfer_voucher",)
    assert set(inpatient.reasons) == {"transfer", "under_treatment", "face_unrecognisable", "on_leave"}
    assert inpatient.subjects == ("patient_day", "bed_check_item")


@pytest.mark.req("INP-6", "RULE-9")
def test_workflow_problems_are_reported_all_at_once(tmp_path: Path):
    raw = yaml.safe_load(sr.WORKFLOW_FILE.read_text(encoding="utf-8"))
    scene = raw["scenes"]["inpatient"]
    scene["subjects"] = ["patient_day", "session"]                    # one unknown, one missing
    scene["deadline_rule"] = "INP-NO-SUCH-RULE"
    scene["reasons"]["stolen_card"] = {"requires": ["police_report"]}  # reason, type, source
    raw["scenes"]["teleport"] = {"subjects": [], "reasons": {}}         # scene, reasons, deadline rule
    raw["states"] = ["submitted", "approved"]
    raw["transitions"].append({"from": "approved", "to": "rejected", "roles": ["janitor"]})
    path = tmp_path / "workflow.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ValueError) as exc:
        sr.load_workflow(path)
    text = str(exc.value)
    for expected in (
        "scenes.inpatient.subjects: session is not a subject type the inpatient code registers",
        "scenes.inpatient.subjects: the inpatient code registers subject type bed_check_item; list it",
        "scenes.inpatient.deadline_rule: no rule INP-NO-SUCH-RULE in the rule library",
        "scenes.inpatient.reasons.stolen_card: not in code table special_registration_reason",
        "scenes.inpatient.reasons.stolen_card.requires: needs attachment types from code table attachment_type",
        "scenes.inpatient.reasons.stolen_card.source:",
        "scenes.teleport: not in code table scene",
        "scenes.teleport.reasons: the scene accepts no reason",
        "scenes.teleport.deadline_rule: name the rule",
        "states: must be exactly the codes of special_registration_status",
        "transitions[5].roles: roles must come from code table role",
        "transitions: approved is final and may not have outgoing edges",
    ):
        assert expected in text, (expected, text)
