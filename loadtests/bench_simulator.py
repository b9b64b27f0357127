"""Simulator benchmark (issue 13): encounters per second in process and over HTTP, the
simulator's overhead against replaying its own transactions straight into the gateway, and one
year of a 100,000-person county in process.

  (a) inprocess  run_scenario(mode="inprocess"): the engine drives a gateway in this process;
                 every signed body it sends is recorded (InProcess.deliver)
  (b) replay     the recorded bodies, re-signed, into `gateway.handle(infno, headers, body)` of a
                 fresh store (same settings, same manual clock start): the server's own cost, the
                 peer the simulator's wall time is measured against
  (c) http       run_scenario(mode="http") against a local reference server (ServerProcess,
                 manual clock)
  (d) county     --county-year: the `county` scenario, 365 days, in process

Goals: in-process wall ≤ 2 × replay; HTTP ≥ 20 % of in-process encounters/s; county year < 5 min.

    python -m loadtests.bench_simulator                    # small scenario, 30 days (< 1 minute)
    python -m loadtests.bench_simulator --days 90 --no-http
    python -m loadtests.bench_simulator --county-year      # minutes
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

ADMIN_SECRET_ENV = "SCENEMON_BOOTSTRAP_SECRET"


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def _scenario(name: str, days: int | None):
    from simulator.scenario import load_scenario

    return load_scenario(name, **({"days": days} if days else {}))


def run_inprocess(sc, out: Path, seed: int, record: list | None = None) -> dict:
    """One in-process run; with `record`, every delivered body is appended as (sender, secret,
    signing, infno, body)."""
    from simulator.run import run_scenario

    from device_mocks.transport import InProcess

    orig = InProcess.deliver

    def deliver(self, infno, body, headers):
        record.append((self.sender, self.secret, self.signing, infno, body))
        return orig(self, infno, body, headers)

    if record is not None:
        InProcess.deliver = deliver
    try:
        t0 = time.perf_counter()
        s = run_scenario(sc, out, seed=seed, mode="inprocess", counterfactual=False)
        wall = time.perf_counter() - t0
    finally:
        InProcess.deliver = orig
    return {"wall_s": wall, "encounters": s.encounters, "transactions": s.transactions,
            "encounters_per_s": s.encounters / wall if wall else 0.0}


def replay(sc, record: list, db: Path) -> dict:
    """The recorded bodies, freshly signed, into the gateway of a fresh store; only the replay is timed."""
    from reference.api.app import create_app
    from reference.config import Settings
    from reference.signing import request_headers

    admin_secret = record[0][1]
    app = create_app(Settings(db_path=db, bootstrap_secret=admin_secret, clock="manual",
                              clock_start=f"{sc.start.isoformat()}T00:00:00", face_engine="embedding-only"))
    gw = app.state.gateway
    t0 = time.perf_counter()
    for sender, secret, signing, infno, body in record:
        headers = request_headers(signing, sender, secret, body, now=time.time())
        gw.handle(infno, {"Content-Type": "application/json", **headers}, body)
    wall = time.perf_counter() - t0
    return {"wall_s": wall, "transactions": len(record)}


def run_http(sc, out: Path, seed: int) -> dict:
    from simulator.run import run_scenario

    from reference.server import ServerProcess

    env = {"SCENEMON_DB_PATH": str(out / "server.db"), ADMIN_SECRET_ENV: "bench-admin-secret-0123456789",
           "SCENEMON_CLOCK": "manual", "SCENEMON_CLOCK_START": f"{sc.start.isoformat()}T00:00:00",
           "SCENEMON_FACE_ENGINE": "embedding-only"}
    out.mkdir(parents=True, exist_ok=True)
    with ServerProcess(env, log_path=out / "server.log") as srv:
        t0 = time.perf_counter()
        s = run_scenario(sc, out / "run", seed=seed, mode="http", base_url=srv.base_url, counterfactual=False)
        wall = time.perf_counter() - t0
    return {"wall_s": wall, "encounters": s.encounters, "transactions": s.transactions,
            "encounters_per_s": s.encounters / wall if wall else 0.0}


def print_table(res: dict) -> None:
    print(f"\n{'run':<11} {'wall s':>9} {'encounters':>11} {'tx':>8} {'enc/s':>9}")
    print("-" * 52)
    for name in ("inprocess", "replay", "http", "county"):
        r = res.get(name)
        if r:
            print(f"{name:<11} {r['wall_s']:>9.2f} {r.get('encounters', 0):>11} {r.get('transactions', 0):>8} "
                  f"{r.get('encounters_per_s', 0):>9.1f}")
    for k, v in res.get("ratios", {}).items():
        print(f"{k:<32} {v:>8.3f}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scenario", default="small", help="scenario name or path for (a)-(c)")
    ap.add_argument("--days", type=int, default=30, help="days simulated in (a)-(c)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--no-http", action="store_true", help="skip (c)")
    ap.add_argument("--county-year", action="store_true", help="also (d): the county scenario, 365 days")
    ap.add_argument("--out", type=Path, default=None, help="work directory (default: a temporary one)")
    ap.add_argument("--json", type=Path, default=None, help="write the figures as JSON here")
    args = ap.parse_args(argv)
    work = args.out or Path(tempfile.mkdtemp(prefix="bench_sim_"))
    work.mkdir(parents=True, exist_ok=True)
    sc = _scenario(args.scenario, args.days)
    res: dict = {"scenario": sc.name, "days": sc.days, "seed": args.seed, "ratios": {}}
    rec: list = []
    log(f"(a) in process: {sc.name}, {sc.days} days")
    res["inprocess"] = run_inprocess(sc, work / "inprocess", args.seed, rec)
    log(f"(b) replay of {len(rec)} transactions")
    res["replay"] = replay(sc, rec, work / "replay.db")
    r = res["ratios"]
    r["sim/replay"] = res["inprocess"]["wall_s"] / res["replay"]["wall_s"]
    r["(sim-replay)/replay"] = r["sim/replay"] - 1
    if not args.no_http:
        log("(c) over HTTP")
        res["http"] = run_http(sc, work / "http", args.seed)
        r["http/inprocess enc/s"] = res["http"]["encounters_per_s"] / res["inprocess"]["encounters_per_s"]
    if args.county_year:
        log("(d) county, 365 days, in process")
        res["county"] = run_inprocess(_scenario("county", 365), work / "county", args.seed)
    print_table(res)
    if args.json:
        args.json.write_text(json.dumps(res, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
