"""A sign-in belongs to the sender that made it."""

import pytest

from conformance.kit.support import expect_error, expect_ok, send

SIGN_IN = {"signIn": {"opter_no": "K002", "mac": "00-1A-2B-3C-4D-5F", "ip": "10.0.0.8"}}


@pytest.mark.req("GEN-1", "GEN-2")
def test_another_senders_sign_no_is_answered_like_an_absent_one(world):
    """Institution B signing out institution A's session gets 3003 (not found), as for a sign_no
    that never existed; A's session stays live (A can still sign it out)."""
    a, b = world.inst_a.client, world.inst_b.client
    sign_no = expect_ok(send(a, a.envelope("9001", SIGN_IN)))["signinoutb"]["sign_no"]
    theirs = {"signOut": {"sign_no": sign_no, "opter_no": "K002"}}
    expect_error(send(b, b.envelope("9002", theirs)), 3003, field="input.signOut.sign_no")
    absent = {"signOut": {"sign_no": "0" * 30, "opter_no": "K002"}}
    expect_error(send(b, b.envelope("9002", absent)), 3003, field="input.signOut.sign_no")
    expect_ok(send(a, a.envelope("9002", theirs)))
