"""Smoke run of the simulator benchmark at its smallest size: the figures are printed and positive."""

from __future__ import annotations

import json

import pytest

from loadtests import bench_simulator


def test_help_names_the_figures(capsys):
    with pytest.raises(SystemExit):
        bench_simulator.main(["--help"])
    out = capsys.readouterr().out
    assert "--county-year" in out and "replay" in out


@pytest.mark.slow
def test_smallest_run_prints_positive_figures(tmp_path, capsys):
    pytest.importorskip("simulator.run", reason="simulator/run.py (the lead's run_scenario) has not landed")
    assert bench_simulator.main(["--days", "2", "--out", str(tmp_path / "w"), "--json", str(tmp_path / "r.json")]) == 0
    out = capsys.readouterr().out
    for name in ("inprocess", "replay", "http", "sim/replay", "(sim-replay)/replay", "http/inprocess enc/s"):
        assert name in out
    res = json.loads((tmp_path / "r.json").read_text())
    assert res["inprocess"]["encounters_per_s"] > 0 and res["http"]["encounters_per_s"] > 0
    assert res["replay"]["transactions"] > 0 and all(v > -1 for v in res["ratios"].values())
