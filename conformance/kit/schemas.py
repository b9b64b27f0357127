"""The schema level of the kit: requests built from the published OpenAPI document alone, and the
check that an answer is what the document says (issue 17: schema level versus behaviour level).

A schema-level test knows nothing of the interface's meaning: it builds a schema-valid request
for one operation (`example_request`), sends it signed, and checks that the answer has a status
the operation documents, that its body validates against that status's response schema, and that
the request was not refused as malformed (1001/1002/1003) — unless the refusal names a field or
object whose schema lists, in `x-server-checks`, a rule JSON Schema cannot state. A schema-only
mock (Prism on our document) therefore passes the schema level; only a real implementation
passes the behaviour tests.
"""

from __future__ import annotations

import copy
import json
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
from referencing import Registry, Resource

from reference.idcard import make_certno
from reference.paths import INTERFACE_SPEC

OPENAPI = INTERFACE_SPEC / "openapi.json"
FORM_CODES = frozenset({1001, 1002, 1003})
# Texts tried, in order, for a string with a pattern: one of them fits every pattern the document
# uses (codes, dates, times, versions, rule ids, certificate classes); the validator decides.
CANDIDATES = (
    "A1", "410100", make_certno("410102", date(1980, 5, 17), 11), "2026-03-02", "2026-03-02 08:00:00",
    "2026-03-02T08:00:00+08:00", "2026-03", "GEN-KIT-1", "III", "1", "CK-1", "app/json", "image/png",
    "application/pdf", "kit.model:1", "AAAA", "abcdefghijklmnopqrstuvwx", "kit",
)


class NoExample(ValueError):
    """The kit could not build a schema-valid request for an operation (a kit error, not a finding)."""


@cache
def load(path: str = str(OPENAPI)) -> dict[str, Any]:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def _registry(doc: dict[str, Any]) -> Registry:
    return Registry().with_resource("urn:scenemon:openapi", Resource.from_contents(
        {**doc, "$schema": "https://json-schema.org/draft/2020-12/schema"}))


def validator(doc: dict[str, Any], schema: dict[str, Any]) -> jsonschema.Draft202012Validator:
    """A validator for `schema` inside `doc` (its `#/components/...` references resolve)."""
    rebased = json.loads(json.dumps(schema).replace('"#/components/', '"urn:scenemon:openapi#/components/'))
    return jsonschema.Draft202012Validator(rebased, registry=_registry(doc))


