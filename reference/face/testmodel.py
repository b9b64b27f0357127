"""A tiny ONNX *recognition-shaped* model the project generates itself, for tests only.

It is not a face model: it average-pools a 112×112 image to 28×28 and projects the pixels onto
512 fixed random directions (seeded), so images that look alike get similar embeddings and
unrelated images get near-orthogonal ones. That is enough to exercise the real insightface +
onnxruntime code path (`insightface.model_zoo.get_model` loads it as an `ArcFaceONNX`
recogniser: input 1×3×112×112, output 1×512) without any licensed weights.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def build_test_recogniser(path: Path, seed: int = 1234) -> Path:
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(seed)
    w = (rng.standard_normal((3 * 28 * 28, 512)) / np.sqrt(3 * 28 * 28)).astype(np.float32)
    graph = helper.make_graph(
        [
            helper.make_node("AveragePool", ["data"], ["pooled"], kernel_shape=[4, 4], strides=[4, 4]),
            helper.make_node("Flatten", ["pooled"], ["flat"], axis=1),
            helper.make_node("MatMul", ["flat", "proj"], ["fc1"]),
        ],
        "scenemon_test_recogniser",
        [helper.make_tensor_value_info("data", TensorProto.FLOAT, ["None", 3, 112, 112])],
        [helper.make_tensor_value_info("fc1", TensorProto.FLOAT, ["None", 512])],
        initializer=[numpy_helper.from_array(w, "proj")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)],
                              producer_name="scenemon-testmodel")
    model.ir_version = 8
    onnx.checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path


def synthetic_face_image(rng: np.random.Generator) -> np.ndarray:
    """A random 112×112 BGR 'face' (uint8) — a stand-in image, not a face."""
    return rng.integers(0, 256, size=(112, 112, 3), dtype=np.uint8)


def jitter(image: np.ndarray, rng: np.random.Generator, sigma: float = 12.0) -> np.ndarray:
    """The same 'face' captured again: pixel noise and a small brightness change."""
    noisy = image.astype(np.float32) + rng.normal(0, sigma, image.shape) + rng.uniform(-10, 10)
    return np.clip(noisy, 0, 255).astype(np.uint8)
