"""The normative request-signing algorithms (报文签名): scenemon's HMAC over the body, with
HMAC-SHA256 or HMAC-SM3, and the national gateway's x-tif headers as a per-sender compatibility mode.

scenemon's scheme (every sender, the default and the stronger) — four headers and one optional:

    X-SM-Sender     the sender id: institution code, terminal id or bureau user id
    X-SM-Timestamp  Unix time in whole seconds when the request was signed
    X-SM-Nonce      16–64 characters [A-Za-z0-9-_], never reused by the same sender
    X-SM-Signature  lowercase hex HMAC(secret, timestamp + "\n" + nonce + "\n" + body), HMAC-SHA256 by default
    X-SM-Signature-Alg  optional: HMAC-SHA256 (when absent) or HMAC-SM3 (SM3 of GB/T 32905 in HMAC, RFC 2104)

`body` is the exact bytes sent. The server refuses a timestamp further than the configured skew
(default 300 s) from its own clock and a nonce it has already seen from that sender. A retry of
the same message re-signs it with a new timestamp and nonce but keeps the same body (same msgid).

The national gateway's headers (国家医保平台网关), accepted only from a sender a city bureau has
switched to this compatibility mode (8016), never by default:

    x-tif-paasid     the sender id (the national paas account)
    x-tif-timestamp  Unix time in whole seconds
    x-tif-nonce      8–64 characters [A-Za-z0-9-_], never reused by the same sender
    x-tif-signature  hex SHA-256(timestamp + token + nonce + timestamp), token = the sender's secret

The x-tif signature does not cover the body: headers seen once are good for any body until the
server has seen their nonce or their timestamp leaves the skew window (see TIF_WARNING and the
signing page). SM3 comes from OpenSSL when this Python's build has it, else from gmssl (pure Python,
much slower: `sm3_backend()`); both are checked against the GB/T 32905 and GM/T 0042 vectors.

This module is the only implementation; the device mocks and the conformance kit use it.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Callable

HEADER_SENDER = "X-SM-Sender"
HEADER_TIMESTAMP = "X-SM-Timestamp"
HEADER_NONCE = "X-SM-Nonce"
HEADER_SIGNATURE = "X-SM-Signature"
HEADER_ALG = "X-SM-Signature-Alg"
NONCE_RE = re.compile(r"^[A-Za-z0-9_\-]{16,64}$")

ALG_SHA256 = "HMAC-SHA256"
ALG_SM3 = "HMAC-SM3"
ALGORITHMS = (ALG_SHA256, ALG_SM3)

# The national gateway's headers, as deployed clients write them (HTTP header names are
# case-insensitive; one public C# client writes x-tif-paasId).
TIF_PAASID = "x-tif-paasid"
TIF_TIMESTAMP = "x-tif-timestamp"
TIF_NONCE = "x-tif-nonce"
TIF_SIGNATURE = "x-tif-signature"
TIF_HEADERS = (TIF_PAASID, TIF_TIMESTAMP, TIF_NONCE, TIF_SIGNATURE)
# Deployed clients send 8-character nonces (the national service hall), hex(ms)-hex(random)
# (13-18) and 32-character random strings or UUIDs; 16 would refuse the first two.
TIF_NONCE_RE = re.compile(r"^[A-Za-z0-9_\-]{8,64}$")
#: The signing modes a client can use: scenemon's HMAC with either algorithm, or the x-tif headers.
MODE_TIF = "x-tif"
MODES = (ALG_SHA256, ALG_SM3, MODE_TIF)

TIF_WARNING = (
    "signed with the x-tif gateway headers (compatibility mode): the body is not signed, so anyone who saw "
    "these headers could send another body with them until the server has seen their nonce or their timestamp "
    "is outside the skew window; sign with X-SM-Signature instead"
)

# Pure-Python SM3 (gmssl) takes about 5 ms per KiB here (loadtests/bench_signing.py: 19 ms for 4 KiB,
# 343 ms for 64 KiB), and any caller who names a sender id can make the server compute it before a
# wrong signature is known: above this size a server without OpenSSL's SM3 refuses HMAC-SM3 (1004).
PURE_SM3_MAX_BODY = 16 * 1024
SM3_BLOCK = 64  # bytes; HMAC per RFC 2104 pads the key to the hash's block


def _sm3_gmssl(data: bytes) -> bytes:
    from gmssl import func, sm3  # imported only where OpenSSL has no SM3, or in tests

    return bytes.fromhex(sm3.sm3_hash(func.bytes_to_list(data)))


def hmac_sm3_gmssl(key: bytes, msg: bytes) -> bytes:
    """HMAC-SM3 per RFC 2104 on gmssl's SM3: a key longer than the block is hashed first, then
    zero-padded to 64 bytes; SM3(key ^ opad || SM3(key ^ ipad || msg))."""
    if len(key) > SM3_BLOCK:
        key = _sm3_gmssl(key)
    key = key.ljust(SM3_BLOCK, b"\0")
    inner = _sm3_gmssl(bytes(b ^ 0x36 for b in key) + msg)
    return _sm3_gmssl(bytes(b ^ 0x5C for b in key) + inner)


def hmac_sm3_openssl(key: bytes, msg: bytes) -> bytes:
    return hmac.new(key, msg, "sm3").digest()


def _openssl_has_sm3() -> bool:
    try:
        hashlib.new("sm3")
    except ValueError:
        return False
    return True


_HMAC_SM3: Callable[[bytes, bytes], bytes] = hmac_sm3_openssl if _openssl_has_sm3() else hmac_sm3_gmssl


def sm3_backend() -> str:
    """'openssl' when this Python's OpenSSL has SM3 (fast), else 'gmssl' (pure Python)."""
    return "openssl" if _HMAC_SM3 is hmac_sm3_openssl else "gmssl"


