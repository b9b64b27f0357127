"""`scenemon loadtest`: the SLO file is checked, verdicts follow the SLOs, and a smoke run seeds
a small gallery, starts the server, runs Locust headless and keeps Locust's reports."""

from __future__ import annotations

import json

import pytest

from loadtests import runner
from scenemon.cli import main


def _stats(requests: int, failures: int, rps: float, p95: float) -> dict:
    return {"rows": {}, "total": {"requests": requests, "failures": failures, "rps": rps, "p95_ms": p95,
                                  "p50_ms": p95 / 2, "p99_ms": p95, "avg_ms": p95 / 2}}


def test_the_shipped_slo_file_is_valid_and_holds_the_issue_targets():
    stages = {s.name: s for s in runner.load_stages()}
    assert {"noop", "verify", "enrol", "identify", "mixed"} <= set(stages)
    v = stages["verify"]
    assert v.user_class == "VerifyUser" and v.users == 20 and v.duration_s == 120
    assert v.slo["max_error_rate"] == 0 and v.slo["min_throughput_ratio"] == {"of": "noop", "ratio": 0.7}


def test_a_malformed_slo_file_is_refused_with_every_problem(tmp_path):
    p = tmp_path / "slo.yaml"
    p.write_text("stages:\n- {name: a, user_class: NoopUser, users: 2, duration_s: 1, slo: {p99: 3}}\n"
                 "- {name: b, user_class: VerifyUser, users: 2, duration_s: 1,"
                 " slo: {min_throughput_ratio: {of: zzz, ratio: 0.7}}}\n- {name: c}\n")
    with pytest.raises(ValueError) as exc:
        runner.load_stages(p)
    msg = str(exc.value)
    assert "stages[0]: unknown SLO key(s) ['p99']" in msg
    assert "stages[1]: min_throughput_ratio needs" in msg and "stages[2]" in msg


def test_verdicts_follow_the_slos():
    stage = runner.Stage("verify", "VerifyUser", 20, 20, 120,
                         {"max_error_rate": 0.0, "p95_ms": 100, "min_throughput_ratio": {"of": "noop", "ratio": 0.7}})
    noop = _stats(1000, 0, 100.0, 10)
    good = runner.evaluate(stage, _stats(800, 0, 71.0, 90), {"noop": noop})
    bad = runner.evaluate(stage, _stats(800, 1, 69.0, 101), {"noop": noop})
    assert [c.passed for c in good] == [True, True, True]
    assert [c.passed for c in bad] == [False, False, False]
    assert "69.0%" in bad[2].measured


def test_smoke_run_seeds_runs_locust_and_keeps_its_reports(tmp_path, capsys):
    slo = tmp_path / "slo.yaml"
    slo.write_text("stages:\n"
                   "- {name: noop, user_class: NoopUser, users: 2, duration_s: 2, slo: {max_error_rate: 0}}\n"
                   "- {name: mixed, user_class: MixedSceneUser, users: 3, duration_s: 3,"
                   " slo: {max_error_rate: 0, min_requests: 20, min_throughput_ratio: {of: noop, ratio: 0.01}}}\n")
    out = tmp_path / "out"
    code = main(["loadtest", "--gallery", "15", "--slo", str(slo), "--out", str(out)])
    printed = capsys.readouterr().out
    summary = json.loads((out / "summary.json").read_text())
    assert code == 0, printed
    assert summary["passed"] and summary["gallery"] == 15
    mixed = summary["stats"]["mixed"]
    assert mixed["total"]["failures"] == 0
    assert {"8122 face-verify", "8103 device-terminal-heartbeat"} <= set(mixed["rows"])
    for name in ("noop_stats.csv", "mixed_stats.csv", "mixed_stats_history.csv", "noop.html", "mixed.html"):
        assert (out / name).stat().st_size > 0, name
    assert len(json.loads((out / "world.json").read_text())["persons"]) == 15
    assert "PASSED" in printed
