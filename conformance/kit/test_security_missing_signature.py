"""A request without signature headers is refused."""

import pytest

from conformance.kit.support import body_of, expect_error, post


@pytest.mark.req("GEN-1", "GEN-5")
def test_unsigned_request_is_refused_with_2001(world):
    """A ping sent with no X-SM-* signature headers is refused with 2001 (HTTP 401)."""
    client = world.inst_a.client
    expect_error(post(client, "8000", body_of(client.envelope("8000", {})), headers={}), 2001)


@pytest.mark.req("GEN-1", "GEN-5")
def test_unknown_sender_is_refused_with_2001(world):
    """A correctly formed signature from a sender id the server does not know is refused with
    2001 (HTTP 401)."""
    client = world.client(f"CK{world.tag}NOBODY", "not-a-real-secret", world.inst_a.fixmedins_code)
    expect_error(post(client, "8000", body_of(client.envelope("8000", {}))), 2001)
