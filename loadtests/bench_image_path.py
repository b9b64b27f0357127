"""Benchmark: server-side overhead of the image path on top of the model's own inference.

Issue 4's target: for a capture sent as an image, everything the server does besides running the
model — check the signature, parse the envelope, decode base64 and the JPEG, build the detector's
image pyramid, find the 5 landmarks, cut the aligned chip, look up the template, store the
verification, build and log the answer — costs at most 15 % on top of the model's inference.

Method: the reference server's gateway runs in this process (no HTTP framing; the server's HTTP
cost is the same for every transaction and is measured by `scenemon loadtest`) with the default
dlib engine. Its three onnxruntime sessions (the MMOD detector's input pyramid — dlib's
``input_rgb_image_pyramid``: normalisation and the chain of resizes —, the MMOD CNN and the
ResNet recogniser) are wrapped by a timer, so one run of signed 8122 verifications gives both
figures for the same requests:

    inference  = time inside the onnxruntime sessions (the pyramid's share is printed apart)
    server     = time of `Gateway.handle` (the whole transaction, committed)
    overhead   = (server − inference) / inference

Before measuring, the database is brought to a running server's steady state: signed
verifications with terminal-computed embeddings fill SQLite's write-ahead log once, so that the
measured commits rewrite the recycled log instead of growing a new file (see `_recycle_wal`;
the growth costs ~130 µs a commit, once per server start, over its first ~900 transactions).

Everything else — the pyramid's tile layout and copying the levels into the canvas,
the detector's scan and NMS, the 5 landmarks, the chip — is overhead, as are JPEG decoding,
signature, store and answer.

The pipeline has three trained models, not two: the 5-point landmark predictor (a cascade of
regression trees, dlib's ``shape_predictor``) is a model too, but its inference runs in a
numba-compiled loop, not onnxruntime. Its time is therefore also printed apart (``landmark model``), with the
overhead recomputed for the reading "model inference = detector + landmark model + recogniser"
(``overhead 3 models``). Both readings are reported; neither column hides the other.

Three capture kinds: a full photograph (JPEG, detect → align → embed) and an aligned 150×150 chip
(embed only, where the fixed per-transaction cost weighs most) as JPEG, what terminals send, and
as PNG, lossless but ~0.3 ms more to decode. Medians over ``--repeat``. The figures move by
±10 % between runs of this script on a shared 2-core VM (caches, neighbours): run it a few times.

    python -m loadtests.bench_image_path [--repeat 40] [--threads 1] [--model-dir DIR] [--rounds 5]
                                         [--engine insightface [--pack DIR]]

``--engine insightface`` measures the insightface engine instead: with ``--pack DIR`` a model pack
you have (e.g. buffalo_l: full photos when it has a detector, aligned crops always), without it
an untrained network of ArcFace-R50's shape that ``loadtests.timing_model`` builds (a network's
time depends on its shape, not its weights: it gives timings, never scores), aligned crops only.

``--rounds N`` runs the measurement in N fresh processes one after another and adds, per capture
kind, the range and median of the overhead over the rounds (on this shared 2-core VM one
process's figure moves by about ±10 %; the rounds show how much).
"""

from __future__ import annotations

import argparse
import base64
import json
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import cv2
import numpy as np

from device_mocks.world import bootstrap_world
from reference.signing import sign_headers


