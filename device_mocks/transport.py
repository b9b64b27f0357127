"""Transports: how one account's signed envelopes reach a server.

    Transport        the base: builds the envelope, signs the body, retries with the same msgid,
    │                and carries a typed driver per scene (`t.inpatient.admit(...)`)
    ├── Client       over HTTP (`device_mocks.client`)
    └── InProcess    straight into `Gateway.handle` of an app in this process

Both send the same bytes with the same headers, and `InProcess` calls the very gateway the
HTTP route calls, so authentication, roles and scope, idempotency and the access log are the
same code either way; only the socket and the ASGI hop are gone (tests, the simulator).

A retry — after a 5xx, or a connection failure over HTTP — re-signs the *same* body (same msgid,
fresh nonce), so the server answers it from its idempotency record instead of acting twice.
"""

from __future__ import annotations

import itertools
import json
import secrets
import time
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from functools import cached_property
from typing import Any, ClassVar, Protocol, Self

from device_mocks.drivers import (
    AdminDriver,
    DevicesDriver,
    FaceDriver,
    InpatientDriver,
    RegistryDriver,
    RulesDriver,
    SessionDriver,
    SpecialRegistrationDriver,
)
from device_mocks.results import TxError, TxResult
from reference.signing import ALG_SHA256, MODES, request_headers

CST = timezone(timedelta(hours=8))
_seq = itertools.count(1)


def new_msgid(prefix: str) -> str:
    """Platform-style id: sender + yyyyMMddHHmmss + sequence, with a random tail for uniqueness."""
    now = datetime.now(CST).strftime("%Y%m%d%H%M%S")
    return f"{prefix[:30]}{now}{next(_seq) % 10000:04d}{secrets.token_hex(4)}"


class Transport:
    """One signing account (`sender`, `secret`) and the way to its server.

    `send` answers a `TxResult` whatever the server said; `call` returns the output dict and
    raises `TxError` on a refusal; the scene drivers (`admin`, `registry`, `devices`, `face`,
    `inpatient`, `special_registration`, `rules`) do the same with typed models."""

    #: exceptions of the carrier after which a retry may help (HTTP: connection failures)
    transient: ClassVar[tuple[type[BaseException], ...]] = ()

    def __init__(
        self,
        *,
        sender: str,
        secret: str,
        fixmedins_code: str | None = None,
        opter: str = "mock",
        opter_name: str = "模拟经办人",
        opter_type: str = "1",
        retries: int = 3,
        backoff_s: float = 0.2,
        clock_skew_s: float = 0.0,
        signing: str = ALG_SHA256,
    ) -> None:
        if signing not in MODES:
            raise ValueError(f"signing must be one of {', '.join(MODES)}, not {signing!r}")
        self.sender = sender
        self.secret = secret
        self.fixmedins_code = fixmedins_code
        self.opter, self.opter_name, self.opter_type = opter, opter_name, opter_type
        self.retries = retries
        self.backoff_s = backoff_s
        self.clock_skew_s = clock_skew_s
        #: How requests are signed: HMAC-SHA256 (the default) or HMAC-SM3 over the body, or "x-tif", the
        #: national gateway's headers, for a sender a city bureau switched to them (8016).
        self.signing = signing
        #: The sign-in number (9001) sent in every envelope while set: `session.sign_in` sets it.
        self.sign_no: str | None = None

    # -- the carrier (what subclasses provide) ----------------------------------------------
    def deliver(self, infno: str | None, body: bytes, headers: Mapping[str, str]) -> tuple[int, dict[str, Any]]:
        """Carry one signed body to the server; return the HTTP status and the response envelope."""
        raise NotImplementedError

    def _carrier(self) -> dict[str, Any]:
        """The constructor arguments that say how the server is reached (for `for_account`)."""
        raise NotImplementedError

    def close(self) -> None:
        """Release what this transport owns (nothing, unless a subclass opened it)."""

    # -- envelopes ----------------------------------------------------------------------------
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
        if self.sign_no:
            env["sign_no"] = self.sign_no
        return env

    def sign(self, body: bytes) -> dict[str, str]:
        """The signature headers for `body` in this transport's signing mode (a fresh timestamp
        and nonce each call)."""
        return request_headers(self.signing, self.sender, self.secret, body, now=time.time() + self.clock_skew_s)

    def send_envelope(self, env: dict[str, Any]) -> TxResult:
        body = json.dumps(env, ensure_ascii=False).encode()
        attempt = 0
        while True:
            attempt += 1
            try:
                status, payload = self.deliver(env["infno"], body, self.sign(body))
                if status < 500 or attempt > self.retries:
                    return TxResult(status, payload, attempt)
            except self.transient:
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

    def for_account(self, sender: str, secret: str, *, fixmedins_code: str | None = None, opter: str = "mock",
                    opter_name: str = "模拟经办人", opter_type: str = "1", signing: str | None = None) -> Self:
        """Another account on the same server, reached the same way (same HTTP client, or the
        same gateway), with this transport's retry settings (and signing mode, unless given)."""
        return type(self)(**self._carrier(), sender=sender, secret=secret, fixmedins_code=fixmedins_code,
                          opter=opter, opter_name=opter_name, opter_type=opter_type, retries=self.retries,
                          backoff_s=self.backoff_s, clock_skew_s=self.clock_skew_s,
                          signing=signing or self.signing)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(sender={self.sender!r})"

    # -- the scene drivers ------------------------------------------------------------------------
    @cached_property
    def admin(self) -> AdminDriver:
        return AdminDriver(self)

    @cached_property
    def registry(self) -> RegistryDriver:
        return RegistryDriver(self)

    @cached_property
    def devices(self) -> DevicesDriver:
        return DevicesDriver(self)

    @cached_property
    def face(self) -> FaceDriver:
        return FaceDriver(self)

    @cached_property
    def inpatient(self) -> InpatientDriver:
        return InpatientDriver(self)

    @cached_property
    def special_registration(self) -> SpecialRegistrationDriver:
        return SpecialRegistrationDriver(self)

    @cached_property
    def rules(self) -> RulesDriver:
        return RulesDriver(self)

    @cached_property
    def session(self) -> SessionDriver:
        return SessionDriver(self)


