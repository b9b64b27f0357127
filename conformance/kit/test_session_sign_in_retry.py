"""A retried sign-in is the same sign-in."""

import pytest

from conformance.kit.support import expect_ok, send

SIGN_IN = {"signIn": {"opter_no": "K003", "mac": "00-1A-2B-3C-4D-60", "ip": "10.0.0.9"}}


@pytest.mark.req("GEN-2")
def test_retried_sign_in_returns_the_same_sign_no(world):
    """9001 sent twice with the same msgid and body (a retry) answers the same sign_no; a new
    msgid opens a new session with another sign_no."""
    client = world.inst_a.client
    env = client.envelope("9001", SIGN_IN)
    first = expect_ok(send(client, env))["signinoutb"]["sign_no"]
    again = expect_ok(send(client, env))["signinoutb"]["sign_no"]
    assert again == first, f"a retry must get the original answer: {first} then {again}"
    other = expect_ok(send(client, client.envelope("9001", SIGN_IN)))["signinoutb"]["sign_no"]
    assert other != first, "a new message is a new sign-in"
