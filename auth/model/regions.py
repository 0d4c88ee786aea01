"""Region codes: levels, jurisdiction prefixes and the code range a subtree covers.

A 12-digit 统计用区划代码 is `PP CC DD TTT VVV`. The level of a code is the last segment that
is not all zeros; its jurisdiction prefix is the code cut after that segment. Zeros are never
stripped one by one (330110 cut to 33011 would also match 330111…).
"""

from __future__ import annotations

import re
from typing import Final

SEGMENT_ENDS: Final = (2, 4, 6, 9, 12)
LEVELS: Final = ("PROVINCE", "CITY", "COUNTY", "TOWNSHIP", "VILLAGE")
_CODE = re.compile(r"^[0-9]{12}$")


class BadRegionCode(ValueError):
    """A value that is not a 12-digit region code of a well-formed shape."""


def is_region_code(value: object) -> bool:
    return isinstance(value, str) and bool(_CODE.match(value)) and value[:2] != "00"


def check_region_code(value: str) -> str:
    # A zero segment above a set one is legal: cities without counties (东莞 4419, 中山 4420)
    # have townships straight under the city, e.g. 441900003000.
    if not is_region_code(value):
        raise BadRegionCode(f"{value!r} is not a 12-digit region code (统计用区划代码)")
    return value


def level_index(code: str) -> int:
    """0 for a province … 4 for a community/village."""
    start = 0
    last = 0
    for i, end in enumerate(SEGMENT_ENDS):
        if code[start:end].strip("0"):
            last = i
        start = end
    return last


def level_name(code: str) -> str:
    return LEVELS[level_index(code)]


def jurisdiction_prefix(code: str) -> str:
    """The prefix every code inside this region's subtree starts with."""
    return code[: SEGMENT_ENDS[level_index(code)]]


def parent_code(code: str) -> str | None:
    idx = level_index(code)
    if idx == 0:
        return None
    keep = SEGMENT_ENDS[idx - 1]
    return code[:keep] + "0" * (12 - keep)
