"""The face core: which engine embeds images, and which threshold each model verifies at.

Captures arrive either as an image (base64 JPEG/PNG; a full photo or an aligned crop) that the
configured engine embeds on the server, or as an embedding computed on the terminal together
with the id of the model that made it. Either way, a template is only ever compared with
templates of the same model.
"""

from __future__ import annotations

import base64
import binascii
import threading
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
                f"model {model_id} has no calibrated operating point: run `scenemon face calibrate` "
                f"and add it to {OPERATING_POINTS}, or set SCENEMON_FACE_VERIFY_THRESHOLD",
                field="input.capture",
            )
        return max(matches, key=lambda op: len(op.model_prefix)).threshold

    def from_capture(self, capture) -> Embedding:
        """Embed a `FaceCapture` (see reference.scenes.face) — runs outside the write lock."""
        given = capture.embedding_vector()
        if given is not None:
            try:
                vec = normalise(np.asarray(given, dtype=np.float32))
            except ValueError as exc:
                field = "embedding_b64" if capture.embedding_b64 is not None else "embedding"
                raise InvalidField(str(exc), field=f"input.capture.{field}") from None
            return Embedding(capture.embedding_model, vec, "embedding")
        image = decode_image(capture.image_b64)
        vec = self.engine().embed(image, aligned=capture.aligned)
        return Embedding(self.engine().model_id, vec, "image")


def decode_image(b64: str) -> np.ndarray:
    import cv2

    try:
        raw = base64.b64decode(b64, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidField("not valid base64", field="input.capture.image_b64") from None
    img = cv2.imdecode(np.frombuffer(raw, dtype=np.uint8), cv2.IMREAD_COLOR)
    if img is None:
        raise InvalidField("not a JPEG or PNG image", field="input.capture.image_b64")
    return img
