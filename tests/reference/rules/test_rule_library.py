"""The rule library as data (RULE-1, RULE-2, RULE-5): schema validation, evaluator registry,
override precedence, composite rules, release patches and diffs, the knowledge base."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from reference.rules import engine
from reference.rules.evaluators import all_evaluators
from reference.rules.knowledge import load_knowledge
from reference.rules.library import (
    RULES_DIR,
    LibraryError,
    Rule,
    RuleChange,
    apply_patch,
    diff,
    load_library,
)


def test_every_rule_has_one_evaluator_and_every_evaluator_a_rule():
    lib = load_library()
    plain = {rid for rid, r in lib.rules.items() if r.composite is None}
    composites = {rid for rid, r in lib.rules.items() if r.composite is not None}
    evaluators = set(all_evaluators())
    assert plain - evaluators == set(), "rules without an evaluator"
    assert evaluators - plain == set(), "evaluators without a (non-composite) rule"
    assert composites, "the library should show at least one composite rule (RULE-1)"


def test_every_rule_names_known_requirements():
    from reference.requirements import load_requirements

    known = {r.id for r in load_requirements()}
    for rule in load_library().rules.values():
        assert set(rule.requirements) <= known, (rule.id, set(rule.requirements) - known)


def _copy_library(tmp_path: Path) -> Path:
    root = tmp_path / "rules"
    shutil.copytree(RULES_DIR, root)
    return root


def test_malformed_rule_files_are_refused_with_every_problem_listed(tmp_path):
    root = _copy_library(tmp_path)
    a = root / "rules" / "HD-MONTHLY-CAP.yaml"
    raw = yaml.safe_load(a.read_text(encoding="utf-8"))
    raw["params"]["cap_yuan"]["default"] = "seven thousand"
    raw["severity"] = "critical"
    a.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    (root / "rules" / "XX-BROKEN.yaml").write_text("id: [unclosed\n", encoding="utf-8")
    b = root / "rules" / "PH-FACE-OVER-AMOUNT.yaml"
    raw_b = yaml.safe_load(b.read_text(encoding="utf-8"))
    raw_b["id"] = "PH-OTHER-NAME"
    b.write_text(yaml.safe_dump(raw_b, allow_unicode=True), encoding="utf-8")

    with pytest.raises(LibraryError) as exc:
        load_library(root)
    problems = "\n".join(exc.value.problems)
    assert "HD-MONTHLY-CAP.yaml: params.cap_yuan" in problems
    assert "HD-MONTHLY-CAP.yaml: severity" in problems
    assert "XX-BROKEN.yaml: not valid YAML" in problems
    assert "PH-FACE-OVER-AMOUNT.yaml: id 'PH-OTHER-NAME' must equal the file name" in problems
    assert len(exc.value.problems) >= 4


def test_composite_of_an_unknown_rule_is_refused(tmp_path):
    root = _copy_library(tmp_path)
    p = root / "rules" / "PH-REPEATED-NO-FACE.yaml"
    raw = yaml.safe_load(p.read_text(encoding="utf-8"))
    raw["composite"]["of"] = ["PH-NO-SUCH-RULE"]
    p.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with pytest.raises(LibraryError, match="unknown rule PH-NO-SUCH-RULE"):
        load_library(root)


def _rule(**over) -> Rule:
    base = {
        "id": "TST-RULE", "name_en": "t", "name_zh": "测", "scene": "pharmacy", "requirements": ["RULE-2"],
        "source": "test", "description": "test", "stages": {"in_event": "refuse"}, "severity": "low",
        "params": {"limit": {"type": "number", "default": 100, "description": "d", "source": "s"}},
    }
    base.update(over)
    return Rule.model_validate(base)


OVERRIDES = [
    {"when": {"district": "410101"}, "params": {"limit": 1}},
    {"when": {"level": "3A"}, "params": {"limit": 2}},
    {"when": {"speciality": "nephrology"}, "params": {"limit": 3}},
    {"when": {"institution_type": "retail_pharmacy"}, "params": {"limit": 4}},
    {"when": {"district": "410101", "level": "3A"}, "params": {"limit": 5}},
]


@pytest.mark.req("RULE-2")
@pytest.mark.parametrize(("inst", "expected"), [
    (None, 100),
    ({"district_code": "410199", "level": "1", "speciality": "general", "inst_type": "primary"}, 100),
    ({"district_code": "410101", "level": "1", "speciality": "general", "inst_type": "primary"}, 1),
    # one key each: speciality > level > institution_type > district
    ({"district_code": "410101", "level": "3A", "speciality": "nephrology", "inst_type": "x"}, 5),
    ({"district_code": "410199", "level": "3A", "speciality": "nephrology", "inst_type": "x"}, 3),
    ({"district_code": "410101", "level": "2A", "speciality": "general", "inst_type": "retail_pharmacy"}, 4),
    ({"district_code": "410199", "level": "3A", "speciality": "general", "inst_type": "retail_pharmacy"}, 2),
    # two keys beat one, whatever the keys
    ({"district_code": "410101", "level": "3A", "speciality": "general", "inst_type": "x"}, 5),
])
def test_overrides_resolve_by_the_most_specific_match(inst, expected):
    rule = _rule(overrides=OVERRIDES)
    assert rule.resolve(inst)["limit"] == expected


def test_overrides_are_validated_against_the_parameter_types():
    with pytest.raises(ValueError, match=r"overrides\[0\].limit"):
        _rule(overrides=[{"when": {"level": "3A"}, "params": {"limit": "lots"}}])
    with pytest.raises(ValueError, match="unknown parameter"):
        _rule(overrides=[{"when": {"level": "3A"}, "params": {"other": 1}}])
    with pytest.raises(ValueError, match="`when` needs keys"):
        _rule(overrides=[{"when": {"colour": "red"}, "params": {"limit": 1}}])
    with pytest.raises(ValueError, match="ambiguous"):
        _rule(overrides=[{"when": {"level": "3A"}, "params": {"limit": 1}},
                         {"when": {"level": "3A"}, "params": {"limit": 2}}])


def _composite(op: str, of: list[str]) -> Rule:
    params = {"window_days": {"type": "integer", "default": 30, "description": "d", "source": "s"},
              "min_hits": {"type": "integer", "default": 3, "description": "d", "source": "s"}}
    return _rule(id="TST-COMBO", stages={"post_event": "suspicion"}, runs_at="period", params=params,
                 composite={"op": op, "of": of, "group_by": "person"})


def _hits(*rule_ids: str) -> dict:
    return {"group": "P1", "hits": [{"rule_id": r, "decision_id": i, "amount": 10.0} for i, r in enumerate(rule_ids)]}


@pytest.mark.req("RULE-1")
@pytest.mark.parametrize(("op", "hits", "expected"), [
    ("all", ("A", "B"), True),
    ("all", ("A", "A", "A"), False),
    ("any", ("B",), True),
    ("any", (), False),
    ("at_least", ("A", "B"), False),
    ("at_least", ("A", "B", "A"), True),
])
def test_composite_rules_combine_their_components(op, hits, expected):
    rule = _composite(op, ["A", "B"])
    v = engine.decide_composite(rule, _hits(*hits), rule.resolve(None))
    assert v.hit is expected
    if expected:
        assert [e["id"] for e in v.evidence] == list(range(len(hits)))


def test_composite_rules_need_their_window_parameters():
    with pytest.raises(ValueError, match="min_hits"):
        _rule(id="TST-COMBO", stages={"post_event": "suspicion"}, runs_at="period",
              params={"window_days": {"type": "integer", "default": 30, "description": "d", "source": "s"}},
              composite={"op": "at_least", "of": ["A"], "group_by": "person"})


@pytest.mark.req("RULE-5")
def test_a_release_patch_is_validated_and_diffed():
    base = load_library()
    new = apply_patch(base, version="2026.2", effective_from="2026-05-01", changes=[
        RuleChange(rule_id="PH-FACE-OVER-AMOUNT", params={"amount_threshold_yuan": 500}),
        RuleChange(rule_id="BD-SUSPECTED-DEATH-CARE", enabled=False),
    ])
    assert new.rules["PH-FACE-OVER-AMOUNT"].params["amount_threshold_yuan"].default == 500
    assert base.rules["PH-FACE-OVER-AMOUNT"].params["amount_threshold_yuan"].default == 1000
    lines = diff(base, new)
    assert "~ PH-FACE-OVER-AMOUNT.amount_threshold_yuan: 1000 → 500 yuan" in lines
    assert "~ BD-SUSPECTED-DEATH-CARE: disabled" in lines
    with pytest.raises(LibraryError) as exc:
        apply_patch(base, version="x", effective_from="2026-05-01", changes=[
            RuleChange(rule_id="PH-FACE-OVER-AMOUNT", params={"amount_threshold_yuan": -5}),
            RuleChange(rule_id="NO-SUCH", params={}),
        ])
    assert len(exc.value.problems) == 2


@pytest.mark.req("RULE-5")
def test_knowledge_base_tags_items_and_states_sources():
    kb = load_knowledge()
    assert "deceased_care" in kb.categories_of("001", "尸体料理")
    assert "western_drug" in kb.categories_of("XA01ABC", "阿莫西林胶囊")
    assert "herbal_pieces" in kb.categories_of("T0001", "黄芪")
    assert "dialysis" in kb.categories_of("311000010", "血液透析")
    assert kb.categories_of("Q1", "挂号费") == []
    assert set(kb.sources) == {"item_categories", "major_diseases"}
    assert all(src.strip() for src in kb.sources.values())
    assert kb.major_diseases, "the major-disease list is empty"
