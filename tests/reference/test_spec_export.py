"""The checked-in interface_spec/ files are exactly what the code generates."""

from __future__ import annotations

import json

from reference import spec_export
from reference.paths import INTERFACE_SPEC
from reference.transactions import load_all


def test_checked_in_spec_matches_the_code():
    stale = spec_export.check()
    assert stale == [], f"run `scenemon spec export` and commit: {stale}"


def test_drift_is_detected(tmp_path):
    for name in spec_export.generated_files():
        (tmp_path / name).write_text((INTERFACE_SPEC / name).read_text(encoding="utf-8"), encoding="utf-8")
    assert spec_export.check(tmp_path) == []
    doc = json.loads((tmp_path / "openapi.json").read_text(encoding="utf-8"))
    doc["paths"].pop("/tx/8000")
    (tmp_path / "openapi.json").write_text(json.dumps(doc), encoding="utf-8")
    assert spec_export.check(tmp_path) == ["openapi.json"]


def test_openapi_lists_every_transaction_with_typed_models():
    doc = json.loads((INTERFACE_SPEC / "openapi.json").read_text(encoding="utf-8"))
    txs = load_all()
    assert set(doc["paths"]) == {"/tx"} | {f"/tx/{n}" for n in txs}
    op_ids = [p["post"]["operationId"] for p in doc["paths"].values()]
    assert len(op_ids) == len(set(op_ids))
    schema = doc["paths"]["/tx/8001"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    envelope = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    person = envelope["properties"]["input"]["$ref"].rsplit("/", 1)[1]
    assert "certno" in doc["components"]["schemas"][person]["properties"]


def test_openapi_document_is_valid(app):
    from openapi_spec_validator import validate

    validate(app.openapi())
