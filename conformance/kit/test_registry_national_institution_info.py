"""1201 institution information (医药机构信息获取) answers in the national shape within the scope."""

import pytest

from conformance.kit.support import expect_error, expect_ok, send


def _query(code: str) -> dict:
    return {"medinsinfo": {"fixmedins_type": "1", "fixmedins_name": "", "fixmedins_code": code}}


@pytest.mark.req("GEN-1")
def test_institution_information_answers_own_record_and_hides_others(world):
    """Institution A's 1201 for its own code answers `output.medinsinfo` as a list holding exactly
    its record (fixmedins_code, fixmedins_name, fixmedins_type "1" and the uscc and hosp_lv
    fields); institution B's code is refused exactly like a code nobody has: 3003 (HTTP 404)
    naming `input.medinsinfo.fixmedins_code`, the same message once the codes are blanked."""
    client = world.inst_a.client
    own = expect_ok(send(client, client.envelope("1201", _query(world.inst_a.fixmedins_code))))
    found = own.get("medinsinfo")
    assert isinstance(found, list) and len(found) == 1, own
    assert found[0].get("fixmedins_code") == world.inst_a.fixmedins_code and found[0].get("fixmedins_type") == "1"
    assert {"fixmedins_name", "uscc", "hosp_lv"} <= found[0].keys(), found[0]
    other = send(client, client.envelope("1201", _query(world.inst_b.fixmedins_code)))
    expect_error(other, 3003, field="input.medinsinfo.fixmedins_code")
    absent_code = f"{world.inst_b.fixmedins_code}Z9"
    absent = send(client, client.envelope("1201", _query(absent_code)))
    expect_error(absent, 3003, field="input.medinsinfo.fixmedins_code")
    assert (other.envelope["err_msg"].replace(world.inst_b.fixmedins_code, "<code>")
            == absent.envelope["err_msg"].replace(absent_code, "<code>")), (other, absent)
