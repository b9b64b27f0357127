"""A successful answer is a complete response envelope (出参报文)."""

import pytest

from conformance.kit.support import expect_ok, send


@pytest.mark.req("GEN-2")
def test_success_answer_is_a_complete_envelope(world):
    """A ping (8000) is answered with infcode 0, the request's msgid echoed, the server's own
    message id, the receive and answer times, and an output naming the sender and its role."""
    client = world.inst_a.client
    env = client.envelope("8000", {})
    ans = send(client, env)
    out = expect_ok(ans)
    for key in ("inf_refmsgid", "refmsg_time", "respond_time"):
        assert ans.envelope.get(key), f"the response envelope must carry {key}: {ans.envelope}"
    assert ans.envelope.get("msgid") == env["msgid"], "the response must echo the request's msgid"
    assert out.get("sender") == world.inst_a.sender and out.get("role") == "institution", out
    assert out.get("business_time"), "8000 must report the server's business time"
