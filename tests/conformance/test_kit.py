"""The conformance kit is itself tested: it passes against the reference server and fails
against a server that ignores signatures (see conventions: "Inferno test kits")."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import httpx
import pytest

from conformance.kit.support import ERROR_HTTP
from conformance.runner import LOCAL_SECRET, main
from reference.errors import error_table
from reference.server import ServerProcess, free_port

BROKEN_SERVER = Path(__file__).with_name("broken_server.py")


def kit_env(db_path: Path) -> dict[str, str]:
    return {"SCENEMON_DB_PATH": str(db_path), "SCENEMON_BOOTSTRAP_SECRET": LOCAL_SECRET,
            "SCENEMON_CLOCK": "manual", "SCENEMON_FACE_ENGINE": "embedding-only"}


def run_kit(base_url: str, out: Path) -> tuple[int, dict, ET.Element]:
    code = main(["--preset", "local", "--base-url", base_url, "--bureau-secret", LOCAL_SECRET,
                 "--junit", str(out / "kit.xml"), "--json", str(out / "kit.json")])
    assert (out / "kit.xml").is_file() and (out / "kit.json").is_file()
    return code, json.loads((out / "kit.json").read_text(encoding="utf-8")), ET.parse(out / "kit.xml").getroot()


@pytest.mark.req("GEN-1")
def test_kit_passes_against_the_reference_server(tmp_path):
    with ServerProcess(kit_env(tmp_path / "c.db"), log_path=tmp_path / "server.log") as srv:
        code, report, junit = run_kit(srv.base_url, tmp_path)
    failed = [t for t in report["tests"] if t["outcome"] != "passed"]
    assert code == 0, f"the kit failed against the reference server: {failed}"
    assert report["totals"]["tests"] >= 30 and report["totals"]["passed"] == report["totals"]["tests"]
    tests = {t["nodeid"]: t for t in report["tests"]}
    assert all(t["requirements"] and t["title"] for t in tests.values())
    wrong_sig = tests["test_security_wrong_signature.py::test_signature_with_wrong_secret_is_refused_with_2002"]
    assert wrong_sig["requirements"] == ["GEN-1", "GEN-5"]
    for req in ("GEN-1", "GEN-3", "GEN-5", "GEN-6", "DEV-3"):
        assert report["requirements"][req]["status"] == "pass"
    cases = junit.findall(".//testcase")
    assert len(cases) == len(tests)
    props = {(c.get("classname"), c.get("name")): {p.get("name"): p.get("value") for p in c.iter("property")}
             for c in cases}
    assert props[("test_security_wrong_signature", "test_signature_with_wrong_secret_is_refused_with_2002")][
        "requirements"] == "GEN-1 GEN-5"


def start_broken_server(tmp_path: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    log = open(tmp_path / "broken.log", "wb")  # noqa: SIM115 - closed with the process below
    proc = subprocess.Popen([sys.executable, str(BROKEN_SERVER), str(port)],
                            env={**os.environ, **kit_env(tmp_path / "broken.db")},
                            stdout=log, stderr=subprocess.STDOUT)
    proc.log = log  # type: ignore[attr-defined]
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, (tmp_path / "broken.log").read_text(errors="replace")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return proc, url
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise AssertionError("the broken server did not start")


@pytest.mark.req("GEN-1")
def test_kit_fails_against_a_server_that_ignores_signatures(tmp_path):
    proc, url = start_broken_server(tmp_path)
    try:
        code, report, junit = run_kit(url, tmp_path)
    finally:
        proc.terminate()
        proc.wait(15)
        proc.log.close()  # type: ignore[attr-defined]
    assert code != 0
    outcomes = {t["nodeid"]: t["outcome"] for t in report["tests"]}
    failed = {n for n, o in outcomes.items() if o != "passed"}
    assert failed == {
        "test_security_wrong_signature.py::test_signature_with_wrong_secret_is_refused_with_2002",
        "test_security_wrong_signature.py::test_body_changed_after_signing_is_refused_with_2002",
        "test_security_hmac_sm3.py::test_hmac_sm3_signature_is_accepted_and_a_wrong_one_refused_with_2002",
    }
    assert report["requirements"]["GEN-1"]["status"] == "fail"
    assert report["requirements"]["GEN-3"]["status"] == "pass"
    failures = [c.get("name") for c in junit.findall(".//testcase") if c.find("failure") is not None]
    assert sorted(failures) == ["test_body_changed_after_signing_is_refused_with_2002",
                                "test_hmac_sm3_signature_is_accepted_and_a_wrong_one_refused_with_2002",
                                "test_signature_with_wrong_secret_is_refused_with_2002"]


@pytest.mark.req("GEN-2")
def test_kit_error_table_matches_the_reference():
    """The kit carries its own copy of the published error-code table; it must not drift."""
    assert {e.code: e.http_status for e in error_table()} == ERROR_HTTP
