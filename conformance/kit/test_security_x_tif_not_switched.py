"""A sender not switched to the x-tif headers cannot sign with them."""

import pytest

from conformance.kit.support import body_of, expect_error, post
from reference import signing


@pytest.mark.req("GEN-1")
def test_x_tif_headers_of_a_sender_not_switched_are_refused_with_2001(world):
    """Institution A, never switched by 8016, sends a ping with correct x-tif headers (its
    secret as the token): refused with 2001 (HTTP 401), err_field x-tif-paasid — the mode is off
    by default."""
    a = world.inst_a
    tif = world.client(a.sender, a.secret, a.fixmedins_code, signing=signing.MODE_TIF)
    body = body_of(tif.envelope("8000", {}))
    expect_error(post(tif, "8000", body, tif.sign(body)), 2001, signing.TIF_PAASID)
