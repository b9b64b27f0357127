"""`scenemon loadtest`: seed a gallery, start the server, run Locust headless stage by stage,
and judge the results against the SLOs in `loadtests/slo.yaml`.

Stages run one after another against the same server (so that, for example, 1:1 verification
throughput is compared with the no-op transaction's throughput measured minutes earlier on the
same process, database and machine). Each stage keeps Locust's own reports in the output
directory: ``<stage>_stats.csv``, ``<stage>_stats_history.csv``, ``<stage>_failures.csv``,
``<stage>_exceptions.csv`` and ``<stage>.html``; ``summary.json`` holds the verdicts.
"""

from __future__ import annotations

import concurrent.futures
import csv
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from device_mocks.client import Client
from device_mocks.world import bootstrap_world
from loadtests.locust_client import WORLD_ENV, Credentials, LoadWorld, embedding_capture
from reference.face.synthetic import SyntheticFaces
from reference.idcard import make_certno

HERE = Path(__file__).resolve().parent
SLO_FILE = HERE / "slo.yaml"
LOCUSTFILE = HERE / "locustfile.py"
SECRET = "loadtest-city-admin-secret"
SLO_KEYS = {"p95_ms", "max_error_rate", "min_rps", "min_throughput_ratio", "min_requests"}


# -- the SLO file ---------------------------------------------------------------------------------------
@dataclass
class Stage:
    name: str
    user_class: str
    users: int
    spawn_rate: float
    duration_s: float
    slo: dict[str, Any] = field(default_factory=dict)
    requires: str | None = None  # "identify": run only when the server has transaction 8124


def load_stages(path: Path = SLO_FILE) -> list[Stage]:
    """Read and check the stages; every problem is reported at once."""
    raw = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    stages, problems = [], []
    names: set[str] = set()
    for i, s in enumerate(raw.get("stages") or []):
        where = f"{path}: stages[{i}]"
        try:
            st = Stage(str(s["name"]), str(s["user_class"]), int(s["users"]), float(s.get("spawn_rate", s["users"])),
                       float(s["duration_s"]), dict(s.get("slo") or {}), s.get("requires"))
        except (KeyError, TypeError, ValueError) as exc:
            problems.append(f"{where}: {exc!r}")
            continue
        unknown = set(st.slo) - SLO_KEYS
        if unknown:
            problems.append(f"{where}: unknown SLO key(s) {sorted(unknown)}; known: {sorted(SLO_KEYS)}")
        ratio = st.slo.get("min_throughput_ratio")
        if ratio is not None and (not isinstance(ratio, dict) or ratio.get("of") not in names or "ratio" not in ratio):
            problems.append(f"{where}: min_throughput_ratio needs {{of: <an earlier stage>, ratio: <number>}}")
        names.add(st.name)
        stages.append(st)
    if not stages and not problems:
        problems.append(f"{path}: no stages")
    if problems:
        raise ValueError("\n".join(problems))
    return stages


