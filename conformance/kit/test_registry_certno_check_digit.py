"""Resident ID numbers are validated by their GB 11643 check digit."""

import pytest

from conformance.kit.support import expect_error, expect_ok, send


def _wrong_check(certno: str) -> str:
    check = "10X98765432"
    return certno[:17] + check[(check.index(certno[17]) + 1) % 11]


@pytest.mark.req("RULE-9", "GEN-5")
def test_certno_with_bad_check_digit_is_refused_with_1001(world):
    """Registering a person (8001) whose ID number has a wrong check digit is refused with
    1001 (HTTP 422) naming `input.certno`; the same person with the right digit is accepted
    and gender and birth date are derived from the number."""
    client = world.inst_a.client
    inp = world.person_input()
    good = inp["certno"]
    expect_error(send(client, client.envelope("8001", {**inp, "certno": _wrong_check(good)})), 1001,
                 field="input.certno")
    out = expect_ok(send(client, client.envelope("8001", inp)))
    assert out.get("certno") == good, out
    assert out.get("brdy") == f"{good[6:10]}-{good[10:12]}-{good[12:14]}", out
    assert out.get("gend") == ("1" if int(good[16]) % 2 else "2"), out
