"""A request envelope without a required field is refused, naming the field."""

import pytest

from conformance.kit.support import body_of, expect_error, post


@pytest.mark.req("GEN-2")
@pytest.mark.parametrize("missing", ["msgid", "inf_time", "opter"])
def test_missing_envelope_field_is_refused_with_1001(world, missing):
    """An envelope that lacks `msgid`, `inf_time` or `opter` is refused with 1001 (HTTP 422)
    and err_field names the missing field."""
    client = world.inst_a.client
    env = client.envelope("8000", {})
    del env[missing]
    expect_error(post(client, "8000", body_of(env)), 1001, field=missing)
