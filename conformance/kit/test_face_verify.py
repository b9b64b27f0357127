"""1:1 face verification (人脸核验) against the enrolled template."""

import pytest

from conformance.kit.support import expect_error, expect_ok, send


def _verify(world, psn_no: str, capture: dict) -> dict:
    term = world.terminal.client
    return expect_ok(send(term, term.envelope("8122", {"psn_no": psn_no, "scene": "inpatient",
                                                       "capture": capture})))


@pytest.mark.req("HD-1", "INP-3", "DEV-1")
def test_enrolled_person_passes_and_another_person_fails(world, faces):
    """After a person is enrolled (8121) on a certified terminal, a new capture of the same
    person verifies (8122) as passed; a capture of someone else does not pass."""
    person = world.new_person()
    term = world.terminal.client
    enrolled = expect_ok(send(term, term.envelope("8121", {"psn_no": person.psn_no,
                                                           "capture": faces.capture(person.psn_no)})))
    assert enrolled.get("template_id") is not None, enrolled
    same = _verify(world, person.psn_no, faces.capture(person.psn_no))
    assert same.get("passed") is True and same.get("matched") is True, f"genuine capture must pass: {same}"
    other = _verify(world, person.psn_no, faces.capture(f"someone-else-{person.psn_no}"))
    assert other.get("passed") is False and other.get("matched") is False, f"impostor must fail: {other}"


@pytest.mark.req("PH-3", "DEV-1")
def test_failed_liveness_does_not_pass(world, faces):
    """A capture of the enrolled person whose liveness check (活体检测) failed does not pass
    verification (8122), even though the face matches."""
    person = world.new_person()
    term = world.terminal.client
    expect_ok(send(term, term.envelope("8121", {"psn_no": person.psn_no, "capture": faces.capture(person.psn_no)})))
    out = _verify(world, person.psn_no, faces.capture(person.psn_no, live=False))
    assert out.get("passed") is False, f"a failed liveness check must not pass: {out}"
    assert out.get("liveness_passed") is False, out


@pytest.mark.req("HD-1")
def test_verify_without_template_is_refused_with_5003(world, faces):
    """Verifying (8122) a registered person who was never enrolled is refused with 5003
    (HTTP 404): there is no template to compare with."""
    person = world.new_person()
    term = world.terminal.client
    ans = send(term, term.envelope("8122", {"psn_no": person.psn_no, "scene": "inpatient",
                                            "capture": faces.capture(person.psn_no)}))
    expect_error(ans, 5003)


@pytest.mark.req("HD-1", "DEV-1")
def test_embedding_b64_verifies_like_the_list_and_bad_blobs_are_refused(world, faces):
    """A capture may carry its embedding as `embedding_b64` (base64 of little-endian float32):
    enrolled with a JSON list, the same person verifies (8122) with a blob, another person does
    not; a blob that is not whole float32 values is refused with 1001 naming the field."""
    person = world.new_person()
    term = world.terminal.client
    expect_ok(send(term, term.envelope("8121", {"psn_no": person.psn_no, "capture": faces.capture(person.psn_no)})))
    same = _verify(world, person.psn_no, faces.capture(person.psn_no, blob=True))
    assert same.get("passed") is True, f"genuine capture as embedding_b64 must pass: {same}"
    other = _verify(world, person.psn_no, faces.capture(f"someone-else-{person.psn_no}", blob=True))
    assert other.get("passed") is False, f"impostor as embedding_b64 must fail: {other}"
    bad = faces.capture(person.psn_no, blob=True)
    bad["embedding_b64"] = "AAAAAAAA" * 100 + "AAA="  # 602 bytes: not whole float32 values
    ans = send(term, term.envelope("8122", {"psn_no": person.psn_no, "scene": "inpatient", "capture": bad}))
    expect_error(ans, 1001, "input.capture.embedding_b64")
