"""The face core: which engine embeds images, and which threshold each model verifies at.

Captures arrive either as an image (base64 JPEG/PNG; a full photo or an aligned crop) that the
configured engine embeds on the server, or as an embedding computed on the terminal together
with the id of the model that made it. Either way, a template is only ever compared with
templates of the same model, and only of a model the server knows: one with a calibrated
operating point, or the configured engine's own (an unknown model is refused at the door).

An image's size is read from its header before anything is decoded, and one larger than the
setting `face_max_image_pixels` is refused: a small file can claim a huge image.

Messages to clients never hold a server path; why an engine cannot load goes to the server log.
"""

from __future__ import annotations

import base64
import binascii
import io
import logging
import threading
import warnings
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import yaml

from reference.config import Settings
from reference.errors import InvalidField, ModelUnavailable
from reference.face.engines import DlibEngineAdapter, Engine, InsightFaceEngine, normalise
from reference.paths import INTERFACE_SPEC

OPERATING_POINTS = INTERFACE_SPEC / "face" / "operating_points.yaml"
log = logging.getLogger("scenemon.face")


@dataclass(frozen=True)
class OperatingPoint:
    model_prefix: str
    threshold: float
    target_fmr: float | None
    source: str


@cache
def operating_points(path: Path = OPERATING_POINTS) -> tuple[OperatingPoint, ...]:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    out = []
    for i, e in enumerate(raw.get("operating_points") or []):
        try:
            t = float(e["threshold"])
            if not -1.0 <= t <= 1.0:
                raise ValueError("threshold must be a cosine in [-1, 1]")
            out.append(OperatingPoint(str(e["model_prefix"]), t, e.get("target_fmr"), str(e["source"])))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{path}: operating_points[{i}] is malformed: {exc}") from exc
    return tuple(out)


@dataclass(frozen=True)
class Embedding:
    model_id: str
    vector: np.ndarray  # L2-normalised float32
    source: str  # image | embedding


class FaceCore:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._engine: Engine | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> FaceCore:
        return cls(settings)

    def engine(self) -> Engine:
        """The configured engine, loaded once (raises ModelUnavailable with a fix-it message)."""
        if self._engine is None:
            with self._lock:
                if self._engine is None:
                    self._engine = self._load()
        return self._engine

    def _load(self) -> Engine:
        s = self.settings
        if s.face_engine == "embedding-only":
            raise ModelUnavailable(
                "this server accepts terminal-computed embeddings only (face_engine=embedding-only)",
                field="input.capture.image_b64",
            )
        if s.face_engine == "insightface":
            return InsightFaceEngine(s.face_model_dir / s.face_model_pack, threads=s.face_threads)
        return DlibEngineAdapter(s.face_model_dir / "dlib", threads=s.face_threads)

    def threshold(self, model_id: str) -> float:
        if self.settings.face_verify_threshold is not None:
            return self.settings.face_verify_threshold
        matches = [op for op in operating_points() if model_id.startswith(op.model_prefix)]
        if not matches:
            raise ModelUnavailable(
                f"model {model_id} has no calibrated operating point: the operator calibrates it with "
                "`scenemon face calibrate` (or sets SCENEMON_FACE_VERIFY_THRESHOLD)",
                field="input.capture",
            )
        return max(matches, key=lambda op: len(op.model_prefix)).threshold

    def known_model(self, model_id: str) -> bool:
        """Whether embeddings of this model may be stored and compared: the model has a calibrated
        operating point (interface_spec/face/operating_points.yaml) or is the configured engine's
        own. Anything else would only fill the store with galleries no threshold can judge."""
        if any(model_id.startswith(op.model_prefix) for op in operating_points()):
            return True
        if self.settings.face_engine == "embedding-only":
            return False
        try:
            return model_id == self.engine().model_id
        except ModelUnavailable:
            return False

    def _engine_for_request(self) -> Engine:
        """The engine, or a refusal that tells the client no more than that it is unavailable."""
        try:
            return self.engine()
        except ModelUnavailable as exc:
            log.error("face engine %s unavailable: %s", self.settings.face_engine, exc.message)
            raise ModelUnavailable(
                f"the face engine ({self.settings.face_engine}) is not available on this server; its operator "
                "finds the reason in the server log. Terminal-computed embeddings are still accepted.",
                field="input.capture.image_b64",
            ) from None

    def from_capture(self, capture) -> Embedding:
        """Embed a `FaceCapture` (see reference.scenes.face) — runs outside the write lock."""
        given = capture.embedding_vector()
        if given is not None:
            if not self.known_model(capture.embedding_model):
                known = ", ".join(op.model_prefix + "…" for op in operating_points())
                raise InvalidField(
                    f"unknown model {capture.embedding_model}: this server compares embeddings of calibrated "
                    f"models ({known}) and of its own engine only",
                    field="input.capture.embedding_model",
                )
            try:
                vec = normalise(np.asarray(given, dtype=np.float32))
            except ValueError as exc:
                field = "embedding_b64" if capture.embedding_b64 is not None else "embedding"
                raise InvalidField(str(exc), field=f"input.capture.{field}") from None
            return Embedding(capture.embedding_model, vec, "embedding")
        if self.settings.face_engine == "embedding-only":  # a fact of this server: retrying cannot help
            raise InvalidField("this server accepts terminal-computed embeddings only (embedding or embedding_b64 "
                               "with embedding_model), not images", field=IMAGE_FIELD)
        image = decode_image(capture.image_b64, max_pixels=self.settings.face_max_image_pixels)
        engine = self._engine_for_request()
        return Embedding(engine.model_id, engine.embed(image, aligned=capture.aligned), "image")


