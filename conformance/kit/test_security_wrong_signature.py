"""A request whose signature does not match is refused."""

import pytest

from conformance.kit.support import body_of, expect_error, post, signed_headers


@pytest.mark.req("GEN-1", "GEN-5")
def test_signature_with_wrong_secret_is_refused_with_2002(world):
    """A ping from institution A signed with a secret that is not A's is refused with 2002
    (HTTP 401)."""
    client = world.inst_a.client
    body = body_of(client.envelope("8000", {}))
    headers = signed_headers(client, body, secret=world.inst_b.secret)
    expect_error(post(client, "8000", body, headers), 2002)


@pytest.mark.req("GEN-1", "GEN-5")
def test_body_changed_after_signing_is_refused_with_2002(world):
    """A ping whose body was changed after it was signed (the signature covers the exact
    bytes) is refused with 2002 (HTTP 401)."""
    client = world.inst_a.client
    env = client.envelope("8000", {})
    headers = signed_headers(client, body_of(env))
    env["opter_name"] = "篡改"
    expect_error(post(client, "8000", body_of(env), headers), 2002)
