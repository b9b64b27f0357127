"""Aligned face chips: dlib's ``get_face_chip(img, shape, size=150, padding=0.25)`` in numpy.

1. ``get_face_chip_details``: the five landmarks are matched (least-squares similarity,
   Umeyama) to dlib's reference positions of the 5-point model, spread over the chip with
   ``(padding + p) / (1 + 2*padding) * size``; the transform gives the chip's angle, and an
   axis-aligned rectangle (``centered_drect`` around the chip centre, size*scale) in image
   space.
2. ``extract_image_chips``: when the chip is much smaller than its source area, dlib first
   builds a ``pyramid_down<2>`` pyramid (5-tap [1 4 6 4 1] binomial filter, integer maths,
   drop every other row/column) of the cropped neighbourhood and samples from the level where
   the area still exceeds the chip's; then each chip pixel is mapped through the affine
   transform taking the chip's corners to the rotated rectangle's and sampled with bilinear
   interpolation (truncated to uint8; black outside the source).

Landmarks are taken as dlib gives them: integer pixel positions.
"""

from __future__ import annotations

import math

import numpy as np

CHIP_SIZE = 150
CHIP_PADDING = 0.25

# dlib's reference positions of the 5-point model's landmarks in the unit chip
# (image_transforms/interpolation.h, get_face_chip_details).
REFERENCE_5 = np.array([
    [0.8595674595992, 0.2134981538014],
    [0.6460604764104, 0.2289674387677],
    [0.1205750620789, 0.2137274526848],
    [0.3340850613712, 0.2290642403242],
    [0.4901123135679, 0.6277975316475],
], dtype=np.float64)


