"""Resident ID numbers (GB 11643): the check digit is validated."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reference.idcard import CertnoError, gender, make_certno, validate_certno

areas = st.from_regex(r"^[1-8]\d{5}$", fullmatch=True)
births = st.dates(min_value=date(1900, 1, 1), max_value=date(2025, 12, 31))


def test_known_numbers():
    # the GB 11643 standard's own example, and a number ending in X
    assert validate_certno("11010519491231002X") == "11010519491231002X"
    assert validate_certno("11010519491231002x") == "11010519491231002X"
    assert gender("11010519491231002X") == "2"


@given(areas, births, st.integers(0, 999))
def test_built_numbers_validate(area, born, seq):
    assert validate_certno(make_certno(area, born, seq))


@given(areas, births, st.integers(0, 999), st.integers(0, 16), st.integers(1, 9))
def test_any_single_digit_change_is_caught(area, born, seq, pos, delta):
    good = make_certno(area, born, seq)
    digit = (int(good[pos]) + delta) % 10
    bad = good[:pos] + str(digit) + good[pos + 1:]
    with pytest.raises(CertnoError):
        validate_certno(bad)


@pytest.mark.parametrize(
    ("value", "why"),
    [("1234", "18 characters"), ("11010519491331002X", "birth date"),
     ("110105194912310021", "check digit"), ("X10105194912310021", "18 characters")],
)
def test_invalid_numbers_say_why(value, why):
    with pytest.raises(CertnoError, match=why):
        validate_certno(value)
