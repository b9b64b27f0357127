"""Verification with the normalised descriptors: jittered copies of one face (rotation,
scale, shift, brightness/contrast, blur; each through the whole detect → align → embed
pipeline) stay above the threshold, different people fall below it."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from reference.face.dlib.engine import normalise

JITTERS = 5


@pytest.fixture(scope="module")
def threshold(engine) -> float:
    """The model's calibrated operating point (interface_spec/face/operating_points.yaml, derived
    by `scenemon face calibrate --dlib-photos`): the threshold the face core verifies at."""
    from reference.config import Settings
    from reference.face.core import FaceCore

    return FaceCore(Settings(face_engine="dlib")).threshold(engine.model_id)


def _crop(img, box):
    x0, t, r, b = box
    cx, cy, s = (x0 + r) / 2, (t + b) / 2, (r - x0 + 1) * 1.5
    y0, y1 = int(max(cy - s, 0)), int(min(cy + s, img.shape[0]))
    x0, x1 = int(max(cx - s, 0)), int(min(cx + s, img.shape[1]))
    return np.ascontiguousarray(img[y0:y1, x0:x1])


def _jitter(img, rng):
    h, w = img.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), rng.uniform(-8, 8), rng.uniform(0.9, 1.1))
    m[:, 2] += rng.uniform(-4, 4, 2)
    out = cv2.warpAffine(img, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    out = out.astype(np.float32) * rng.uniform(0.85, 1.15) + rng.uniform(-12, 12)
    out = np.clip(out, 0, 255).astype(np.uint8)
    return cv2.GaussianBlur(out, (3, 3), 0) if rng.random() < 0.5 else out


def test_jittered_same_face_verifies_and_different_faces_do_not(engine, photos, threshold):
    rng = np.random.default_rng(20260302)
    faces = []
    for img in photos.values():
        for face, desc in engine.embed_image(img):
            faces.append((_crop(img, face.box), normalise(desc)))
    assert len(faces) == 7
    same = []
    for crop, ref in faces:
        for _ in range(JITTERS):
            found = engine.embed_image(_jitter(crop, rng))
            assert found, "jittered face not detected"
            same.append(float(normalise(found[0][1]) @ ref))
    vecs = np.stack([v for _, v in faces])
    sims = vecs @ vecs.T
    different = sims[np.triu_indices(len(faces), k=1)]
    assert 0.9 < threshold < 0.95  # the cosine equivalent of dlib's own Euclidean 0.6 is ~0.915
    assert min(same) >= threshold, min(same)
    assert float(different.max()) < threshold, float(different.max())


def test_descriptor_is_not_normalised_and_helper_is(engine, photos):
    (face, desc), = engine.embed_image(photos["astronaut"])
    assert desc.dtype == np.float32 and desc.shape == (128,)
    assert abs(float(np.linalg.norm(desc)) - 1.0) > 0.05
    assert abs(float(np.linalg.norm(normalise(desc))) - 1.0) < 1e-6
    assert face.landmarks.shape == (5, 2) and face.confidence > 0
    assert engine.model_id.startswith("dlib-resnet-v1:") and engine.dim == 128