class Handles(Protocol):
    """What `InProcess` calls: `reference.api.gateway.Gateway` (or a stand-in in tests)."""

    def handle(self, path_infno: str | None, headers: Mapping[str, str], body: bytes) -> tuple[int, dict]: ...


class InProcess(Transport):
    """Sends through `gateway.handle(infno, headers, body)` — the same call the HTTP route
    `POST /tx/{infno}` makes, with the same signed body and headers, in the caller's thread.

        t = InProcess.of_app(app, sender="city-admin", secret=secret)

    The answer is round-tripped through JSON, so the caller gets what HTTP would deliver and
    never shares objects with the server. Retries default to none: there is no network to fail,
    and a 5xx the handler recorded is answered again, unchanged, to the same msgid."""

    def __init__(self, gateway: Handles, *, sender: str, secret: str, fixmedins_code: str | None = None,
                 opter: str = "mock", opter_name: str = "模拟经办人", opter_type: str = "1", retries: int = 0,
                 backoff_s: float = 0.2, clock_skew_s: float = 0.0, signing: str = ALG_SHA256) -> None:
        super().__init__(sender=sender, secret=secret, fixmedins_code=fixmedins_code, opter=opter,
                         opter_name=opter_name, opter_type=opter_type, retries=retries, backoff_s=backoff_s,
                         clock_skew_s=clock_skew_s, signing=signing)
        self.gateway = gateway

    @classmethod
    def of_app(cls, app: Any, **kw: Any) -> InProcess:
        """A transport into a `reference.api.app.create_app()` app (its `app.state.gateway`)."""
        return cls(app.state.gateway, **kw)

    def deliver(self, infno: str | None, body: bytes, headers: Mapping[str, str]) -> tuple[int, dict[str, Any]]:
        status, payload = self.gateway.handle(infno, {"Content-Type": "application/json", **headers}, body)
        return status, json.loads(json.dumps(payload, ensure_ascii=False))

    def _carrier(self) -> dict[str, Any]:
        return {"gateway": self.gateway}
