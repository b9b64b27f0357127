"""Builds the OpenAPI document from the transaction registry (the single source of truth).

The document is meant for tools that know nothing about scenemon (Schemathesis, Prism, client
generators), so everything the server enforces that JSON Schema can say is in it:

- each transaction is `POST /tx/{infno}` with its own request envelope schema
  (`RequestEnvelope_{infno}`) in which `infno` is fixed (`const`/`enum`), and `POST /tx` — the
  national platform's single endpoint, where the body's `infno` decides — takes `oneOf` those
  schemas with a discriminator on `infno`;
- a success is HTTP 200 with `infcode` 0 and an output; every refusal is the error envelope of
  its HTTP status, whose `infcode` is one of the codes of the error-code table with that status;
- `servers` names the local reference server; the four signature headers are security schemes
  whose descriptions give the algorithm (reference/signing.py), and the four x-tif headers of the
  compatibility mode an alternative requirement;
- field bounds, patterns and "exactly one of" rules come from the models (reference/fields.py,
  the models' `json_schema_extra`); every string of a request carries the gateway's rule against
  control characters as a pattern (reference/api/gateway.py refuses them anywhere in a body).

`scenemon spec export` writes the result to `interface_spec/openapi.json`; a test fails when the
two drift apart.
"""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

import yaml
from pydantic.json_schema import GenerateJsonSchema, models_json_schema

from reference import errors, signing
from reference.envelope import RequestEnvelope, ResponseEnvelope
from reference.fields import ANY_TEXT_PATTERN, SINGLE_LINE_PATTERN
from reference.paths import INTERFACE_SPEC
from reference.transactions import Transaction

API_VERSION = "0.1.0"
GLOSSARY_FILE = INTERFACE_SPEC / "field_glossary.yaml"
DEFAULT_SERVER = "http://127.0.0.1:8700"
# Either scenemon's HMAC over the body or, for a sender a city bureau switched to it (8016), the
# national gateway's x-tif headers (reference/signing.py; the body is then not signed).
SECURITY = [{"sender": [], "timestamp": [], "nonce": [], "signature": []},
            {"tif_paasid": [], "tif_timestamp": [], "tif_nonce": [], "tif_signature": []}]
# Per transaction: Tx{infno}Request; per output model: SuccessEnvelope_{Output}. The generic
# envelopes (RequestEnvelope_Generic, ResponseEnvelope_Generic) describe the fields every
# transaction shares (the spec site's envelope page is built from them).
REQUEST_NAME = "Tx{infno}Request"
GENERIC_REQUEST = "RequestEnvelope_Generic"
GENERIC_RESPONSE = "ResponseEnvelope_Generic"
ERROR_PREFIX = "ErrorEnvelope_"
SIGNING_ALGORITHM = (
    "Every request is signed with the sender's secret (issued once, when its account is created): "
    f"`{signing.HEADER_SIGNATURE}` = lowercase hex HMAC-SHA256(secret, timestamp + \"\\n\" + nonce + \"\\n\" + "
    "body), where `body` is the exact bytes sent, `timestamp` the value of "
    f"`{signing.HEADER_TIMESTAMP}` (Unix time in whole seconds, wall clock; at most the server's "
    "signature_max_skew_s, 300 s by default, from the server's clock) and `nonce` the value of "
    f"`{signing.HEADER_NONCE}` (16-64 characters [A-Za-z0-9_-], never reused by the same sender). "
    f"`{signing.HEADER_SENDER}` names the sender (institution code, terminal id or bureau user id). "
    "A missing header or unknown sender is 2001, a wrong signature 2002, a stale timestamp 2003, a "
    "reused nonce 2004 (HTTP 401). A retry re-signs the same body with a new timestamp and nonce. "
    f"With the optional header `{signing.HEADER_ALG}: {signing.ALG_SM3}` the HMAC is HMAC-SM3 (SM3 of "
    "GB/T 32905, RFC 2104 with a 64-byte block) instead; the envelope's signtype must then be SM3 or absent."
)
TIF_ALGORITHM = (
    "Compatibility mode, off by default: only a sender (institution or terminal) that the city bureau has "
    f"switched with 8016 may sign with the national gateway's headers instead: `{signing.TIF_SIGNATURE}` = "
    "hex SHA-256(timestamp + token + nonce + timestamp), the token being the sender's secret, "
    f"`{signing.TIF_PAASID}` the sender id, `{signing.TIF_TIMESTAMP}` Unix time in whole seconds, "
    f"`{signing.TIF_NONCE}` 8-64 characters [A-Za-z0-9_-]. The body is NOT signed: every answer says so in "
    "warn_msg. A sender not switched is refused with 2001 naming x-tif-paasid."
)


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


