"""Values a write may store, checked against the catalog before any source sees them.

Every insert and update is checked here (by `auth.access.scope`, which builds the scoped
command): each field must exist in the entity and not be its `id` (ids are the source's or
the command's own), and each value must fit the field's kind — text without NUL or lone
surrogates (PostgreSQL refuses them) and not longer than `MAX_TEXT`; money a finite decimal
with at most two decimals inside NUMERIC(14,2); region codes 12 digits of the right shape;
enum values of the field's code list; periods written `2024`, `2024Q1` or `2024-03` where
the catalog says the field is a period; nulls only where the field is nullable. An insert must
give every field that may not be null. What comes back is the canonical form (money
quantised to cents, times as naive China wall-clock time).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from .catalog import ENTITIES, ENUMS, FieldSpec, Kind
from .regions import is_region_code
from .time import local_naive

MAX_TEXT: Final = 20_000
MAX_ID: Final = 64
MONEY_LIMIT: Final = Decimal(10) ** 12  # NUMERIC(14,2): at most 12 digits before the point
INT_RANGE: Final = (-(2**63), 2**63 - 1)
PERIOD: Final = re.compile(r"[0-9]{4}(Q[1-4]|-(0[1-9]|1[0-2]))?")
QUARTER: Final = re.compile(r"([0-9]{4})Q([1-4])")
_UNSAFE_TEXT: Final = re.compile(r"[\x00\ud800-\udfff]")
_CENT: Final = Decimal("0.01")


class InvalidValue(ValueError):
    """A value that does not fit its field; the message is safe to show to the caller."""

    def __init__(self, entity: str, field: str, message: str) -> None:
        super().__init__(f"{entity}.{field}: {message}")
        self.entity = entity
        self.field = field
        self.message = message


def check_values(entity: str, values: Mapping[str, Any], *, insert: bool
                 ) -> dict[str, Any]:
    """The canonical form of `values` for a write of `entity` (InvalidValue otherwise)."""
    spec = ENTITIES[entity]
    checked: dict[str, Any] = {}
    for name, value in values.items():
        field = spec.fields.get(name)
        if field is None or name == "id":
            raise InvalidValue(entity, name, "not a field that can be written")
        checked[name] = check_value(entity, field, value)
    if insert:
        missing = [f.name for f in spec.fields.values()
                   if f.name != "id" and not f.nullable and f.name not in checked]
        if missing:
            raise InvalidValue(entity, missing[0], "required for a new row")
    return checked


def check_value(entity: str, field: FieldSpec, value: Any) -> Any:
    def bad(message: str) -> InvalidValue:
        return InvalidValue(entity, field.name, message)

    if value is None:
        if not field.nullable:
            raise bad("may not be null")
        return None
    kind = field.kind
    if kind in (Kind.STRING, Kind.ID):
        if kind is Kind.ID and isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            raise bad("expected text")
        return _text(value, MAX_ID if kind is Kind.ID else MAX_TEXT, field, bad)
    if kind is Kind.MONEY:
        return check_money(value, bad)
    if kind is Kind.REGION_CODE:
        if not is_region_code(value):
            raise bad("expected a 12-digit region code (统计用区划代码)")
        return value
    if kind is Kind.ENUM:
        assert field.enum is not None
        if not isinstance(value, str) or value not in ENUMS[field.enum]:
            raise bad(f"expected one of {', '.join(ENUMS[field.enum])}")
        return value
    if kind is Kind.INT:
        if isinstance(value, bool) or not isinstance(value, int) \
                or not INT_RANGE[0] <= value <= INT_RANGE[1]:
            raise bad("expected a 64-bit integer")
        return value
    if kind is Kind.BOOL:
        if not isinstance(value, bool):
            raise bad("expected true or false")
        return value
    if kind is Kind.DATETIME:
        if not isinstance(value, dt.datetime):
            raise bad("expected a date and time")
        return local_naive(value)
    if kind is Kind.DATE:
        if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
            raise bad("expected a date")
        return value
    raise bad(f"{kind.value} values cannot be written")


def check_money(value: Any, bad: Any) -> Decimal:
    """A Decimal (or its exact text) with at most two decimals inside NUMERIC(14,2)."""
    if isinstance(value, str):
        try:
            value = Decimal(value)
        except InvalidOperation:
            raise bad("expected an amount such as \"1234.50\"") from None
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        raise bad("expected an amount such as \"1234.50\"")
    amount = Decimal(value)
    if not amount.is_finite() or abs(amount) >= MONEY_LIMIT:
        raise bad("expected an amount below 1,000,000,000,000.00 (NUMERIC(14,2))")
    if amount != amount.quantize(_CENT):
        raise bad("at most two decimals")
    return amount.quantize(_CENT)


def _text(value: str, limit: int, field: FieldSpec, bad: Any) -> str:
    if _UNSAFE_TEXT.search(value):
        raise bad("contains a NUL or an unpaired surrogate character")
    if len(value) > limit:
        raise bad(f"at most {limit} characters")
    if field.format == "period" and not PERIOD.fullmatch(value):
        raise bad("expected a period written 2024, 2024Q1 or 2024-03")
    return value


def quarter_bounds(period: str) -> tuple[dt.datetime, dt.datetime] | None:
    """[start, end) of a quarter written `2024Q1`, as naive local times; None otherwise."""
    match = QUARTER.fullmatch(period)
    if match is None:
        return None
    year, q = int(match.group(1)), int(match.group(2))
    start = dt.datetime(year, 3 * q - 2, 1)
    end = dt.datetime(year + 1, 1, 1) if q == 4 else dt.datetime(year, 3 * q + 1, 1)
    return start, end
