"""A small labelled score set from real photographs shipped inside installed packages.

No face data set can be downloaded here, but a few real photographs come with packages the
project already installs: insightface's ``data/images/t1.jpg`` (six people) and
``Tom_Hanks_54745.png``, scikit-image's ``astronaut`` and ``camera`` (the cameraman),
matplotlib's ``grace_hopper.jpg`` — ten different people. Each face is cut out with a margin
and captured again `jitters` times by augmentation (crop shift, scale, small rotation,
brightness and contrast, mirror flip, blur), each copy going through the whole pipeline
(detect → 5-point align → chip → embed). Genuine pairs are two copies of one face; impostor
pairs are copies of two different faces.

This is a *tiny* set: ten people, so every impostor score comes from one of 45 pairs of
people, and augmentation is gentler than real capture variation (ageing, pose, lighting,
camera). Thresholds read from it are small-sample estimates to be cross-checked against the
model's published figures, not a substitute for calibrating on a real labelled set.
"""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path

import cv2
import numpy as np

from reference.face.calibrate import ScoreSet


def _package_file(module: str, *parts: str) -> Path | None:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        return None
    p = Path(list(spec.submodule_search_locations)[0]).joinpath(*parts)
    return p if p.is_file() else None


def shipped_photographs() -> dict[str, np.ndarray]:
    """The photographs found (RGB uint8), by name; packages that are not installed are skipped."""
    paths = {
        "insightface-t1": _package_file("insightface", "data", "images", "t1.jpg"),
        "insightface-tom-hanks": _package_file("insightface", "data", "images", "Tom_Hanks_54745.png"),
        "skimage-astronaut": _package_file("skimage", "data", "astronaut.png"),
        "skimage-camera": _package_file("skimage", "data", "camera.png"),
        "matplotlib-grace-hopper": _package_file("matplotlib", "mpl-data", "sample_data", "grace_hopper.jpg"),
    }
    out = {}
    for name, path in paths.items():
        if path is None:
            continue
        img = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if img is None:
            continue
        if img.shape[0] < 200:  # a tight 112×112 crop: give the detector some context
            img = cv2.copyMakeBorder(img, 48, 48, 48, 48, cv2.BORDER_REPLICATE)
            img = cv2.resize(img, None, fx=1.5, fy=1.5, interpolation=cv2.INTER_CUBIC)
        out[name] = np.ascontiguousarray(img[:, :, ::-1])
    return out


def face_crop(img: np.ndarray, box: tuple[int, int, int, int], margin: float = 1.5) -> np.ndarray:
    """The face with `margin` × its size around the box centre (clipped to the image)."""
    x0, y0, x1, y1 = box
    cx, cy, s = (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0 + 1) * margin
    top, bottom = int(max(cy - s, 0)), int(min(cy + s, img.shape[0]))
    left, right = int(max(cx - s, 0)), int(min(cx + s, img.shape[1]))
    return np.ascontiguousarray(img[top:bottom, left:right])


def augment(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Another 'capture' of the same face: shift, scale, rotation, light, flip, blur."""
    h, w = img.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), rng.uniform(-10, 10), rng.uniform(0.85, 1.15))
    m[:, 2] += rng.uniform(-0.06, 0.06, 2) * (w, h)
    out = cv2.warpAffine(img, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    out = out.astype(np.float32) * rng.uniform(0.75, 1.25) + rng.uniform(-25, 25)
    out = np.clip(out, 0, 255).astype(np.uint8)
    if rng.random() < 0.5:
        out = out[:, ::-1]
    if rng.random() < 0.4:
        out = cv2.GaussianBlur(out, (5, 5), 0)
    return np.ascontiguousarray(out)


def _centre_face(found, shape) -> np.ndarray | None:
    """The descriptor of the face nearest the crop's centre (a crop of a group photo can show a
    neighbour's face too, which would be a mislabelled pair); None when no face is near it."""
    h, w = shape[:2]
    best, best_d = None, 0.25 * min(h, w)
    for face, desc in found:
        x0, y0, x1, y1 = face.box
        d = float(np.hypot((x0 + x1) / 2 - w / 2, (y0 + y1) / 2 - h / 2))
        if d < best_d:
            best, best_d = desc, d
    return best


def dlib_photo_scores(engine, *, jitters: int = 20, seed: int = 0) -> ScoreSet:
    """Genuine and impostor cosines of `engine` (a `reference.face.dlib.engine.DlibEngine`)."""
    from reference.face.dlib.engine import normalise

    rng = np.random.default_rng(seed)
    photos = shipped_photographs()
    people: list[tuple[str, np.ndarray]] = []
    for name, img in photos.items():
        for k, (face, _) in enumerate(engine.embed_image(img)):
            people.append((f"{name}#{k}", face_crop(img, face.box)))
    if len(people) < 2:
        raise RuntimeError("fewer than two faces found in the shipped photographs")
    vecs, labels, times, missed, norms = [], [], [], 0, []
    for label, (_, crop) in enumerate(people):
        for j in range(jitters + 1):
            shot = crop if j == 0 else augment(crop, rng)
            t0 = time.perf_counter()
            found = engine.embed_image(shot)
            times.append(time.perf_counter() - t0)
            desc = _centre_face(found, shot.shape)
            if desc is None:
                missed += 1
                continue
            norms.append(float(np.linalg.norm(desc)))
            vecs.append(normalise(desc))
            labels.append(label)
    v, lab = np.stack(vecs), np.array(labels)
    sims = v @ v.T
    iu = np.triu_indices(len(v), k=1)
    same = lab[iu[0]] == lab[iu[1]]
    pairs = sims[iu]
    n_people = len(people)
    desc = (f"{n_people} faces of {n_people} different people in photographs shipped with insightface, "
            f"scikit-image and matplotlib ({', '.join(sorted(photos))}), each captured {jitters + 1} times "
            f"(original + augmented copies: shift, scale, rotation ±10°, brightness/contrast, flip, blur) "
            f"through detect → align → embed; {missed} of {len(times)} copies had no face detected and are "
            f"left out; {int(same.sum())} genuine pairs, {int((~same).sum())} impostor pairs from "
            f"{n_people * (n_people - 1) // 2} pairs of people; seed {seed}")
    s = ScoreSet(pairs[same], pairs[~same], engine.model_id, desc, dim=int(v.shape[1]),
                 creation_s=float(np.median(times)))
    s.raw_norms = np.array(norms)  # type: ignore[attr-defined]  # for the Euclidean cross-check
    return s


def euclidean_to_cosine(distance: float, norm: float) -> float:
    """The cosine equivalent to a Euclidean distance between two raw descriptors of norm `norm`:
    |a − b|² = |a|² + |b|² − 2|a||b|·cos."""
    return 1.0 - distance**2 / (2.0 * norm * norm)