class _Schema(GenerateJsonSchema):
    """pydantic's generator, but an answer's fields are all required: `model_dump` writes every
    field of an output model, defaults and nulls included, so a client may rely on each key."""

    def field_is_required(self, field: Any, total: bool) -> bool:
        return True if self.mode == "serialization" else super().field_is_required(field, total)


def _gateway_rules(schema: Any) -> None:
    """Write the gateway's rules for every request body into the request schemas (in place):
    no control characters but tab and line breaks in a string, none at all in a field name
    (reference/api/gateway.py), and text is stripped of surrounding whitespace before its length
    is checked (`str_strip_whitespace`), so a required text is not only whitespace."""
    if isinstance(schema, dict):
        if schema.get("type") == "string" and not {"format", "const", "enum"} & schema.keys():
            pattern = schema.setdefault("pattern", ANY_TEXT_PATTERN)
            least = schema.get("minLength", 0)
            if least >= 1 and pattern in (ANY_TEXT_PATTERN, SINGLE_LINE_PATTERN):
                schema.setdefault("not", {"pattern": r"^\s*$"})
            if least >= 2 and pattern in (ANY_TEXT_PATTERN, SINGLE_LINE_PATTERN):  # the length after stripping
                schema.setdefault("allOf", []).append({"pattern": rf"^\s*\S[\s\S]{{{least - 2},}}\S\s*$"})
            most = schema.get("maxLength")
            if most and pattern in (ANY_TEXT_PATTERN, SINGLE_LINE_PATTERN):  # maxLength 0: "" only
                # the server counts the length after stripping, so surrounding whitespace is not
                # bounded by maxLength (the body limit bounds it): say so with a pattern instead
                del schema["maxLength"]
                schema["x-max-length-stripped"] = most
                inner = rf"\S(?:[\s\S]{{0,{most - 2}}}\S)?" if most >= 2 else r"\S?"
                schema.setdefault("allOf", []).append({"pattern": rf"^\s*(?:{inner})?\s*$"})
        if schema.get("type") == "object" and schema.get("additionalProperties") is not False:
            schema.setdefault("propertyNames", {}).setdefault("pattern", SINGLE_LINE_PATTERN)
            if "patternProperties" in schema:  # dict[Key, V]: a key must match Key's pattern
                schema.setdefault("additionalProperties", False)
            elif schema.get("additionalProperties", True) is True:  # dict[str, Any]: any JSON, same rules
                schema["additionalProperties"] = {"$ref": f"#/components/schemas/{JSON_VALUE}"}
        for key, value in schema.items():
            if key != "properties" and isinstance(value, (dict, list)):
                _gateway_rules(value)
        for value in (schema.get("properties") or {}).values():
            _gateway_rules(value)
    elif isinstance(schema, list):
        for item in schema:
            _gateway_rules(item)


JSON_VALUE = "JsonValue"


