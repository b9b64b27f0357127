"""The device-mock client retries with the same msgid, so a retry never acts twice."""

from __future__ import annotations

import json

import httpx

from device_mocks.client import Client


def test_retry_after_5xx_and_transport_error_keeps_msgid():
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((json.loads(request.content)["msgid"], request.headers["X-SM-Nonce"]))
        if len(seen) == 1:
            raise httpx.ConnectError("connection reset")
        if len(seen) == 2:
            return httpx.Response(503, json={"infcode": 9999})
        return httpx.Response(200, json={"infcode": 0, "output": {"ok": True}})

    http = httpx.Client(transport=httpx.MockTransport(handler))
    c = Client("http://x", sender="H1", secret="s" * 20, fixmedins_code="H1", http=http, backoff_s=0)
    res = c.send("8000", {})
    assert res.ok and res.attempts == 3
    assert len({m for m, _ in seen}) == 1  # one msgid
    assert len({n for _, n in seen}) == 3  # a fresh nonce each attempt


def test_4xx_is_not_retried():
    calls = []

    def handler(request):
        calls.append(1)
        return httpx.Response(422, json={"infcode": 1001, "err_msg": "input.x: bad"})

    c = Client("http://x", sender="H1", secret="s" * 20, http=httpx.Client(transport=httpx.MockTransport(handler)))
    assert c.send("8000", {}).infcode == 1001 and len(calls) == 1