def _resolve(doc: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = doc["components"]["schemas"][node["$ref"].rsplit("/", 1)[-1]]
    return node


def example(doc: dict[str, Any], schema: dict[str, Any]) -> Any:
    """A small value valid against `schema` (None when none of the tries fit)."""
    s = _resolve(doc, schema)
    check = validator(doc, s)
    for value in _tries(doc, s):
        if check.is_valid(value):
            return value
    return None


def _tries(doc: dict[str, Any], s: dict[str, Any]):
    if "const" in s:
        yield s["const"]
        return
    if "enum" in s:
        yield from s["enum"]
        return
    for key in ("oneOf", "anyOf"):
        for alt in sorted(s.get(key, []), key=lambda a: a.get("type") == "null"):
            yield example(doc, alt)
    kind = s.get("type")
    if kind == "object" or "properties" in s:
        yield from _objects(doc, s)
    elif kind == "string":
        lo = s.get("minLength", 0)
        yield from CANDIDATES
        yield "A" * max(lo, 1)
    elif kind == "integer":
        yield max(int(s.get("minimum", 1)), 1) if s.get("maximum", 1) >= 1 else int(s.get("minimum", 0))
    elif kind == "number":
        yield max(float(s.get("minimum", 0.5)), min(0.5, float(s.get("maximum", 0.5))))
        yield float(s.get("maximum", 1))
    elif kind == "boolean":
        yield True
        yield False
    elif kind == "array":
        item = example(doc, s.get("items", {}))
        yield [item] * max(s.get("minItems", 0), 1) if item is not None else []
        yield []
    elif kind == "null":
        yield None


def _objects(doc: dict[str, Any], s: dict[str, Any]):
    props = s.get("properties", {})
    base = {name: example(doc, props[name]) for name in s.get("required", []) if name in props}
    yield base
    # "exactly one of" / conditional fields: add each optional field in turn, then all of them
    optional = [n for n in props if n not in base]
    for name in optional:
        value = example(doc, props[name])
        if value is not None:
            yield {**base, name: value}
    for name in optional:  # a field the rules need given, with the others: try pairs
        for other in optional:
            if other != name:
                yield {**base, name: example(doc, props[name]), other: example(doc, props[other])}


def operations(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """infno → its POST operation (every `/tx/{infno}` path)."""
    return {path.rsplit("/", 1)[-1]: item["post"] for path, item in doc["paths"].items()
            if path.startswith("/tx/") and "post" in item}


def request_schema(doc: dict[str, Any], op: dict[str, Any]) -> dict[str, Any]:
    return _resolve(doc, op["requestBody"]["content"]["application/json"]["schema"])


def example_request(doc: dict[str, Any], op: dict[str, Any], envelope: dict[str, Any]) -> dict[str, Any]:
    """A schema-valid request for `op`: the sender's envelope fields with an `input` built from the
    operation's input schema (raises NoExample when the kit cannot build one)."""
    schema = request_schema(doc, op)
    body = copy.deepcopy(envelope)
    body["infno"] = op["x-infno"]
    body["input"] = example(doc, schema["properties"]["input"])
    errors = sorted(validator(doc, schema).iter_errors(body), key=lambda e: list(e.path))
    if body["input"] is None or errors:
        why = errors[0].message[:200] if errors else "no input value fits the schema"
        raise NoExample(f"{op['x-infno']}: the kit could not build a schema-valid request ({why})")
    return body


def documented_server_check(doc: dict[str, Any], schema: dict[str, Any], err_field: str | None) -> bool:
    """Whether a field or object on the path of `err_field` lists an `x-server-checks` rule."""
    if not err_field:
        return False
    nodes = _alternatives(doc, schema)
    for part in err_field.split("."):
        if any("x-server-checks" in n for n in nodes):
            return True
        nxt: list[dict[str, Any]] = []
        for n in nodes:
            if part.isdigit() and "items" in n:
                nxt.extend(_alternatives(doc, n["items"]))
            elif part in (n.get("properties") or {}):
                nxt.extend(_alternatives(doc, n["properties"][part]))
        nodes = nxt
    return any("x-server-checks" in n for n in nodes)


def _alternatives(doc: dict[str, Any], node: dict[str, Any]) -> list[dict[str, Any]]:
    node = _resolve(doc, node)
    out = [node]
    for key in ("anyOf", "oneOf", "allOf"):
        for alt in node.get(key, []):
            out.extend(_alternatives(doc, alt))
    return out


def answer_problems(doc: dict[str, Any], op: dict[str, Any], status: int, body: Any) -> list[str]:
    """What is wrong with an answer by the document: an undocumented status, a body that does not
    validate against the status's response schema, or a malformed-request refusal."""
    responses = op["responses"]
    spec = responses.get(str(status)) or responses.get("default")
    if spec is None:
        return [f"HTTP {status} is not a status the operation documents ({', '.join(responses)})"]
    schema = spec["content"]["application/json"]["schema"]
    errors = sorted(validator(doc, schema).iter_errors(body), key=lambda e: list(e.path))
    problems = [f"{'/'.join(str(p) for p in e.path) or 'body'}: {e.message[:200]}" for e in errors[:3]]
    if isinstance(body, dict) and body.get("infcode") in FORM_CODES and not documented_server_check(
            doc, request_schema(doc, op), body.get("err_field")):
        problems.append(f"a schema-valid request was refused as malformed: {body.get('infcode')} "
                        f"{body.get('err_msg')}")
    return problems
