"""A body over the size limit is refused before it is processed."""

import pytest

from conformance.kit.support import body_of, expect_error, post


@pytest.mark.req("GEN-2")
def test_body_over_the_limit_is_refused_with_1004(world, config):
    """A signed, otherwise valid ping whose body is one byte over the configured limit
    (`max_body_bytes`, default 8 MiB) is refused with 1004 (HTTP 413)."""
    client = world.inst_a.client
    body = body_of(client.envelope("8000", {}))
    body += b" " * (config.max_body_bytes + 1 - len(body))  # trailing JSON whitespace
    assert len(body) == config.max_body_bytes + 1
    expect_error(post(client, "8000", body), 1004)
