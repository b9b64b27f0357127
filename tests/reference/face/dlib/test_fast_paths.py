"""The image path's fast forms against their plain references (issue 4's overhead target):
the detector pyramid run by onnxruntime, OpenCV's pyramid_down<2> for chips and the closed-form
similarity of the landmark cascade. dlib parity itself is in test_parity.py."""

from __future__ import annotations

import numpy as np
import pytest

from reference.face.dlib.chips import pyramid_down2, pyramid_down2_reference
from reference.face.dlib.detector import build_pyramid
from reference.face.dlib.landmarks import _similarity_2x2, _similarity_2x2_centred


def test_onnx_pyramid_matches_the_numpy_reference(engine, photos):
    det = engine._detector
    assert det.pyramid_session is not None
    rng = np.random.default_rng(4)
    images = [photos["astronaut"], photos["t1"][:270, :308], photos["astronaut"][100:397, 37:401],
              rng.integers(0, 256, (41, 57, 3), dtype=np.uint8),
              rng.integers(0, 256, (6, 6, 3), dtype=np.uint8)]
    for img in images:
        img = np.ascontiguousarray(img)
        ours, tiles = det.pyramid(img)
        ref, ref_tiles = build_pyramid(img, det.mean_rgb, det.padding, det.outer_padding)
        assert tiles == ref_tiles
        assert ours.shape == ref.shape and ours.dtype == np.float32
        # float32 (onnxruntime, as dlib's tensor code) against the float64 reference
        assert float(np.abs(ours - ref).max()) <= 1e-4


def test_pyramid_down2_is_bit_identical_to_the_integer_form():
    rng = np.random.default_rng(2)
    for _ in range(40):
        shape = (int(rng.integers(5, 120)), int(rng.integers(5, 120)), 3)
        img = rng.integers(0, 256, shape, dtype=np.uint8)
        assert np.array_equal(pyramid_down2(img), pyramid_down2_reference(img))
    white = np.full((64, 48, 3), 255, dtype=np.uint8)     # the largest sums
    assert np.array_equal(pyramid_down2(white), pyramid_down2_reference(white))


@pytest.mark.parametrize("seed", range(5))
def test_closed_form_similarity_equals_umeyama(seed):
    rng = np.random.default_rng(seed)
    init = rng.normal(size=(5, 2))
    for _ in range(50):
        ang, scale = rng.uniform(-np.pi, np.pi), rng.uniform(0.2, 3)
        rot = np.array([[np.cos(ang), -np.sin(ang)], [np.sin(ang), np.cos(ang)]]) * scale
        cur = init @ rot.T + rng.normal(scale=rng.choice([0.01, 0.5, 5.0]), size=(5, 2))
        ref = _similarity_2x2(init, cur)
        centred = init - init.mean(axis=0)
        a, b = _similarity_2x2_centred([tuple(p) for p in centred],
                                       float((centred ** 2).sum(axis=1).mean()), cur.reshape(-1).tolist())
        assert np.allclose([[a, -b], [b, a]], ref, rtol=1e-9, atol=1e-12)


def test_vectorised_scan_matches_the_per_window_reference(engine, photos):
    from reference.face.dlib.detector import scores_to_detections, scores_to_detections_reference

    det = engine._detector
    rng = np.random.default_rng(7)
    for img in (photos["astronaut"], photos["t1"], photos["astronaut"][60:330, 100:408]):
        tensor, tiles = det.pyramid(np.ascontiguousarray(img))
        scores = det.session.run(None, {"pyramid": tensor})[0]
        for threshold in (0.0, -0.5, -1.0):
            args = (scores, tiles, det.options, det.scale, det.offset, threshold)
            assert scores_to_detections(*args) == scores_to_detections_reference(*args)
        noisy = rng.normal(size=scores.shape).astype(np.float32)     # many windows, all tiles
        args = (noisy, tiles, det.options, det.scale, det.offset, 1.0)
        assert scores_to_detections(*args) == scores_to_detections_reference(*args)


def test_compiled_landmark_cascade_equals_the_numpy_form(engine, photos):
    """`kernels.landmark_cascade` (numba) and `ShapePredictor.reference` (numpy) on 400 random
    boxes over both photographs, partly outside the image: the same floats, not just the same
    rounded landmarks."""
    pred = engine._predictor
    rng = np.random.default_rng(7)
    for name in ("astronaut", "t1"):
        img = photos[name]
        h, w = img.shape[:2]
        for _ in range(200):
            size = int(rng.integers(12, 320))
            left, top = int(rng.integers(-60, w - 10)), int(rng.integers(-60, h - 10))
            box = (left, top, left + size, top + size + int(rng.integers(-12, 12)))
            np.testing.assert_array_equal(pred(img, box), pred.reference(img, box))


def test_compiled_chip_sampling_equals_the_numpy_form(engine, photos, monkeypatch):
    """`kernels.sample_bilinear` (numba) and `chips.sample_bilinear_reference` (numpy), through
    `extract_chip`, for 300 random landmark sets (rotated, scaled, partly outside the photo)."""
    from reference.face.dlib import chips

    img = photos["astronaut"]
    (face, _), = engine.embed_image(img)
    rng = np.random.default_rng(8)
    for _ in range(300):
        marks = face.landmarks * rng.uniform(0.3, 2.0) + rng.normal(0, 40, size=(5, 2))
        rect, angle, rows, cols = chips.chip_details(marks, 150, 0.25)
        source = img if rng.random() < 0.5 else img[::2, ::2].copy()
        m, t = np.array([[rng.uniform(-2, 2), rng.uniform(-2, 2)], [rng.uniform(-2, 2), rng.uniform(-2, 2)]]), \
            rng.uniform(-100, 400, size=2)
        np.testing.assert_array_equal(chips._sample_bilinear(source, m, t, rows, cols),
                                      chips.sample_bilinear_reference(source, m, t, rows, cols))
        compiled = chips.extract_chip(img, rect, angle, rows, cols)
        with monkeypatch.context() as mp:
            mp.setattr(chips, "_sample_bilinear", chips.sample_bilinear_reference)
            np.testing.assert_array_equal(compiled, chips.extract_chip(img, rect, angle, rows, cols))


def test_reused_pyramid_canvas_gives_the_same_detections(engine, photos):
    """The detector keeps one canvas per image size and thread: detections of an image are the
    same whatever was detected before it (other sizes, other content of the same size)."""
    det = engine._detector
    a = np.ascontiguousarray(photos["astronaut"])
    b = np.ascontiguousarray(photos["t1"][:512, :512])          # same size, other content
    c = np.ascontiguousarray(photos["t1"])                       # another size
    first = {"a": det(a), "b": det(b), "c": det(c)}
    assert first["a"] and first["b"] and first["c"]
    for name, img in (("c", c), ("a", a), ("b", b), ("a", a), ("c", c)):
        assert det(img) == first[name]
    fresh, _ = det.pyramid(a)                                    # a new zeroed canvas
    reused, _ = det.pyramid(a, reuse=True)
    np.testing.assert_array_equal(fresh, reused)