class TimedCall:
    """A callable (the landmark predictor) whose calls add their wall time to `self.seconds`."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.seconds = 0.0

    def _timed(self, fn, *args, **kwargs):
        t0 = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            self.seconds += time.perf_counter() - t0

    def __call__(self, *args, **kwargs):
        return self._timed(self.inner, *args, **kwargs)

    def __getattr__(self, name):
        return getattr(self.inner, name)


class TimedSession(TimedCall):
    """An onnxruntime session whose `run` adds its wall time to `self.seconds`."""

    def run(self, *args, **kwargs):
        return self._timed(self.inner.run, *args, **kwargs)


def _b64(rgb: np.ndarray, ext: str) -> str:
    params = [cv2.IMWRITE_JPEG_QUALITY, 90] if ext == ".jpg" else []
    ok, buf = cv2.imencode(ext, np.ascontiguousarray(rgb[:, :, ::-1]), params)
    if not ok:
        raise RuntimeError("could not encode the image")
    return base64.b64encode(buf.tobytes()).decode()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=40)
    ap.add_argument("--threads", type=int, default=1, help="onnxruntime intra-op threads (server setting)")
    ap.add_argument("--engine", choices=("dlib", "insightface"), default="dlib",
                    help="face engine to measure (default: dlib, the server's default)")
    ap.add_argument("--model-dir", type=Path, help="dlib: models root (models in <dir>/dlib; built when missing)")
    ap.add_argument("--pack", type=Path,
                    help="insightface: a model pack directory (*.onnx, e.g. your buffalo_l); default: an "
                         "untrained network of ArcFace-R50's shape, built for timing (loadtests.timing_model)")
    ap.add_argument("--rounds", type=int, default=1, help="fresh processes to run the measurement in")
    ap.add_argument("--json", type=Path, help=argparse.SUPPRESS)  # one round's figures, for --rounds
    args = ap.parse_args(argv)
    if args.rounds > 1:
        return _rounds(args)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient

    from reference.api.app import create_app
    from reference.config import Settings
    from reference.face.photo_scores import shipped_photographs

    tmp = tempfile.TemporaryDirectory(prefix="bench-image-")
    photos = shipped_photographs()
    if "skimage-astronaut" not in photos:
        print("scikit-image's astronaut photograph is needed", file=sys.stderr)
        return 1
    secret = "bench-secret"
    engine_settings, note = _engine_settings(args, Path(tmp.name))
    settings = Settings(db_path=Path(tmp.name) / "bench.db", bootstrap_secret=secret, face_threads=args.threads,
                        **engine_settings)
    app = create_app(settings)
    state = app.state.scenemon
    adapter = state.face_core().engine()
    sessions, pyr, shape = _instrument(adapter, args.engine)
    kinds, warm_vec = _captures(adapter, args.engine, photos["skimage-astronaut"])
    gateway = app.state.gateway
    with TestClient(app, base_url="http://bench") as tc:
        w = bootstrap_world("http://bench", "city-admin", secret, http=tc, tag="BE7C41", n_persons=1)
        term, psn = w.terminal(), w.persons[0]
        term.call("8121", {"psn_no": psn, "capture": {**kinds[next(iter(kinds))],
                                                        "liveness": {"passed": True}}})
    warm = _recycle_wal(gateway, term, psn, adapter.model_id, warm_vec, settings)
    print(f"steady state: {warm} signed verifications (embedding captures) first filled the WAL file "
          f"({settings.sqlite_wal_autocheckpoint} pages) and recycled it, as in a server that has been running")
    print(f"{args.engine} engine {adapter.model_id}{note}, onnxruntime threads {args.threads}; in-process "
          f"gateway, median of {args.repeat} signed 8122 verifications per capture kind")
    header = (f"{'capture':<30} {'server ms':>10} {'inference ms':>13} {'(pyramid)':>10} "
              f"{'overhead ms':>12} {'overhead':>9} {'landmark model':>15} {'overhead 3 models':>18}")
    print(header)
    print("-" * len(header))
    results = {}
    for label, capture in kinds.items():
        server, inference, pyramid, marks = [], [], [], []
        for i in range(args.repeat + 3):
            headers, body = _signed(term, psn, capture)
            for sess in (*sessions, shape):
                sess.seconds = 0.0
            t0 = time.perf_counter()
            status, payload = gateway.handle("8122", headers, body)
            elapsed = time.perf_counter() - t0
            if payload["infcode"] != 0 or not payload["output"]["passed"]:
                raise RuntimeError(f"verification failed: {payload}")
            if i >= 3:  # warm-up
                server.append(elapsed)
                inference.append(sum(sess.seconds for sess in sessions))
                pyramid.append(pyr.seconds if pyr is not None else 0.0)
                marks.append(shape.seconds)
        s, m = statistics.median(server) * 1e3, statistics.median(inference) * 1e3
        over = statistics.median([(a - b) / b for a, b in zip(server, inference, strict=True)])
        p = statistics.median(pyramid) * 1e3
        lm = statistics.median(marks) * 1e3
        over3 = statistics.median([(a - b - c) / (b + c) for a, b, c in zip(server, inference, marks, strict=True)])
        print(f"{label:<30} {s:>10.2f} {m:>13.2f} {p:>10.2f} {s - m:>12.2f} {over:>8.1%} {lm:>15.2f} {over3:>17.1%}")
        results[label] = {"server_ms": s, "inference_ms": m, "overhead": over, "overhead_3_models": over3}
    if args.json:
        args.json.write_text(json.dumps(results), encoding="utf-8")
    state.store.close()
    tmp.cleanup()
    return 0


def _engine_settings(args, tmp: Path) -> tuple[dict, str]:
    """The server settings selecting the engine to measure, and a note for the report."""
    if args.engine == "dlib":
        from reference.face.dlib.build import build_models, models_present

        root = args.model_dir or tmp / "models"
        if not models_present(root / "dlib"):
            build_models(root / "dlib", progress=None)
        return {"face_engine": "dlib", "face_model_dir": root}, ""
    from loadtests.timing_model import FILE_NAME, build_iresnet_shape

    pack = args.pack
    if pack is None:
        pack = tmp / "packs" / "arcface-r50-shape"
        build_iresnet_shape(pack / FILE_NAME)
    note = " (untrained network of ArcFace-R50's shape: timings only)" if (pack / FILE_NAME).exists() else ""
    # The bench times the path, it does not score: every score passes (the stand-in has no operating point).
    return {"face_engine": "insightface", "face_model_dir": pack.parent, "face_model_pack": pack.name,
            "face_verify_threshold": -1.0}, note


def _instrument(adapter, engine: str) -> tuple[list[TimedSession], TimedSession | None, TimedCall]:
    """Wrap the engine's onnxruntime sessions (and dlib's landmark model) in timers."""
    if engine == "dlib":
        detector = adapter.inner._detector
        det, rec = TimedSession(detector.session), TimedSession(adapter.inner._rec)
        detector.session, adapter.inner._rec = det, rec
        pyr = getattr(detector, "pyramid_session", None)
        pyr = TimedSession(pyr) if pyr is not None else None
        if pyr is not None:
            detector.pyramid_session = pyr
        shape = TimedCall(adapter.inner._predictor)
        adapter.inner._predictor = shape
        return [s for s in (det, rec, pyr) if s is not None], pyr, shape
    sessions = []
    for model in (adapter.recogniser, adapter.detector):
        if model is not None:
            model.session = TimedSession(model.session)
            sessions.append(model.session)
    return sessions, None, TimedCall(lambda: None)  # no landmark model outside the networks


def _captures(adapter, engine: str, photo: np.ndarray) -> tuple[dict[str, dict], np.ndarray]:
    """The capture kinds to measure, and an embedding of the enrolled face for the warm-up."""
    from reference.face.photo_scores import face_crop

    if engine == "dlib":
        (face, _), = adapter.inner.embed_image(photo)
        portrait = face_crop(photo, face.box, margin=1.6)  # a terminal's photo: the face and some context
        chip = adapter.inner.chip(photo, face.landmarks)
        kinds = {f"full photo {portrait.shape[1]}x{portrait.shape[0]} JPEG": {"image_b64": _b64(portrait, ".jpg")},
                 "aligned 150x150 chip JPEG": {"image_b64": _b64(chip, ".jpg"), "aligned": True},
                 "aligned 150x150 chip PNG": {"image_b64": _b64(chip, ".png"), "aligned": True}}
        return kinds, adapter.embed(np.ascontiguousarray(chip[:, :, ::-1]), aligned=True)
    w, h = adapter.input_size
    # The astronaut's face region brought to the recogniser's input size (the network's input,
    # not a landmark alignment: without a detector the pack cannot align, and timing needs none).
    crop = cv2.resize(np.ascontiguousarray(photo[40:240, 150:350]), (w, h), interpolation=cv2.INTER_AREA)
    kinds = {}
    if adapter.detector is not None:
        kinds[f"full photo {photo.shape[1]}x{photo.shape[0]} JPEG"] = {"image_b64": _b64(photo, ".jpg")}
    kinds[f"aligned {w}x{h} crop JPEG"] = {"image_b64": _b64(crop, ".jpg"), "aligned": True}
    kinds[f"aligned {w}x{h} crop PNG"] = {"image_b64": _b64(crop, ".png"), "aligned": True}
    return kinds, adapter.embed(np.ascontiguousarray(crop[:, :, ::-1]), aligned=True)


def _signed(term, psn: str, capture: dict) -> tuple[dict, bytes]:
    env = term.envelope("8122", {"psn_no": psn, "scene": "inpatient",
                                 "capture": {**capture, "liveness": {"passed": True}}})
    body = json.dumps(env, ensure_ascii=False).encode()
    return {**sign_headers(term.sender, term.secret, body), "content-type": "application/json"}, body


def _recycle_wal(gateway, term, psn: str, model_id: str, vector: np.ndarray, settings,
                 limit: int = 50_000) -> int:
    """Bring the database to a running server's steady state; return the transactions it took.

    A fresh database's write-ahead log grows until the first checkpoint (`sqlite_wal_autocheckpoint`
    pages: 40 MB by default) and, until then, every commit makes the file system allocate blocks:
    on this VM a verification's COMMIT takes ~180 µs while the log grows and ~50 µs once SQLite
    rewrites it from its start after a checkpoint (the file keeps its size). The growth happens
    once per server start, over its first ~900 transactions; a server then runs on a recycled
    log, so the measurement does too. The warm-up transactions are real signed 1:1 verifications
    with a terminal-computed embedding (no model runs)."""
    if settings.sqlite_wal_autocheckpoint <= 0:  # checkpoints off: the log only ever grows
        return 0
    wal = Path(f"{settings.db_path}-wal")
    blob = base64.b64encode(np.asarray(vector, dtype="<f4").tobytes()).decode()
    capture = {"embedding_b64": blob, "embedding_model": model_id}
    full = settings.sqlite_wal_autocheckpoint * (gateway.state.store.db().scalar("PRAGMA page_size") + 24)
    largest = 0
    for n in range(1, limit + 1):
        headers, body = _signed(term, psn, capture)
        _, payload = gateway.handle("8122", headers, body)
        if payload["infcode"] != 0:
            raise RuntimeError(f"warm-up verification failed: {payload}")
        size = wal.stat().st_size if wal.exists() else 0
        if largest >= full and size <= largest:  # full once, and this commit did not grow it
            return n
        largest = max(largest, size)
    raise RuntimeError(f"the WAL file did not fill and recycle within {limit} transactions")


def _rounds(args) -> int:
    """Run one measurement per fresh process, then summarise the overheads over the rounds."""
    import subprocess

    per_kind: dict[str, list[dict]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-rounds-") as d:
        model_dir = args.model_dir or Path(d) / "models"   # built once, shared by the rounds
        if args.engine == "insightface" and args.pack is None:
            from loadtests.timing_model import FILE_NAME, build_iresnet_shape

            args.pack = Path(d) / "packs" / "arcface-r50-shape"
            build_iresnet_shape(args.pack / FILE_NAME)
        for k in range(args.rounds):
            print(f"round {k + 1}/{args.rounds}", flush=True)
            out = Path(d) / f"round{k}.json"
            cmd = [sys.executable, "-m", "loadtests.bench_image_path", "--repeat", str(args.repeat),
                   "--threads", str(args.threads), "--engine", args.engine, "--model-dir", str(model_dir),
                   "--json", str(out)]
            if args.pack is not None:
                cmd += ["--pack", str(args.pack)]
            subprocess.run(cmd, check=True)
            for label, r in json.loads(out.read_text(encoding="utf-8")).items():
                per_kind.setdefault(label, []).append(r)
    print(f"\nover {args.rounds} rounds: overhead min / median / max")
    for label, rs in per_kind.items():
        for key, name in (("overhead", "onnxruntime sessions"), ("overhead_3_models", "3 models")):
            v = sorted(r[key] for r in rs)
            print(f"{label:<30} {name:<22} {v[0]:>7.1%} {statistics.median(v):>7.1%} {v[-1]:>7.1%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
