"""The README's main command, `scenemon demo`: builds the face models when missing, starts a
server on SQLite and walks through the registry, devices, face, a pharmacy rule and an inpatient
day, printing each step; exit code 0."""

from __future__ import annotations

import subprocess
import sys

from reference.paths import REPO_ROOT


def test_demo_runs_end_to_end(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-c", "from scenemon.cli import main; raise SystemExit(main())", "demo",
         "--workdir", str(tmp_path / "demo"), "--model-dir", str(tmp_path / "models")],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    out = proc.stdout
    assert proc.returncode == 0, out + proc.stderr
    assert "face engine: dlib" in out  # the CC0 models were converted on first run
    assert (tmp_path / "models" / "dlib" / "manifest.json").exists()
    assert "The same patient verifies: passed=True" in out
    assert "Someone else claims to be" in out and "passed=False" in out
    assert "in-event review: refused (PH-FACE-OVER-AMOUNT" in out
    assert "the same purchase again: accepted" in out
    assert "finding INP-DAILY-FACE-CHECK → lead" in out
    assert "Demo finished" in out
    assert not (tmp_path / "demo").exists()  # removed unless --keep