def _json_value_schema() -> dict[str, Any]:
    """Any JSON value a request may carry where a model takes free-form data (a rule's params)."""
    ref = {"$ref": f"#/components/schemas/{JSON_VALUE}"}
    return {
        "description": "Any JSON value, under the gateway's rules: no control characters but tab and line "
                       "breaks in a string, none in a field name.",
        "x-server-checks": ["the whole body nests at most 16 levels deep"],
        "anyOf": [{"type": "string", "pattern": ANY_TEXT_PATTERN}, {"type": "number"}, {"type": "boolean"},
                  {"type": "null"}, {"type": "array", "items": ref},
                  {"type": "object", "propertyNames": {"pattern": SINGLE_LINE_PATTERN}, "additionalProperties": ref}],
    }


def _request_names(keymap: dict, transactions: dict[str, Transaction]) -> set[str]:
    names: set[str] = set()
    for tx in transactions.values():
        names.add(keymap[(RequestEnvelope[tx.input_model], "validation")]["$ref"].rsplit("/", 1)[1])  # type: ignore[name-defined]
    return names


def _input_models(schemas: dict[str, Any], roots: set[str]) -> set[str]:
    """Every schema reachable from the request envelopes (the request side of the interface)."""
    seen: set[str] = set()
    stack = list(roots)
    while stack:
        name = stack.pop()
        if name in seen or name not in schemas:
            continue
        seen.add(name)
        text = str(schemas[name])
        for part in text.split("'#/components/schemas/")[1:]:
            stack.append(part.split("'", 1)[0])
    return seen


def _per_operation_request(generic: dict[str, Any], infno: str) -> dict[str, Any]:
    schema = copy.deepcopy(generic)
    schema["title"] = f"RequestEnvelope {infno}"
    schema["properties"]["infno"] = {
        "type": "string", "const": infno, "enum": [infno],
        "description": f"Transaction number (交易编号): {infno} for this transaction",
    }
    return schema


def _generic(schema: dict[str, Any], part: str, side: str) -> dict[str, Any]:
    """The envelope with its `input` or `output` as any object: the fields every transaction shares."""
    schema = copy.deepcopy(schema)
    schema["title"] = f"The {side} envelope of every transaction"
    nullable = part == "output"
    obj = {"type": "object", "description": f"Transaction {part}; its shape is defined per transaction"
           + ("; null on error" if nullable else "")}
    schema["properties"][part] = {"anyOf": [obj, {"type": "null"}], "description": obj["description"]} \
        if nullable else obj
    return schema


def _success(schema: dict[str, Any]) -> dict[str, Any]:
    """A success envelope: infcode 0 and an output; err_msg and err_field null."""
    schema = copy.deepcopy(schema)
    props = schema["properties"]
    props["infcode"] = {"type": "integer", "const": 0, "description": "0: success"}
    for name in ("err_msg", "err_field"):
        props[name] = {"type": "null", "description": props[name].get("description", "") + " (null on success)"}
    alts = [a for a in props["output"].get("anyOf", []) if a.get("type") != "null"]
    if alts:
        desc = props["output"].get("description")
        props["output"] = {**alts[0], "description": desc}  # 3.1: a $ref may have a description beside it
    return schema


