"""A retried message (same msgid) has one effect and gets the original answer (幂等)."""

import pytest

from conformance.kit.support import body_of, expect_error, expect_ok, post, send


@pytest.mark.req("GEN-2", "GEN-5")
def test_retry_with_same_msgid_returns_the_identical_answer(world, bureau):
    """Registering a person (8001) and re-sending the same body (same msgid, re-signed with a
    new nonce) returns the identical response envelope; the person exists once, and the
    retry is not a second write in the access log."""
    client = world.inst_a.client
    inp = world.person_input()
    body = body_of(client.envelope("8001", inp))
    first = post(client, "8001", body)
    out = expect_ok(first)
    assert out.get("psn_no") == inp["psn_no"], out
    second = post(client, "8001", body)
    assert second.status == first.status, f"retry answered HTTP {second.status}, first {first.status}"
    assert second.envelope == first.envelope, (
        f"a retry must get the original answer:\nfirst:  {first.envelope}\nsecond: {second.envelope}"
    )
    found = expect_ok(send(client, client.envelope("8002", {"certno": inp["certno"], "psn_name": inp["psn_name"]})))
    assert found.get("psn_no") == inp["psn_no"], found
    log = expect_ok(send(bureau, bureau.envelope("8902", {"psn_no": inp["psn_no"]})))
    writes = [e for e in log.get("entries") or [] if e.get("infno") == "8001"]
    assert len(writes) == 1, f"the person was written {len(writes)} times: {writes}"


@pytest.mark.req("GEN-5")
def test_same_person_with_new_msgid_is_refused_with_3002(world):
    """Registering the same person again under a new msgid is a new request and is refused
    with 3002 conflict (HTTP 409)."""
    client = world.inst_a.client
    inp = world.person_input()
    expect_ok(send(client, client.envelope("8001", inp)))
    expect_error(send(client, client.envelope("8001", inp)), 3002)
