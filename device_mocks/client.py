"""The HTTP transport: a signed-envelope client that builds the envelope, signs it, posts it to
`/tx/{infno}` and retries with the same msgid.

    c = Client("http://127.0.0.1:8700", sender="H41010200001", secret="...",
               fixmedins_code="H41010200001")
    out = c.call("8000", {})            # → output dict; raises TxError on a coded error
    res = c.send("8000", {})            # → TxResult (status, envelope) without raising
    Client(..., signing="HMAC-SM3")     # or "x-tif" (a sender switched by 8016); HMAC-SHA256 by default
    c.admin.ping().business_time        # the typed drivers (device_mocks.drivers)

A retry after a timeout or a 5xx/connection failure re-signs the *same* body (same msgid), so
the server answers it from its idempotency record instead of acting twice. The envelope,
signing and retry logic are shared with the in-process transport (`device_mocks.transport`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import httpx

from device_mocks.results import TxError, TxResult
from device_mocks.transport import CST, Transport, new_msgid
from reference.signing import ALG_SHA256

__all__ = ["CST", "Client", "TxError", "TxResult", "new_msgid"]


class Client(Transport):
    transient = (httpx.TransportError, json.JSONDecodeError)

    def __init__(
        self,
        base_url: str,
        *,
        sender: str,
        secret: str,
        fixmedins_code: str | None = None,
        opter: str = "mock",
        opter_name: str = "模拟经办人",
        opter_type: str = "1",
        http: httpx.Client | None = None,
        retries: int = 3,
        backoff_s: float = 0.2,
        timeout_s: float = 30.0,
        clock_skew_s: float = 0.0,
        signing: str = ALG_SHA256,
    ) -> None:
        super().__init__(sender=sender, secret=secret, fixmedins_code=fixmedins_code, opter=opter,
                         opter_name=opter_name, opter_type=opter_type, retries=retries, backoff_s=backoff_s,
                         clock_skew_s=clock_skew_s, signing=signing)
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self._owns_http = http is None
        self.http = http or httpx.Client(timeout=timeout_s)

    def post_raw(self, infno: str | None, body: bytes, headers: dict[str, str] | None = None) -> httpx.Response:
        """POST `body` as it is; signed now unless `headers` are given (then sent as they are)."""
        url = f"{self.base_url}/tx/{infno}" if infno else f"{self.base_url}/tx"
        h = {"Content-Type": "application/json"}
        h.update(self.sign(body) if headers is None else headers)
        return self.http.post(url, content=body, headers=h)

    def deliver(self, infno: str | None, body: bytes, headers: Mapping[str, str]) -> tuple[int, dict[str, Any]]:
        resp = self.post_raw(infno, body, dict(headers))
        return resp.status_code, resp.json()

    def _carrier(self) -> dict[str, Any]:
        return {"base_url": self.base_url, "http": self.http, "timeout_s": self.timeout_s}

    def close(self) -> None:
        if self._owns_http:
            self.http.close()
