"""The kit's schema level against a schema-only mock (issue 17): `prism mock` on our OpenAPI
document passes every schema-level test and fails the behaviour tests — so the schema level judges
only what the document says, and the behaviour level needs a real implementation.

Prism (`@stoplight/prism-cli`) is a Node tool, not a Python dependency. Install it outside the
repository, e.g. `npm i --prefix /work/tools/prism @stoplight/prism-cli`, and point SCENEMON_PRISM
at its binary (default: that path, then `prism` on PATH); without it the test is skipped.
Slow: run with `-m slow`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from conformance.runner import main
from reference.paths import INTERFACE_SPEC
from reference.server import free_port

DEFAULT_PRISM = Path("/work/tools/prism/node_modules/.bin/prism")


def prism_binary() -> str | None:
    given = os.environ.get("SCENEMON_PRISM")
    if given:
        return given if Path(given).exists() else None
    if DEFAULT_PRISM.exists():
        return str(DEFAULT_PRISM)
    return shutil.which("prism")


@pytest.fixture
def prism(tmp_path):
    binary = prism_binary()
    if binary is None or shutil.which("node") is None:
        pytest.skip("Prism is not installed: npm i --prefix /work/tools/prism @stoplight/prism-cli "
                    "(or set SCENEMON_PRISM to its binary); node is needed too")
    # A copy: Prism reloads a document that changes under it (a concurrent `spec export`).
    spec = tmp_path / "openapi.json"
    shutil.copy(INTERFACE_SPEC / "openapi.json", spec)
    port = free_port()
    with open(tmp_path / "prism.log", "w", encoding="utf-8") as log:
        proc = subprocess.Popen([binary, "mock", "-h", "127.0.0.1", "-p", str(port), str(spec)],
                                stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"Prism exited: {(tmp_path / 'prism.log').read_text()[-1000:]}")
            try:
                httpx.post(f"{url}/tx/8000", content=b"{}", timeout=2)
                break
            except httpx.HTTPError:
                time.sleep(0.5)
        else:
            pytest.fail("Prism did not start within 60 s")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def run_level(url: str, level: str, out: Path) -> tuple[int, dict]:
    code = main(["--base-url", url, "--bureau-sender", "city-admin", "--bureau-secret", "any", "--level", level,
                 "--junit", str(out / f"{level}.xml"), "--json", str(out / f"{level}.json")])
    return code, json.loads((out / f"{level}.json").read_text(encoding="utf-8"))


@pytest.mark.slow
@pytest.mark.req("GEN-2")
def test_a_schema_only_mock_passes_the_schema_level_and_fails_the_behaviour_level(prism, tmp_path):
    code, report = run_level(prism, "schema", tmp_path)
    schema = report["levels"]["schema"]
    assert code == 0 and schema["tests"] >= 50 and schema["passed"] == schema["tests"], \
        [t for t in report["tests"] if t["outcome"] != "passed"][:3]
    operations = {t["nodeid"].split("[")[-1].rstrip("]") for t in report["tests"]}
    doc = json.loads((INTERFACE_SPEC / "openapi.json").read_text(encoding="utf-8"))
    assert operations == {p.rsplit("/", 1)[1] for p in doc["paths"] if p.startswith("/tx/")}

    code, report = run_level(prism, "behaviour", tmp_path)
    behaviour = report["levels"]["behaviour"]
    assert code == 1 and behaviour["tests"] >= 30 and behaviour["passed"] == 0, \
        [t["nodeid"] for t in report["tests"] if t["outcome"] == "passed"]
