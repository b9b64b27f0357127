"""Resident ID numbers (GB 11643): the check digit, the province and the birth date are validated."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reference.idcard import PROVINCES, CertnoError, gender, make_certno, validate_certno

areas = st.tuples(st.sampled_from(sorted(PROVINCES)), st.from_regex(r"^[0-9]{4}$", fullmatch=True)).map("".join)
births = st.dates(min_value=date(1900, 1, 1), max_value=date(2025, 12, 31))
TODAY = date(2026, 3, 2)


def test_known_numbers():
    # the GB 11643 standard's own example, and a number ending in X
    assert validate_certno("11010519491231002X") == "11010519491231002X"
    assert validate_certno("11010519491231002x") == "11010519491231002X"
    assert gender("11010519491231002X") == "2"


@given(areas, births, st.integers(0, 999))
def test_built_numbers_validate(area, born, seq):
    assert validate_certno(make_certno(area, born, seq), today=TODAY)


@given(areas, births, st.integers(0, 999), st.integers(0, 16), st.integers(1, 9))
def test_any_single_digit_change_is_caught(area, born, seq, pos, delta):
    good = make_certno(area, born, seq)
    digit = (int(good[pos]) + delta) % 10
    bad = good[:pos] + str(digit) + good[pos + 1:]
    with pytest.raises(CertnoError):
        validate_certno(bad, today=TODAY)


@pytest.mark.parametrize(
    ("value", "why"),
    [("1234", "18 characters"), ("11010519491331002X", "birth date"),
     ("110105194912310021", "check digit"), ("X10105194912310021", "18 characters")],
)
def test_invalid_numbers_say_why(value, why):
    with pytest.raises(CertnoError, match=why):
        validate_certno(value)


@pytest.mark.req("RULE-9")
@pytest.mark.parametrize(
    ("area", "born", "why"),
    [("410102", date(2090, 1, 1), "in the future"), ("410102", date(2026, 3, 3), "in the future"),
     ("410102", date(1895, 12, 31), "more than 130 years ago"), ("000000", date(1980, 1, 1), "names no province"),
     ("990102", date(1980, 1, 1), "names no province"), ("200102", date(1980, 1, 1), "names no province")],
)
def test_a_number_with_a_valid_check_digit_but_an_impossible_birth_or_province_is_refused(area, born, why):
    with pytest.raises(CertnoError, match=why):
        validate_certno(make_certno(area, born, 1), today=TODAY)


@pytest.mark.req("RULE-9")
def test_born_today_or_130_years_ago_is_accepted_and_every_province_is_known():
    assert validate_certno(make_certno("410102", TODAY, 1), today=TODAY)
    assert validate_certno(make_certno("410102", date(1896, 1, 1), 1), today=TODAY)
    for province in ("11", "41", "65", "71", "81", "82", "83"):
        assert validate_certno(make_certno(province + "0102", date(1980, 1, 1), 1), today=TODAY)


def test_unicode_digits_are_not_digits():
    good = make_certno("410102", date(1980, 1, 1), 1)
    with pytest.raises(CertnoError, match="18 characters"):
        validate_certno(good.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")), today=TODAY)
