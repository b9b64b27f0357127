"""Benchmark: the inpatient day end (8209, 住院日终) on a district of N institutions × M inpatients.

Each institution's M in-hospital patients of an equipped department have one business day to
judge: 70 % passed a face check that day, 10 % have a special registration, 20 % have neither (a
finding, and a lead). The world is written straight into a fresh database (no face work), then
one city-wide 8209 goes through the gateway in this process (signed, no HTTP framing), and the
script prints, per size:

- statements: every SQL statement the request executed (apsw's exec trace on the connection),
  and how many of them ran in the read phase and in the write transaction;
- ms: the whole request; lock ms: the write transaction (`Gateway._execute`), which holds the
  database's write lock — other writers (terminals' face checks) wait that long;
- read ms: the read phase on a snapshot (`Gateway._read_phase`, none before the change).

Variants: `read phase` (the transaction's `read=` scan on a snapshot, its decisions written if no
fact changed) and `in write` (the same code with the read phase switched off: the scan runs inside
the write transaction). Run it in a checkout of the previous commit to get the figures from before
the generic day end (the world is plain SQL and works on both schemas):

    python -m loadtests.bench_day_end [--sizes 5x40,20x100] [--rounds 3]

Figures move by ±10 % between runs on a shared 2-core VM.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

from reference.signing import sign_headers

SECRET = "bench-day-end-secret"
DAY = "2026-03-03"
DISTRICT = "419900"


def _world(db: Any, n_inst: int, m: int) -> int:
    """Write the district straight into the store; returns the number of due patient-days."""
    at = "2026-03-01T08:00:00+08:00"
    db.execute("INSERT OR IGNORE INTO districts(code, name, region_code, created_at) VALUES (?,?,?,?)",
               (DISTRICT, "基准区", "410100", at))
    n = 0
    for i in range(n_inst):
        code = f"HB{i:04d}"
        db.execute("INSERT INTO institutions(code, name, inst_type, level, district_code, created_at)"
                   " VALUES (?,?,?,?,?,?)", (code, f"基准医院{i}", "secondary_hospital", "2A", DISTRICT, at))
        db.execute("INSERT INTO institution_scenes(institution_code, scene, enabled, since, updated_at)"
                   " VALUES (?, 'inpatient', 1, '2026-01-01', ?)", (code, at))
        for k in range(m):
            n += 1
            psn, mdtrt = f"PB{i:04d}{k:04d}", f"ZB{i:04d}{k:04d}"
            db.execute("INSERT INTO persons(psn_no, certno, psn_name, gend, brdy, insuplc_admdvs, created_at,"
                       " created_by, updated_at) VALUES (?,?,?,?,?,?,?,?,?)",
                       (psn, f"4101021960{i:04d}{k:04d}", "基准", "1", "1960-01-01", DISTRICT, at, "bench", at))
            db.execute(
                "INSERT INTO inpatient_visits(institution_code, mdtrt_id, psn_no, dept_code, dept_name, ward, bed_no,"
                " dept_equipped, adm_time, consent_face, consent_video, consent_signed_at, enrolled_at,"
                " enrolled_late, status, created_by, created_at, updated_at)"
                " VALUES (?,?,?,'NK','内科','W1',?,1,'2026-03-01T10:00:00+08:00',1,1,?,"
                " '2026-03-01T11:00:00+08:00',0,'in_hospital','bench',?,?)", (code, mdtrt, psn, str(k), at, at, at))
            kind = k % 10
            if kind < 7:  # passed a face check on the day
                db.execute("INSERT INTO face_verifications(psn_no, model_id, threshold, matched, passed, scene,"
                           " mdtrt_id, institution_code, msgid, at) VALUES (?, 'synthetic:v1', 0.5, 1, 1,"
                           " 'inpatient', ?, ?, 'bench', ?)", (psn, mdtrt, code, f"{DAY}T09:{k % 60:02d}:00+08:00"))
            elif kind == 7:  # special-registered
                db.execute("INSERT INTO special_registrations(scene, institution_code, psn_no, mdtrt_id,"
                           " subject_type, subject_id, day, reason, explanation, status, review_due, submitted_by,"
                           " submitted_at, updated_at) VALUES ('inpatient',?,?,?,'patient_day',?,?,"
                           " 'under_treatment','在做检查','submitted','2026-03-10','bench',?,?)",
                           (code, psn, mdtrt, f"{mdtrt}/{DAY}", DAY, at, at))
    return n


def run(n_inst: int, m: int, variant: str) -> dict[str, float]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from reference.api.app import create_app
    from reference.api import gateway as gw
    from reference.config import Settings

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(db_path=Path(tmp) / "bench.db", bootstrap_secret=SECRET, clock="manual",
                            clock_start="2026-03-04T01:00:00", face_engine="embedding-only")
        app = create_app(settings)
        store, gateway = app.state.scenemon.store, app.state.gateway
        with store.write() as db:
            due = _world(db, n_inst, m)
        if variant == "in write" and getattr(gateway.transactions["8209"], "read", None) is not None:
            gateway.transactions["8209"] = dataclasses.replace(gateway.transactions["8209"], read=None)
        spent = {"lock": 0.0, "read": 0.0}
        phase = {"lock": 0, "read": 0}

        def timed(name: str, fn):
            def wrapper(*a, **kw):
                t, n = time.perf_counter(), statements
                try:
                    return fn(*a, **kw)
                finally:
                    spent[name] += time.perf_counter() - t
                    phase[name] += statements - n
            return wrapper

        gateway._execute = timed("lock", gateway._execute)
        if hasattr(gw.Gateway, "_read_phase"):
            gateway._read_phase = timed("read", gateway._read_phase)
        body = json.dumps({"infno": "8209", "msgid": f"BENCH{n_inst}x{m}", "infver": "V1.0", "opter": "bench",
                           "opter_name": "基准", "opter_type": "1", "inf_time": "2026-03-04 01:00:00",
                           "input": {"day": DAY}}, ensure_ascii=False).encode()
        statements = 0

        def count(*_):
            nonlocal statements
            statements += 1
            return True

        conn = store.db().conn
        conn.exec_trace = count
        t0 = time.perf_counter()
        _, payload = gateway.handle("8209", {**sign_headers("city-admin", SECRET, body)}, body)
        total = time.perf_counter() - t0
        conn.exec_trace = None
        assert payload["infcode"] == 0, payload
        out = payload["output"]
        assert len(out["patient_days"]) == due and len(out["closed"]) == n_inst, (len(out["patient_days"]), due)
        findings = sum(d["status"] == "finding" for d in out["patient_days"])
        store.close()
        return {"statements": statements, "read_stmts": phase["read"], "lock_stmts": phase["lock"],
                "ms": total * 1000, "lock_ms": spent["lock"] * 1000,
                "read_ms": spent["read"] * 1000, "patient_days": due, "findings": findings}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="5x40,20x100", help="NxM,...: institutions x inpatients each")
    ap.add_argument("--rounds", type=int, default=3, help="fresh worlds per figure (the median is printed)")
    args = ap.parse_args(argv)
    from reference.api import gateway as gw

    variants = ["read phase", "in write"] if hasattr(gw.Gateway, "_read_phase") else ["before"]
    print(f"{'world':>9} {'days':>6} {'finds':>6} {'variant':>11} {'statements':>10} {'in read':>8}"
          f" {'in write':>8} {'ms':>8} {'lock ms':>8} {'read ms':>8}")
    for size in args.sizes.split(","):
        n, m = (int(x) for x in size.lower().split("x"))
        for variant in variants:
            runs = [run(n, m, variant) for _ in range(args.rounds)]
            med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
            print(f"{size:>9} {int(med['patient_days']):>6} {int(med['findings']):>6} {variant:>11}"
                  f" {int(med['statements']):>10} {int(med['read_stmts']):>8} {int(med['lock_stmts']):>8}"
                  f" {med['ms']:>8.1f} {med['lock_ms']:>8.1f} {med['read_ms']:>8.1f}")


if __name__ == "__main__":
    main()