def _error_envelopes() -> dict[int, dict[str, Any]]:
    """One error envelope per HTTP status of the error-code table."""
    by_status: dict[int, list[errors.ErrorCode]] = {}
    for e in errors.error_table():
        by_status.setdefault(e.http_status, []).append(e)
    out = {}
    for status, codes in sorted(by_status.items()):
        names = ", ".join(f"{e.code} {e.name_en}" for e in codes)
        out[status] = {
            "title": f"ErrorEnvelope {status}",
            "description": f"A refusal answered with HTTP {status}: {names}.",
            "type": "object",
            "additionalProperties": False,
            "required": ["infcode", "inf_refmsgid", "msgid", "refmsg_time", "respond_time", "err_msg",
                         "err_field", "warn_msg", "output"],
            "properties": {
                "infcode": {"type": "integer", "enum": [e.code for e in codes],
                            "description": "The error code (see the error-code table)"},
                "inf_refmsgid": {"type": "string", "description": "The server's id for this response (接收方报文ID)"},
                "msgid": {"anyOf": [{"type": "string"}, {"type": "null"}],
                          "description": "The request's msgid, echoed; null when the body was not read"},
                "refmsg_time": {"type": "string", "description": "When the server received the request"},
                "respond_time": {"type": "string", "description": "When the server answered"},
                "err_msg": {"type": "string", "minLength": 1,
                            "description": "Error text; starts with the offending field"},
                "err_field": {"anyOf": [{"type": "string"}, {"type": "null"}],
                              "description": "The offending field's path, if any"},
                "warn_msg": {"anyOf": [{"type": "string"}, {"type": "null"}],
                             "description": "Warnings that did not stop the transaction"},
                "output": {"type": "null", "description": "Null on error"},
            },
        }
    return out


def _responses(success_ref: dict[str, Any], statuses: list[int]) -> dict[str, Any]:
    out: dict[str, Any] = {"200": {"description": "Success (infcode 0)",
                                   "content": {"application/json": {"schema": success_ref}}}}
    for status in statuses:
        out[str(status)] = {
            "description": "A coded refusal (see the error-code table)",
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ERROR_PREFIX}{status}"}}},
        }
    return out


