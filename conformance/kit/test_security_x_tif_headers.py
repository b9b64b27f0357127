"""The national gateway's x-tif headers work only for a sender switched to them, and always warn."""

import pytest

from conformance.kit.support import body_of, expect_error, expect_ok, post
from reference import signing


@pytest.mark.req("GEN-2", "GEN-1")
def test_x_tif_headers_of_a_switched_sender_are_accepted_with_a_warning(world, bureau):
    """After the city bureau switches institution B to the x-tif headers (8016), a ping signed
    with x-tif-paasid/-timestamp/-nonce/-signature = SHA-256(timestamp + secret + nonce + timestamp)
    succeeds, and its warn_msg says that the body was not signed; reusing those headers is refused
    with 2004 (err_field x-tif-nonce)."""
    b = world.inst_b
    bureau.registry.signing_mode(sender=b.sender, x_tif_enabled=True)
    tif = world.client(b.sender, b.secret, b.fixmedins_code, signing=signing.MODE_TIF)
    body = body_of(tif.envelope("8000", {}))
    headers = tif.sign(body)
    ans = post(tif, "8000", body, headers)
    expect_ok(ans)
    assert "body is not signed" in (ans.envelope.get("warn_msg") or ""), f"no body-not-signed warning: {ans!r}"
    expect_error(post(tif, "8000", body_of(tif.envelope("8000", {})), headers), 2004, signing.TIF_NONCE)
