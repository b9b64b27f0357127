"""Unknown input fields are refused, not silently dropped."""

import pytest

from conformance.kit.support import expect_error, send


@pytest.mark.req("GEN-2", "RULE-9")
def test_unknown_input_field_is_refused_with_1001(world):
    """A ping (8000) whose input carries a field the transaction does not define is refused
    with 1001 (HTTP 422) and err_field `input.<that field>`."""
    client = world.inst_a.client
    env = client.envelope("8000", {"no_such_field": 1})
    expect_error(send(client, env), 1001, field="input.no_such_field")
