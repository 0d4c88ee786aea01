"""The filter vocabulary: which filter inputs each canonical field gives, for every surface.

GraphQL filter inputs (`PaymentFilter { amountMin paidFrom regionCode … }`), export query
parameters (`/export/payments.csv?amountMin=100.00&paidFrom=2024-01-01`) and report options
speak the same names: money gives `<field>Min`/`<field>Max`, dates and times
`<stem>From`/`<stem>To` (`paidAt` → `paidFrom`), a region code its subtree, anything else
equality. Which of them a role may use is the policy's business (`filter` grants).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .catalog import ENTITIES, FieldSpec, Kind
from .query import Op


@dataclass(frozen=True)
class FilterField:
    input_name: str
    field: FieldSpec
    op: Op


def _range_stem(name: str) -> str:
    for suffix in ("At", "On"):
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


def filter_fields(entity: str, allowed: Iterable[str]) -> list[FilterField]:
    """The filter input fields for `entity`, restricted to the `allowed` canonical fields."""
    allowed_set = set(allowed)
    result = []
    for spec in ENTITIES[entity].fields.values():
        if spec.name not in allowed_set or spec.name == "id":
            continue
        if spec.kind is Kind.MONEY:
            result += [FilterField(f"{spec.name}Min", spec, Op.GTE),
                       FilterField(f"{spec.name}Max", spec, Op.LTE)]
        elif spec.kind in (Kind.DATE, Kind.DATETIME):
            stem = _range_stem(spec.name)
            result += [FilterField(f"{stem}From", spec, Op.GTE),
                       FilterField(f"{stem}To", spec, Op.LTE)]
        elif spec.kind is Kind.REGION_CODE:
            result.append(FilterField(spec.name, spec, Op.WITHIN))
        else:
            result.append(FilterField(spec.name, spec, Op.EQ))
    return result