def build_openapi(transactions: dict[str, Transaction]) -> dict[str, Any]:
    models = []
    for tx in transactions.values():
        models.append((RequestEnvelope[tx.input_model], "validation"))  # type: ignore[name-defined]
        models.append((ResponseEnvelope[tx.output_model], "serialization"))  # type: ignore[name-defined]
    keymap, schema = models_json_schema(models, ref_template="#/components/schemas/{model}",
                                        schema_generator=_Schema)
    schemas: dict[str, Any] = schema.get("$defs", {})
    generic_requests = _request_names(keymap, transactions)
    for name in _input_models(schemas, generic_requests):
        _gateway_rules(schemas[name])
    errors_by_status = _error_envelopes()
    paths: dict[str, Any] = {}
    mapping: dict[str, str] = {}
    success_refs: list[dict[str, Any]] = []
    generic_response: dict[str, Any] | None = None
    for tx in transactions.values():
        generic = keymap[(RequestEnvelope[tx.input_model], "validation")]["$ref"].rsplit("/", 1)[1]  # type: ignore[name-defined]
        req_name = REQUEST_NAME.format(infno=tx.infno)
        schemas[req_name] = _per_operation_request(schemas[generic], tx.infno)
        schemas.setdefault(GENERIC_REQUEST, _generic(schemas[generic], "input", "request"))
        mapping[tx.infno] = f"#/components/schemas/{req_name}"
        resp_name = keymap[(ResponseEnvelope[tx.output_model], "serialization")]["$ref"].rsplit("/", 1)[1]  # type: ignore[name-defined]
        success_name = "SuccessEnvelope_" + resp_name.removeprefix("ResponseEnvelope_").rstrip("_")
        if resp_name in schemas:
            generic_response = generic_response or _generic(schemas[resp_name], "output", "response")
            schemas[success_name] = _success(schemas.pop(resp_name))
        resp_ref = {"$ref": f"#/components/schemas/{success_name}"}
        if resp_ref not in success_refs:
            success_refs.append(resp_ref)
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
                "requestBody": {"required": True, "content": {"application/json": {
                    "schema": {"$ref": mapping[tx.infno]}}}},
                "responses": _responses(resp_ref, sorted(errors_by_status)),
                "security": SECURITY,
            }
        }
    for name in generic_requests:  # replaced by the per-transaction envelopes
        schemas.pop(name, None)
    if generic_response is not None:
        schemas[GENERIC_RESPONSE] = generic_response
    paths = {"/tx": {"post": {
        "operationId": "tx-single-endpoint",
        "tags": ["envelope"],
        "summary": "Any transaction at the national platform's single endpoint (the body's infno decides)",
        "description": (
            "The national platform's form: every transaction is POSTed to one URL and the envelope's "
            "`infno` says which it is. The body is exactly the envelope of `POST /tx/{infno}` for that "
            "number, and so is the answer. `POST /tx/{infno}` is the same with the number also in the "
            "URL (a body whose infno differs from the URL's is refused, 1001)."
        ),
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "oneOf": [{"$ref": ref} for ref in mapping.values()],
            "discriminator": {"propertyName": "infno", "mapping": mapping},
        }}}},
        "responses": _responses({"anyOf": success_refs}, sorted(errors_by_status)),
        "security": SECURITY,
    }}, **paths}
    schemas[JSON_VALUE] = _json_value_schema()
    for status, env in errors_by_status.items():
        schemas[f"{ERROR_PREFIX}{status}"] = env
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "scenemon institution interface (医保智能场景监控 机构接口)",
            "version": API_VERSION,
            "description": (
                "Every transaction is POSTed as a signed JSON envelope (UTF-8, at most the server's "
                "max_body_bytes, 8 MiB by default). " + SIGNING_ALGORITHM + " Times in the envelope "
                "(`inf_time`, `refmsg_time`, `respond_time`) are `yyyy-MM-dd HH:mm:ss` in China Standard "
                "Time (UTC+8); business dates and times inside inputs are ISO 8601 text (a time without a "
                "zone is CST). Integers are JSON integer literals (267, not 267.0). A check the server makes that "
                "JSON Schema cannot state (a GB 11643 check digit, an end not before its start, a rule that "
                "depends on the sender's role) is named in `x-server-checks` on the field or object it "
                "concerns. See the spec site for the envelope and the error-code table."
            ),
        },
        "servers": [{"url": DEFAULT_SERVER,
                     "description": "The reference server started by `scenemon serve` (127.0.0.1:8700 by default)"}],
        "paths": paths,
        "components": {
            "schemas": describe_fields(dict(sorted(schemas.items()))),
            "securitySchemes": {
                "sender": {"type": "apiKey", "in": "header", "name": signing.HEADER_SENDER,
                           "description": "The sender id. " + SIGNING_ALGORITHM},
                "timestamp": {"type": "apiKey", "in": "header", "name": signing.HEADER_TIMESTAMP,
                              "description": "Unix time in whole seconds when the request was signed (part of "
                                             f"the signature; see {signing.HEADER_SIGNATURE})"},
                "nonce": {"type": "apiKey", "in": "header", "name": signing.HEADER_NONCE,
                          "description": "16-64 characters [A-Za-z0-9_-], never reused by the same sender "
                                         f"(part of the signature; see {signing.HEADER_SIGNATURE})"},
                "signature": {"type": "apiKey", "in": "header", "name": signing.HEADER_SIGNATURE,
                              "description": SIGNING_ALGORITHM},
                "tif_paasid": {"type": "apiKey", "in": "header", "name": signing.TIF_PAASID,
                               "description": "The sender id. " + TIF_ALGORITHM},
                "tif_timestamp": {"type": "apiKey", "in": "header", "name": signing.TIF_TIMESTAMP,
                                  "description": "Unix time in whole seconds (part of the x-tif signature)"},
                "tif_nonce": {"type": "apiKey", "in": "header", "name": signing.TIF_NONCE,
                              "description": "8-64 characters [A-Za-z0-9_-], never reused by the same sender "
                                             "(part of the x-tif signature)"},
                "tif_signature": {"type": "apiKey", "in": "header", "name": signing.TIF_SIGNATURE,
                                  "description": TIF_ALGORITHM},
            },
        },
        "x-error-codes": [
            {"code": e.code, "name": e.name_en, "zh": e.name_zh, "http_status": e.http_status}
            for e in errors.error_table()
        ],
    }
