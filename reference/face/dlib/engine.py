"""`DlibEngine`: the default face engine — dlib's CC0 models run by onnxruntime and numpy.

Pipeline per image (RGB, uint8, H×W×3):

1. detect: MMOD CNN (``detector.onnx``) over dlib's tiled image pyramid (normalisation and
   resizes in onnxruntime, `detector.build_pyramid_onnx`), scan + NMS in numpy
   (`detector.MMODDetector`), ``upsample=0`` by default (faces from ~80 px);
2. landmarks: the 5-point regression-tree cascade (`landmarks.ShapePredictor`), in the
   detection box, rounded to whole pixels as dlib does;
3. align: the 150×150 chip with padding 0.25 (`chips.face_chip`, dlib's ``get_face_chip``);
4. embed: the ResNet (``recognition.onnx``) → dlib's 128-d descriptor (not normalised;
   `normalise` gives the unit vector the face core compares by cosine).

The converted files come from `build.build_models` (``scenemon face build-models``); a
missing or modified file raises `ModelsMissingError`. onnxruntime runs on the CPU provider
only, with the thread count set explicitly; nothing here touches the network.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .build import DETECTOR_ONNX, LANDMARKS_NPZ, MANIFEST, RECOGNITION_ONNX, read_manifest, sha256_file
from .chips import CHIP_PADDING, CHIP_SIZE, face_chip
from .detector import MMODDetector, build_pyramid_onnx
from .landmarks import ShapePredictor

DIM = 128


class ModelsMissingError(FileNotFoundError):
    """The converted dlib models are missing (or do not match their manifest)."""

    def __init__(self, model_dir: Path, detail: str) -> None:
        self.model_dir = Path(model_dir)
        self.detail = detail
        super().__init__(
            f"dlib face models not usable in {self.model_dir}: {detail}; "
            f"run `scenemon face build-models --model-dir {self.model_dir}` "
            f"(or `python -m reference.face.dlib.build --model-dir {self.model_dir}`)")


@dataclass(frozen=True)
class DetectedFace:
    """One face: dlib's rectangle (inclusive corners), detector confidence and 5 landmarks.

    ``landmarks`` is (5, 2) float32 pixel x/y in dlib's order: outer and inner corner of the
    eye on the image's right, outer and inner corner of the eye on the image's left, nose.
    """

    box: tuple[int, int, int, int]          # left, top, right, bottom (inclusive)
    confidence: float
    landmarks: np.ndarray = field(repr=False, compare=False)

    @property
    def width(self) -> int:
        return self.box[2] - self.box[0] + 1

    @property
    def height(self) -> int:
        return self.box[3] - self.box[1] + 1

    @property
    def area(self) -> int:
        return max(self.width, 0) * max(self.height, 0)

    @property
    def xywh(self) -> tuple[int, int, int, int]:
        return (self.box[0], self.box[1], self.width, self.height)


def normalise(descriptor: np.ndarray) -> np.ndarray:
    """Unit-length float32 copy of a descriptor (or of each row of a batch)."""
    v = np.asarray(descriptor, dtype=np.float32)
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    if not np.all(np.isfinite(n)) or np.any(n == 0):
        raise ValueError("descriptor has zero or non-finite norm")
    return v / n


def as_rgb_uint8(image: np.ndarray) -> np.ndarray:
    img = np.asarray(image)
    if img.dtype != np.uint8:
        raise ValueError(f"expected a uint8 image, got {img.dtype}")
    if img.ndim == 2:
        img = np.repeat(img[:, :, None], 3, axis=2)
    elif img.ndim == 3 and img.shape[2] == 4:
        img = img[:, :, :3]
    if img.ndim != 3 or img.shape[2] != 3:
        raise ValueError(f"expected an HxWx3 RGB image, got shape {img.shape}")
    return np.ascontiguousarray(img)


def _session(path: Path | bytes, threads: int):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = int(threads)
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.log_severity_level = 3
    model = path if isinstance(path, bytes) else str(path)
    return ort.InferenceSession(model, sess_options=so, providers=["CPUExecutionProvider"])


class DlibEngine:
    """Face engine over the converted dlib models in ``model_dir``."""

    dim: int = DIM

    def __init__(self, model_dir: Path, threads: int = 1, *, upsample: int = 0,
                 verify: bool = True) -> None:
        self.model_dir = Path(model_dir)
        if threads < 1:
            raise ValueError("threads must be >= 1")
        manifest = read_manifest(self.model_dir)
        if manifest is None:
            raise ModelsMissingError(self.model_dir, f"no readable {MANIFEST}")
        try:
            entries = {k: manifest["models"][k] for k in ("recognition", "detector", "landmarks")}
            self.model_id: str = manifest["model_id"]
        except (KeyError, TypeError):
            raise ModelsMissingError(self.model_dir, f"{MANIFEST} is incomplete") from None
        expected = {"recognition": RECOGNITION_ONNX, "detector": DETECTOR_ONNX,
                    "landmarks": LANDMARKS_NPZ}
        for key, entry in entries.items():
            path = self.model_dir / entry.get("file", expected[key])
            if not path.is_file():
                raise ModelsMissingError(self.model_dir, f"{path.name} is missing")
            if verify and sha256_file(path) != entry.get("sha256"):
                raise ModelsMissingError(self.model_dir,
                                         f"{path.name} does not match its manifest hash")
        self.manifest = manifest
        self.threads = int(threads)
        self.upsample = int(upsample)
        self._rec = _session(self.model_dir / entries["recognition"]["file"], threads)
        det_session = _session(self.model_dir / entries["detector"]["file"], threads)
        meta = det_session.get_modelmeta().custom_metadata_map
        # The pyramid (a Loop of small Resizes, memory-bound) runs on the calling thread: a
        # second intra-op pool spinning next to the CNN's on a few cores cost more than it
        # gained (astronaut, 2 threads: detection ~110 ms with a 2-thread pyramid session
        # against ~85 ms with 1, under the same background load).
        pyramid_session = _session(build_pyramid_onnx(
            [float(v) for v in meta["mean_rgb"].split(",")]).SerializeToString(), 1)
        self._detector = MMODDetector(det_session, meta, pyramid_session)
        self._predictor = ShapePredictor.load(self.model_dir / entries["landmarks"]["file"])
        self._warm_up()

    def _warm_up(self) -> None:
        """Compile (or load from numba's cache) the alignment kernels now, not on the first
        request: ~1.5 s the first time on a machine, ~0.5 s when cached."""
        grey = np.full((64, 64, 3), 128, dtype=np.uint8)
        marks = self.landmarks(grey, (8, 8, 55, 55))
        self.chip(grey, marks)

    def __repr__(self) -> str:
        return f"DlibEngine(model_id={self.model_id!r}, threads={self.threads})"

    # -- stages -----------------------------------------------------------------------------
    def detect_boxes(self, image_rgb: np.ndarray, upsample: int | None = None):
        """Raw MMOD detections (`detector.Detection`), in dlib's order (by confidence)."""
        img = as_rgb_uint8(image_rgb)
        return self._detector(img, self.upsample if upsample is None else int(upsample))

    def landmarks(self, image_rgb: np.ndarray, box: tuple[int, int, int, int],
                  intensity: np.ndarray | None = None) -> np.ndarray:
        """5 landmarks (5, 2) float32, rounded to whole pixels like dlib's."""
        pts = self._predictor(image_rgb, box, intensity)
        return np.floor(pts + 0.5).astype(np.float32)

    def detect(self, image_rgb: np.ndarray) -> list[DetectedFace]:
        """Faces with boxes, confidence and landmarks, largest first."""
        img = as_rgb_uint8(image_rgb)
        dets = self._detector(img, self.upsample)
        if not dets:
            return []
        faces = []
        for d in dets:
            box = (d.left, d.top, d.right, d.bottom)
            faces.append(DetectedFace(box, d.confidence, self.landmarks(img, box)))
        faces.sort(key=lambda f: (-f.area, -f.confidence))
        return faces

    @staticmethod
    def chip(image_rgb: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
        """The aligned 150×150×3 uint8 RGB chip (dlib's get_face_chip, padding 0.25)."""
        return face_chip(as_rgb_uint8(image_rgb), landmarks, CHIP_SIZE, CHIP_PADDING)

    def embed_chips(self, chips_rgb: np.ndarray) -> np.ndarray:
        """(N,150,150,3) uint8 RGB chips → (N,128) float32 descriptors (not normalised)."""
        chips = np.ascontiguousarray(np.asarray(chips_rgb))
        if chips.dtype != np.uint8 or chips.ndim != 4 or chips.shape[1:] != (CHIP_SIZE, CHIP_SIZE, 3):
            raise ValueError(f"expected uint8 chips of shape (N,{CHIP_SIZE},{CHIP_SIZE},3), "
                             f"got {chips.dtype} {chips.shape}")
        if chips.shape[0] == 0:
            return np.zeros((0, DIM), dtype=np.float32)
        return self._rec.run(None, {"chips": chips})[0].astype(np.float32, copy=False)

    def embed_chip(self, chip_rgb: np.ndarray) -> np.ndarray:
        """One 150×150×3 uint8 RGB chip → (128,) float32, dlib's descriptor (not normalised)."""
        return self.embed_chips(np.asarray(chip_rgb)[None])[0]

    normalise = staticmethod(normalise)

    def embed_chip_normalised(self, chip_rgb: np.ndarray) -> np.ndarray:
        return normalise(self.embed_chip(chip_rgb))

    def embed_image(self, image_rgb: np.ndarray) -> list[tuple[DetectedFace, np.ndarray]]:
        """detect → align → chip → descriptor for every face, largest first."""
        img = as_rgb_uint8(image_rgb)
        faces = self.detect(img)
        if not faces:
            return []
        chips = np.stack([self.chip(img, f.landmarks) for f in faces])
        descs = self.embed_chips(chips)
        return list(zip(faces, descs, strict=True))

    def describe(self) -> dict:
        """What the engine runs, for logs and template provenance."""
        return {"model_id": self.model_id, "dim": DIM, "threads": self.threads,
                "upsample": self.upsample, "licence": self.manifest.get("licence"),
                "manifest": json.loads(json.dumps(self.manifest.get("source_package", {})))}
