"""The README's main command, `scenemon demo`: builds the face models when missing, starts a
server on SQLite and walks through the registry, devices, face, a pharmacy rule and an inpatient
day, printing each step; exit code 0. Run with its defaults from a directory outside the
repository: everything it writes goes to the per-user data directory."""

from __future__ import annotations

import os
import subprocess
import sys


def test_demo_runs_end_to_end_from_any_directory(tmp_path):
    home, cwd = tmp_path / "home", tmp_path / "cwd"
    cwd.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCENEMON_")}
    env.update(HOME=str(home), XDG_DATA_HOME=str(home / "data"))  # never the real home
    data = home / "data" / "scenemon"
    proc = subprocess.run(
        [sys.executable, "-c", "from scenemon.cli import main; raise SystemExit(main())", "demo"],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    out = proc.stdout
    assert proc.returncode == 0, out + proc.stderr
    assert "face engine: dlib" in out  # the CC0 models were converted on first run
    assert (data / "models" / "dlib" / "manifest.json").exists()
    assert list(cwd.iterdir()) == []
    assert "The same patient verifies: passed=True" in out
    assert "Someone else claims to be" in out and "passed=False" in out
    assert "in-event review: refused (PH-FACE-OVER-AMOUNT" in out
    assert "the same purchase again: accepted" in out
    assert "finding INP-DAILY-FACE-CHECK → lead" in out
    assert "Demo finished" in out
    assert not (data / "demo").exists()  # removed unless --keep
