"""Compiled loops for the two alignment steps: the 5-point landmark cascade and the chip's
bilinear sampling (numba, compiled on first use and cached next to this file).

Why compiled: both are tight loops over a few thousand values. In numpy they were 15 levels of
~40 small array calls (landmarks, ~1.5 ms per face) and ~15 passes over 67,500 float64 values
(chip, ~0.9 ms), the largest part of the image path's server-side overhead (issue 4 asks for at
most 15 % on top of inference). Compiled, each is tens of microseconds.

Both compute exactly what the numpy forms in `landmarks` and `chips` compute, with the same
operations in the same order and precision (float32 where dlib uses float, float64 where it uses
double); the tests compare them on random inputs, and the parity tests compare the pipeline with
dlib itself. numba does not reorder or fuse floating-point operations unless asked to
(`fastmath`), so the order written here is the order executed.
"""

from __future__ import annotations

import math

import numba
import numpy as np

_JIT = {"nogil": True, "cache": True}


@numba.njit(**_JIT)
def landmark_cascade(flat: np.ndarray, h: int, w: int, left: float, top: float, sx: float, sy: float,
                     initial: np.ndarray, init_cx: np.ndarray, init_cy: np.ndarray, init_sigma: float,
                     deltas: np.ndarray, anchors: np.ndarray, idx1: np.ndarray, idx2: np.ndarray,
                     thresh: np.ndarray, leaves: np.ndarray, depth: int) -> np.ndarray:
    """dlib's ``shape_predictor`` on an RGB image given as ``flat`` (H*W, C) uint8.

    initial (2P,) float32 — the mean shape, x/y interleaved, in box-normalised coordinates;
    init_cx/init_cy (P,) float64 — the mean shape centred; init_sigma — its mean squared norm;
    deltas (L, F, 2) float32, anchors (L, F) — feature pixels relative to an anchor landmark;
    idx1/idx2/thresh (L, T, S) — split tests; leaves (L, T, S+1, 2P) float32.
    Returns (P, 2) float64 pixel coordinates (not rounded)."""
    n_levels, n_trees, n_splits = idx1.shape
    n_feats = deltas.shape[1]
    npts = initial.shape[0] // 2
    nch = flat.shape[1]
    shape = initial.copy()
    feats = np.empty(n_feats, dtype=np.float32)
    leaf_of = np.empty(n_trees, dtype=np.intp)
    for level in range(n_levels):
        # the similarity transform from the mean shape to the current one (closed-form Umeyama,
        # as `landmarks._similarity_2x2_centred`, in double)
        mx = 0.0
        my = 0.0
        for p in range(npts):
            mx += float(shape[2 * p])
            my += float(shape[2 * p + 1])
        mx /= npts
        my /= npts
        sa = 0.0
        sb = 0.0
        for p in range(npts):
            tx = float(shape[2 * p]) - mx
            ty = float(shape[2 * p + 1]) - my
            sa += tx * init_cx[p] + ty * init_cy[p]
            sb += ty * init_cx[p] - tx * init_cy[p]
        a = np.float32(sa / npts / init_sigma)
        b = np.float32(sb / npts / init_sigma)
        # the feature pixels: delta transformed, plus its anchor landmark (float32), then to
        # image pixels in double, rounded down after +0.5; outside the image a pixel reads 0
        for f in range(n_feats):
            dx = deltas[level, f, 0]
            dy = deltas[level, f, 1]
            k = anchors[level, f]
            x32 = (dx * a + dy * -b) + shape[2 * k]
            y32 = (dx * b + dy * a) + shape[2 * k + 1]
            px = math.floor(float(x32) * sx + left + 0.5)
            py = math.floor(float(y32) * sy + top + 0.5)
            if px < 0 or px >= w or py < 0 or py >= h:
                feats[f] = 0.0
            else:
                row = int(py) * w + int(px)
                total = 0
                for c in range(min(nch, 3)):
                    total += int(flat[row, c])
                feats[f] = np.float32(total // 3) if nch >= 3 else np.float32(total)
        # every tree: walk its splits to a leaf; then add the leaves (in float32, one tree after
        # another). Two passes, so that the leaf reads — scattered over a 4.8 MB table, mostly
        # cache misses right after the detector's CNN — have known addresses and overlap,
        # instead of each waiting behind the previous tree's additions.
        for t in range(n_trees):
            node = 0
            for _ in range(depth):
                if feats[idx1[level, t, node]] - feats[idx2[level, t, node]] > thresh[level, t, node]:
                    node = 2 * node + 1
                else:
                    node = 2 * node + 2
            leaf_of[t] = node - n_splits
        for t in range(n_trees):
            leaf = leaf_of[t]
            for j in range(2 * npts):
                shape[j] += leaves[level, t, leaf, j]
    out = np.empty((npts, 2), dtype=np.float64)
    for p in range(npts):
        out[p, 0] = left + sx * float(shape[2 * p])
        out[p, 1] = top + sy * float(shape[2 * p + 1])
    return out


@numba.njit(**_JIT)
def sample_bilinear(img: np.ndarray, m: np.ndarray, t: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """dlib's bilinear ``extract_image_chip`` sampling: chip pixel (c, r) reads the source at
    ``m @ (c, r) + t``; pixels whose 2x2 neighbourhood is not inside the source are 0. Double
    precision, dlib's expression, clipped to [0, 255] and truncated, as `chips._sample_bilinear`."""
    h, w, nch = img.shape
    out = np.zeros((rows, cols, nch), dtype=np.uint8)
    for r in range(rows):
        for c in range(cols):
            px = m[0, 0] * c + m[0, 1] * r + t[0]
            py = m[1, 0] * c + m[1, 1] * r + t[1]
            left = math.floor(px)
            top = math.floor(py)
            if left < 0 or top < 0 or left + 1 >= w or top + 1 >= h:
                continue
            fx = px - left
            fy = py - top
            gx = 1 - fx
            gy = 1 - fy
            li = int(left)
            ti = int(top)
            for ch in range(nch):
                v = (float(img[ti, li, ch]) * gx + float(img[ti, li + 1, ch]) * fx) * gy
                v += (float(img[ti + 1, li, ch]) * gx + float(img[ti + 1, li + 1, ch]) * fx) * fy
                if v < 0.0:
                    v = 0.0
                elif v > 255.0:
                    v = 255.0
                out[r, c, ch] = np.uint8(int(v))
    return out
