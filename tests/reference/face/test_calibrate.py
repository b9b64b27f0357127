"""Operating points from labelled scores: thresholds match the analytic quantiles of known
distributions, unsupported targets are flagged, score files load, and the CLI writes an entry."""

from __future__ import annotations

from statistics import NormalDist

import numpy as np
import pytest
import yaml

from reference.face import calibrate as cal
from reference.face.core import operating_points
from reference.face.synthetic import SyntheticFaces
from scenemon.cli import main

IMPOSTOR = NormalDist(0.0, 0.1)
GENUINE = NormalDist(0.6, 0.1)


@pytest.fixture(scope="module")
def normal_scores() -> cal.ScoreSet:
    rng = np.random.default_rng(11)
    return cal.ScoreSet(rng.normal(GENUINE.mean, GENUINE.stdev, 200_000),
                        rng.normal(IMPOSTOR.mean, IMPOSTOR.stdev, 2_000_000), "normal:test")


@pytest.mark.parametrize("target", [1e-2, 1e-3, 1e-4])
def test_threshold_for_a_target_fmr_is_the_analytic_impostor_quantile(normal_scores, target):
    t = cal.threshold_at_fmr(normal_scores.impostor, target)
    analytic = IMPOSTOR.inv_cdf(1 - target)
    assert t.resolved
    assert t.value == pytest.approx(analytic, abs=0.004)
    assert t.measured <= target
    assert cal.fnmr(normal_scores.genuine, t.value) == pytest.approx(GENUINE.cdf(analytic), abs=0.004)


def test_measured_fmr_never_exceeds_the_target_even_with_ties():
    imp = np.array([0.1] * 50 + [0.5] * 3 + [0.9])
    t = cal.threshold_at_fmr(imp, 0.05)  # 2 of 54 may pass; the three tied 0.5s must all fail
    assert t.value > 0.5 and t.measured == pytest.approx(1 / 54)


def test_a_target_below_one_over_n_is_flagged_unresolved(normal_scores):
    small = cal.ScoreSet(normal_scores.genuine[:100], normal_scores.impostor[:5000])
    r = cal.calibrate(small, gallery_size=100, timing=False)
    assert r.threshold_for(1e-4).resolved is False and r.threshold_for(1e-6).resolved is False
    assert r.threshold_for(1e-4).value > small.impostor.max()
    assert "UNRESOLVED" in cal.format_report(r)
    with pytest.raises(ValueError, match="needs at least 1000000 impostor scores"):
        cal.operating_point_entry(r, 1e-6, "normal:")


def test_fpir_estimate_from_one_to_one_scores(normal_scores):
    p = cal.identification(normal_scores, gallery_size=10)
    per = 1 - (1 - 1e-3) ** (1 / 10)
    assert p.method == "approximation"
    assert p.threshold == pytest.approx(IMPOSTOR.inv_cdf(1 - per), abs=0.006)
    assert p.fpir <= 1e-3 and p.fpir == pytest.approx(1e-3, rel=0.2)


def test_real_searches_count_a_mate_outranked_by_an_impostor_as_a_miss():
    gallery = np.eye(4, dtype=np.float32)
    probes = np.array([[1, 0, 0, 0], [0, 0.6, 0.8, 0]], dtype=np.float32)  # 2nd: mate 1, but 2 wins
    outsiders = np.array([[0.5, 0.5, 0.5, 0.5], [0.1, 0, 0, 0.99]], dtype=np.float32)
    s = cal.search_scores(gallery, probes, np.array([0, 1]), outsiders)
    assert s.mated_rank1.tolist() == [True, False]
    assert s.mated_score == pytest.approx([1.0, 0.6]) and s.nonmated_top == pytest.approx([0.5, 0.99])


def test_synthetic_scores_follow_the_configured_distributions():
    faces = SyntheticFaces(genuine_mean=0.6, genuine_sd=0.08, impostor_sd=0.07, model_id="synthetic:t:v1")
    s = cal.synthetic_scores(faces, identities=600, gallery=2000, mated_searches=300,
                             nonmated_searches=2000, seed=3)
    assert s.genuine.mean() == pytest.approx(0.6, abs=0.02) and s.genuine.std() == pytest.approx(0.08, abs=0.015)
    assert s.impostor.mean() == pytest.approx(0.0, abs=0.01) and s.impostor.std() == pytest.approx(0.07, abs=0.007)
    r = cal.calibrate(s, timing=False)
    assert r.identification.method == "search" and r.identification.searches == (300, 2000)
    assert 0 <= r.identification.fnir < 0.05
    assert r.template_bytes == {"float32": 2048, "bit": 64, "total": 2112}


@pytest.mark.parametrize("suffix", [".csv", ".npz"])
def test_score_files_round_trip(tmp_path, suffix):
    s = cal.ScoreSet(np.array([0.9, 0.8]), np.array([0.1, 0.2, 0.3]), "vendor-x:r100")
    back = cal.load_scores(cal.save_scores(tmp_path / f"s{suffix}", s), model_id="vendor-x:r100")
    assert back.genuine == pytest.approx(s.genuine) and back.impostor == pytest.approx(s.impostor)


def test_a_bad_label_names_its_row(tmp_path):
    p = tmp_path / "s.csv"
    p.write_text("# comment\nscore,label\n0.9,genuine\n0.2,maybe\n")
    with pytest.raises(ValueError, match="row 3: label 'maybe'"):
        cal.load_scores(p)


def test_writing_an_entry_replaces_it_in_place_and_keeps_the_header(tmp_path):
    p = tmp_path / "op.yaml"
    p.write_text("# header\noperating_points:\n- {model_prefix: 'a:', threshold: 0.4, source: x}\n"
                 "- {model_prefix: 'b:', threshold: 0.5, source: y}\n")
    cal.write_operating_point({"model_prefix": "a:", "threshold": 0.3, "target_fmr": 1e-4, "source": "z"}, p)
    assert p.read_text().startswith("# header\n")
    assert [(op.model_prefix, op.threshold) for op in operating_points(p)] == [("a:", 0.3), ("b:", 0.5)]


def test_cli_calibrates_the_synthetic_model_and_writes_the_operating_point(tmp_path, capsys):
    op = tmp_path / "op.yaml"
    op.write_text("# header\noperating_points: []\n")
    chart = tmp_path / "det.png"
    code = main(["face", "calibrate", "--synthetic", "arcface-like", "--identities", "400", "--gallery", "1000",
                 "--mated", "200", "--nonmated", "1000", "--target-fmr", "1e-4", "--chart", str(chart),
                 "--save-scores", str(tmp_path / "s.npz"), "--operating-points", str(op), "--write"])
    out = capsys.readouterr().out
    assert code == 0
    assert "FNMR" in out and "FNIR" in out and "template: 2112 bytes" in out and "comparison:" in out
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    (entry,) = yaml.safe_load(op.read_text())["operating_points"]
    assert entry["model_prefix"] == "synthetic:arcface-like:" and entry["target_fmr"] == 1e-4
    scores = cal.load_scores(tmp_path / "s.npz")
    assert cal.fmr(scores.impostor, entry["threshold"]) <= 1e-4 < cal.fmr(scores.impostor, entry["threshold"] - 0.01)


def test_cli_refuses_an_unresolvable_target(tmp_path, capsys):
    p = cal.save_scores(tmp_path / "s.csv", cal.ScoreSet(np.array([0.9, 0.8]), np.array([0.1, 0.2])))
    assert main(["face", "calibrate", "--scores", str(p), "--no-chart", "--target-fmr", "1e-6"]) == 1
    assert "needs at least 1000000 impostor scores" in capsys.readouterr().err
