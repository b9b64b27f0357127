"""Fixtures for the dlib pipeline tests: the converted models (built once per session into a
temporary directory), the engine, the real photographs shipped inside installed packages
(insightface's ``data/images/t1.jpg``: six faces; scikit-image's ``astronaut``: one) and, for
the parity tests, dlib-bin's own results on them (computed once per session)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from reference.face.dlib.build import build_models, locate_sources


def _require(module: str) -> None:
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"{module} is not installed")


@pytest.fixture(scope="session")
def dat_sources() -> dict[str, Path]:
    _require("face_recognition_models")
    return locate_sources()


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory, dat_sources) -> Path:
    _require("onnx")
    _require("onnxruntime")
    out = tmp_path_factory.mktemp("dlib-models")
    build_models(out, progress=None)
    return out


@pytest.fixture(scope="session")
def engine(model_dir):
    from reference.face.dlib.engine import DlibEngine

    return DlibEngine(model_dir, threads=2)


@pytest.fixture(scope="session")
def t1_image() -> np.ndarray:
    spec = importlib.util.find_spec("insightface")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("insightface (for data/images/t1.jpg) is not installed")
    path = Path(list(spec.submodule_search_locations)[0]) / "data" / "images" / "t1.jpg"
    if not path.is_file():
        pytest.skip(f"{path} is missing")
    from PIL import Image

    with Image.open(path) as im:
        return np.asarray(im.convert("RGB")).copy()


@pytest.fixture(scope="session")
def astronaut_image() -> np.ndarray:
    _require("skimage")
    import skimage.data

    return np.ascontiguousarray(skimage.data.astronaut()[:, :, :3])


@pytest.fixture(scope="session")
def photos(t1_image, astronaut_image) -> dict[str, np.ndarray]:
    return {"t1": t1_image, "astronaut": astronaut_image}


@pytest.fixture(scope="session")
def dlib_reference(photos, dat_sources):
    """dlib-bin's detections, 5-point shapes, chips and descriptors for each photograph."""
    dlib = pytest.importorskip("dlib")
    det = dlib.cnn_face_detection_model_v1(str(dat_sources["detector"]))
    sp = dlib.shape_predictor(str(dat_sources["landmarks"]))
    rec = dlib.face_recognition_model_v1(str(dat_sources["recognition"]))
    out = {}
    for name, img in photos.items():
        faces = []
        for d in det(img, 0):
            r = d.rect
            shape = sp(img, r)
            chip = dlib.get_face_chip(img, shape, size=150, padding=0.25)
            faces.append({
                "box": (r.left(), r.top(), r.right(), r.bottom()),
                "confidence": d.confidence,
                "landmarks": np.array([[p.x, p.y] for p in shape.parts()], dtype=np.float64),
                "chip": np.asarray(chip),
                "descriptor": np.asarray(rec.compute_face_descriptor(chip), dtype=np.float32),
            })
        out[name] = faces
    return out
