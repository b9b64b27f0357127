"""Resident identity card numbers (公民身份号码, GB 11643-1999).

18 characters: 6-digit area code, 8-digit birth date, 3-digit sequence (odd = male), and a
check character computed by ISO 7064 MOD 11-2 over the first 17 digits ('X' stands for 10).

Beyond the check digit a number is refused when its area code names no province (its first two
digits, GB/T 2260) or its birth date is in the future or more than `MAX_AGE_YEARS` ago: a check
digit alone lets "born in 2090" or area 000000 through.
"""

from __future__ import annotations

import re
from datetime import date

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_SHAPE = re.compile(r"^[0-9]{17}[0-9X]$")

# Province-level codes of GB/T 2260 (the first two digits of every area code): the 31 mainland
# provinces, autonomous regions and municipalities, Taiwan (71), Hong Kong (81) and Macau (82);
# 83 is the area of residence permits for Taiwan residents (港澳台居民居住证, 2018).
PROVINCES = frozenset({
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37",
    "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65",
    "71", "81", "82", "83",
})
# The oldest person whose age was ever verified lived to 122; 130 years leaves room and still
# refuses an impossible birth year.
MAX_AGE_YEARS = 130


class CertnoError(ValueError):
    pass


def check_char(first17: str) -> str:
    return _CHECK[sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True)) % 11]


def validate_certno(certno: str, *, today: date | None = None) -> str:
    """Return the normalised number (upper-case X) or raise `CertnoError` saying what is wrong.

    `today` (default: the real date, since nobody is born after it whatever the business clock
    says) bounds the birth date."""
    value = certno.strip().upper()
    if not _SHAPE.match(value):
        raise CertnoError("must be 17 digits followed by a digit or X (18 characters)")
    if value[:2] not in PROVINCES:
        raise CertnoError(f"area code {value[:6]} names no province (GB/T 2260)")
    try:
        born = birth_date(value)
    except ValueError:
        raise CertnoError(f"birth date {value[6:14]} is not a valid date") from None
    today = today or date.today()
    if born > today:
        raise CertnoError(f"birth date {born} is in the future")
    if born.year < today.year - MAX_AGE_YEARS:
        raise CertnoError(f"birth date {born} is more than {MAX_AGE_YEARS} years ago")
    expected = check_char(value[:17])
    if value[17] != expected:
        raise CertnoError(f"check digit is {value[17]}, expected {expected} (GB 11643)")
    return value


def birth_date(certno: str) -> date:
    return date(int(certno[6:10]), int(certno[10:12]), int(certno[12:14]))


def gender(certno: str) -> str:
    """'1' male, '2' female, from the sequence's parity."""
    return "1" if int(certno[16]) % 2 == 1 else "2"


def make_certno(area: str, born: date, sequence: int) -> str:
    """Build a valid number (for synthetic data and tests)."""
    first17 = f"{area}{born:%Y%m%d}{sequence:03d}"
    return first17 + check_char(first17)
