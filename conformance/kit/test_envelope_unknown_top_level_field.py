"""An unknown top-level envelope field is a local extension: reported, not refused."""

import pytest

from conformance.kit.support import expect_ok, send


@pytest.mark.req("GEN-2")
def test_unknown_top_level_field_succeeds_with_warn_msg_naming_it(world):
    """A ping (8000) whose envelope carries a field the national envelope does not define
    (`idfi_mode`, which some deployed clients add) succeeds; warn_msg names the field and the
    answer never repeats its value."""
    client = world.inst_a.client
    env = client.envelope("8000", {})
    env["idfi_mode"] = "kit-local-value-7f3a"
    ans = send(client, env)
    expect_ok(ans)
    assert "idfi_mode" in (ans.envelope.get("warn_msg") or ""), f"warn_msg must name the field: {ans.envelope}"
    assert "kit-local-value-7f3a" not in ans.envelope.get("warn_msg", ""), "the value must not be echoed"
