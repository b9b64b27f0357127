"""Builds the OpenAPI document from the transaction registry (the single source of truth).

Each transaction appears as `POST /tx/{infno}` with its own request and response envelope
schemas, its roles, and the requirement IDs it implements. `scenemon spec export` writes the
result to `interface_spec/openapi.json`; a test fails when the two drift apart.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import yaml
from pydantic.json_schema import models_json_schema

from reference import errors, signing
from reference.envelope import RequestEnvelope, ResponseEnvelope
from reference.paths import INTERFACE_SPEC
from reference.transactions import Transaction

API_VERSION = "0.1.0"
GLOSSARY_FILE = INTERFACE_SPEC / "field_glossary.yaml"


@cache
def _glossary() -> tuple[dict[str, str], dict[str, str]]:
    raw = yaml.safe_load(GLOSSARY_FILE.read_text(encoding="utf-8"))
    return dict(raw.get("fields") or {}), dict(raw.get("by_model") or {})


def describe_fields(schemas: dict[str, Any]) -> dict[str, Any]:
    """Give every property a description: its model's own; else the glossary's for this model's
    field, then for the field name (interface_spec/field_glossary.yaml); else the description the
    same field name has in another model (field names are standard across the interface)."""
    fields, by_model = _glossary()
    borrowed: dict[str, str] = {}
    for schema in schemas.values():
        for name, prop in (schema.get("properties") or {}).items():
            if prop.get("description") and name not in ("input", "output"):
                borrowed.setdefault(name, prop["description"])
    for model, schema in schemas.items():
        for name, prop in (schema.get("properties") or {}).items():
            if prop.get("description"):
                continue
            text = by_model.get(f"{model}.{name}") or fields.get(name) or borrowed.get(name)
            if text:
                prop["description"] = text
    return schemas


def build_openapi(transactions: dict[str, Transaction]) -> dict[str, Any]:
    models = []
    for tx in transactions.values():
        models.append((RequestEnvelope[tx.input_model], "validation"))  # type: ignore[name-defined]
        models.append((ResponseEnvelope[tx.output_model], "serialization"))  # type: ignore[name-defined]
    keymap, schema = models_json_schema(models, ref_template="#/components/schemas/{model}")
    paths: dict[str, Any] = {}
    for tx in transactions.values():
        req_ref = keymap[(RequestEnvelope[tx.input_model], "validation")]  # type: ignore[name-defined]
        resp_ref = keymap[(ResponseEnvelope[tx.output_model], "serialization")]  # type: ignore[name-defined]
        roles = ", ".join(sorted(tx.roles))
        reqs = ", ".join(tx.requirements) or "—"
        paths[f"/tx/{tx.infno}"] = {
            "post": {
                "operationId": tx.operation_id,
                "tags": [tx.tag],
                "summary": f"{tx.infno} {tx.title_en} ({tx.title_zh})",
                "description": f"{tx.description}\n\nRoles: {roles}.\n\nRequirements: {reqs}.",
                "x-infno": tx.infno,
                "x-roles": sorted(tx.roles),
                "x-requirements": list(tx.requirements),
                "requestBody": {"required": True, "content": {"application/json": {"schema": req_ref}}},
                "responses": {
                    "200": {
                        "description": "Success (infcode 0)",
                        "content": {"application/json": {"schema": resp_ref}},
                    },
                    "default": {
                        "description": "A coded error (infcode ≠ 0); see the error-code table",
                        "content": {"application/json": {"schema": resp_ref}},
                    },
                },
                "security": [{"sender": [], "timestamp": [], "nonce": [], "signature": []}],
            }
        }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "scenemon institution interface (医保智能场景监控 机构接口)",
            "version": API_VERSION,
            "description": (
                "Every transaction is POSTed as a signed JSON envelope. See the spec site for "
                "the envelope, the signing algorithm and the error-code table."
            ),
        },
        "paths": paths,
        "components": {
            "schemas": describe_fields(schema.get("$defs", {})),
            "securitySchemes": {
                "sender": {"type": "apiKey", "in": "header", "name": signing.HEADER_SENDER},
                "timestamp": {"type": "apiKey", "in": "header", "name": signing.HEADER_TIMESTAMP},
                "nonce": {"type": "apiKey", "in": "header", "name": signing.HEADER_NONCE},
                "signature": {"type": "apiKey", "in": "header", "name": signing.HEADER_SIGNATURE},
            },
        },
        "x-error-codes": [
            {"code": e.code, "name": e.name_en, "zh": e.name_zh, "http_status": e.http_status}
            for e in errors.error_table()
        ],
    }
