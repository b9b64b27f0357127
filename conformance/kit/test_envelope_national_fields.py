"""The request envelope takes every field of the national platform's envelope."""

import pytest

from conformance.kit.support import expect_ok, send

# Every national envelope field besides infno, msgid, opter*, inf_time, fixmedins_code and input,
# filled the way deployed HIS clients fill them ("" for what they do not use).
NATIONAL = {"mdtrtarea_admvs": "410100", "insuplc_admdvs": "410100", "recer_sys_code": "FSI_LOCAL",
            "dev_no": "", "dev_safe_info": "", "cainfo": "", "signtype": "SM2", "infver": "V1.0",
            "fixmedins_name": "测试医院", "sign_no": ""}


@pytest.mark.req("GEN-2")
def test_envelope_with_every_national_field_is_accepted(world):
    """A ping (8000) whose envelope carries recer_sys_code, dev_no, dev_safe_info, cainfo,
    signtype, infver, the areas, fixmedins_name and an empty sign_no succeeds without a warning;
    dev_safe_info may hold 2000 characters and cainfo 1024, the national lengths."""
    client = world.inst_a.client
    env = client.envelope("8000", {})
    env.update(NATIONAL)
    ans = send(client, env)
    expect_ok(ans)
    assert ans.envelope.get("warn_msg") is None, f"national fields are known fields: {ans.envelope}"
    env = client.envelope("8000", {})
    env.update(NATIONAL, dev_safe_info="D" * 2000, cainfo="C" * 1024, dev_no="N" * 100)
    expect_ok(send(client, env))
