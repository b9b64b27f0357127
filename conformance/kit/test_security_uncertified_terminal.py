"""Only certified terminals may talk to the server (终端准入)."""

import pytest

from conformance.kit.support import expect_error, expect_ok, send


@pytest.mark.req("GEN-6", "DEV-3")
def test_uncertified_terminal_is_refused_with_2007(world):
    """A terminal that is registered (8101) but whose certification no bureau has confirmed
    (8102) is refused with 2007 (HTTP 403), even for a ping; a certified terminal of the same
    institution is accepted."""
    client = world.uncertified.client
    expect_error(send(client, client.envelope("8000", {})), 2007)
    certified = world.terminal.client
    out = expect_ok(send(certified, certified.envelope("8000", {})))
    assert out.get("role") == "terminal", out
