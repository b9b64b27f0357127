"""HMAC-SM3 is a second body-signing algorithm."""

import pytest

from conformance.kit.support import body_of, expect_error, expect_ok, post
from reference import signing


@pytest.mark.req("GEN-1", "GEN-2")
def test_hmac_sm3_signature_is_accepted_and_a_wrong_one_refused_with_2002(world):
    """A ping from institution A signed with HMAC-SM3 (X-SM-Signature-Alg: HMAC-SM3) succeeds;
    the same ping signed with HMAC-SM3 under institution B's secret is refused with 2002."""
    a = world.inst_a
    sm3 = world.client(a.sender, a.secret, a.fixmedins_code, signing=signing.ALG_SM3)
    body = body_of(sm3.envelope("8000", {}))
    expect_ok(post(sm3, "8000", body, sm3.sign(body)))
    other = body_of(sm3.envelope("8000", {}))
    wrong = signing.sign_headers(a.sender, world.inst_b.secret, other, alg=signing.ALG_SM3)
    expect_error(post(sm3, "8000", other, wrong), 2002, signing.HEADER_SIGNATURE)
