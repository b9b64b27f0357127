"""Schemathesis against the live server (a uvicorn child process): for every operation of
interface_spec/openapi.json, envelopes generated from the published schema — conforming ones and
deliberately non-conforming ones (Schemathesis' negative mode) — are signed and sent. No answer may
be a server error (HTTP 5xx / infcode 9999). Slow: run with `-m slow`."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st

from device_mocks.client import new_msgid
from reference.paths import INTERFACE_SPEC
from reference.transactions import load_all

schemathesis = pytest.importorskip("schemathesis")

EXAMPLES = 60
TRANSACTIONS = load_all()
SCHEMA = schemathesis.openapi.from_path(INTERFACE_SPEC / "openapi.json")
OPERATIONS = {op.path.rsplit("/", 1)[-1]: op for op in (r.ok() for r in SCHEMA.get_all_operations())
              if op.path.startswith("/tx/")}  # POST /tx is every one of them (conformance/schemathesis_run.py)


def _sender(world, roles: frozenset[str]):
    inst = next(iter(world.institutions.values()))
    for role, client in (("institution", inst.client), ("terminal", world.terminal()), ("city_bureau", world.bureau)):
        if role in roles:
            return client
    return world.bureau  # a role the world lacks: the answer is 2005, which is fine here


def _envelope(client, infno: str, generated, keep_envelope: bool) -> dict:
    """The generated envelope aimed at this transaction and sender; with `keep_envelope` false only
    its `input` is kept (so that the input, not the envelope, meets the validation)."""
    generated = generated if isinstance(generated, dict) else {"input": generated}
    env = dict(generated) if keep_envelope else client.envelope(infno, generated.get("input"))
    env.update(infno=infno, msgid=new_msgid(client.sender))
    if client.fixmedins_code:
        env["fixmedins_code"] = client.fixmedins_code
    return env


@pytest.mark.slow
@pytest.mark.req("GEN-2", "RULE-9")
@pytest.mark.parametrize("infno", sorted(OPERATIONS))
def test_schemathesis_cases_get_no_server_error(live_server, infno):
    op = OPERATIONS[infno]
    client = _sender(live_server.world, TRANSACTIONS[infno].roles)
    cases = st.one_of(op.as_strategy(schemathesis.GenerationMode.POSITIVE),
                      op.as_strategy(schemathesis.GenerationMode.NEGATIVE))

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(case=cases, keep_envelope=st.booleans())
    def run(case, keep_envelope):
        try:
            body = json.dumps(_envelope(client, infno, case.body, keep_envelope), ensure_ascii=False).encode()
        except (TypeError, ValueError):  # a value JSON cannot carry (the wire never holds one)
            reject()
        res = client.post_raw(infno, body)
        assert res.status_code < 500 and res.json()["infcode"] != 9999, (infno, body[:500], res.text[:500])

    run()
