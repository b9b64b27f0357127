"""A captured request cannot be replayed."""

import pytest

from conformance.kit.support import body_of, expect_error, expect_ok, post, signed_headers


@pytest.mark.req("GEN-5")
def test_identical_request_sent_twice_is_refused_with_2004(world):
    """The same ping sent twice with identical headers and body (same nonce) succeeds once;
    the replay is refused with 2004 (HTTP 401)."""
    client = world.inst_a.client
    body = body_of(client.envelope("8000", {}))
    headers = signed_headers(client, body)
    expect_ok(post(client, "8000", body, headers))
    expect_error(post(client, "8000", body, headers), 2004)
