"""Benchmark: the converted dlib face pipeline (onnxruntime + numpy) against dlib-bin, same run.

Per-face wall time of each stage on real photographs shipped inside installed packages
(insightface's ``data/images/t1.jpg``, six faces, 1280×886; scikit-image's ``astronaut``,
one face, 512×512):

- detection  — MMOD CNN over the image pyramid (image time divided by the faces found),
               upsample 0 on both sides;
- alignment  — 5-point landmarks + the 150×150 chip (padding 0.25);
- embedding  — the 128-d ResNet descriptor of one chip (batch of one).

Each figure is the median of ``--repeat`` runs (dlib's detector on t1 is slow, so its
repeats are capped by ``--dlib-detect-repeat``). The ratio is dlib-bin time / ours.

    python loadtests/bench_dlib_pipeline.py [--threads 2] [--repeat 5] [--model-dir DIR]

Needs dlib-bin (a test-only dependency); without it only our side is timed.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from reference.face.dlib.build import build_models, locate_sources  # noqa: E402
from reference.face.dlib.engine import DlibEngine  # noqa: E402


def photos() -> dict[str, np.ndarray]:
    out = {}
    spec = importlib.util.find_spec("insightface")
    if spec and spec.submodule_search_locations:
        p = Path(list(spec.submodule_search_locations)[0]) / "data" / "images" / "t1.jpg"
        if p.is_file():
            from PIL import Image

            with Image.open(p) as im:
                out["t1"] = np.asarray(im.convert("RGB")).copy()
    if importlib.util.find_spec("skimage"):
        import skimage.data

        out["astronaut"] = np.ascontiguousarray(skimage.data.astronaut()[:, :, :3])
    return out


def timed(fn, repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(max(1, repeat)):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), result


def bench_ours(engine: DlibEngine, img: np.ndarray, repeat: int) -> dict[str, float]:
    t_det, dets = timed(lambda: engine.detect_boxes(img), repeat)
    n = max(len(dets), 1)
    boxes = [(d.left, d.top, d.right, d.bottom) for d in dets]

    def align():
        return [engine.chip(img, engine.landmarks(img, b)) for b in boxes]

    t_align, chips = timed(align, repeat)

    def embed():
        return [engine.embed_chip(c) for c in chips]

    t_emb, _ = timed(embed, repeat)
    return {"faces": len(dets), "detection": t_det / n, "alignment": t_align / n,
            "embedding": t_emb / n}


def bench_dlib(dlib, sources, img: np.ndarray, repeat: int, det_repeat: int) -> dict[str, float]:
    det = dlib.cnn_face_detection_model_v1(str(sources["detector"]))
    sp = dlib.shape_predictor(str(sources["landmarks"]))
    rec = dlib.face_recognition_model_v1(str(sources["recognition"]))
    t_det, dets = timed(lambda: det(img, 0), det_repeat)
    n = max(len(dets), 1)
    rects = [d.rect for d in dets]

    def align():
        return [dlib.get_face_chip(img, sp(img, r), size=150, padding=0.25) for r in rects]

    t_align, chips = timed(align, repeat)

    def embed():
        return [rec.compute_face_descriptor(c) for c in chips]

    t_emb, _ = timed(embed, repeat)
    return {"faces": len(dets), "detection": t_det / n, "alignment": t_align / n,
            "embedding": t_emb / n}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2, help="onnxruntime intra-op threads")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--dlib-detect-repeat", type=int, default=2)
    ap.add_argument("--model-dir", type=Path, default=None,
                    help="converted models (built into a temporary directory when omitted)")
    args = ap.parse_args(argv)

    tmp = None
    model_dir = args.model_dir
    if model_dir is None:
        tmp = tempfile.TemporaryDirectory(prefix="dlib-models-")
        model_dir = Path(tmp.name)
    build_models(model_dir, progress=None)
    engine = DlibEngine(model_dir, threads=args.threads)
    sources = locate_sources()
    dlib = None
    if importlib.util.find_spec("dlib"):
        import dlib  # type: ignore[no-redef]

    imgs = photos()
    if not imgs:
        print("no test photographs installed (insightface / scikit-image)", file=sys.stderr)
        return 1
    import onnxruntime

    print(f"onnxruntime {onnxruntime.__version__}, intra-op threads {args.threads}; "
          f"dlib-bin {getattr(dlib, '__version__', 'not installed')} "
          f"(DLIB_USE_CUDA={getattr(dlib, 'DLIB_USE_CUDA', '-')}); "
          f"median of {args.repeat} (dlib detection: {args.dlib_detect_repeat})")
    header = f"{'image':<10} {'stage':<10} {'ours ms/face':>13} {'dlib ms/face':>13} {'ratio':>8}"
    print(header)
    print("-" * len(header))
    for name, img in imgs.items():
        ours = bench_ours(engine, img, args.repeat)
        ref = bench_dlib(dlib, sources, img, args.repeat, args.dlib_detect_repeat) if dlib else None
        for stage in ("detection", "alignment", "embedding"):
            a = ours[stage] * 1000
            if ref:
                b = ref[stage] * 1000
                print(f"{name:<10} {stage:<10} {a:>13.2f} {b:>13.2f} {b / a:>7.2f}x")
            else:
                print(f"{name:<10} {stage:<10} {a:>13.2f} {'-':>13} {'-':>8}")
        a = sum(ours[s] for s in ("detection", "alignment", "embedding")) * 1000
        if ref:
            b = sum(ref[s] for s in ("detection", "alignment", "embedding")) * 1000
            print(f"{name:<10} {'total':<10} {a:>13.2f} {b:>13.2f} {b / a:>7.2f}x   "
                  f"({ours['faces']} face(s); dlib found {ref['faces']})")
        else:
            print(f"{name:<10} {'total':<10} {a:>13.2f}   ({ours['faces']} face(s))")
    if tmp is not None:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
