"""A request signed too long ago is refused."""

import time

import pytest

from conformance.kit.support import body_of, expect_error, post, signed_headers


@pytest.mark.req("GEN-5")
def test_timestamp_one_hour_old_is_refused_with_2003(world):
    """A correctly signed ping whose X-SM-Timestamp is one hour in the past (far outside the
    allowed clock skew, default 300 s) is refused with 2003 (HTTP 401)."""
    client = world.inst_a.client
    body = body_of(client.envelope("8000", {}))
    headers = signed_headers(client, body, at=time.time() - 3600)
    expect_error(post(client, "8000", body, headers), 2003)
