"""The untrained ArcFace-shaped network (loadtests.timing_model) has insightface R50's layout and
loads as an insightface recogniser, and the image-path benchmark measures the insightface engine
with it."""

from __future__ import annotations

import json

import numpy as np
import pytest

from loadtests import bench_image_path
from loadtests.timing_model import FILE_NAME, R50_LAYERS, build_iresnet_shape

pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

TINY = (1, 1, 1, 1)


def _parameters(path) -> int:
    import onnx

    return sum(int(np.prod(t.dims)) for t in onnx.load(str(path)).graph.initializer)


def test_the_stand_in_has_arcface_r50s_size_and_runs(tmp_path):
    path = build_iresnet_shape(tmp_path / FILE_NAME, R50_LAYERS)
    # insightface's w600k_r50.onnx holds 43.6 M parameters (BN statistics included); so must the stand-in.
    assert 43.0e6 < _parameters(path) < 44.2e6
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (inp,), (out,) = sess.get_inputs(), sess.get_outputs()
    assert inp.shape[1:] == [3, 112, 112] and out.shape[1:] == [512]
    emb = sess.run(None, {inp.name: np.random.default_rng(0).standard_normal((2, 3, 112, 112), np.float32)})[0]
    assert emb.shape == (2, 512) and np.isfinite(emb).all() and np.linalg.norm(emb, axis=1).min() > 0


def test_insightface_loads_the_stand_in_as_a_recogniser(tmp_path):
    pytest.importorskip("insightface")
    from reference.face.engines import InsightFaceEngine

    build_iresnet_shape(tmp_path / "pack" / FILE_NAME, TINY)
    engine = InsightFaceEngine(tmp_path / "pack")
    assert engine.detector is None and engine.input_size == (112, 112) and engine.dim == 512
    crop = np.random.default_rng(1).integers(0, 256, (112, 112, 3), dtype=np.uint8)
    vec = engine.embed(crop, aligned=True)
    assert vec.shape == (512,) and abs(float(np.linalg.norm(vec)) - 1.0) < 1e-5


def test_bench_image_path_measures_an_insightface_pack(tmp_path, capsys):
    pytest.importorskip("insightface")
    pytest.importorskip("skimage")
    pack = tmp_path / "pack"
    build_iresnet_shape(pack / FILE_NAME, TINY)
    out = tmp_path / "figures.json"
    code = bench_image_path.main(["--engine", "insightface", "--pack", str(pack), "--repeat", "2",
                                  "--json", str(out)])
    assert code == 0
    printed = capsys.readouterr().out
    assert "untrained network of ArcFace-R50's shape: timings only" in printed
    figures = json.loads(out.read_text(encoding="utf-8"))
    assert list(figures) == ["aligned 112x112 crop JPEG", "aligned 112x112 crop PNG"]  # no detector: crops only
    for label, f in figures.items():
        assert 0 < f["inference_ms"] < f["server_ms"] and f["overhead"] > 0, label
        assert f["overhead_3_models"] == f["overhead"], label  # no landmark model outside the networks
