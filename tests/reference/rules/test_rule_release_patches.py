"""Releases as data (RULE-2, RULE-5), the gaps mutation testing found in reference/rules/library.py
and knowledge.py: a release keeps its notes, base and review settings through its stored form;
resolved parameters are copies; a broken library, patch or knowledge file reports its problems;
and the diff of two releases names every kind of change."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from reference.rules.knowledge import KNOWLEDGE_DIR, KnowledgeError, load_knowledge
from reference.rules.library import RULES_DIR, LibraryError, RuleChange, RuleSet, apply_patch, diff, load_library

LIB = load_library()
LIBRARY_YAML = yaml.safe_load((RULES_DIR / "library.yaml").read_text(encoding="utf-8"))


def _stored(rs: RuleSet) -> RuleSet:
    """The release as the database keeps it (JSON) and reads it back."""
    return RuleSet.from_dict(json.loads(json.dumps(rs.to_dict(), ensure_ascii=False)))


def _head(rs: RuleSet) -> tuple:
    return rs.version, rs.effective_from, rs.notes, rs.review, rs.base_version


@pytest.mark.req("RULE-5", "RULE-6")
def test_the_library_release_keeps_its_notes_and_review_settings():
    assert LIB.notes == LIBRARY_YAML["notes"] and LIB.review == LIBRARY_YAML["review"]
    assert LIB.review["max_false_positive_rate"] == 0.5 and LIB.base_version is None
    again = _stored(LIB)
    assert _head(again) == _head(LIB) and again.rules == LIB.rules


@pytest.mark.req("RULE-5")
def test_a_patched_release_names_its_base_and_keeps_notes_and_review_when_stored():
    new = apply_patch(LIB, version="2026.7", effective_from="2026-07-01", notes="调整阈值",
                      changes=[RuleChange(rule_id="HD-MONTHLY-CAP", params={"cap_yuan": 6500})])
    assert _head(new) == ("2026.7", "2026-07-01", "调整阈值", LIB.review, LIB.version)
    assert _head(_stored(new)) == _head(new)
    assert _stored(new).rules["HD-MONTHLY-CAP"].params["cap_yuan"].default == 6500


@pytest.mark.req("RULE-2")
def test_resolved_parameters_are_copies_that_a_caller_cannot_change_in_the_release():
    rs = apply_patch(LIB, version="x", effective_from="2026-07-01", changes=[RuleChange(
        rule_id="PH-KEY-POPULATION-FACE",
        overrides=[{"when": {"level": "3A"}, "params": {"key_flags": ["past_violator"]}}])])
    rule = rs.rules["PH-KEY-POPULATION-FACE"]
    top = {"level": "3A", "inst_type": "tertiary_hospital", "district_code": "410101", "speciality": "general"}
    for inst, expected in ((None, ["past_violator", "suspected_deceased"]), (top, ["past_violator"])):
        rule.resolve(inst)["key_flags"].append("frequent_inpatient")
        assert rule.resolve(inst)["key_flags"] == expected


def _library_copy(tmp_path: Path) -> Path:
    root = tmp_path / "rules"
    shutil.copytree(RULES_DIR, root)
    return root


@pytest.mark.req("RULE-1")
def test_a_broken_library_lists_every_problem_of_every_file(tmp_path):
    root = _library_copy(tmp_path)
    files = root / "rules"
    (files / "AA-LIST.yaml").write_text("- not\n- a mapping\n", encoding="utf-8")
    (files / "AB-BROKEN.yaml").write_text("id: [unclosed\n", encoding="utf-8")
    shutil.copy(files / "PH-FACE-OVER-AMOUNT.yaml", files / "AC-COPY.yaml")
    with pytest.raises(LibraryError) as exc:
        load_library(root)
    problems = exc.value.problems
    assert "AA-LIST.yaml: expected a mapping" in problems
    assert any(p.startswith("AB-BROKEN.yaml: not valid YAML") for p in problems)
    assert "AC-COPY.yaml: id 'PH-FACE-OVER-AMOUNT' must equal the file name" in problems
    assert "PH-FACE-OVER-AMOUNT.yaml: rule id PH-FACE-OVER-AMOUNT is defined twice" in problems
    assert len(problems) == 4


@pytest.mark.req("RULE-1")
def test_a_composite_of_a_composite_is_refused(tmp_path):
    root = _library_copy(tmp_path)
    composite = root / "rules" / "PH-REPEATED-NO-FACE.yaml"
    raw = yaml.safe_load(composite.read_text(encoding="utf-8"))
    raw["composite"]["of"] = ["PH-REPEATED-NO-FACE"]
    composite.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with pytest.raises(LibraryError) as exc:
        load_library(root)
    assert exc.value.problems == ["PH-REPEATED-NO-FACE: composite of composite PH-REPEATED-NO-FACE is not supported"]


def test_an_unreadable_library_file_is_a_library_error(tmp_path):
    root = _library_copy(tmp_path)
    (root / "library.yaml").write_text("version: [unclosed\n", encoding="utf-8")
    with pytest.raises(LibraryError, match="library.yaml"):
        load_library(root)


@pytest.mark.req("RULE-5")
def test_a_patch_reports_every_bad_change():
    with pytest.raises(LibraryError) as exc:
        apply_patch(LIB, version="x", effective_from="2026-07-01", changes=[
            RuleChange(rule_id="NO-SUCH"),
            RuleChange(rule_id="HD-MONTHLY-CAP", params={"monthly_cap": 1}),
            RuleChange(rule_id="PH-FACE-OVER-AMOUNT", params={"amount_threshold_yuan": -5}),
        ])
    first, second, third = exc.value.problems
    assert first == "changes[0].rule_id: no rule NO-SUCH"
    assert second == "changes[1].params.monthly_cap: HD-MONTHLY-CAP has no such parameter"
    assert third.startswith("changes[2] (PH-FACE-OVER-AMOUNT): params.amount_threshold_yuan: ")
    assert "below the minimum 0" in third


def _release(base: RuleSet, *, drop: tuple[str, ...] = (), put: tuple = ()) -> RuleSet:
    """`base` without the rules `drop` and with the rules `put` (added or replacing)."""
    rules = {rid: r for rid, r in base.rules.items() if rid not in drop} | {r.id: r for r in put}
    return RuleSet("b", base.effective_from, rules, base.review, "", base.version)


@pytest.mark.req("RULE-5")
def test_the_diff_of_two_releases_names_every_kind_of_change():
    cap, low, key = (LIB.rules[r] for r in ("HD-MONTHLY-CAP", "INP-LOW-COMPLIANCE", "PH-KEY-POPULATION-FACE"))
    param = cap.params["cap_yuan"]
    overridden = apply_patch(LIB, version="o", effective_from="2026-07-01", changes=[RuleChange(
        rule_id=key.id, overrides=[{"when": {"level": "3A"}, "params": {"face_window_minutes": 10}},
                                   {"when": {"level": "2A"}, "params": {"face_window_minutes": 20}}])])
    b = _release(LIB, drop=("BD-SUSPECTED-DEATH-CARE",), put=(
        cap.model_copy(update={"id": "HD-ZZ-NEW"}),
        cap.model_copy(update={"params": {"cap_yuan": param.model_copy(update={"default": 6500}), "extra": param}}),
        low.model_copy(update={
            "params": {**low.params, "threshold": low.params["threshold"].model_copy(update={"default": 0.3})},
            "stages": {"post_event": "suspicion", "pre_event": "remind"}}),
        overridden.rules[key.id]))
    lines = diff(LIB, b)
    assert "- BD-SUSPECTED-DEATH-CARE: removed" in lines
    assert f"+ HD-ZZ-NEW: added ({cap.name_en})" in lines
    assert "~ HD-MONTHLY-CAP.cap_yuan: 7000 → 6500 yuan" in lines
    assert "~ HD-MONTHLY-CAP.extra: None → 7000 yuan" in lines
    assert "~ INP-LOW-COMPLIANCE.threshold: 0.2 → 0.3" in lines  # no unit, no suffix
    assert ("~ INP-LOW-COMPLIANCE: stages {'post_event': 'suspicion'} → "
            "{'post_event': 'suspicion', 'pre_event': 'remind'}") in lines
    assert ("~ PH-KEY-POPULATION-FACE: overrides 0 → 2: when {'level': '3A'} set {'face_window_minutes': 10}; "
            "when {'level': '2A'} set {'face_window_minutes': 20}") in lines
    assert len(lines) == 7
    assert diff(b, b) == []


@pytest.mark.req("RULE-5")
def test_the_diff_says_whether_a_rule_was_enabled_or_disabled():
    off = apply_patch(LIB, version="off", effective_from="2026-07-01",
                      changes=[RuleChange(rule_id="HD-MONTHLY-CAP", enabled=False)])
    assert diff(LIB, off) == ["~ HD-MONTHLY-CAP: disabled"]
    assert diff(off, LIB) == ["~ HD-MONTHLY-CAP: enabled"]


@pytest.mark.parametrize(("content", "message"), [
    ("categories: [unclosed\n", "item_categories.yaml"),
    ("categories: []\n", "needs a mapping with a `source`"),
    ("- source\n", "needs a mapping with a `source`"),
])
def test_a_malformed_knowledge_file_is_refused_naming_it(tmp_path, content, message):
    root = tmp_path / "knowledge"
    shutil.copytree(KNOWLEDGE_DIR, root)
    (root / "item_categories.yaml").write_text(content, encoding="utf-8")
    with pytest.raises(KnowledgeError, match=message) as exc:
        load_knowledge(root)
    assert str(root / "item_categories.yaml") in str(exc.value)
