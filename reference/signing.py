"""The normative request-signing algorithm (报文签名).

Every request carries four headers:

    X-SM-Sender     the sender id: institution code, terminal id or bureau user id
    X-SM-Timestamp  Unix time in whole seconds when the request was signed
    X-SM-Nonce      16–64 characters [A-Za-z0-9-_], never reused by the same sender
    X-SM-Signature  lowercase hex HMAC-SHA256(secret, timestamp + "\n" + nonce + "\n" + body)

`body` is the exact bytes sent. The server refuses a timestamp further than the configured skew
(default 300 s) from its own clock and a nonce it has already seen from that sender. A retry of
the same message re-signs it with a new timestamp and nonce but keeps the same body (same msgid).

This module is the only implementation; the device mocks and the conformance kit use it.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time

HEADER_SENDER = "X-SM-Sender"
HEADER_TIMESTAMP = "X-SM-Timestamp"
HEADER_NONCE = "X-SM-Nonce"
HEADER_SIGNATURE = "X-SM-Signature"
NONCE_RE = re.compile(r"^[A-Za-z0-9_\-]{16,64}$")


def signature(secret: str, timestamp: str, nonce: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), digestmod=hashlib.sha256)
    mac.update(timestamp.encode() + b"\n" + nonce.encode() + b"\n")
    mac.update(body)
    return mac.hexdigest()


def sign_headers(sender: str, secret: str, body: bytes, *, now: float | None = None) -> dict[str, str]:
    """Headers for one signed request (a fresh nonce each call)."""
    ts = str(int(time.time() if now is None else now))
    nonce = secrets.token_urlsafe(18)
    return {
        HEADER_SENDER: sender,
        HEADER_TIMESTAMP: ts,
        HEADER_NONCE: nonce,
        HEADER_SIGNATURE: signature(secret, ts, nonce, body),
    }


def verify(secret: str, timestamp: str, nonce: str, body: bytes, given: str) -> bool:
    return hmac.compare_digest(signature(secret, timestamp, nonce, body), given.lower())


def new_secret() -> str:
    """A fresh per-sender secret (256 bits, URL-safe)."""
    return secrets.token_urlsafe(32)
