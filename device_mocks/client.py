"""A signed-envelope client: builds the envelope, signs it, sends it, retries with the same msgid.

    c = Client("http://127.0.0.1:8700", sender="H41010200001", secret="...",
               fixmedins_code="H41010200001")
    out = c.call("1001", {})            # → output dict; raises TxError on a coded error
    res = c.send("1001", {})            # → TxResult (status, envelope) without raising

A retry after a timeout or a 5xx/connection failure re-signs the *same* body (same msgid), so
the server answers it from its idempotency record instead of acting twice.
"""

from __future__ import annotations

import itertools
import json
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx

from reference.signing import sign_headers

CST = timezone(timedelta(hours=8))
_seq = itertools.count(1)


@dataclass
class TxResult:
    status: int
    envelope: dict[str, Any]
    attempts: int = 1

    @property
    def infcode(self) -> int:
        return int(self.envelope.get("infcode", -1))

    @property
    def ok(self) -> bool:
        return self.infcode == 0

    @property
    def output(self) -> dict[str, Any]:
        return self.envelope.get("output") or {}


class TxError(Exception):
    def __init__(self, result: TxResult, infno: str) -> None:
        env = result.envelope
        super().__init__(f"{infno}: infcode {env.get('infcode')} — {env.get('err_msg')}")
        self.result = result
        self.infcode = result.infcode
        self.err_field = env.get("err_field")


def new_msgid(prefix: str) -> str:
    """Platform-style id: sender + yyyyMMddHHmmss + sequence, with a random tail for uniqueness."""
    now = datetime.now(CST).strftime("%Y%m%d%H%M%S")
    return f"{prefix[:30]}{now}{next(_seq) % 10000:04d}{secrets.token_hex(4)}"


class Client:
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
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.sender = sender
        self.secret = secret
        self.fixmedins_code = fixmedins_code
        self.opter, self.opter_name, self.opter_type = opter, opter_name, opter_type
        self._owns_http = http is None
        self.http = http or httpx.Client(timeout=timeout_s)
        self.retries = retries
        self.backoff_s = backoff_s
        self.clock_skew_s = clock_skew_s

    def envelope(self, infno: str, input: dict[str, Any], msgid: str | None = None) -> dict[str, Any]:
        env: dict[str, Any] = {
            "infno": infno,
            "msgid": msgid or new_msgid(self.sender),
            "opter_type": self.opter_type,
            "opter": self.opter,
            "opter_name": self.opter_name,
            "inf_time": datetime.now(CST).strftime("%Y-%m-%d %H:%M:%S"),
            "input": input,
        }
        if self.fixmedins_code:
            env["fixmedins_code"] = self.fixmedins_code
        return env

    def post_raw(self, infno: str | None, body: bytes, headers: dict[str, str] | None = None) -> httpx.Response:
        url = f"{self.base_url}/tx/{infno}" if infno else f"{self.base_url}/tx"
        h = {"Content-Type": "application/json"}
        if headers is None:
            h.update(sign_headers(self.sender, self.secret, body, now=time.time() + self.clock_skew_s))
        else:
            h.update(headers)
        return self.http.post(url, content=body, headers=h)

    def send_envelope(self, env: dict[str, Any]) -> TxResult:
        body = json.dumps(env, ensure_ascii=False).encode()
        attempt = 0
        while True:
            attempt += 1
            try:
                resp = self.post_raw(env["infno"], body)
                if resp.status_code < 500 or attempt > self.retries:
                    return TxResult(resp.status_code, resp.json(), attempt)
            except (httpx.TransportError, json.JSONDecodeError):
                if attempt > self.retries:
                    raise
            time.sleep(self.backoff_s * 2 ** (attempt - 1))

    def send(self, infno: str, input: dict[str, Any], *, msgid: str | None = None) -> TxResult:
        return self.send_envelope(self.envelope(infno, input, msgid))

    def call(self, infno: str, input: dict[str, Any], *, msgid: str | None = None) -> dict[str, Any]:
        res = self.send(infno, input, msgid=msgid)
        if not res.ok:
            raise TxError(res, infno)
        return res.output

    def close(self) -> None:
        if self._owns_http:
            self.http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
