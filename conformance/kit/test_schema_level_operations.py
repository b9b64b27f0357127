"""Schema level (issue 17): every operation of the published OpenAPI document takes a request built
from that document alone and answers as the document says — a documented HTTP status, a body valid
against that status's response schema, and no "malformed" refusal of the schema-valid request.

These tests know nothing of the interface's meaning, so a schema-only mock (Prism on our
document) passes them; the behaviour tests (every other file of the kit) need a real server.
"""

import json

import pytest

from conformance.kit import schemas as S
from conformance.kit.support import body_of
from conformance.plugin import KitSetupError, make_client

DOC = S.load()
OPERATIONS = S.operations(DOC)
BUREAU_ROLES = {"city_bureau", "district_bureau", "agency", "audit_centre", "ops_vendor"}


def _client(request, config, http, roles: set[str]):
    """A sender whose role may run the operation: the bureau account, else institution A or its
    certified terminal from the kit's world. Where no world can be built (a schema-only mock
    answers setup steps with generated data), the bureau signs: the answer's shape is still judged."""
    bureau = make_client(config, config.bureau_sender, config.bureau_secret, None, "1", http)
    if "city_bureau" in roles or not roles & {"institution", "terminal"}:
        return bureau
    try:
        world = request.getfixturevalue("world")
    except (KitSetupError, AssertionError, ValueError):
        return bureau
    return world.inst_a.client if "institution" in roles else world.terminal.client


@pytest.mark.schema_level
@pytest.mark.req("GEN-2")
@pytest.mark.parametrize("infno", sorted(OPERATIONS))
def test_operation_answers_as_the_openapi_document_says(request, config, http, infno):
    """A schema-valid request for the operation is answered with a documented status and a body that
    validates against that status's response schema, and is not refused as malformed."""
    op = OPERATIONS[infno]
    client = _client(request, config, http, set(op.get("x-roles", [])))
    env = client.envelope(infno, {})
    body = S.example_request(DOC, op, env)
    res = client.post_raw(infno, body_of(body))
    try:
        answer = res.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        pytest.fail(f"HTTP {res.status_code}: the body is not JSON: {res.text[:200]!r}")
    problems = S.answer_problems(DOC, op, res.status_code, answer)
    assert problems == [], f"{infno} answered HTTP {res.status_code}: {problems}; body {json.dumps(answer)[:300]}"
