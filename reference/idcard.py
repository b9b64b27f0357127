"""Resident identity card numbers (公民身份号码, GB 11643-1999).

18 characters: 6-digit area code, 8-digit birth date, 3-digit sequence (odd = male), and a
check character computed by ISO 7064 MOD 11-2 over the first 17 digits ('X' stands for 10).
"""

from __future__ import annotations

import re
from datetime import date

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_SHAPE = re.compile(r"^\d{17}[\dX]$")


class CertnoError(ValueError):
    pass


def check_char(first17: str) -> str:
    return _CHECK[sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True)) % 11]


def validate_certno(certno: str) -> str:
    """Return the normalised number (upper-case X) or raise `CertnoError` saying what is wrong."""
    value = certno.strip().upper()
    if not _SHAPE.match(value):
        raise CertnoError("must be 17 digits followed by a digit or X (18 characters)")
    try:
        birth_date(value)
    except ValueError:
        raise CertnoError(f"birth date {value[6:14]} is not a valid date") from None
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
