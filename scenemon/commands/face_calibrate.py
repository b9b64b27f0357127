"""`scenemon face calibrate`: operating points from labelled scores (see reference.face.calibrate).

    scenemon face calibrate                               # the synthetic-face model, default preset
    scenemon face calibrate --synthetic arcface-like --write
    scenemon face calibrate --scores scores.csv --model-id vendor-x:r100 --target-fmr 1e-4
    scenemon face calibrate --dlib-photos --target-fmr 1e-4   # dlib on the shipped photographs
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path


def register(sub, groups) -> None:
    p = groups["face"].add_parser(
        "calibrate", help="derive a verification threshold from genuine/impostor scores (FMR, FNMR, DET)",
        description="Reports FNMR at FMR 1e-4 and 1e-6, FNIR at FPIR 1e-3, a DET chart, template size, "
                    "template creation and comparison time; can write the operating point into "
                    "interface_spec/face/operating_points.yaml. Score files: .csv with columns "
                    "score,label (genuine/impostor) or .npz with arrays genuine and impostor.",
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    src = p.add_mutually_exclusive_group()
    src.add_argument("--scores", type=Path, help="a labelled score file (.csv or .npz)")
    src.add_argument("--synthetic", metavar="PRESET", nargs="?", const="default",
                     help="generate scores from the synthetic-face model (preset: default, arcface-like); "
                          "the default source")
    src.add_argument("--dlib-photos", action="store_true",
                     help="the dlib pipeline on the real photographs shipped in installed packages")
    p.add_argument("--model-id", help="model id of a score file (default: from the file, else 'unknown')")
    g = p.add_argument_group("synthetic-face model")
    g.add_argument("--genuine-mean", type=float)
    g.add_argument("--genuine-sd", type=float)
    g.add_argument("--impostor-mean", type=float)
    g.add_argument("--impostor-sd", type=float)
    g.add_argument("--noise", type=float, help="capture noise of the default model")
    g.add_argument("--identities", type=int, default=2000, help="people for 1:1 pairs (n² impostor pairs)")
    g.add_argument("--gallery", type=int, default=10000, help="1:N gallery size")
    g.add_argument("--mated", type=int, default=2000, help="mated 1:N searches")
    g.add_argument("--nonmated", type=int, default=10000, help="non-mated 1:N searches")
    d = p.add_argument_group("dlib photographs")
    d.add_argument("--model-dir", type=Path,
                   help="model directory (default: SCENEMON_FACE_MODEL_DIR, else models in the per-user data "
                        "directory — where serve looks); the dlib models are built into <dir>/dlib when missing")
    d.add_argument("--jitters", type=int, default=30, help="augmented copies per face")
    d.add_argument("--threads", type=int, default=2, help="onnxruntime threads")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--gallery-size", type=int, default=None,
                   help="gallery size for the FPIR estimate from 1:1 scores (default --gallery)")
    p.add_argument("--chart", type=Path,
                   help="DET chart PNG (default: calibration/det-<model>.png in the per-user data directory)")
    p.add_argument("--no-chart", action="store_true")
    p.add_argument("--save-scores", type=Path, help="also write the scores (.csv or .npz)")
    p.add_argument("--target-fmr", type=float, default=1e-6, help="FMR of the operating point (default 1e-6)")
    p.add_argument("--model-prefix", help="model_prefix of the entry (default: the model id up to its last ':')")
    p.add_argument("--source", help="the entry's source: text (default: generated from the score set)")
    p.add_argument("--write", action="store_true", help="write the entry into operating_points.yaml")
    p.add_argument("--operating-points", type=Path, help="operating points file (default interface_spec/face/…)")
    p.set_defaults(func=run)


def _scores(args):
    from reference.face import calibrate as cal

    if args.scores:
        return cal.load_scores(args.scores, args.model_id)
    if args.dlib_photos:
        from reference.config import Settings
        from reference.face.dlib.build import ensure_models
        from reference.face.dlib.engine import DlibEngine
        from reference.face.photo_scores import dlib_photo_scores

        target = ensure_models((args.model_dir or Settings().face_model_dir) / "dlib",
                               progress=lambda m: print(m, file=sys.stderr))
        return dlib_photo_scores(DlibEngine(target, threads=args.threads), jitters=args.jitters, seed=args.seed)
    from reference.face.synthetic import SyntheticFaces

    over = {k: getattr(args, k) for k in ("genuine_mean", "genuine_sd", "impostor_mean", "impostor_sd", "noise")
            if getattr(args, k) is not None}
    if over and args.model_id is None and args.synthetic in (None, "default"):
        over["model_id"] = "synthetic:custom:v1"  # other distributions are another model
    if args.model_id:
        over["model_id"] = args.model_id
    faces = SyntheticFaces.preset(args.synthetic or "default", **over)
    return cal.synthetic_scores(faces, identities=args.identities, gallery=args.gallery,
                                mated_searches=args.mated, nonmated_searches=args.nonmated, seed=args.seed)


def run(args) -> int:
    from reference.face import calibrate as cal
    from reference.face.core import OPERATING_POINTS
    from reference.paths import user_data_dir

    try:
        scores = _scores(args)
    except (OSError, ValueError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    targets = tuple(sorted({*cal.FMR_TARGETS, args.target_fmr}, reverse=True))
    report = cal.calibrate(scores, gallery_size=args.gallery_size or args.gallery, fmr_targets=targets)
    if not args.no_chart:
        slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", scores.model_id).strip("-")
        report.chart = cal.det_chart([report], args.chart or user_data_dir() / "calibration" / f"det-{slug}.png",
                                     title=f"DET: {scores.model_id}")
    if args.save_scores:
        cal.save_scores(args.save_scores, scores)
    print(cal.format_report(report))
    prefix = args.model_prefix or (scores.model_id.rsplit(":", 1)[0] + ":" if ":" in scores.model_id
                                   else scores.model_id)
    try:
        entry = cal.operating_point_entry(report, args.target_fmr, prefix, args.source)
    except ValueError as exc:
        print(f"no operating point at FMR {args.target_fmr:g}: {exc}", file=sys.stderr)
        return 1
    import yaml

    print("\noperating point:")
    print(yaml.safe_dump([entry], allow_unicode=True, sort_keys=False, width=100).rstrip())
    if args.write:
        path = cal.write_operating_point(entry, args.operating_points or OPERATING_POINTS)
        print(f"wrote {path}")
    return 0
