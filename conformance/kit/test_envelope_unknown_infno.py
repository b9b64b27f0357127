"""An unknown transaction number is refused."""

import pytest

from conformance.kit.support import expect_error, send


@pytest.mark.req("GEN-2")
def test_unknown_infno_is_refused_with_1003(world):
    """A well-formed, signed envelope for transaction 0999, which does not exist, is refused
    with 1003 (HTTP 404)."""
    client = world.inst_a.client
    expect_error(send(client, client.envelope("0999", {})), 1003)
