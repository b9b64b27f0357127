"""dlib's 5-point face landmark predictor (``shape_predictor_5_face_landmarks.dat``) in numpy.

The model is an ensemble of regression trees (Kazemi & Sullivan 2014) as implemented by
dlib's ``shape_predictor``: a cascade of levels, each with a set of feature pixels (given
as offsets ``deltas`` from an anchor landmark of the mean shape) and a forest of depth-4
trees whose splits compare the intensity difference of two feature pixels with a threshold
and whose leaves hold shape updates.

File layout (``shape_predictor`` version 1): ``initial_shape`` (matrix<float,0,1>, x/y
interleaved, in the unit square of the face box), ``forests`` (vector of vector of trees;
a tree is its ``splits`` (idx1, idx2, thresh) in breadth-first order and its
``leaf_values``), ``anchor_idx`` (vector of vector of landmark indices) and ``deltas``
(vector of vector of 2-d float offsets).

Prediction follows dlib exactly: at every level the similarity transform from the mean
shape to the current shape (Umeyama, float matrix) moves the deltas, the box maps the unit
square to pixels (``(0,0)→top-left``, ``(1,1)→bottom-right``, inclusive corners), feature
pixels are rounded to the nearest pixel, read as the integer mean of R, G and B (0 outside
the image), and every tree's leaf is added to the shape in order (float32).

Landmark order (dlib's 5-point model): 0/1 = outer/inner corner of the eye on the image's
right, 2/3 = outer/inner corner of the eye on the image's left, 4 = bottom of the nose.

Never use ``shape_predictor_68_face_landmarks.dat``: its training data (iBUG 300-W) is
licensed for non-commercial use only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .chips import similarity_transform
from .serialize import DatFormatError

SOURCE_FILE = "shape_predictor_5_face_landmarks.dat"
NUM_PARTS = 5


@dataclass
class ShapePredictorModel:
    initial_shape: np.ndarray      # (2P,) float32
    split_idx1: np.ndarray         # (L, T, S) int32
    split_idx2: np.ndarray         # (L, T, S) int32
    split_thresh: np.ndarray       # (L, T, S) float32
    leaf_values: np.ndarray        # (L, T, S+1, 2P) float32
    anchor_idx: np.ndarray         # (L, F) int32
    deltas: np.ndarray             # (L, F, 2) float32

    def arrays(self) -> dict[str, np.ndarray]:
        return {k: getattr(self, k) for k in ("initial_shape", "split_idx1", "split_idx2",
                                              "split_thresh", "leaf_values", "anchor_idx",
                                              "deltas")}

    @classmethod
    def from_arrays(cls, arrays) -> ShapePredictorModel:
        return cls(**{k: np.asarray(arrays[k]) for k in ("initial_shape", "split_idx1",
                                                          "split_idx2", "split_thresh",
                                                          "leaf_values", "anchor_idx", "deltas")})

    @property
    def num_parts(self) -> int:
        return self.initial_shape.size // 2


class _FastReader:
    """dlib integer/float decoding tuned for the ~3 million values of a shape predictor."""

    def __init__(self, data: bytes, source: str) -> None:
        self.buf = bytes(data)
        self.pos = 0
        self.source = source

    def fail(self, msg: str, pos: int | None = None) -> DatFormatError:
        return DatFormatError(msg, self.pos if pos is None else pos, self.source)

    def int(self, what: str = "integer") -> int:
        buf, pos = self.buf, self.pos
        if pos >= len(buf):
            raise self.fail(f"file truncated: {what} needs 1 byte but none remain")
        control = buf[pos]
        size = control & 0x0F
        if control & 0x70 or size > 8:
            raise self.fail(f"invalid integer control byte 0x{control:02x} for {what}")
        end = pos + 1 + size
        if end > len(buf):
            raise self.fail(f"file truncated: {what} needs {size} byte(s) but only "
                            f"{len(buf) - pos - 1} remain", pos + 1)
        value = int.from_bytes(buf[pos + 1:end], "little")
        self.pos = end
        return -value if control & 0x80 else value

    def uint(self, what: str, limit: int) -> int:
        pos = self.pos
        v = self.int(what)
        if not 0 <= v <= limit:
            raise self.fail(f"{what} {v} out of range 0..{limit}", pos)
        return v

    def float(self, what: str = "float") -> float:
        pos = self.pos
        m = self.int(what)
        e = self.int(what)
        if e >= 32000 or e < -32768:
            raise self.fail(f"non-finite or invalid float for {what}", pos)
        return math.ldexp(m, e)

    def float_vector(self, what: str) -> np.ndarray:
        pos = self.pos
        nr, nc = self.int(f"{what} rows"), self.int(f"{what} cols")
        nr, nc = abs(nr), abs(nc)
        if nc != 1 or nr > 10000:
            raise self.fail(f"{what} should be a column vector, found {nr}x{nc}", pos)
        return np.array([self.float(what) for _ in range(nr)], dtype=np.float32)


def parse_shape_predictor(data: bytes, source: str = SOURCE_FILE,
                          expected_parts: int = NUM_PARTS) -> ShapePredictorModel:
    """Parse and validate a shape predictor; raises `DatFormatError` naming the byte offset."""
    r = _FastReader(data, source)
    pos = r.pos
    version = r.int("shape_predictor version")
    if version != 1:
        raise r.fail(f"unexpected shape_predictor version {version}", pos)
    initial = r.float_vector("initial_shape")
    if initial.size != 2 * expected_parts:
        raise r.fail(f"initial_shape has {initial.size // 2} landmarks, expected {expected_parts}")
    dim = initial.size
    n_levels = r.uint("cascade depth", 1000)
    idx1, idx2, thresh, leaves = [], [], [], []
    n_trees = n_splits = None
    for level in range(n_levels):
        pos = r.pos
        t = r.uint("forest size", 100000)
        if n_trees is None:
            n_trees = t
        elif t != n_trees:
            raise r.fail(f"cascade level {level} has {t} trees, earlier levels {n_trees}", pos)
        l_i1 = np.empty((t, 0), np.int32)
        rows1, rows2, rowst, rowsl = [], [], [], []
        for _ in range(t):
            pos = r.pos
            s = r.uint("number of splits", 1 << 16)
            if n_splits is None:
                n_splits = s
            elif s != n_splits:
                raise r.fail(f"tree with {s} splits, earlier trees {n_splits}", pos)
            a, b, th = [], [], []
            for _ in range(s):
                a.append(r.int("split idx1"))
                b.append(r.int("split idx2"))
                th.append(r.float("split threshold"))
            pos = r.pos
            nl = r.uint("number of leaves", 1 << 17)
            if nl != s + 1:
                raise r.fail(f"tree has {nl} leaves for {s} splits", pos)
            lv = []
            for _ in range(nl):
                pos = r.pos
                v = r.float_vector("leaf value")
                if v.size != dim:
                    raise r.fail(f"leaf value of size {v.size}, expected {dim}", pos)
                lv.append(v)
            rows1.append(a)
            rows2.append(b)
            rowst.append(th)
            rowsl.append(lv)
        del l_i1
        idx1.append(rows1)
        idx2.append(rows2)
        thresh.append(rowst)
        leaves.append(rowsl)
    pos = r.pos
    if r.uint("anchor_idx levels", 1000) != n_levels:
        raise r.fail("anchor_idx does not have one entry per cascade level", pos)
    anchors = []
    n_feats = None
    for level in range(n_levels):
        pos = r.pos
        f = r.uint("number of feature pixels", 1 << 20)
        if n_feats is None:
            n_feats = f
        elif f != n_feats:
            raise r.fail(f"level {level} has {f} feature pixels, earlier levels {n_feats}", pos)
        anchors.append([r.uint("anchor index", expected_parts - 1) for _ in range(f)])
    pos = r.pos
    if r.uint("deltas levels", 1000) != n_levels:
        raise r.fail("deltas does not have one entry per cascade level", pos)
    deltas = []
    for level in range(n_levels):
        pos = r.pos
        if r.uint("number of deltas", 1 << 20) != n_feats:
            raise r.fail(f"level {level}: deltas and anchors differ in length", pos)
        deltas.append([(r.float("delta x"), r.float("delta y")) for _ in range(n_feats)])
    if r.pos != len(r.buf):
        raise r.fail(f"{len(r.buf) - r.pos} unexpected trailing byte(s) after the model")
    model = ShapePredictorModel(
        initial_shape=initial,
        split_idx1=np.asarray(idx1, dtype=np.int32),
        split_idx2=np.asarray(idx2, dtype=np.int32),
        split_thresh=np.asarray(thresh, dtype=np.float32),
        leaf_values=np.asarray(leaves, dtype=np.float32),
        anchor_idx=np.asarray(anchors, dtype=np.int32),
        deltas=np.asarray(deltas, dtype=np.float32),
    )
    if n_feats and (model.split_idx1.max(initial=0) >= n_feats or model.split_idx2.max(initial=0) >= n_feats
                    or model.split_idx1.min(initial=0) < 0 or model.split_idx2.min(initial=0) < 0):
        raise DatFormatError("a split refers to a feature pixel that does not exist", 0, source)
    return model


def _similarity_2x2(from_pts: np.ndarray, to_pts: np.ndarray) -> np.ndarray:
    """dlib's ``find_similarity_transform`` (Umeyama), the 2x2 part, in double."""
    return similarity_transform(from_pts, to_pts)[0]


