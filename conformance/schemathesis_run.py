"""Schemathesis against a live scenemon server, with only a signing hook (issue 12, "Done when").

    .venv/bin/python -m conformance.schemathesis_run                  # 300 examples per operation
    .venv/bin/python -m conformance.schemathesis_run --max-examples 30 --include-path-regex '/tx/80'

What it does:

1. starts a fresh reference server on 127.0.0.1 (a temporary SQLite file, the manual business
   clock, embedding-only faces) — or uses `--url` with `--bureau-secret` for a running one;
2. builds a small world through the interface (device_mocks.world: a district, institutions with
   their scenes enabled, certified terminals, persons) and writes the accounts Schemathesis signs
   with to a file;
3. runs `schemathesis run interface_spec/openapi.json --checks all --mode all` with
   `SCHEMATHESIS_HOOKS=conformance.schemathesis_hooks` (the signing hook and the check that judges
   refusals by schema validity; see that module) and a config file that tells the built-in
   acceptance checks which HTTP statuses this interface uses (below);
4. prints the figures: cases per operation, failures by check, duration; exit code 0 only when
   Schemathesis found nothing. `POST /tx` (oneOf every transaction) runs as a second pass with
   at most SINGLE_ENDPOINT_EXAMPLES cases (see there).

The HTTP status of a refusal says its class, not whether the request was well formed: 422 is
1001 invalid_field but also 4001 rule_refusal and 5001 no_face_found, 404 is 3003 not_found but
also 1003 unknown_transaction. So `positive_data_acceptance` is told that a schema-valid request
may meet any business refusal (403, 404, 409, 422, 503), `negative_data_rejection` that a
schema-invalid one is answered 400, 404 or 422, and the hook's own check looks at `infcode`.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from reference.paths import INTERFACE_SPEC

REPO = Path(__file__).resolve().parent.parent
BOOTSTRAP_SECRET = "schemathesis-city-admin-secret"
POSITIVE_STATUSES = ["200", "403", "404", "409", "422", "503"]
NEGATIVE_STATUSES = ["400", "404", "422"]

CONFIG = f"""\
[checks.positive_data_acceptance]
expected-statuses = {json.dumps(POSITIVE_STATUSES)}

[checks.negative_data_rejection]
expected-statuses = {json.dumps(NEGATIVE_STATUSES)}
"""


@dataclass
class Figures:
    """What one run found, from Schemathesis' JSON report."""

    operations: dict[str, int] = field(default_factory=dict)  # label -> test cases
    failures: Counter = field(default_factory=Counter)  # check name -> failures
    examples: dict[str, list[str]] = field(default_factory=dict)  # check name -> a few messages
    errors: list[str] = field(default_factory=list)
    duration_s: float = 0.0
    exit_code: int = 0

    @property
    def cases(self) -> int:
        return sum(self.operations.values())

    def summary(self) -> str:
        lines = [f"schemathesis: {len(self.operations)} operations, {self.cases} cases, "
                 f"{sum(self.failures.values())} failures, {len(self.errors)} errors, {self.duration_s:.0f} s"]
        if self.operations:
            counts = sorted(self.operations.values())
            lines.append(f"cases per operation: min {counts[0]}, median {counts[len(counts) // 2]}, max {counts[-1]}")
        for check, n in sorted(self.failures.items()):
            lines.append(f"  {check}: {n}")
            lines.extend(f"      {m}" for m in self.examples.get(check, [])[:3])
        lines.extend(f"  error: {e}" for e in self.errors[:10])
        return "\n".join(lines)


def start_world(base_url: str, secret: str, accounts_path: Path) -> None:
    from device_mocks.world import bootstrap_world

    world = bootstrap_world(base_url, "city-admin", secret, n_institutions=1, n_persons=3, tag="5C4E4A")
    inst = next(iter(world.institutions.values()))
    term = next(iter(inst.terminals.values()))
    accounts = {
        "city_bureau": {"sender": world.bureau.sender, "secret": world.bureau.secret, "fixmedins_code": None},
        "institution": {"sender": inst.client.sender, "secret": inst.client.secret, "fixmedins_code": inst.code},
        "terminal": {"sender": term.sender, "secret": term.secret, "fixmedins_code": inst.code},
    }
    accounts_path.write_text(json.dumps(accounts), encoding="utf-8")
    world.close()


def read_events(path: Path, figures: Figures) -> None:
    """Fill the figures from Schemathesis' NDJSON event stream: per operation the test cases of
    every phase; per check the failed cases (each case's failing checks, once)."""
    if not path.exists():
        figures.errors.append(f"no event stream at {path}")
        return
    with open(path, encoding="utf-8") as f:
        for line in f:
            event = json.loads(line)
            name, body = next(iter(event.items()))
            if name == "NonFatalError" or name == "FatalError":
                figures.errors.append(str(body.get("info", body))[:300])
            if name != "ScenarioFinished" or body.get("status") == "skip":
                continue
            rec = body["recorder"]
            label = rec["label"]
            figures.operations[label] = figures.operations.get(label, 0) + len(rec.get("cases", {}))
            for case_id, checks in (rec.get("checks") or {}).items():
                for check in checks:
                    if check.get("status") == "failure":
                        figures.failures[check["name"]] += 1
                        failure = check.get("failure_info") or {}
                        text = str((failure.get("failure") or {}).get("message", failure))[:240]
                        examples = figures.examples.setdefault(check["name"], [])
                        if len(examples) < 5:
                            examples.append(f"{label} [{case_id}] {text}")


