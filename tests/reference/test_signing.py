"""The signing algorithms themselves (GEN-1): SM3 and HMAC-SM3 against the published vectors on
both implementations, and the national gateway's x-tif signature."""

from __future__ import annotations

import hashlib
import re

import pytest

from reference import signing
from reference.paths import DOCS

# GB/T 32905-2016 Appendix A: "abc" and "abcd" × 16.
SM3_VECTORS = [
    (b"abc", "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"),
    (b"abcd" * 16, "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"),
]
# GM/T 0042-2015 Appendix D.3 (cases 1 and 2), and a 128-byte key, longer than SM3's block.
HMAC_SM3_VECTORS = [
    (bytes(range(1, 33)), b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq" * 2,
     "ca05e144ed05d1857840d1f318a4a8669e559fc8391f414485bfdf7bb408963a"),
    (bytes(range(1, 38)), b"\xcd" * 50, "220bf579ded555393f0159f66c99877822a3ecf610d1552154b41d44b94db3ae"),
    (bytes.fromhex("0123456789abcdef" * 16), b"abcd" * 31 + b"abc",
     "c74be7c36ee947bcb0af837a43a2fa9e38824ca8ab9837be4d76e7755202ca80"),
]
OPENSSL_SM3 = signing.sm3_backend() == "openssl"
BACKENDS = [pytest.param(signing.hmac_sm3_gmssl, id="gmssl"),
            pytest.param(signing.hmac_sm3_openssl, id="openssl",
                         marks=pytest.mark.skipif(not OPENSSL_SM3, reason="this OpenSSL has no SM3"))]


@pytest.mark.req("GEN-1")
@pytest.mark.parametrize(("message", "digest"), SM3_VECTORS)
def test_gmssl_sm3_matches_gb_t_32905(message, digest):
    assert signing._sm3_gmssl(message).hex() == digest
    if OPENSSL_SM3:
        assert hashlib.new("sm3", message).hexdigest() == digest


@pytest.mark.req("GEN-1")
@pytest.mark.parametrize("hmac_sm3", BACKENDS)
@pytest.mark.parametrize(("key", "message", "mac"), HMAC_SM3_VECTORS)
def test_hmac_sm3_matches_gm_t_0042(hmac_sm3, key, message, mac):
    assert hmac_sm3(key, message).hex() == mac


@pytest.mark.req("GEN-1")
def test_body_signature_algorithms_differ_and_unknown_ones_are_refused():
    args = ("secret", "1714962600", "Zq3v9XbT2kLm8Npw", b"{}")
    sha, sm3 = signing.signature(*args), signing.signature(*args, alg=signing.ALG_SM3)
    assert len(sha) == len(sm3) == 64 and sha != sm3
    assert sm3 == signing.hmac_sm3(b"secret", b"1714962600\nZq3v9XbT2kLm8Npw\n{}").hex()
    assert signing.verify(*args, sm3.upper(), alg=signing.ALG_SM3)
    assert not signing.verify(*args, sm3, alg=signing.ALG_SHA256)
    with pytest.raises(ValueError):
        signing.signature(*args, alg="HMAC-MD5")


@pytest.mark.req("GEN-1")
def test_x_tif_signature_is_sha256_of_timestamp_token_nonce_timestamp():
    expected = hashlib.sha256(b"1714962600" + b"token" + b"Zq3v9XbT" + b"1714962600").hexdigest()
    assert signing.tif_signature("token", "1714962600", "Zq3v9XbT") == expected
    assert signing.tif_verify("token", "1714962600", "Zq3v9XbT", expected.upper())
    assert not signing.tif_verify("token", "1714962601", "Zq3v9XbT", expected)
    assert not signing.tif_verify("token", "1714962600", "Zq3v9XbT", "é" * 64)  # non-ASCII: no TypeError
    headers = signing.tif_headers("H41010200001", "token", now=1714962600.7)
    assert headers[signing.TIF_TIMESTAMP] == "1714962600"
    assert signing.TIF_NONCE_RE.match(headers[signing.TIF_NONCE])


def _page_value(page: str, label: str) -> str:
    match = re.search(rf"^- \*\*{re.escape(label)}\*\*: `([^`]+)`", page, re.M)
    assert match, f"signing.md has no '- **{label}**: `…`' line"
    return match.group(1)


@pytest.mark.req("GEN-1")
def test_signing_page_sm3_and_x_tif_examples_match_reference_signing():
    page = (DOCS / "interface" / "signing.md").read_text(encoding="utf-8")
    body = re.search(r"^- \*\*body\*\*.*?```json\n(.*?)\n```", page, re.S | re.M).group(1).encode()
    secret, ts, nonce = (_page_value(page, k) for k in ("secret", "X-SM-Timestamp", "X-SM-Nonce"))
    assert _page_value(page, "X-SM-Signature (HMAC-SM3)") == signing.signature(secret, ts, nonce, body,
                                                                               alg=signing.ALG_SM3)
    assert _page_value(page, "x-tif-signature") == signing.tif_signature(secret, ts, nonce)
    assert f"printf '%s' {ts}{secret}{nonce}{ts} | openssl dgst -sha256" in page
    assert signing.TIF_WARNING in " ".join(page.replace("\n> ", " ").split())  # the warning, word for word