# -- seeding ------------------------------------------------------------------------------------------------
def seed_world(base_url: str, gallery: int, *, secret: str = SECRET, terminals: int = 4, spares: int = 10,
               threads: int = 4, log=print) -> LoadWorld:
    """A district, `terminals` institutions with a certified terminal each, and `gallery` enrolled
    persons (synthetic-face embeddings), all through the interface."""
    w = bootstrap_world(base_url, "city-admin", secret, n_institutions=terminals, n_persons=0, tag="10AD01")
    insts = list(w.institutions.values())
    term_clients = [i.terminals[next(iter(i.terminals))] for i in insts]
    faces = SyntheticFaces()
    n = gallery + spares
    persons = [f"L{k:08d}" for k in range(n)]

    by_terminal: dict[str, list[str]] = {t.sender: [] for t in term_clients}

    def register_and_enrol(chunk: range, number: int) -> None:
        # Each chunk belongs to one institution: it registers and enrols the persons, so its terminal
        # may verify and re-enrol them (persons are visible to the institutions linked to them).
        inst = insts[number % len(insts)]
        with Client(base_url, sender=inst.client.sender, secret=inst.client.secret,
                    fixmedins_code=inst.code) as c:
            tc = term_clients[number % len(term_clients)]
            with Client(base_url, sender=tc.sender, secret=tc.secret, fixmedins_code=tc.fixmedins_code,
                        opter_type="2") as t:
                rng = np.random.default_rng(chunk.start)
                for k in chunk:
                    born = date(1940, 1, 1) + timedelta(days=k % 20000)  # (born, sequence) unique up to 20M
                    certno = make_certno(w.district, born, (k // 20000) % 1000)
                    c.call("8001", {"psn_no": persons[k], "certno": certno, "psn_name": f"压测{k}",
                                    "insuplc_admdvs": w.district[:4] + "00"})
                    if k < gallery:
                        t.call("8121", {"psn_no": persons[k], "capture": embedding_capture(
                            faces.capture(persons[k], rng), faces.model_id)})
                        by_terminal[tc.sender].append(persons[k])

    t0 = time.perf_counter()
    step = max(1, -(-n // (threads * 4)))
    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        chunks = [range(a, min(a + step, n)) for a in range(0, n, step)]
        list(pool.map(register_and_enrol, chunks, range(len(chunks))))
    log(f"seeded {gallery} enrolled persons (+{spares} not enrolled) through {terminals} terminals "
        f"in {time.perf_counter() - t0:.1f} s")
    probe = term_clients[0].send("8124", {"capture": embedding_capture(faces.capture(persons[0], rng=np.random
                                                                                      .default_rng(1)),
                                                                        faces.model_id), "k": 1})
    world = LoadWorld(
        base_url=base_url,
        bureau=Credentials("city-admin", secret),
        terminals=[Credentials(t.sender, t.secret, t.fixmedins_code, "2") for t in term_clients],
        persons=persons[:gallery], spare_persons=persons[gallery:], model_id=faces.model_id,
        persons_by_terminal={k: sorted(v) for k, v in by_terminal.items()},
        has_identify=probe.infcode != 1003)
    w.close()
    return world


# -- running Locust -------------------------------------------------------------------------------------------
def run_stage(stage: Stage, world_file: Path, host: str, out: Path, *, users: int | None = None,
              duration_s: float | None = None, log=print) -> dict[str, Any]:
    users = users or stage.users
    duration = duration_s or stage.duration_s
    spawn = max(stage.spawn_rate, users) if users != stage.users else stage.spawn_rate
    prefix = out / stage.name
    cmd = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--host", host,
           "-u", str(users), "-r", str(spawn), "-t", f"{max(1, round(duration))}s", "--stop-timeout", "10",
           "--csv", str(prefix), "--csv-full-history", "--html", f"{prefix}.html", "--only-summary",
           "--loglevel", "WARNING", "--exit-code-on-error", "0", stage.user_class]
    final = Path(f"{prefix}_final.json")
    final.unlink(missing_ok=True)
    env = {**os.environ, WORLD_ENV: str(world_file), "PYTHONPATH": str(HERE.parent),
           "SCENEMON_LOADTEST_FINAL_STATS": str(final)}
    log(f"stage {stage.name}: {stage.user_class}, {users} users, {duration:.0f} s …")
    with open(out / f"{stage.name}.log", "wb") as f:
        proc = subprocess.run(cmd, env=env, stdout=f, stderr=subprocess.STDOUT, timeout=duration + 120)
    if proc.returncode != 0:
        raise RuntimeError(f"locust exited with {proc.returncode} in stage {stage.name}; see {out / stage.name}.log")
    if final.is_file():  # written by the locustfile when Locust quits: the figures to judge
        return json.loads(final.read_text(encoding="utf-8"))
    return read_stats(Path(f"{prefix}_stats.csv"))


def read_stats(path: Path) -> dict[str, Any]:
    """Locust's stats CSV → {"rows": {name: row}, "total": aggregated row} with numbers."""
    rows = {}
    with path.open(newline="", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            rows[r["Name"]] = {
                "requests": int(r["Request Count"]), "failures": int(r["Failure Count"]),
                "rps": float(r["Requests/s"]), "p50_ms": _num(r.get("50%")), "p95_ms": _num(r.get("95%")),
                "p99_ms": _num(r.get("99%")), "avg_ms": _num(r.get("Average Response Time")),
            }
    total = rows.pop("Aggregated", None)
    if total is None:
        raise RuntimeError(f"{path} has no Aggregated row")
    return {"rows": rows, "total": total}


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def _children_cpu_seconds() -> float:
    """User + system CPU time of this process's exited, waited-for children (the Locust runs)."""
    import resource

    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _num(v: str | None) -> float | None:
    try:
        return float(v) if v not in (None, "", "N/A") else None
    except ValueError:
        return None


# -- verdicts ----------------------------------------------------------------------------------------------------
@dataclass
class Check:
    stage: str
    what: str
    limit: str
    measured: str
    passed: bool


def evaluate(stage: Stage, stats: dict[str, Any], earlier: dict[str, dict[str, Any]]) -> list[Check]:
    t, slo, out = stats["total"], stage.slo, []
    err = t["failures"] / t["requests"] if t["requests"] else 1.0
    if "min_requests" in slo:
        out.append(Check(stage.name, "requests", f">= {slo['min_requests']}", str(t["requests"]),
                         t["requests"] >= slo["min_requests"]))
    if "max_error_rate" in slo:
        out.append(Check(stage.name, "error rate", f"<= {slo['max_error_rate']:.2%}",
                         f"{err:.3%} ({t['failures']}/{t['requests']})", err <= slo["max_error_rate"]))
    if "p95_ms" in slo:
        p95 = t["p95_ms"]
        out.append(Check(stage.name, "p95 latency", f"<= {slo['p95_ms']} ms", f"{p95} ms",
                         p95 is not None and p95 <= slo["p95_ms"]))
    if "min_rps" in slo:
        out.append(Check(stage.name, "throughput", f">= {slo['min_rps']} req/s", f"{t['rps']:.1f} req/s",
                         t["rps"] >= slo["min_rps"]))
    if "min_throughput_ratio" in slo:
        ref, ratio = slo["min_throughput_ratio"]["of"], float(slo["min_throughput_ratio"]["ratio"])
        base = earlier.get(ref)
        if base is None:
            out.append(Check(stage.name, f"throughput vs {ref}", f">= {ratio:.0%}", "not run", False))
        else:
            r = t["rps"] / base["total"]["rps"] if base["total"]["rps"] else 0.0
            out.append(Check(stage.name, f"throughput vs {ref}", f">= {ratio:.0%}",
                             f"{r:.1%} ({t['rps']:.1f} / {base['total']['rps']:.1f} req/s)", r >= ratio))
    return out


def format_summary(stats: dict[str, dict[str, Any]], checks: list[Check]) -> str:
    def ms(v: float | None) -> str:
        return "-" if v is None else f"{v:.3f}"

    lines = [f"{'stage':<11} {'requests':>9} {'fail':>5} {'req/s':>8} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} "
             f"{'server CPU ms/req':>18} {'Locust CPU ms/req':>18}"]
    for name, s in stats.items():
        t = s["total"]
        lines.append(f"{name:<11} {t['requests']:>9} {t['failures']:>5} {t['rps']:>8.1f} "
                     f"{t['p50_ms'] or 0:>7.0f} {t['p95_ms'] or 0:>7.0f} {t['p99_ms'] or 0:>7.0f} "
                     f"{ms(s.get('server_cpu_ms_per_request')):>18} {ms(s.get('locust_cpu_ms_per_request')):>18}")
    lines.append("")
    for c in checks:
        lines.append(f"{'PASS' if c.passed else 'FAIL'}  {c.stage:<10} {c.what:<22} {c.measured:<36} (SLO {c.limit})")
    ok = all(c.passed for c in checks)
    lines.append(f"\n{'PASSED' if ok else 'FAILED'}: {sum(c.passed for c in checks)}/{len(checks)} SLO checks")
    return "\n".join(lines)


# -- the whole run ----------------------------------------------------------------------------------------------
def run(*, gallery: int, out: Path, slo_file: Path = SLO_FILE, only: list[str] | None = None,
        users: int | None = None, duration_s: float | None = None, log=print) -> bool:
    from reference.server import ServerProcess

    stages = load_stages(slo_file)
    if only:
        unknown = set(only) - {s.name for s in stages}
        if unknown:
            raise ValueError(f"unknown stage(s) {sorted(unknown)}; known: {[s.name for s in stages]}")
        stages = [s for s in stages if s.name in only]
    out.mkdir(parents=True, exist_ok=True)
    db = out / "loadtest.db"
    for p in out.glob("loadtest.db*"):
        p.unlink()
    env = {"SCENEMON_DB_PATH": str(db), "SCENEMON_BOOTSTRAP_SECRET": SECRET, "SCENEMON_FACE_ENGINE": "embedding-only"}
    with ServerProcess(env, log_path=out / "server.log") as srv:
        log(f"server on {srv.base_url} (one uvicorn worker, SQLite {db})")
        world = seed_world(srv.base_url, gallery, log=log)
        world_file = world.save(out / "world.json")
        stats: dict[str, dict[str, Any]] = {}
        checks: list[Check] = []
        for st in stages:
            if st.requires == "identify" and not world.has_identify:
                log(f"stage {st.name}: skipped (the server has no transaction 8124)")
                continue
            cpu0, locust0 = _cpu_seconds(srv.proc.pid), _children_cpu_seconds()
            stats[st.name] = run_stage(st, world_file, srv.base_url, out, users=users, duration_s=duration_s, log=log)
            n = stats[st.name]["total"]["requests"]
            stats[st.name]["server_cpu_ms_per_request"] = (_cpu_seconds(srv.proc.pid) - cpu0) * 1e3 / n if n else None
            # Locust runs as a child process of this one and has exited by now: its CPU time is in
            # RUSAGE_CHILDREN (the server, still running, is not counted there yet).
            stats[st.name]["locust_cpu_ms_per_request"] = (_children_cpu_seconds() - locust0) * 1e3 / n if n else None
            checks += evaluate(st, stats[st.name], stats)
    summary = format_summary(stats, checks)
    log("\n" + summary)
    (out / "summary.json").write_text(json.dumps(
        {"gallery": gallery, "stats": stats, "checks": [c.__dict__ for c in checks],
         "passed": all(c.passed for c in checks)}, indent=2), encoding="utf-8")
    log(f"\nLocust reports (CSV, HTML) in {out}/")
    return all(c.passed for c in checks)
