"""`scenemon loadtest`: seed a gallery, start the server, run Locust headless, judge against SLOs.

    scenemon loadtest                                  # the full run (loadtests/slo.yaml, ~7 min)
    scenemon loadtest --gallery 50 --duration 5 --users 4     # a smoke run
    scenemon loadtest --stages noop,verify --out reports/verify

The logic lives in loadtests/runner.py; Locust's CSV and HTML reports, the seeded database and the
server's log stay in --out (default: loadtest in the per-user data directory, whatever the working
directory).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(sub, groups) -> None:
    p = sub.add_parser("loadtest", help="seed a gallery, start the server and run Locust against the SLOs",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--gallery", type=int, default=2000, help="enrolled persons to seed (default 2000)")
    p.add_argument("--out", type=Path, help="reports folder (default: loadtest in the per-user data directory)")
    p.add_argument("--slo", type=Path, help="SLO file (default loadtests/slo.yaml)")
    p.add_argument("--stages", help="comma-separated stage names to run (default: all)")
    p.add_argument("--users", type=int, help="override every stage's user count")
    p.add_argument("--duration", type=float, help="override every stage's duration, in seconds")
    p.set_defaults(func=run)


def run(args) -> int:
    from loadtests import runner
    from reference.paths import user_data_dir

    try:
        ok = runner.run(gallery=args.gallery, out=args.out or user_data_dir() / "loadtest",
                        slo_file=args.slo or runner.SLO_FILE, only=args.stages.split(",") if args.stages else None,
                        users=args.users, duration_s=args.duration)
    except (ValueError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0 if ok else 1