IMAGE_FIELD = "input.capture.image_b64"
# Pillow's names for what the interface accepts: JPEG (a phone's multi-picture JPEG reads as MPO) and PNG.
IMAGE_FORMATS = frozenset({"JPEG", "MPO", "PNG"})


def image_size(raw: bytes) -> tuple[int, int]:
    """(width, height) from a JPEG or PNG header, without decoding a pixel; InvalidField otherwise."""
    from PIL import Image

    try:
        with warnings.catch_warnings():  # Pillow warns above 89 megapixels: our own limit decides
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(raw), formats=("JPEG", "PNG")) as im:
                fmt, size = im.format, im.size
    except Image.DecompressionBombError:  # above 179 megapixels: Pillow refuses to go on
        raise InvalidField("the image has far too many pixels", field=IMAGE_FIELD) from None
    except (OSError, ValueError, SyntaxError):  # not an image of an accepted format, or a broken header
        raise InvalidField("not a JPEG or PNG image", field=IMAGE_FIELD) from None
    if fmt not in IMAGE_FORMATS:
        raise InvalidField("not a JPEG or PNG image", field=IMAGE_FIELD)
    return size


def decode_image(b64: str, *, max_pixels: int) -> np.ndarray:
    """The image as a BGR array. Its size is read from the header first, so a small file that
    claims a huge image (47 KB of PNG for 4000×4000 pixels) is refused before it is decoded."""
    try:
        raw = base64.b64decode(b64, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidField("not valid base64", field=IMAGE_FIELD) from None
    w, h = image_size(raw)
    if w * h > max_pixels:
        raise InvalidField(f"the image is {w}×{h} = {w * h:,} pixels; at most {max_pixels:,} are accepted "
                           "(setting face_max_image_pixels)", field=IMAGE_FIELD)
    import cv2

    img = cv2.imdecode(np.frombuffer(raw, dtype=np.uint8), cv2.IMREAD_COLOR)
    if img is None or img.shape[0] * img.shape[1] > max_pixels:  # the decoder must agree with the header
        raise InvalidField("not a JPEG or PNG image", field=IMAGE_FIELD)
    return img
