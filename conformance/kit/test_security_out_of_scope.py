"""An institution sees only its own data (数据权限)."""

import pytest

from conformance.kit.support import expect_error, expect_ok, send


@pytest.mark.req("GEN-1", "GEN-5")
def test_institution_cannot_read_another_institution_with_2006(world):
    """Institution A may query itself (1203) but querying institution B is refused with 2006
    (HTTP 403) naming `input.fixmedins_code`."""
    client = world.inst_a.client
    own = expect_ok(send(client, client.envelope("1203", {"fixmedins_code": world.inst_a.fixmedins_code})))
    assert own.get("fixmedins_code") == world.inst_a.fixmedins_code, own
    assert not own.get("secret"), "a query must never return the signing secret"
    ans = send(client, client.envelope("1203", {"fixmedins_code": world.inst_b.fixmedins_code}))
    expect_error(ans, 2006, field="input.fixmedins_code")


@pytest.mark.req("GEN-1", "GEN-5")
def test_institution_cannot_act_as_another_institution_with_2006(world):
    """An envelope signed by institution A but carrying institution B's code in
    `fixmedins_code` is refused with 2006 (HTTP 403) naming `fixmedins_code`."""
    client = world.inst_a.client
    env = client.envelope("1001", {})
    env["fixmedins_code"] = world.inst_b.fixmedins_code
    expect_error(send(client, env), 2006, field="fixmedins_code")
