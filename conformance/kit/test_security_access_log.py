"""Every read of a person's data is audited (访问留痕)."""

import pytest

from conformance.kit.support import expect_ok, send


@pytest.mark.req("GEN-5")
def test_person_read_appears_in_access_log(world, bureau):
    """After institution A reads a person (8002), the access log (8902) lists that read: the
    reader, the transaction 8002, the request's msgid and the action `read`."""
    person = world.new_person()
    client = world.inst_a.client
    env = client.envelope("8002", {"psn_no": person.psn_no})
    out = expect_ok(send(client, env))
    assert out.get("psn_no") == person.psn_no and out.get("certno") == person.certno, out
    log = expect_ok(send(bureau, bureau.envelope("8902", {"psn_no": person.psn_no})))
    entries = log.get("entries") or []
    reads = [e for e in entries if e.get("msgid") == env["msgid"]]
    assert reads, f"no access-log entry for the 8002 read (msgid {env['msgid']}): {entries}"
    entry = reads[0]
    assert entry.get("principal_id") == world.inst_a.sender, entry
    assert entry.get("infno") == "8002" and entry.get("action") == "read", entry
    assert entry.get("psn_no") == person.psn_no, entry
