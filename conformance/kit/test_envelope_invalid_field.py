"""A malformed envelope field is refused, naming the field."""

import pytest

from conformance.kit.support import body_of, expect_error, post


@pytest.mark.req("GEN-2")
@pytest.mark.parametrize(("field", "value"), [
    ("inf_time", "2026/01/05 08:00"),   # must be yyyy-MM-dd HH:mm:ss
    ("msgid", "has spaces/and.dots"),   # must be [A-Za-z0-9_-]
    ("opter_type", "7"),                # code table opter_type: 1, 2 or 3
], ids=["inf_time", "msgid", "opter_type"])
def test_malformed_envelope_field_is_refused_with_1001(world, field, value):
    """An envelope whose `inf_time`, `msgid` or `opter_type` breaks its format is refused with
    1001 (HTTP 422) and err_field names that field."""
    client = world.inst_a.client
    env = client.envelope("8000", {})
    env[field] = value
    expect_error(post(client, "8000", body_of(env)), 1001, field=field)
