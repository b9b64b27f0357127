"""A body that is not a JSON object is refused."""

import pytest

from conformance.kit.support import expect_error, post


@pytest.mark.req("GEN-2")
@pytest.mark.parametrize("body", [b'{"infno": "8000", "msgid": ', b"[1, 2, 3]"],
                         ids=["truncated-json", "json-array"])
def test_non_json_body_is_refused_with_1002(world, body):
    """A correctly signed body that is not JSON, or is JSON but not an object, is refused with
    1002 (HTTP 400)."""
    expect_error(post(world.inst_a.client, "8000", body), 1002)
