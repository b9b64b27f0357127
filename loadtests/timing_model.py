"""An untrained network of ArcFace-R50's shape, for timing the insightface image path.

insightface's trained recognisers (buffalo_l's ``w600k_r50.onnx`` and the like) may not be
shipped or downloaded here (non-commercial licence, no network). How long a network takes on a
CPU depends on its shape (layers, channels, input size), not on the values of its weights, so
for *timing* the server around a recogniser of the size deployments use, this module writes a
network with the same layout as insightface's IResNet-50 (input 1×3×112×112; a 3×3 stem; 3, 4,
14 and 3 residual blocks of 64, 128, 256 and 512 channels with batch normalisation and PReLU;
a 25,088 → 512 fully connected layer and a final batch norm) and random weights.

It embeds nothing: every face gets an arbitrary vector. Use it for timings only, never for
scores, thresholds or anything that claims to recognise a face.

    python -m loadtests.timing_model --out /tmp/packs/arcface-r50-shape
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

R50_LAYERS = (3, 4, 14, 3)
FILE_NAME = "iresnet50_shape_untrained.onnx"


def build_iresnet_shape(path: Path, layers: tuple[int, ...] = R50_LAYERS, seed: int = 0) -> Path:
    """Write an untrained IResNet (ArcFace layout) with `layers` blocks per stage to `path`."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(seed)
    nodes: list = []
    inits: list = []
    counter = iter(range(1_000_000))

    def name(kind: str) -> str:
        return f"{kind}_{next(counter)}"

    def const(arr: np.ndarray, kind: str) -> str:
        n = name(kind)
        inits.append(numpy_helper.from_array(np.ascontiguousarray(arr, dtype=np.float32), n))
        return n

    def conv(x: str, cin: int, cout: int, k: int, stride: int) -> str:
        w = rng.standard_normal((cout, cin, k, k), dtype=np.float32) * np.float32(np.sqrt(2.0 / (cin * k * k)))
        out = name("conv")
        nodes.append(helper.make_node("Conv", [x, const(w, "w")], [out], kernel_shape=[k, k],
                                      strides=[stride, stride], pads=[k // 2] * 4))
        return out

    def bn(x: str, c: int, scale: float = 1.0) -> str:
        out = name("bn")
        nodes.append(helper.make_node(
            "BatchNormalization",
            [x, const(np.full(c, scale), "gamma"), const(np.zeros(c), "beta"),
             const(np.zeros(c), "mean"), const(np.ones(c), "var")],
            [out], epsilon=1e-5))
        return out

    def prelu(x: str, c: int) -> str:
        out = name("prelu")
        nodes.append(helper.make_node("PRelu", [x, const(np.full((c, 1, 1), 0.25), "slope")], [out]))
        return out

    def add(a: str, b: str) -> str:
        out = name("add")
        nodes.append(helper.make_node("Add", [a, b], [out]))
        return out

    x = prelu(bn(conv("data", 3, 64, 3, 1), 64), 64)
    cin = 64
    for planes, blocks in zip((64, 128, 256, 512), layers, strict=True):
        for b in range(blocks):
            stride = 2 if b == 0 else 1
            y = bn(x, cin)
            y = prelu(bn(conv(y, cin, planes, 3, 1), planes), planes)
            y = bn(conv(y, planes, planes, 3, stride), planes, scale=0.2)  # small residual: stays finite
            skip = bn(conv(x, cin, planes, 1, stride), planes) if (stride != 1 or cin != planes) else x
            x = add(y, skip)
            cin = planes
    x = bn(x, 512)
    flat = name("flatten")
    nodes.append(helper.make_node("Flatten", [x], [flat], axis=1))
    fc_w = rng.standard_normal((512 * 7 * 7, 512), dtype=np.float32) * np.float32(1 / np.sqrt(512 * 7 * 7))
    fc = name("fc")
    nodes.append(helper.make_node("Gemm", [flat, const(fc_w, "fc_w"), const(np.zeros(512), "fc_b")], [fc]))
    out_bn = bn(fc, 512)
    nodes.append(helper.make_node("Identity", [out_bn], ["fc1"]))
    graph = helper.make_graph(
        nodes, "iresnet_shape_untrained",
        [helper.make_tensor_value_info("data", TensorProto.FLOAT, ["None", 3, 112, 112])],
        [helper.make_tensor_value_info("fc1", TensorProto.FLOAT, ["None", 512])],
        initializer=inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)],
                              producer_name="scenemon-timing-model (untrained; for timing only)")
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True, help="pack directory to write the .onnx file into")
    args = ap.parse_args(argv)
    path = build_iresnet_shape(args.out / FILE_NAME)
    print(f"wrote {path} ({path.stat().st_size / 1e6:.0f} MB): untrained, for timing only")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
