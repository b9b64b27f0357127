"""Schemathesis hooks for a run against a live scenemon server (conformance/schemathesis_run.py).

Loaded by Schemathesis through `SCHEMATHESIS_HOOKS=conformance.schemathesis_hooks`. It adds two
things and nothing else:

- **a signing hook** (`before_call`): every generated request is sent as the body Schemathesis
  generated, serialized once here, and signed over those exact bytes with reference/signing.py
  by an account whose role may run the transaction (from the operation's `x-roles`). A
  envelope gets a fresh `msgid` and, from an institution or terminal, that sender's own
  `fixmedins_code` (the server refuses another institution's code, 2006, which a schema cannot
  know); Schemathesis re-judges a case a hook changed, so the verdicts stay right.
- **a check that judges refusals by schema validity** (`refusal_matches_schema_validity`). The
  interface answers a well-formed request it refuses for a business reason (an absent id, 3003;
  a state, 3004; a rule, 4001) with 4xx too, so the HTTP status alone cannot say whether the
  server found the request valid. The envelope's `infcode` can: 1001/1002/1003 mean "this
  request is not what the interface accepts". So a schema-valid request answered 1001/1002/1003
  is "valid request rejected" — unless the refusal names a field or object whose schema lists,
  in `x-server-checks`, a rule JSON Schema cannot state (a GB 11643 check digit, an end date
  after its start) — and a schema-invalid one answered anything else is "invalid request
  accepted".

Accounts come from the JSON file named by SCENEMON_ST_ACCOUNTS: `{"<role>": {"sender", "secret",
"fixmedins_code"}}`, written by the runner after it builds a world on the server.
"""

from __future__ import annotations

import json
import os
from functools import cache
from typing import Any

import schemathesis
from schemathesis import GenerationMode

from conformance.kit.schemas import documented_server_check
from device_mocks.client import new_msgid
from reference import signing

FORM_CODES = frozenset({1001, 1002, 1003})  # the request is not what the interface accepts
AUTH_CODES = frozenset({2001, 2002, 2003, 2004})  # the signature headers are wrong: the hook's fault
ROLE_PREFERENCE = ("city_bureau", "institution", "terminal")


@cache
def accounts() -> dict[str, dict[str, Any]]:
    path = os.environ.get("SCENEMON_ST_ACCOUNTS")
    if not path:
        raise RuntimeError("set SCENEMON_ST_ACCOUNTS to the accounts file (conformance/schemathesis_run.py does)")
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def _roles(case: Any) -> list[str]:
    raw = case.operation.definition.raw
    if "x-roles" in raw:
        return list(raw["x-roles"])
    body = case.body if isinstance(case.body, dict) else {}
    op = case.operation.schema.raw_schema["paths"].get(f"/tx/{body.get('infno')}", {}).get("post", {})
    return list(op.get("x-roles", ROLE_PREFERENCE))


def account_for(case: Any) -> dict[str, Any]:
    """The account that signs this case: the first of bureau, institution, terminal that may run it."""
    roles = _roles(case)
    have = accounts()
    for role in ROLE_PREFERENCE:
        if role in roles and role in have:
            return have[role]
    return have[ROLE_PREFERENCE[0]]  # no account has the role: the answer is 2005 (the check allows it)


def _is_negative(case: Any) -> bool:
    return case.meta is not None and case.meta.generation.mode == GenerationMode.NEGATIVE


def serialize(body: Any) -> bytes:
    """The body as Schemathesis would send it (`requests`' json=); NaN only if a negative case has one;
    bytes (a negative case's non-JSON body) as they are."""
    if body is None or type(body).__name__ == "NotSet":
        return b""
    if isinstance(body, (bytes, bytearray)):
        return bytes(body)
    try:
        return json.dumps(body, allow_nan=False).encode()
    except ValueError:
        return json.dumps(body).encode()


@schemathesis.auth()
class SignedSender:
    """Declares the run's credentials to Schemathesis (so its ignored_auth check knows they are
    real and probes the server without them); the signature itself is made in `before_call`,
    over the final bytes."""

    def get(self, case: Any, context: Any) -> dict[str, dict[str, Any]]:
        return accounts()

    def set(self, case: Any, data: dict[str, dict[str, Any]], context: Any) -> None:
        case.headers = {**(case.headers or {}), signing.HEADER_SENDER: account_for(case)["sender"]}


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    account = account_for(case)
    if isinstance(case.body, dict):
        # A fresh msgid (the coverage phase sends "0" many times, which the server rightly answers
        # 3001) and the sender's own institution (another's is 2006, before the input is read).
        # Schemathesis re-judges the edited case: a negative one whose only flaw was here is
        # counted as positive from then on.
        case.body = {**case.body, "msgid": new_msgid(account["sender"])}
        if account.get("fixmedins_code"):
            case.body["fixmedins_code"] = account["fixmedins_code"]
    body = serialize(case.body)
    kwargs["data"] = body
    case.headers = {"Content-Type": "application/json", **(case.headers or {}),
                    **signing.sign_headers(account["sender"], account["secret"], body)}


def value_at(body: Any, path: str | None) -> Any:
    """The value at a dotted path (`input.items.0.amount`) of the body sent, or None."""
    for part in (path or "").split("."):
        if isinstance(body, dict):
            body = body.get(part)
        elif isinstance(body, list) and part.isdigit() and int(part) < len(body):
            body = body[int(part)]
        else:
            return None
    return body


def integral_float(body: Any, path: str | None) -> bool:
    """JSON Schema counts 267.0 as an integer; the interface takes integers only as integer
    literals (the document says so): a refusal of such a value is that documented rule."""
    value = value_at(body, path)
    return isinstance(value, float) and value.is_integer()


def _body_schema(case: Any) -> dict[str, Any]:
    raw = case.operation.definition.raw
    return raw["requestBody"]["content"]["application/json"]["schema"]


@schemathesis.check
def refusal_matches_schema_validity(ctx: Any, response: Any, case: Any) -> bool | None:
    """A schema-valid request is never refused as malformed (1001/1002/1003) unless the refusal names
    a documented server check; a schema-invalid request is always refused as malformed."""
    if case.meta is None or response.request.method != "POST":  # unsupported_method's probes: 405
        return None
    try:
        env = response.json()
        code = int(env["infcode"])
    except (ValueError, KeyError, TypeError):
        raise AssertionError(f"HTTP {response.status_code}: the answer is not a response envelope") from None
    if code in AUTH_CODES:
        raise AssertionError(f"the signing hook's request was refused: {code} {env.get('err_msg')}")
    if _is_negative(case):
        if code not in FORM_CODES:
            raise AssertionError(
                f"invalid request accepted: a request the schema refuses was answered infcode {code}"
                f" ({env.get('err_msg') or 'success'})")
        return None
    field = env.get("err_field")
    if code in FORM_CODES and not integral_float(case.body, field) and not documented_server_check(
            case.operation.schema.raw_schema, _body_schema(case), field):
        raise AssertionError(f"valid request rejected: a request the schema accepts was refused {code}: "
                             f"{env.get('err_msg')}")
    return None
