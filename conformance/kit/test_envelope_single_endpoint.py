"""The platform's single endpoint /tx routes by the envelope's infno."""

import pytest

from conformance.kit.support import body_of, expect_error, expect_ok, post


@pytest.mark.req("GEN-2")
def test_single_endpoint_routes_by_infno(world):
    """POST /tx with a ping envelope (infno 8000) is answered like POST /tx/8000."""
    client = world.inst_a.client
    out = expect_ok(post(client, None, body_of(client.envelope("8000", {}))))
    assert out.get("sender") == world.inst_a.sender, out


@pytest.mark.req("GEN-2")
def test_url_and_envelope_infno_must_agree(world):
    """POST /tx/8002 with an envelope whose infno is 8000 is refused with 1001 naming `infno`."""
    client = world.inst_a.client
    expect_error(post(client, "8002", body_of(client.envelope("8000", {}))), 1001, field="infno")