def similarity_transform(src: np.ndarray, dst: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares similarity (Umeyama) taking ``src`` points to ``dst``: (2x2, 2)."""
    f = np.asarray(src, dtype=np.float64)
    t = np.asarray(dst, dtype=np.float64)
    mf, mt = f.mean(axis=0), t.mean(axis=0)
    fc, tc = f - mf, t - mt
    sigma_from = float((fc ** 2).sum(axis=1).mean())
    cov = (tc[:, :, None] * fc[:, None, :]).mean(axis=0)
    u, d, vt = np.linalg.svd(cov)
    s = np.eye(2)
    det_cov = np.linalg.det(cov)
    if det_cov < 0 or (det_cov == 0 and np.linalg.det(u) * np.linalg.det(vt) < 0):
        if d[1] < d[0]:
            s[1, 1] = -1
        else:
            s[0, 0] = -1
    rot = u @ s @ vt
    c = 1.0 if sigma_from == 0 else float(np.trace(np.diag(d) @ s)) / sigma_from
    m = c * rot
    return m, mt - m @ mf


def chip_details(landmarks: np.ndarray, size: int = CHIP_SIZE, padding: float = CHIP_PADDING):
    """(rect (l, t, r, b) floats, angle, rows, cols) as dlib's ``get_face_chip_details``."""
    pts = np.asarray(landmarks, dtype=np.float64).reshape(-1, 2)
    if pts.shape[0] != 5:
        raise ValueError("face chips need the 5-point landmarks")
    chip_pts = (padding + REFERENCE_5) / (2 * padding + 1) * size
    m, t = similarity_transform(chip_pts, pts)
    p = m @ np.array([1.0, 0.0])
    angle = math.atan2(p[1], p[0])
    scale = math.hypot(p[0], p[1])
    centre = m @ np.array([size / 2.0, size / 2.0]) + t
    w = size * scale - 1
    h = size * scale - 1
    rect = (centre[0] - w / 2, centre[1] - h / 2, centre[0] + w / 2, centre[1] + h / 2)
    return rect, angle, size, size


def _area(rect) -> float:
    x0, t, r, b = rect
    if t > b or x0 > r:
        return 0.0
    return (r - x0 + 1) * (b - t + 1)


def _rect_down(rect):
    x0, t, r, b = rect
    return (x0 / 2.0 - 1.25, t / 2.0 - 0.75, r / 2.0 - 1.25, b / 2.0 - 0.75)


def _rotate(centre, p, angle):
    c, s = math.cos(angle), math.sin(angle)
    x, y = p[0] - centre[0], p[1] - centre[1]
    return (c * x - s * y + centre[0], s * x + c * y + centre[1])


_BINOMIAL_5 = np.array([1, 4, 6, 4, 1], dtype=np.float32)


def pyramid_down2(img: np.ndarray) -> np.ndarray:
    """dlib's ``pyramid_down<2>`` for RGB images: the separable [1 4 6 4 1] filter, every other
    row and column from the third, integer sum divided by 256 (truncated).

    Run by OpenCV's ``sepFilter2D`` in float32, which is exact here: every partial sum is an
    integer below 2^16 (at most 16*16*255), well inside float32's 2^24 exact range, and the
    division by 256 is a power of two, so the result is bit-identical to dlib's integer maths
    (checked against the plain numpy form in the tests)."""
    import cv2

    nr, nc = img.shape[:2]
    if nr <= 8 or nc <= 8:
        return np.zeros((0, 0) + img.shape[2:], dtype=np.uint8)
    ocols = (nc - 3) // 2
    orows = (nr - 3) // 2
    f = cv2.sepFilter2D(np.ascontiguousarray(img, dtype=np.float32), -1, _BINOMIAL_5, _BINOMIAL_5,
                        borderType=cv2.BORDER_CONSTANT)
    out = f[2:2 + 2 * orows:2, 2:2 + 2 * ocols:2]
    if out.ndim == 2 and img.ndim == 3:     # OpenCV drops a single channel axis
        out = out[:, :, None]
    return (out * np.float32(1 / 256)).astype(np.uint8)


def pyramid_down2_reference(img: np.ndarray) -> np.ndarray:
    """`pyramid_down2` in plain numpy integer maths (dlib's form; the tests' reference)."""
    nr, nc = img.shape[:2]
    if nr <= 8 or nc <= 8:
        return np.zeros((0, 0) + img.shape[2:], dtype=np.uint8)
    x = img.astype(np.uint32)
    ocols = (nc - 3) // 2
    c0 = 2 * np.arange(ocols)
    tmp = x[:, c0] + 4 * x[:, c0 + 1] + 6 * x[:, c0 + 2] + 4 * x[:, c0 + 3] + x[:, c0 + 4]
    orows = (nr - 3) // 2
    r0 = 2 + 2 * np.arange(orows)
    out = tmp[r0 - 2] + 4 * tmp[r0 - 1] + 6 * tmp[r0] + 4 * tmp[r0 + 1] + tmp[r0 + 2]
    return (out // 256).astype(np.uint8)


def _affine_from_3(src, dst) -> tuple[np.ndarray, np.ndarray]:
    a = np.array([[x, y, 1.0] for x, y in src])
    b = np.array(dst, dtype=np.float64)
    sol = np.linalg.solve(a, b)          # (3, 2): rows for x, y, 1
    return sol[:2].T, sol[2]


_GRIDS: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}


def _grid(rows: int, cols: int) -> tuple[np.ndarray, np.ndarray]:
    """(column, row) float64 coordinates of every chip pixel, made once per chip size."""
    key = (rows, cols)
    if key not in _GRIDS:
        cc, rr = np.meshgrid(np.arange(cols, dtype=np.float64), np.arange(rows, dtype=np.float64))
        cc.setflags(write=False)
        rr.setflags(write=False)
        _GRIDS[key] = (cc, rr)
    return _GRIDS[key]


def _sample_bilinear(img: np.ndarray, m: np.ndarray, t: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """The chip's pixels: compiled (`kernels.sample_bilinear`) for a uint8 H×W×C source, the
    numpy form otherwise. Both are dlib's arithmetic; the tests compare them."""
    if img.dtype == np.uint8 and img.ndim == 3:
        from .kernels import sample_bilinear

        return sample_bilinear(np.ascontiguousarray(img), np.ascontiguousarray(m, dtype=np.float64),
                               np.ascontiguousarray(t, dtype=np.float64), rows, cols)
    return sample_bilinear_reference(img, m, t, rows, cols)


def sample_bilinear_reference(img: np.ndarray, m: np.ndarray, t: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """`_sample_bilinear` in numpy (the compiled kernel's reference)."""
    cc, rr = _grid(rows, cols)
    px = m[0, 0] * cc + m[0, 1] * rr + t[0]
    py = m[1, 0] * cc + m[1, 1] * rr + t[1]
    left = np.floor(px)
    top = np.floor(py)
    h, w = img.shape[:2]
    ok = (left >= 0) & (top >= 0) & (left + 1 < w) & (top + 1 < h)
    nch = img.shape[2]
    out = np.zeros((rows, cols, nch), dtype=np.uint8)
    if not ok.any():
        return out
    every = bool(ok.all())          # the usual case: the whole chip inside the source
    if not every:
        px, py, left, top = px[ok], py[ok], left[ok], top[ok]
    fx = (px - left).reshape(-1)
    fy = (py - top).reshape(-1)
    gx, gy = 1 - fx, 1 - fy
    # Gather the four neighbours as uint8 rows of the flattened image (one 1-d take each,
    # cheaper than 2-d fancy indexing) and widen only them, not the whole image; compute
    # channel-planar (3, n), where the per-pixel weights broadcast cheaply.
    flat = np.ascontiguousarray(img).reshape(-1, nch)
    idx = (top.astype(np.intp) * w + left.astype(np.intp)).reshape(-1)
    n = idx.size

    def neighbour(offset: int) -> np.ndarray:
        a = np.empty((nch, n), dtype=np.float64)
        a[...] = flat.take(idx + offset if offset else idx, axis=0).T
        return a

    # v = (1-fy)*((1-fx)*tl + fx*tr) + fy*((1-fx)*bl + fx*br), dlib's expression, evaluated
    # with the same operations in the same order (bit-identical), in place.
    v = neighbour(0)
    v *= gx
    tmp = neighbour(1)
    tmp *= fx
    v += tmp
    v *= gy
    lower = neighbour(w)
    lower *= gx
    tmp = neighbour(w + 1)
    tmp *= fx
    lower += tmp
    lower *= fy
    v += lower
    np.clip(v, 0, 255, out=v)
    v = v.astype(np.uint8).T      # dlib truncates (static_cast)
    if every:
        return np.ascontiguousarray(v).reshape(rows, cols, nch)
    out[ok] = v
    return out


def extract_chip(image_rgb: np.ndarray, rect, angle: float, rows: int, cols: int) -> np.ndarray:
    """dlib's ``extract_image_chip`` with bilinear interpolation, for one chip."""
    img = np.asarray(image_rgb)
    h, w = img.shape[:2]
    size = rows * cols
    rl, t, r, b = rect
    if angle == 0 and rows == (b - t + 1) and cols == (r - rl + 1):
        li, ti = math.floor(rl + 0.5), math.floor(t + 0.5)
        out = np.zeros((rows, cols, img.shape[2]), dtype=np.uint8)
        y0, y1 = max(ti, 0), min(ti + rows, h)
        x0, x1 = max(li, 0), min(li + cols, w)
        if y0 < y1 and x0 < x1:
            out[y0 - ti:y1 - ti, x0 - li:x1 - li] = img[y0:y1, x0:x1]
        return out
    depth, grow = 0, 2.0
    rd = _rect_down(rect)
    while _area(rd) > size:
        rd = _rect_down(rd)
        depth += 1
        grow = grow * 2 + 2
    centre = ((rl + r) / 2.0, (t + b) / 2.0)
    corners = [_rotate(centre, p, angle) for p in ((rl, t), (r, t), (rl, b), (r, b))]
    xs, ys = [p[0] for p in corners], [p[1] for p in corners]
    gl, gt = max(min(xs) - grow, 0.0), max(min(ys) - grow, 0.0)
    gr, gb = min(max(xs) + grow, w - 1.0), min(max(ys) + grow, h - 1.0)
    bl_, bt_ = math.floor(gl + 0.5), math.floor(gt + 0.5)
    br_, bb_ = math.floor(gr + 0.5), math.floor(gb + 0.5)
    if bl_ > br_ or bt_ > bb_:
        return np.zeros((rows, cols, img.shape[2]), dtype=np.uint8)
    source = img[bt_:bb_ + 1, bl_:br_ + 1]
    levels = []
    if depth:
        levels.append(pyramid_down2(source))
        for _ in range(1, depth):
            levels.append(pyramid_down2(levels[-1]))
    level = -1
    lr = (rl - bl_, t - bt_, r - bl_, b - bt_)
    while _area(_rect_down(lr)) > size:
        level += 1
        lr = _rect_down(lr)
    lc = ((lr[0] + lr[2]) / 2.0, (lr[1] + lr[3]) / 2.0)
    dst = [_rotate(lc, p, angle) for p in ((lr[0], lr[1]), (lr[2], lr[1]), (lr[0], lr[3]))]
    src = [(0.0, 0.0), (cols - 1.0, 0.0), (0.0, rows - 1.0)]
    m, tt = _affine_from_3(src, dst)
    return _sample_bilinear(source if level == -1 else levels[level], m, tt, rows, cols)


def face_chip(image_rgb: np.ndarray, landmarks: np.ndarray, size: int = CHIP_SIZE,
              padding: float = CHIP_PADDING) -> np.ndarray:
    """The aligned (size x size x 3) uint8 RGB chip for 5 landmarks."""
    rect, angle, rows, cols = chip_details(landmarks, size, padding)
    return extract_chip(image_rgb, rect, angle, rows, cols)
