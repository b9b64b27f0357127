"""The converted pipeline against dlib-bin itself on real photographs: the recogniser's
descriptors, the MMOD detector's boxes, the 5-point landmarks and the aligned chips."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("dlib")

PHOTOS = ["t1", "astronaut"]


def iou(a, b) -> float:
    """IoU of dlib rectangles (inclusive corners)."""
    iw = min(a[2], b[2]) - max(a[0], b[0]) + 1
    ih = min(a[3], b[3]) - max(a[1], b[1]) + 1
    if iw <= 0 or ih <= 0:
        return 0.0
    inter = iw * ih
    area = lambda r: (r[2] - r[0] + 1) * (r[3] - r[1] + 1)  # noqa: E731
    return inter / (area(a) + area(b) - inter)


@pytest.mark.parametrize("photo", PHOTOS)
def test_recogniser_matches_dlib_descriptors(photo, engine, dlib_reference):
    faces = dlib_reference[photo]
    assert faces, "dlib found no face"
    chips = np.stack([f["chip"] for f in faces])
    ours = engine.embed_chips(chips)
    ref = np.stack([f["descriptor"] for f in faces])
    assert ours.shape == ref.shape == (len(faces), 128)
    assert float(np.abs(ours - ref).max()) <= 1e-5


@pytest.mark.parametrize("photo", PHOTOS)
def test_detector_finds_the_same_faces_as_dlib(photo, engine, photos, dlib_reference):
    ref = dlib_reference[photo]
    ours = engine.detect_boxes(photos[photo])
    assert len(ours) == len(ref) == {"t1": 6, "astronaut": 1}[photo]
    for f in ref:
        best = max(iou(f["box"], (d.left, d.top, d.right, d.bottom)) for d in ours)
        assert best >= 0.9, (f["box"], best)
    for f, d in zip(ref, ours, strict=True):    # same order (by confidence), confidence close
        assert abs(f["confidence"] - d.confidence) < 1e-3


@pytest.mark.parametrize("photo", PHOTOS)
def test_landmarks_match_dlib_within_one_pixel(photo, engine, photos, dlib_reference):
    for f in dlib_reference[photo]:
        ours = engine.landmarks(photos[photo], f["box"])
        assert ours.shape == (5, 2)
        assert float(np.abs(ours - f["landmarks"]).max()) <= 1.0


@pytest.mark.parametrize("photo", PHOTOS)
def test_chips_and_end_to_end_descriptors_match_dlib(photo, engine, photos, dlib_reference):
    results = engine.embed_image(photos[photo])
    ref = dlib_reference[photo]
    assert len(results) == len(ref)
    for face, desc in results:
        match = max(ref, key=lambda f: iou(f["box"], face.box))
        chip = engine.chip(photos[photo], face.landmarks)
        assert int(np.abs(chip.astype(int) - match["chip"].astype(int)).max()) <= 1
        assert float(np.abs(desc - match["descriptor"]).max()) <= 1e-5


def test_upsampled_detection_matches_dlib(engine, photos, dat_sources):
    """upsample_num_times=1 (dlib's pyramid_up, then rect_down) on the astronaut."""
    dlib = pytest.importorskip("dlib")
    det = dlib.cnn_face_detection_model_v1(str(dat_sources["detector"]))
    ref = [(d.rect.left(), d.rect.top(), d.rect.right(), d.rect.bottom())
           for d in det(photos["astronaut"], 1)]
    ours = [(d.left, d.top, d.right, d.bottom)
            for d in engine.detect_boxes(photos["astronaut"], upsample=1)]
    assert len(ours) == len(ref) == 1
    assert iou(ours[0], ref[0]) >= 0.9
