"""The OpenAPI document says what the server enforces, in terms any tool reads (issue 12 item 6):
a fixed infno per operation, the single national endpoint, the servers, the signing algorithm,
"exactly one of" and conditional fields, and the gateway's rules for every string."""

from __future__ import annotations

import json
import re

import jsonschema
import pytest

from reference.api.openapi import build_openapi
from reference.fields import SINGLE_LINE_PATTERN
from reference.transactions import load_all


@pytest.fixture(scope="module")
def doc() -> dict:
    return build_openapi(load_all())


def _validator(doc: dict, name: str) -> jsonschema.Draft202012Validator:
    """A validator for one component schema, resolving the document's $refs."""
    schema = {**doc["components"]["schemas"][name], "components": doc["components"]}
    return jsonschema.Draft202012Validator(schema)


def _envelope(infno: str, inp: dict, **over) -> dict:
    env = {"infno": infno, "msgid": "M1", "opter": "op", "opter_name": "操作员", "inf_time": "2026-03-02 08:00:00",
           "input": inp}
    env.update(over)
    return env


def test_each_operation_fixes_its_infno(doc):
    for path, item in doc["paths"].items():
        if path == "/tx":
            continue
        infno = path.rsplit("/", 1)[1]
        ref = item["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        prop = doc["components"]["schemas"][ref.rsplit("/", 1)[1]]["properties"]["infno"]
        assert prop["const"] == infno and prop["enum"] == [infno], path


def test_the_single_endpoint_is_one_of_the_operations_by_infno(doc):
    schema = doc["paths"]["/tx"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert schema["discriminator"]["propertyName"] == "infno"
    assert set(schema["discriminator"]["mapping"]) == set(load_all())
    assert len(schema["oneOf"]) == len(load_all())


def test_servers_and_the_signing_algorithm_are_given(doc):
    assert doc["servers"][0]["url"].startswith("http://127.0.0.1:")
    sig = doc["components"]["securitySchemes"]["signature"]["description"]
    assert "HMAC-SHA256" in sig and "timestamp" in sig and "nonce" in sig


def test_a_person_query_names_exactly_one_of_psn_no_and_certno(doc):
    check = _validator(doc, "Tx8002Request")
    assert check.is_valid(_envelope("8002", {"psn_no": "P1"}))
    assert not check.is_valid(_envelope("8002", {"psn_no": "P1", "certno": "110101199003070011"}))
    assert not check.is_valid(_envelope("8002", {"psn_no": None, "certno": None}))


def test_a_face_capture_names_one_source_and_an_embedding_its_model(doc):
    check = _validator(doc, "Tx8122Request")
    base = {"psn_no": "P1", "scene": "inpatient"}
    emb = [0.1] * 64
    assert check.is_valid(_envelope("8122", {**base, "capture": {"embedding": emb, "embedding_model": "m"}}))
    assert not check.is_valid(_envelope("8122", {**base, "capture": {"embedding": emb}}))
    assert not check.is_valid(_envelope("8122", {**base, "capture": {"embedding": emb, "image_b64": "AA==",
                                                                     "embedding_model": "m"}}))


def test_an_envelope_time_is_the_national_format(doc):
    check = _validator(doc, "Tx8000Request")
    assert check.is_valid(_envelope("8000", {}))
    for bad in ("2026-03-02T08:00:00", "2026-13-02 08:00:00", "2026-00-02 08:00:00", "2026-03-02 24:00:00"):
        assert not check.is_valid(_envelope("8000", {}, inf_time=bad)), bad


def test_every_request_string_states_the_gateways_character_rule(doc):
    """Every request string has a pattern (the gateway refuses control characters anywhere), and
    single-line texts refuse a line break."""
    missing = []

    def walk(node, where):
        if isinstance(node, dict):
            if node.get("type") == "string" and not {"pattern", "format", "const", "enum"} & node.keys():
                missing.append(where)
            for k, v in node.items():
                walk(v, f"{where}.{k}")
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, f"{where}.{i}")

    for name, schema in doc["components"]["schemas"].items():
        if name.startswith("Tx") or name == "RequestEnvelope_Generic":
            walk(schema, name)
    assert missing == []
    assert not re.search(SINGLE_LINE_PATTERN, "a\nb")


def test_a_refusal_has_the_error_envelope_of_its_status(doc):
    responses = doc["paths"]["/tx/8000"]["post"]["responses"]
    assert "default" not in responses
    err = doc["components"]["schemas"]["ErrorEnvelope_422"]
    assert 1001 in err["properties"]["infcode"]["enum"] and err["properties"]["output"] == {
        "type": "null", "description": "Null on error"}


def test_a_body_declared_as_not_json_is_refused_like_the_document_says(http, admin):
    """The document's only media type is application/json: a body sent as text/plain is refused
    (1002, naming Content-Type); one sent without a Content-Type is read as JSON (release 0.1 clients)."""
    body = json.dumps(admin.envelope("8000", {})).encode()
    res = admin.post_raw("8000", body, headers={**admin.sign(body), "Content-Type": "text/plain"})
    assert res.status_code == 400 and res.json()["infcode"] == 1002 and res.json()["err_field"] == "Content-Type"
    body = json.dumps(admin.envelope("8000", {})).encode()
    res = http.post("/tx/8000", content=body, headers=admin.sign(body))
    assert res.status_code == 200 and res.json()["infcode"] == 0
    body = json.dumps(admin.envelope("8000", {})).encode()
    res = admin.post_raw("8000", body, headers={**admin.sign(body), "Content-Type": "application/json; charset=utf-8"})
    assert res.json()["infcode"] == 0