def hmac_sm3(key: bytes, msg: bytes) -> bytes:
    return _HMAC_SM3(key, msg)


def signature(secret: str, timestamp: str, nonce: str, body: bytes, alg: str = ALG_SHA256) -> str:
    """scenemon's body signature: lowercase hex HMAC over timestamp, LF, nonce, LF, body."""
    message = timestamp.encode() + b"\n" + nonce.encode() + b"\n"
    if alg == ALG_SM3:
        return hmac_sm3(secret.encode(), message + body).hex()
    if alg != ALG_SHA256:
        raise ValueError(f"unknown signature algorithm {alg!r}; one of {', '.join(ALGORITHMS)}")
    mac = hmac.new(secret.encode(), digestmod=hashlib.sha256)
    mac.update(message)
    mac.update(body)
    return mac.hexdigest()


def sign_headers(sender: str, secret: str, body: bytes, *, now: float | None = None,
                 alg: str = ALG_SHA256) -> dict[str, str]:
    """Headers for one signed request (a fresh nonce each call). HMAC-SHA256 sends no
    X-SM-Signature-Alg, exactly as before the header existed."""
    ts = str(int(time.time() if now is None else now))
    nonce = secrets.token_urlsafe(18)
    headers = {
        HEADER_SENDER: sender,
        HEADER_TIMESTAMP: ts,
        HEADER_NONCE: nonce,
        HEADER_SIGNATURE: signature(secret, ts, nonce, body, alg),
    }
    if alg != ALG_SHA256:
        headers[HEADER_ALG] = alg
    return headers


def verify(secret: str, timestamp: str, nonce: str, body: bytes, given: str, alg: str = ALG_SHA256) -> bool:
    # compare_digest refuses non-ASCII text with a TypeError; a header may carry any Latin-1.
    return given.isascii() and hmac.compare_digest(signature(secret, timestamp, nonce, body, alg), given.lower())


def tif_signature(token: str, timestamp: str, nonce: str) -> str:
    """The national gateway's signature: lowercase hex SHA-256 of the UTF-8 text
    timestamp + token + nonce + timestamp (no separators; the body is not part of it)."""
    return hashlib.sha256((timestamp + token + nonce + timestamp).encode()).hexdigest()


def tif_headers(paasid: str, token: str, *, now: float | None = None, nonce: str | None = None) -> dict[str, str]:
    """x-tif headers for one request (a fresh 32-character nonce unless one is given)."""
    ts = str(int(time.time() if now is None else now))
    nonce = nonce or secrets.token_hex(16)
    return {TIF_PAASID: paasid, TIF_TIMESTAMP: ts, TIF_NONCE: nonce,
            TIF_SIGNATURE: tif_signature(token, ts, nonce)}


def tif_verify(token: str, timestamp: str, nonce: str, given: str) -> bool:
    """Deployed clients send the hex digest in either case (some upper-case it), so case is ignored."""
    return given.isascii() and hmac.compare_digest(tif_signature(token, timestamp, nonce), given.lower())


def request_headers(mode: str, sender: str, secret: str, body: bytes, *, now: float | None = None) -> dict[str, str]:
    """The signature headers of one request in a signing mode (one of MODES)."""
    if mode == MODE_TIF:
        return tif_headers(sender, secret, now=now)
    if mode not in ALGORITHMS:
        raise ValueError(f"unknown signing mode {mode!r}; one of {', '.join(MODES)}")
    return sign_headers(sender, secret, body, now=now, alg=mode)


def new_secret() -> str:
    """A fresh per-sender secret (256 bits, URL-safe)."""
    return secrets.token_urlsafe(32)