def _intensity(image: np.ndarray) -> np.ndarray:
    img = np.asarray(image)
    if img.ndim == 2:
        return img.astype(np.float32)
    return (img[..., :3].astype(np.uint32).sum(axis=2) // 3).astype(np.float32)


def _similarity_2x2_centred(from_centred: list[tuple[float, float]], sigma_from: float,
                            to_pts: list[float]) -> tuple[float, float]:
    """`_similarity_2x2` in closed form, for a fixed (pre-centred) ``from`` shape: (a, b) of
    the matrix ``[[a, -b], [b, a]]``.

    In two dimensions Umeyama's least-squares similarity (a rotation, never a reflection, and
    a scale) is ``a = (cov00 + cov11) / sigma``, ``b = (cov10 - cov01) / sigma``: the same
    matrix as the SVD form up to rounding (checked in the tests), in plain Python floats for
    the 5 points — far cheaper than ``np.linalg.svd`` and a dozen small numpy calls, 15 times
    per face. ``to_pts`` is the current shape, x/y interleaved."""
    xs, ys = to_pts[0::2], to_pts[1::2]
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    sa = sb = 0.0
    for (fx, fy), x, y in zip(from_centred, xs, ys, strict=True):
        tx, ty = x - mx, y - my
        sa += tx * fx + ty * fy
        sb += ty * fx - tx * fy
    return sa / n / sigma_from, sb / n / sigma_from


def _index_type(model: ShapePredictorModel) -> type:
    top = max(int(model.split_idx1.max(initial=0)), int(model.split_idx2.max(initial=0)))
    return np.int16 if top < 2 ** 15 else np.int32


class ShapePredictor:
    def __init__(self, model: ShapePredictorModel) -> None:
        self.m = model
        self.n_levels, self.n_trees, self.n_splits = model.split_idx1.shape
        self.depth = int(round(math.log2(self.n_splits + 1)))
        if (1 << self.depth) - 1 != self.n_splits:
            raise ValueError("trees are not complete binary trees")
        self._tree_ix = np.arange(self.n_trees)
        # Flat per-level arrays, so that a cascade level is a handful of 1-d gathers: all
        # T*S split tests at once, then ``depth`` lookups of the taken branch per tree.
        lv, t, s = self.n_levels, self.n_trees, self.n_splits
        self._idx1 = model.split_idx1.reshape(lv, t * s).astype(np.intp)
        self._idx2 = model.split_idx2.reshape(lv, t * s).astype(np.intp)
        self._thresh = model.split_thresh.reshape(lv, t * s)
        self._leaves = model.leaf_values.reshape(lv, t * (s + 1), -1)
        self._tree_leaf_base = np.arange(t, dtype=np.intp) * (s + 1)
        # The walk down a tree as one table lookup: the S split results of a tree, as the bits
        # of a code, determine the leaf reached (bit i = "left" at split i, breadth-first).
        self._bit_values = (2.0 ** np.arange(s)).astype(np.float32) if s <= 20 else None
        if self._bit_values is None:
            raise ValueError(f"trees with {s} splits are too deep for the leaf table")
        codes = np.arange(1 << s, dtype=np.intp)
        node = np.zeros_like(codes)
        for _ in range(self.depth):
            node = 2 * node + 2 - ((codes >> node) & 1)
        self._leaf_of_code = node - s                       # leaf index within the tree
        self._anchor = model.anchor_idx.astype(np.intp)
        init = model.initial_shape.reshape(-1, 2).astype(np.float64)
        centred = init - init.mean(axis=0)
        self._init_centred = [(float(x), float(y)) for x, y in centred]
        self._init_sigma = float((centred ** 2).sum(axis=1).mean())
        if self._init_sigma <= 0:
            raise ValueError("degenerate initial shape")
        # the same model laid out for the compiled cascade (`kernels.landmark_cascade`), with
        # 16-bit feature indexes where they fit (a level has a few hundred feature pixels): the
        # split tables are read with the caches cold after the detector's CNN, so smaller is faster
        index = _index_type(model)
        self._kernel_args = (
            np.ascontiguousarray(model.initial_shape, dtype=np.float32),
            np.ascontiguousarray(centred[:, 0]), np.ascontiguousarray(centred[:, 1]), self._init_sigma,
            np.ascontiguousarray(model.deltas, dtype=np.float32),
            np.ascontiguousarray(model.anchor_idx, dtype=np.int32),
            np.ascontiguousarray(model.split_idx1, dtype=index),
            np.ascontiguousarray(model.split_idx2, dtype=index),
            np.ascontiguousarray(model.split_thresh, dtype=np.float32),
            np.ascontiguousarray(model.leaf_values, dtype=np.float32), self.depth,
        )

    @classmethod
    def load(cls, path: Path) -> ShapePredictor:
        with np.load(path) as z:
            return cls(ShapePredictorModel.from_arrays(z))

    def __call__(self, image: np.ndarray, box: tuple[int, int, int, int],
                 intensity: np.ndarray | None = None) -> np.ndarray:
        """Landmarks (P, 2) float64 in pixel coordinates for the face box
        ``(left, top, right, bottom)`` (inclusive corners, dlib's rectangle). dlib rounds
        them to whole pixels; the caller decides (see `engine.DlibEngine.landmarks`).

        ``intensity`` (H, W) may be passed to reuse a precomputed grey image; otherwise only
        the sampled pixels of ``image`` are converted. A uint8 colour image goes through the
        compiled cascade (`kernels.landmark_cascade`); anything else through `reference`."""
        img = np.asarray(image)
        if intensity is None and img.ndim == 3 and img.shape[2] >= 3 and img.dtype == np.uint8:
            from .kernels import landmark_cascade

            left, top, right, bottom = (float(v) for v in box)
            flat = np.ascontiguousarray(img).reshape(-1, img.shape[2])
            return landmark_cascade(flat, img.shape[0], img.shape[1], left, top, right - left, bottom - top,
                                    *self._kernel_args)
        return self.reference(img, box, intensity)

    def reference(self, image: np.ndarray, box: tuple[int, int, int, int],
                  intensity: np.ndarray | None = None) -> np.ndarray:
        """The cascade in numpy: the compiled kernel's reference (tests compare the two), and
        the path for grey images and precomputed intensities."""
        img = np.asarray(image)
        h, w = img.shape[:2]
        left, top, right, bottom = (float(v) for v in box)
        sx, sy = right - left, bottom - top
        m = self.m
        shape = m.initial_shape.astype(np.float32).copy()
        leaf_base = self._tree_leaf_base
        acc = np.empty((self.n_trees + 1, shape.size), dtype=np.float32)
        scale = np.array([sx, sy])
        origin = np.array([left, top])
        size = np.array([w, h], dtype=np.intp)
        stride = np.array([1, w], dtype=np.intp)
        flat = None
        if intensity is None and img.ndim == 3:
            flat = np.ascontiguousarray(img).reshape(-1, img.shape[2])
        for level in range(self.n_levels):
            cur = shape.reshape(-1, 2)
            a, b = _similarity_2x2_centred(self._init_centred, self._init_sigma, shape.tolist())
            # the transform [[a, -b], [b, a]] applied to each delta as dlib writes it, in float32
            # (x = a*dx + (-b)*dy): not as a matmul, whose BLAS kernel may round differently
            a32, b32 = np.float32(a), np.float32(b)
            d = m.deltas[level]
            pts = np.stack([d[:, 0] * a32 + d[:, 1] * -b32, d[:, 0] * b32 + d[:, 1] * a32], axis=1)
            pts += cur[self._anchor[level]]                          # float32, normalised space
            pf = pts.astype(np.float64)
            pf *= scale
            pf += origin
            pf += 0.5
            pix = np.floor(pf, out=pf).astype(np.intp)           # (F, 2) x, y, rounded
            if flat is not None and (pix >= 0).all() and (pix < size).all():
                feats = (flat.take(pix @ stride, axis=0)[:, :3].sum(axis=1, dtype=np.uint32) // 3
                         ).astype(np.float32)
            else:
                px, py = pix[:, 0], pix[:, 1]
                inside = (px >= 0) & (px < w) & (py >= 0) & (py < h)
                feats = np.zeros(px.shape, dtype=np.float32)
                if intensity is not None:
                    feats[inside] = intensity[py[inside], px[inside]]
                elif img.ndim == 2:
                    feats[inside] = img[py[inside], px[inside]]
                else:
                    rgb = img[py[inside], px[inside], :3].astype(np.uint32)
                    feats[inside] = rgb.sum(axis=1) // 3
            # every split test of the level at once (float32 difference, as dlib), then walk
            go_left = (feats[self._idx1[level]] - feats[self._idx2[level]]) > self._thresh[level]
            # each tree's S test results as an S-bit code (exact in float32: < 2^24) → its leaf
            codes = (go_left.reshape(self.n_trees, self.n_splits) @ self._bit_values).astype(np.intp)
            # dlib adds the trees' outputs (leaves) one after another in float32
            acc[0] = shape
            np.take(self._leaves[level], self._leaf_of_code.take(codes) + leaf_base, axis=0, out=acc[1:])
            shape = np.add.accumulate(acc, axis=0)[-1]
        pts = shape.reshape(-1, 2).astype(np.float64)
        return np.stack([left + sx * pts[:, 0], top + sy * pts[:, 1]], axis=1)


def load_shape_predictor(path: Path) -> ShapePredictor:
    """From a converted ``.npz`` (or directly from a ``.dat``)."""
    path = Path(path)
    if path.suffix == ".dat":
        return ShapePredictor(parse_shape_predictor(path.read_bytes(), path.name))
    return ShapePredictor.load(path)
