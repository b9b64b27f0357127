"""Concurrent retries of one message have one effect."""

import threading

import httpx
import pytest

from conformance.kit.support import Answer, body_of, expect_ok, send

RETRIES = 8


@pytest.mark.req("GEN-2", "GEN-5")
def test_concurrent_retries_get_one_answer_and_one_effect(world, bureau, config):
    """Eight copies of one person registration (8001, same msgid and body, each signed with
    its own nonce) sent at the same moment all get the same successful answer, and the person
    is written once."""
    inst = world.inst_a
    inp = world.person_input()
    body = body_of(inst.client.envelope("8001", inp))
    barrier = threading.Barrier(RETRIES)
    answers: list[Answer | BaseException] = [None] * RETRIES  # type: ignore[list-item]

    def fire(i: int) -> None:
        with httpx.Client(timeout=config.timeout_s) as http:
            client = world.client(inst.sender, inst.secret, inst.fixmedins_code, http=http)
            try:
                barrier.wait(timeout=30)
                answers[i] = Answer(client.post_raw("8001", body))
            except BaseException as exc:  # reported below with the others
                answers[i] = exc

    threads = [threading.Thread(target=fire, args=(i,)) for i in range(RETRIES)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(config.timeout_s + 30)
    errors = [a for a in answers if not isinstance(a, Answer)]
    assert not errors, f"{len(errors)} of {RETRIES} requests failed: {errors[:3]}"
    first = answers[0]
    assert isinstance(first, Answer)
    expect_ok(first)
    for a in answers[1:]:
        assert isinstance(a, Answer)
        assert (a.status, a.envelope) == (first.status, first.envelope), (
            f"concurrent retries got different answers:\n{first.envelope}\n{a.envelope}"
        )
    log = expect_ok(send(bureau, bureau.envelope("8902", {"psn_no": inp["psn_no"]})))
    writes = [e for e in log.get("entries") or [] if e.get("infno") == "8001"]
    assert len(writes) == 1, f"the person was written {len(writes)} times: {writes}"
