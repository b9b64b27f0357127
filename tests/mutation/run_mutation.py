"""Mutation testing of the rules (and the services) with mutmut, in a copy of the tree.

    .venv/bin/python tests/mutation/run_mutation.py rules      # reference/rules, ~the rule tests
    .venv/bin/python tests/mutation/run_mutation.py services   # reference/services, their tests
    options: --workdir DIR (default /tmp/scenemon-mutation-TARGET), --max-children N (default 2),
             --budget-minutes M (default 120: the run is stopped then and what ran is reported),
             --head (copy the last commit instead of the working tree), --source DIR (copy DIR),
             --only GLOB (run only these mutants, e.g. 'reference.rules.library*'),
             --deselect NODEID (leave out a test that fails on the copied tree; repeatable)

mutmut 3 runs each mutant only against the tests that reach the mutated function (it records
them in a first full run), stops a mutant's tests at the first failure, and keeps the mutated
code in its own `mutants/` folder. This script adds one more copy: the working tree (tracked
and untracked, not ignored files) goes to the work directory first, so several engineers can
keep editing the repository while a run takes an hour. It prints killed / survived / timeout
counts and writes the surviving mutants with their diffs to WORKDIR/survivors.txt.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

#: What each target mutates and which tests judge it (the selection keeps a run on 2 cores in
#: reasonable time: the tests of the code mutated, not the face-model or load-test suites).
TARGETS: dict[str, dict[str, list[str]]] = {
    "rules": {
        "only_mutate": ["reference/rules/*"],
        "tests": ["tests/reference/rules", "tests/reference/scenes/test_inpatient_flow.py",
                  "--deselect",
                  "tests/reference/rules/test_rule_coverage.py::"
                  "test_every_rule_file_has_a_firing_test_at_each_stage_and_a_quiet_test"],
    },
    "services": {
        "only_mutate": ["reference/services/*"],
        # not the fuzz and scope-matrix suites (minutes per surviving mutant); the scope findings
        # and security tests stand in for them
        "tests": ["tests/reference/rules", "tests/reference/scenes", "tests/reference/test_devices.py",
                  "tests/reference/test_monitoring.py", "tests/reference/api/test_scope_findings.py",
                  "tests/reference/api/test_security.py", "tests/reference/face/test_face_templates.py",
                  "--deselect",
                  "tests/reference/rules/test_rule_coverage.py::"
                  "test_every_rule_file_has_a_firing_test_at_each_stage_and_a_quiet_test"],
    },
    # issue 12: numbering, national-shape models, the deprecated numbers
    "numbering": {
        "only_mutate": ["reference/numbering.py", "reference/national.py", "reference/transactions.py"],
        "tests": ["tests/reference/test_numbering.py", "tests/reference/api/test_deprecated_numbers.py",
                  "tests/reference/api/test_envelope.py", "tests/reference/test_spec_site.py",
                  "tests/reference/test_spec_export.py"],
    },
    # issue 12: national-shape analysis, sign-in, signing modes, the national envelope
    "national": {
        "only_mutate": ["reference/services/analysis.py", "reference/services/sign_in.py",
                        "reference/signing.py", "reference/national.py", "reference/envelope.py"],
        "tests": ["tests/reference/rules/test_national_analysis.py", "tests/reference/scenes/test_sign_in.py",
                  "tests/reference/scenes/test_basic_info.py", "tests/reference/test_signing.py",
                  "tests/reference/api/test_signing_modes.py", "tests/reference/api/test_envelope_national.py",
                  "tests/reference/api/test_envelope.py", "tests/reference/test_national_models.py"],
    },
}


def _copy_tree(dest: Path, head: bool, source: Path | None = None) -> None:
    if dest.exists():
        shutil.rmtree(dest)
    if source is not None:  # a plain directory (e.g. an exported snapshot)
        shutil.copytree(source, dest, symlinks=True,
                        ignore=shutil.ignore_patterns(".venv", "mutants", "__pycache__", ".pytest_cache"))
        return
    dest.mkdir(parents=True)
    if head:
        archive = subprocess.run(["git", "archive", "HEAD"], cwd=ROOT, check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
        return
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, check=True,
                           capture_output=True).stdout.decode().split("\0")
    for rel in filter(None, files):
        src = ROOT / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)


def _configure(dest: Path, target: str, deselect: list[str]) -> None:
    t = TARGETS[target]
    tests = t["tests"] + [arg for nodeid in deselect for arg in ("--deselect", nodeid)]
    section = ["", "[tool.mutmut]", 'source_paths = ["reference"]',
               f"only_mutate = {json.dumps(t['only_mutate'])}",
               'also_copy = ["device_mocks", "interface_spec", "conformance", "scenemon", "loadtests", "docs",'
               ' "mkdocs.yml", "README.md"]',
               f"pytest_add_cli_args_test_selection = {json.dumps(tests)}",
               'pytest_add_cli_args = ["-p", "no:cacheprovider"]',
               # Fork each mutant from a server that has only collected the tests: forked from the
               # process that ran them all, a mutant would inherit their caches (the parsed release,
               # the knowledge base, the lead workflow) and never run the mutated code behind them.
               'process_isolation = "forkserver"',
               "timeout_multiplier = 5.0", "timeout_constant = 10.0", ""]
    with (dest / "pyproject.toml").open("a", encoding="utf-8") as f:
        f.write("\n".join(section))


def _mutmut(dest: Path, *args: str, timeout: float | None = None, log=None) -> int:
    exe = Path(sys.executable).with_name("mutmut")
    proc = subprocess.Popen([str(exe), *args], cwd=dest, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True, env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        return -1


def _results(dest: Path) -> dict[str, list[str]]:
    out = subprocess.run([str(Path(sys.executable).with_name("mutmut")), "results", "--all", "true"], cwd=dest,
                         capture_output=True, text=True).stdout
    by_status: dict[str, list[str]] = {}
    for line in out.splitlines():
        name, _, status = line.strip().rpartition(": ")
        if name:
            by_status.setdefault(status, []).append(name)
    return by_status


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("target", choices=sorted(TARGETS))
    ap.add_argument("--workdir", type=Path)
    ap.add_argument("--max-children", type=int, default=2)
    ap.add_argument("--budget-minutes", type=float, default=120)
    ap.add_argument("--head", action="store_true")
    ap.add_argument("--source", type=Path, help="copy this directory instead of the repository")
    ap.add_argument("--only", help="run only the mutants matching this glob (mutmut's MUTANT_NAMES)")
    ap.add_argument("--deselect", action="append", default=[], metavar="NODEID",
                    help="leave out a test that fails on the copied tree (repeatable)")
    a = ap.parse_args(argv)
    dest = a.workdir or Path(f"/tmp/scenemon-mutation-{a.target}")
    _copy_tree(dest, a.head, a.source)
    _configure(dest, a.target, a.deselect)
    started = time.monotonic()
    with (dest / "mutmut.log").open("w", encoding="utf-8") as log:
        code = _mutmut(dest, "run", "--max-children", str(a.max_children), *([a.only] if a.only else []),
                       timeout=a.budget_minutes * 60, log=log)
    minutes = (time.monotonic() - started) / 60
    by_status = _results(dest)
    counts = {k: len(v) for k, v in sorted(by_status.items())}
    summary = {"target": a.target, "minutes": round(minutes, 1), "finished": code == 0, "counts": counts}
    (dest / "summary.json").write_text(json.dumps(summary, indent=1), encoding="utf-8")
    with (dest / "survivors.txt").open("w", encoding="utf-8") as f:
        for name in by_status.get("survived", []):
            diff = subprocess.run([str(Path(sys.executable).with_name("mutmut")), "show", name], cwd=dest,
                                  capture_output=True, text=True).stdout
            f.write(f"=== {name}\n{diff}\n")
    print(json.dumps(summary))
    print(f"survivors with diffs: {dest / 'survivors.txt'}; mutmut log: {dest / 'mutmut.log'}")
    return 0 if code == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
