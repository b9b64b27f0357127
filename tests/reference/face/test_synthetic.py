"""The synthetic-face model: identities are fixed by the person key, captures follow the
configured genuine and impostor similarity distributions, and the default model is unchanged."""

from __future__ import annotations

import numpy as np
import pytest

from reference.face.synthetic import SyntheticFaces


def _pairs(faces: SyntheticFaces, n: int = 1500, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    ids = faces.identities([f"P{i}" for i in range(n)])
    a, b = faces.captures_of(ids, rng), faces.captures_of(ids, rng)
    return (a * b).sum(axis=1), (a[: n // 2] * b[n // 2:]).sum(axis=1)


def test_an_identity_depends_only_on_the_person_key():
    faces = SyntheticFaces.preset("arcface-like")
    assert np.allclose(faces.identity("P1"), faces.identities(["P0", "P1"])[1], atol=1e-6)
    assert not np.allclose(faces.identity("P1"), faces.identity("P2"))
    assert abs(float(np.linalg.norm(faces.identity("P1"))) - 1) < 1e-5


def test_the_default_model_keeps_its_original_draws():
    faces = SyntheticFaces()
    rng_a, rng_b = np.random.default_rng(5), np.random.default_rng(5)
    v = faces.identity("P9") + rng_b.standard_normal(512).astype(np.float32) * (0.5 / np.sqrt(512))
    assert np.allclose(faces.capture("P9", rng_a), v / np.linalg.norm(v), atol=1e-6)
    genuine, impostor = _pairs(faces)
    assert genuine.mean() == pytest.approx(0.8, abs=0.01) and impostor.std() == pytest.approx(1 / np.sqrt(512), rel=0.1)


@pytest.mark.parametrize(("gm", "gsd", "im", "isd"), [(0.65, 0.10, 0.0, 0.06), (0.5, 0.15, 0.1, 0.1),
                                                      (0.8, 0.05, 0.0, 0.05)])
def test_captures_follow_the_configured_distributions(gm, gsd, im, isd):
    faces = SyntheticFaces(genuine_mean=gm, genuine_sd=gsd, impostor_mean=im, impostor_sd=isd, model_id="s:t:v1")
    genuine, impostor = _pairs(faces)
    assert genuine.mean() == pytest.approx(gm, abs=0.015) and genuine.std() == pytest.approx(gsd, rel=0.15)
    assert impostor.mean() == pytest.approx(im, abs=0.015) and impostor.std() == pytest.approx(isd, rel=0.15)


@pytest.mark.parametrize("bad", [{"genuine_mean": 1.2}, {"genuine_sd": -1}, {"impostor_sd": 0.01,
                                                                             "genuine_mean": 0.5}])
def test_impossible_distributions_are_refused(bad):
    with pytest.raises(ValueError):
        SyntheticFaces(**bad)


def test_an_unknown_preset_is_refused():
    with pytest.raises(ValueError, match="known: default, arcface-like"):
        SyntheticFaces.preset("nope")
