"""What the kit's tests share: the published error-code table, raw signed requests and the
assertions that check a refusal (infcode, HTTP status, err_field) or a success.

The table below is the interface's error-code table (错误代码表) as published in
`interface_spec/error_codes.yaml`; the kit carries its own copy because it tests other
implementations, and the project's own tests check that the copy matches the reference.
"""

from __future__ import annotations

import json
import secrets
import time
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx

from device_mocks.client import Client
from reference import signing

CST = timezone(timedelta(hours=8))

#: infcode → HTTP status, from the published error-code table.
ERROR_HTTP: dict[int, int] = {
    1001: 422,  # invalid_field
    1002: 400,  # malformed_json
    1003: 404,  # unknown_transaction
    1004: 413,  # body_too_large
    2001: 401,  # unauthenticated
    2002: 401,  # bad_signature
    2003: 401,  # stale_timestamp
    2004: 401,  # replayed_nonce
    2005: 403,  # forbidden
    2006: 403,  # out_of_scope
    2007: 403,  # device_not_certified
    2008: 403,  # not_signed_in
    3001: 409,  # duplicate_message
    3002: 409,  # conflict
    3003: 404,  # not_found
    3004: 409,  # invalid_state
    4001: 422,  # rule_refusal
    5001: 422,  # no_face_found
    5002: 503,  # model_unavailable
    5003: 404,  # template_missing
    9999: 500,  # internal_error
}


class Answer:
    """One HTTP answer, parsed as a response envelope (the test fails if it is not one)."""

    def __init__(self, resp: httpx.Response) -> None:
        self.status = resp.status_code
        try:
            env = resp.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise AssertionError(
                f"HTTP {resp.status_code}: the body is not a JSON response envelope: {resp.text[:200]!r}"
            ) from None
        assert isinstance(env, dict), f"the response envelope must be a JSON object, got {env!r:.200}"
        assert "infcode" in env, f"the response envelope has no infcode: {env!r:.300}"
        self.envelope: dict[str, Any] = env

    @property
    def infcode(self) -> int:
        return int(self.envelope["infcode"])

    @property
    def output(self) -> dict[str, Any]:
        return self.envelope.get("output") or {}

    def __repr__(self) -> str:
        env = self.envelope
        return (f"HTTP {self.status}, infcode {env.get('infcode')}, err_field {env.get('err_field')!r}, "
                f"err_msg {env.get('err_msg')!r}")


def body_of(env: dict[str, Any]) -> bytes:
    return json.dumps(env, ensure_ascii=False).encode()


def post(client: Client, infno: str | None, body: bytes, headers: dict[str, str] | None = None) -> Answer:
    """POST `body` to /tx/{infno} (or /tx), signed by `client` unless `headers` are given."""
    return Answer(client.post_raw(infno, body, headers))


def send(client: Client, env: dict[str, Any]) -> Answer:
    """Send an envelope once (signed, fresh nonce), with no retry."""
    return post(client, env["infno"], body_of(env))


def signed_headers(client: Client, body: bytes, *, at: float | None = None, secret: str | None = None,
                   nonce: str | None = None) -> dict[str, str]:
    """Signature headers built by hand, to send deliberately stale, wrong or replayed ones."""
    ts = str(int(time.time() if at is None else at))
    nonce = nonce or secrets.token_urlsafe(18)
    return {
        signing.HEADER_SENDER: client.sender,
        signing.HEADER_TIMESTAMP: ts,
        signing.HEADER_NONCE: nonce,
        signing.HEADER_SIGNATURE: signing.signature(secret or client.secret, ts, nonce, body),
    }


def expect_error(ans: Answer, infcode: int, field: str | None = None) -> None:
    """The answer is the refusal `infcode` with its table HTTP status (and `err_field`, if given)."""
    assert ans.infcode == infcode, f"expected infcode {infcode}, got {ans!r}"
    assert ans.status == ERROR_HTTP[infcode], (
        f"infcode {infcode} must come with HTTP {ERROR_HTTP[infcode]}, got {ans!r}"
    )
    assert ans.envelope.get("err_msg"), f"a refusal must carry err_msg: {ans!r}"
    assert ans.envelope.get("output") is None, f"a refusal carries no output: {ans.envelope!r:.300}"
    if field is not None:
        assert ans.envelope.get("err_field") == field, f"err_field must be {field!r}, got {ans!r}"


def expect_ok(ans: Answer) -> dict[str, Any]:
    """The answer is a success (infcode 0, HTTP 200); returns its output."""
    assert ans.infcode == 0 and ans.status == 200, f"expected success, got {ans!r}"
    return ans.output


def parse_time(value: str) -> datetime:
    """An ISO time from the server; naive times are China Standard Time."""
    t = datetime.fromisoformat(value)
    return t if t.tzinfo else t.replace(tzinfo=CST)
