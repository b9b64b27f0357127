"""Self-checks of the rule tests (issue 11): every rule file in interface_spec/rules/rules/ has a
test where it fires at each of its stages and one where it stays quiet on a near miss (the
`rule` marks of rule_support.py, collected in a process of their own, so a new rule file fails
here until it has both), and every rule has a firing scenario that stops firing once a release
disables the rule (8703/8704, `enabled: false`)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest
from rule_scenarios import SCENARIOS

from reference.rules.library import load_library

ROOT = Path(__file__).resolve().parents[3]
LIBRARY = load_library()


def _collected_marks(tmp_path: Path) -> list[dict]:
    out = tmp_path / "marks.json"
    proc = subprocess.run([sys.executable, "-m", "tests.reference.rules.rule_marks", str(out), "tests"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return json.loads(out.read_text(encoding="utf-8"))


@pytest.mark.req("RULE-1", "RULE-4")
def test_every_rule_file_has_a_firing_test_at_each_stage_and_a_quiet_test(tmp_path):
    marks = _collected_marks(tmp_path)
    problems = []
    fired: dict[str, set[str]] = defaultdict(set)
    quiet: dict[str, int] = defaultdict(int)
    for m in marks:
        where = m["nodeid"]
        if len(m["args"]) != 1 or m["args"][0] not in LIBRARY.rules:
            problems.append(f"{where}: rule mark names no rule of the library: {m['args']}")
            continue
        rule = LIBRARY.rules[m["args"][0]]
        if not isinstance(m["fires"], bool) or m["other_kwargs"]:
            problems.append(f"{where}: rule mark needs fires=True/False and nothing else but stages")
        elif m["fires"] and not m["stages"]:
            problems.append(f"{where}: a firing mark names the stages it fires at")
        elif set(m["stages"]) - set(rule.stages):
            problems.append(f"{where}: {rule.id} has no stage {sorted(set(m['stages']) - set(rule.stages))}")
        elif not m["fires"] and m["stages"]:
            problems.append(f"{where}: a quiet mark names no stages")
        if not m["counts"]:
            continue
        if m["fires"]:
            fired[rule.id] |= set(m["stages"])
        else:
            quiet[rule.id] += 1
    for rid, rule in sorted(LIBRARY.rules.items()):
        missing = set(rule.stages) - fired[rid]
        if missing:
            problems.append(f"{rid}: no test shows it firing at {sorted(missing)}")
        if not quiet[rid]:
            problems.append(f"{rid}: no test shows it quiet on a near miss")
    assert not problems, "\n".join(problems)


def test_every_rule_has_a_firing_scenario():
    assert {rid for rid, _ in SCENARIOS} == set(LIBRARY.rules)


@pytest.mark.req("RULE-5")
@pytest.mark.parametrize(("rule_id", "scenario"), SCENARIOS, ids=[f"{r}-{fn.__name__}" for r, fn in SCENARIOS])
def test_a_rule_disabled_in_a_release_no_longer_fires(env, rule_id, scenario):
    version = env.publish([{"rule_id": rule_id, "enabled": False}])
    rules = {r["id"]: r for r in env.bureau.call("8701", {"version": version})["rules"]}
    assert rules[rule_id]["enabled"] is False
    assert scenario(env).of(rule_id) == {}
