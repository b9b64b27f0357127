"""A msgid cannot be reused for a different message."""

import pytest

from conformance.kit.support import expect_error, expect_ok, send


@pytest.mark.req("GEN-2", "GEN-5")
def test_same_msgid_with_different_body_is_refused_with_3001(world):
    """A second message that reuses an earlier msgid of the same sender but has a different
    body is refused with 3001 (HTTP 409) naming `msgid`, and has no effect."""
    client = world.inst_a.client
    first = world.person_input()
    env = client.envelope("8001", first)
    expect_ok(send(client, env))
    other = world.person_input()
    env2 = client.envelope("8001", other, msgid=env["msgid"])
    expect_error(send(client, env2), 3001, field="msgid")
    ans = send(client, client.envelope("8002", {"psn_no": other["psn_no"]}))
    assert ans.infcode == 3003, f"the refused message must have no effect, but 8002 found: {ans!r}"
