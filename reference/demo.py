"""`scenemon demo`: the smoke scenario a newcomer runs first.

It starts the reference server on a fresh SQLite database (no other servers needed), then acts
as a city bureau, a hospital's HIS and a certified face terminal through the device mocks,
printing each step and what the server answered.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import numpy as np

from device_mocks.client import TxError
from device_mocks.inpatient_day import run_day
from device_mocks.world import bootstrap_world
from reference.face.synthetic import SyntheticFaces
from reference.paths import user_data_dir
from reference.server import ServerProcess

DEMO_SECRET = "demo-city-admin-secret"
DEMO_START = "2026-03-02T08:00:00"


def _face_engine(model_dir: Path) -> str:
    """Build the dlib models when missing; fall back to embeddings only if that is impossible."""
    try:
        from reference.face.dlib.build import ensure_models
    except ImportError:
        return "embedding-only"
    try:
        ensure_models(model_dir / "dlib", progress=lambda m: print(m if m.startswith(" ") else f"• {m}"))
    except Exception as exc:  # the demo still runs on terminal-computed embeddings
        print(f"  could not build the face models ({exc}); continuing with embeddings only")
        return "embedding-only"
    return "dlib"


def _pharmacy(his, terminal, buyer: str, capture) -> None:
    """The rule library at work: a 1,500-yuan card purchase without a face check is refused
    (PH-FACE-OVER-AMOUNT, threshold 1,000 yuan); after a passed face check it is accepted."""

    def settle(setl_id: str) -> dict:
        return his.call("8712", {
            "setl_id": setl_id, "psn_no": buyer, "scene": "pharmacy", "setl_time": DEMO_START, "method": "ssc",
            "total_amount": 1500.0,
            "items": [{"item_code": "XA10BA02", "item_name": "盐酸二甲双胍缓释片", "qty": 10, "amount": 1500.0}]})

    print(f"• {buyer} buys 1,500 yuan of medicine by social-security card, without a face check")
    out = settle("DEMO-S1")
    why = "; ".join(f"{d['rule_id']}: {d['message']}" for d in out["decisions"])
    print(f"    in-event review: {out['result']} ({why})")
    terminal.call("8121", {"psn_no": buyer, "capture": capture(buyer)})
    v = terminal.call("8122", {"psn_no": buyer, "scene": "pharmacy", "capture": capture(buyer)})
    print(f"• {buyer} enrols and passes a face check at the counter (passed={v['passed']})")
    out = settle("DEMO-S2")
    print(f"    the same purchase again: {out['result']}")


def default_workdir() -> Path:
    """`demo` in the per-user data directory: the demo works from any working directory."""
    return user_data_dir() / "demo"


def run_demo(workdir: Path | None = None, keep: bool = False, model_dir: Path | None = None) -> int:
    """`workdir` (default `default_workdir()`) is emptied first and removed afterwards unless
    `keep`; `model_dir` defaults to the server's (setting face_model_dir)."""
    started = time.perf_counter()
    workdir = workdir or default_workdir()
    if model_dir is None:
        from reference.config import Settings

        model_dir = Settings().face_model_dir
    engine = _face_engine(model_dir)
    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    # A manual business clock, so that the inpatient day below can move to the next day.
    env = {"SCENEMON_DB_PATH": str(workdir / "demo.db"), "SCENEMON_BOOTSTRAP_SECRET": DEMO_SECRET,
           "SCENEMON_FACE_ENGINE": engine, "SCENEMON_FACE_MODEL_DIR": str(model_dir),
           "SCENEMON_CLOCK": "manual", "SCENEMON_CLOCK_START": DEMO_START}
    print(f"• Starting the reference server on SQLite ({workdir / 'demo.db'}), face engine: {engine}")
    with ServerProcess(env, log_path=workdir / "server.log") as srv:
        print(f"  listening on {srv.base_url} (interface: {srv.base_url}/docs)")
        print("• The city bureau sets up a district, two hospitals and their certified terminals")
        world = bootstrap_world(srv.base_url, "city-admin", DEMO_SECRET, n_institutions=2,
                                n_persons=2, tag="DE30", log=lambda m: print(f"    {m}"))
        try:
            hospital = next(iter(world.institutions.values()))
            terminal = world.terminal()
            faces = SyntheticFaces()
            rng = np.random.default_rng(7)
            patient, stranger = world.persons
            print(f"• Terminal {terminal.sender} sends its heartbeat")
            terminal.call("8103", {"app_version": "2.1.0", "camera_ok": True, "liveness_module_ok": True})
            print(f"• Patient {patient} enrols a face on the terminal (synthetic embedding, not a real face)")

            def capture(who: str) -> dict:
                return {"embedding": faces.capture(who, rng).tolist(), "embedding_model": faces.model_id,
                        "quality": 0.92, "liveness": {"passed": True, "score": 0.98, "method": "ir"}}

            out = terminal.call("8121", {"psn_no": patient, "capture": capture(patient)})
            print(f"    template {out['template_id']} stored for model {out['model_id']}")
            out = terminal.call("8122", {"psn_no": patient, "scene": "inpatient", "capture": capture(patient)})
            print(f"• The same patient verifies: passed={out['passed']} "
                  f"(score {out['score']:.3f}, threshold {out['threshold']})")
            out = terminal.call("8122", {"psn_no": patient, "scene": "inpatient", "capture": capture(stranger)})
            print(f"• Someone else claims to be {patient}: passed={out['passed']} (score {out['score']:.3f})")
            env_ = terminal.envelope("8103", {"app_version": "2.1.0", "camera_ok": True, "liveness_module_ok": True})
            a, b = terminal.send_envelope(env_), terminal.send_envelope(env_)
            print(f"• A retried message (same msgid) gets the original answer: {a.envelope == b.envelope}")
            other = list(world.institutions.values())[1]
            r = hospital.client.send("8013", {"fixmedins_code": other.code})
            print(f"• Hospital {hospital.code} tries to read hospital {other.code}: "
                  f"refused with infcode {r.infcode} ({r.envelope['err_msg']})")
            log = world.bureau.call("8902", {"psn_no": patient})["entries"]
            print(f"• The access log holds {len(log)} entries for {patient} (who read or changed their data)")
            _pharmacy(hospital.client, terminal, stranger, capture)
            print("• An inpatient day at a new hospital (the same as `scenemon mock inpatient-day`)")
            run_day(srv.base_url, "city-admin", DEMO_SECRET, patients=4, log=lambda m: print(f"    {m}"))
        except TxError as exc:
            print(f"FAILED: {exc}")
            return 1
        finally:
            world.close()
    if not keep:
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"Demo finished in {time.perf_counter() - started:.1f} s. Next: `scenemon serve`, "
          "`scenemon conformance --preset local --start-reference`, `scenemon docs build`.")
    return 0
