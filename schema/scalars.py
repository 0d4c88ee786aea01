"""Scalars with strict parsing: Money (decimal string) and RegionCode (12 digits)."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import NewType

import strawberry
from strawberry.types.scalar import ScalarDefinition

from auth.model.regions import BadRegionCode, check_region_code

_MONEY = re.compile(r"^-?(0|[1-9][0-9]{0,11})(\.[0-9]{1,2})?$")


def _serialize_money(value: Decimal | str | int) -> str:
    return f"{Decimal(value):.2f}"


def _parse_money(value: object) -> Decimal:
    # Strings only: a JSON float has already lost exactness before it reaches us.
    if not isinstance(value, str) or not _MONEY.match(value):
        raise ValueError(
            "Money is a decimal string with at most 12 integer digits and 2 decimals, "
            'e.g. "1234.50"'
        )
    return Decimal(value)


def _parse_region_code(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError("RegionCode is a string of 12 digits, e.g. \"330108001000\"")
    try:
        return check_region_code(value)
    except BadRegionCode as exc:
        raise ValueError(str(exc)) from None


Money = NewType("Money", Decimal)
RegionCode = NewType("RegionCode", str)

SCALAR_MAP: dict[object, ScalarDefinition] = {
    Money: strawberry.scalar(
        name="Money",
        description="An amount in yuan as a decimal string with two decimals (NUMERIC(14,2)).",
        serialize=_serialize_money,
        parse_value=_parse_money,
    ),
    RegionCode: strawberry.scalar(
        name="RegionCode",
        description="A 12-digit 统计用区划代码, e.g. 330108001000 (西兴街道).",
        serialize=str,
        parse_value=_parse_region_code,
    ),
}
