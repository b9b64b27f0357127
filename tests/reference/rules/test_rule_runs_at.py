"""When a post-event rule runs (`runs_at`, RULE-3, RULE-5): declared in every rule file, validated
at load with every problem reported at once, and each day-end rule belongs to a scene that has a
registered day end (reference.services.day_end)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from reference.rules.library import RULES_DIR, RUNS_AT, LibraryError, load_library
from reference.services import day_end


def _library_copy(tmp_path: Path) -> Path:
    root = tmp_path / "rules"
    shutil.copytree(RULES_DIR, root)
    return root


def _edit(root: Path, rule_id: str, **changes) -> None:
    path = root / "rules" / f"{rule_id}.yaml"
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    for key, value in changes.items():
        if value is None:
            raw.pop(key, None)
        else:
            raw[key] = value
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")


@pytest.mark.req("RULE-3", "RULE-5")
def test_every_post_event_rule_declares_when_it_runs_and_no_other_rule_does():
    for rule in load_library().rules.values():
        if "post_event" in rule.stages:
            assert rule.runs_at in RUNS_AT, rule.id
        else:
            assert rule.runs_at is None, rule.id


@pytest.mark.req("RULE-3", "RULE-5")
def test_runs_at_problems_are_refused_at_load_all_at_once(tmp_path):
    root = _library_copy(tmp_path)
    _edit(root, "INP-DAILY-FACE-CHECK", runs_at="midnight")          # unknown value
    _edit(root, "GEN-FAULT-LATE-REPORT", runs_at=None)               # post-event rule without it
    _edit(root, "HD-MONTHLY-CAP", runs_at="period")                  # not a post-event rule
    _edit(root, "BD-SUSPECTED-DEATH-CARE", scene="any", runs_at="day_end")  # no scene's day end
    with pytest.raises(LibraryError) as exc:
        load_library(root)
    problems = exc.value.problems
    assert len(problems) == 4, problems

    def said(file: str, words: str) -> bool:
        return any(p.startswith(f"{file}.yaml: ") and words in p for p in problems)

    assert said("INP-DAILY-FACE-CHECK", "runs_at: Input should be 'day_end' or 'period'")
    assert said("GEN-FAULT-LATE-REPORT", "a post-event rule declares when it runs")
    assert said("HD-MONTHLY-CAP", "runs_at applies to post-event rules only")
    assert said("BD-SUSPECTED-DEATH-CARE", "a day-end rule belongs to one scene's day end")


@pytest.mark.req("RULE-3")
def test_every_day_end_rule_belongs_to_a_scene_with_a_day_end():
    registered = day_end.scenes()
    day_end_rules = {r.id: r.scene for r in load_library().rules.values() if r.runs_at == "day_end"}
    assert day_end_rules, "the inpatient deadlines run at the day end"
    assert {rid: scene for rid, scene in day_end_rules.items() if scene not in registered} == {}


@pytest.mark.req("RULE-3", "INP-7")
def test_a_release_keeps_only_the_rules_of_one_scenes_day_end():
    lib = load_library()
    at_day_end = lib.runs_at("day_end", "inpatient")
    assert set(at_day_end.rules) == {"INP-DAILY-FACE-CHECK", "INP-DISCHARGE-SAME-DAY", "INP-ENROL-24H",
                                     "INP-REMOTE-CHECK-EXPIRED", "INP-SR-REVIEW-OVERDUE", "INP-SR-VIOLATION"}
    assert "INP-LOW-COMPLIANCE" in lib.runs_at("period").rules  # the indicator rule runs with 8801
    assert at_day_end.version == lib.version