# POST /tx takes oneOf every transaction's envelope: generating a case means telling the branches
# apart, which costs Schemathesis far more per case than one transaction does (a 300-case run of
# it had not finished after 15 minutes and 7 GB). It runs as its own pass with fewer cases; every
# branch is also tested, at full size, as its own POST /tx/{infno}.
SINGLE_ENDPOINT_EXAMPLES = 30


def run_all(*, base_url: str, accounts_path: Path, workdir: Path, max_examples: int, extra: list[str],
            seed: int | None = None) -> Figures:
    """The per-transaction operations with `max_examples` cases each, then POST /tx."""
    per_tx = run(base_url=base_url, accounts_path=accounts_path, workdir=workdir / "per-transaction",
                 max_examples=max_examples, extra=["--exclude-path", "/tx", *extra], seed=seed)
    single = run(base_url=base_url, accounts_path=accounts_path, workdir=workdir / "single-endpoint",
                 max_examples=min(max_examples, SINGLE_ENDPOINT_EXAMPLES), extra=["--include-path", "/tx", *extra],
                 seed=seed)
    per_tx.operations.update(single.operations)
    per_tx.failures.update(single.failures)
    for check, examples in single.examples.items():
        per_tx.examples.setdefault(check, []).extend(examples)
    per_tx.errors.extend(single.errors)
    per_tx.duration_s += single.duration_s
    per_tx.exit_code = per_tx.exit_code or single.exit_code
    return per_tx


def run(*, base_url: str, accounts_path: Path, workdir: Path, max_examples: int, extra: list[str],
        seed: int | None = None) -> Figures:
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "schemathesis.toml"
    config.write_text(CONFIG, encoding="utf-8")
    report = workdir / "report.json"
    cmd = [sys.executable, "-m", "schemathesis.cli", "--config-file", str(config), "run",
           str(INTERFACE_SPEC / "openapi.json"), "--url", base_url, "--checks", "all", "--mode", "all",
           "--max-examples", str(max_examples), "--workers", "2", "--generation-database", "none",
           "--report", "json,junit,ndjson", "--report-json-path", str(report),
           "--report-ndjson-path", str(workdir / "events.ndjson"),
           "--report-junit-path", str(workdir / "junit.xml"), "--no-color", "--continue-on-failure",
           "--request-timeout", "60", "--generation-with-security-parameters", "false",
           # the national models (3101/3102) nest patterned fields deeply: many drafts are filtered out
           "--suppress-health-check", "filter_too_much"]
    if seed is not None:
        cmd += ["--seed", str(seed)]
    cmd += extra
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "conformance.schemathesis_hooks",
           "SCENEMON_ST_ACCOUNTS": str(accounts_path),
           "PYTHONPATH": os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p)}
    started = time.monotonic()
    with open(workdir / "schemathesis.log", "w", encoding="utf-8") as log:
        proc = subprocess.run(cmd, env=env, cwd=workdir, stdout=log, stderr=subprocess.STDOUT, check=False)
    figures = Figures(duration_s=time.monotonic() - started, exit_code=proc.returncode)
    read_events(workdir / "events.ndjson", figures)
    return figures


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m conformance.schemathesis_run", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--max-examples", type=int, default=300, help="test cases per operation (default 300)")
    p.add_argument("--url", help="a running server (default: start a fresh reference server)")
    p.add_argument("--bureau-secret", default=BOOTSTRAP_SECRET, help="city-admin's secret on --url")
    p.add_argument("--report-dir", type=Path, help="keep the reports and logs here (default: a temporary dir)")
    p.add_argument("--seed", type=int)
    p.add_argument("extra", nargs="*", help="more schemathesis options, after --")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="scenemon-st-") as tmp:
        workdir = args.report_dir or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        figures = run_against_reference(workdir, args.max_examples, args.extra, url=args.url,
                                        secret=args.bureau_secret, seed=args.seed)
        print(figures.summary())
        print(f"logs and reports: {workdir}" if args.report_dir else "")
    return 0 if figures.exit_code == 0 and not figures.failures and not figures.errors else 1


def run_against_reference(workdir: Path, max_examples: int, extra: list[str], *, url: str | None = None,
                          secret: str = BOOTSTRAP_SECRET, seed: int | None = None) -> Figures:
    accounts = workdir / "accounts.json"
    if url:
        start_world(url, secret, accounts)
        return run_all(base_url=url, accounts_path=accounts, workdir=workdir, max_examples=max_examples,
                       extra=extra, seed=seed)
    from reference.server import ServerProcess

    with tempfile.TemporaryDirectory(prefix="scenemon-st-db-") as db_dir, \
            ServerProcess({"SCENEMON_DB_PATH": str(Path(db_dir) / "st.db"), "SCENEMON_BOOTSTRAP_SECRET": secret,
                           "SCENEMON_CLOCK": "manual", "SCENEMON_CLOCK_START": "2026-03-02T08:00:00",
                           "SCENEMON_FACE_ENGINE": "embedding-only"}, log_path=workdir / "server.log") as server:
        start_world(server.base_url, secret, accounts)
        return run_all(base_url=server.base_url, accounts_path=accounts, workdir=workdir,
                       max_examples=max_examples, extra=extra, seed=seed)


if __name__ == "__main__":
    sys.exit(main())
