"""Resident ID numbers (居民身份证号, GB 11643-1999): the check character and a validity test.

An ID number is 18 characters: a 6-digit address code, an 8-digit birth date, a 3-digit
sequence (odd for men) and a check character computed with ISO 7064 MOD 11-2. This module is
pure: no I/O, no imports from the rest of the hub, so importers, masking and the demo data
generator can all share it.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Final

_WEIGHTS: Final = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARS: Final = "10X98765432"
_SHAPE: Final = re.compile(r"^[0-9]{17}[0-9X]$")
# First two digits of the address code: provinces, plus 81/82/83 used by the residence
# permits of Hong Kong, Macao and Taiwan residents.
_PROVINCES: Final = frozenset(
    str(code) for code in (11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37,
                           41, 42, 43, 44, 45, 46, 50, 51, 52, 53, 54, 61, 62, 63, 64, 65,
                           71, 81, 82, 83)
)


def id_check_char(first17: str) -> str:
    """The check character for the first 17 digits of an ID number."""
    if len(first17) != 17 or not first17.isascii() or not first17.isdigit():
        raise ValueError(f"expected 17 digits, got {first17!r}")
    total = sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True))
    return _CHECK_CHARS[total % 11]


def birth_date(id_number: str) -> dt.date | None:
    """The birth date encoded in an 18-character ID number, or None if it is not a date."""
    try:
        return dt.date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))
    except ValueError:
        return None


def is_valid_id_number(value: object) -> bool:
    """Whether `value` is a well-formed 18-character ID number with a correct check character.

    Strict: the check character must be an upper-case `X`; callers that accept user input
    normalise it (strip, upper-case) first.
    """
    if not isinstance(value, str) or not _SHAPE.match(value):
        return False
    if value[:2] not in _PROVINCES:
        return False
    born = birth_date(value)
    if born is None or born.year < 1850:
        return False
    return id_check_char(value[:17]) == value[17]
