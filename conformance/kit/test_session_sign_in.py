"""9001 sign-in (签到) and 9002 sign-out (签退) in the national shape."""

import pytest

from conformance.kit.support import expect_error, expect_ok, send

SIGN_IN = {"signIn": {"opter_no": "K001", "mac": "00-1A-2B-3C-4D-5E", "ip": "10.0.0.7"}}


@pytest.mark.req("GEN-2")
def test_sign_in_returns_sign_no_and_sign_out_closes_it(world):
    """9001 answers output.signinoutb with a sign_no of at most 30 characters and a sign_time
    yyyy-MM-dd HH:mm:ss; 9002 with that sign_no and operator answers output.signoutoutb.sign_time;
    signing the same session out again is refused with 3004 naming input.signOut.sign_no."""
    client = world.inst_a.client
    out = expect_ok(send(client, client.envelope("9001", SIGN_IN)))
    result = out.get("signinoutb") or {}
    sign_no = result.get("sign_no")
    assert isinstance(sign_no, str) and 0 < len(sign_no) <= 30, f"signinoutb.sign_no: {out}"
    assert len(result.get("sign_time", "")) == 19, f"signinoutb.sign_time must be yyyy-MM-dd HH:mm:ss: {out}"
    sign_out = {"signOut": {"sign_no": sign_no, "opter_no": "K001"}}
    out = expect_ok(send(client, client.envelope("9002", sign_out)))
    assert len((out.get("signoutoutb") or {}).get("sign_time", "")) == 19, f"signoutoutb.sign_time: {out}"
    expect_error(send(client, client.envelope("9002", sign_out)), 3004, field="input.signOut.sign_no")
