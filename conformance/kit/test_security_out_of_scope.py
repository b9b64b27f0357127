"""An institution sees only its own data (数据权限)."""

import pytest

from conformance.kit.support import expect_error, expect_ok, send


@pytest.mark.req("GEN-1", "GEN-5")
def test_another_institution_looks_like_no_institution(world):
    """Institution A may query itself (8013); querying institution B is refused exactly like
    querying an institution that does not exist: 3003 (HTTP 404) naming `input.fixmedins_code`,
    with the same message once the code is blanked (out of scope must not disclose)."""
    client = world.inst_a.client
    own = expect_ok(send(client, client.envelope("8013", {"fixmedins_code": world.inst_a.fixmedins_code})))
    assert own.get("fixmedins_code") == world.inst_a.fixmedins_code, own
    assert not own.get("secret"), "a query must never return the signing secret"
    ans = send(client, client.envelope("8013", {"fixmedins_code": world.inst_b.fixmedins_code}))
    expect_error(ans, 3003, field="input.fixmedins_code")
    absent_code = f"{world.inst_b.fixmedins_code}Z9"
    absent = send(client, client.envelope("8013", {"fixmedins_code": absent_code}))
    expect_error(absent, 3003, field="input.fixmedins_code")
    assert (ans.envelope["err_msg"].replace(world.inst_b.fixmedins_code, "<code>")
            == absent.envelope["err_msg"].replace(absent_code, "<code>")), (ans, absent)


@pytest.mark.req("GEN-1", "GEN-5")
def test_institution_cannot_act_as_another_institution_with_2006(world):
    """An envelope signed by institution A but carrying institution B's code in
    `fixmedins_code` is refused with 2006 (HTTP 403) naming `fixmedins_code`."""
    client = world.inst_a.client
    env = client.envelope("8000", {})
    env["fixmedins_code"] = world.inst_b.fixmedins_code
    expect_error(send(client, env), 2006, field="fixmedins_code")
