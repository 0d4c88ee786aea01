"""`spendingSummary`: payments grouped in the source (GROUP BY), never summed in Python."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from strawberry.types.info import Info

from auth.model.query import AggregateQuery, Dimension, Transform
from auth.model.regions import LEVELS, SEGMENT_ENDS

from .context import RequestContext
from .errors import bad_input
from .filters import filter_fields, read_filter

ENTITY = "Payment"
SUM_FIELD = "amount"
MAX_GROUPS = 5000


@dataclass(frozen=True)
class SpendingDimension:
    name: str
    key: str
    field: str
    transform: Transform
    length: int | None = None


DIMENSIONS: dict[str, SpendingDimension] = {
    d.name: d
    for d in (
        SpendingDimension("REGION", "regionCode", "regionCode", Transform.PREFIX),
        SpendingDimension("CATEGORY", "category", "economicCode", Transform.PREFIX, 3),
        SpendingDimension("ECONOMIC_CODE", "economicCode", "economicCode", Transform.VALUE),
        SpendingDimension("FUNCTION_CODE", "functionCode", "functionCode", Transform.VALUE),
        SpendingDimension("MONTH", "month", "paidAt", Transform.MONTH),
        SpendingDimension("METHOD", "method", "method", Transform.VALUE),
    )
}


def allowed_dimensions(groupable: Iterable[str]) -> list[SpendingDimension]:
    fields = set(groupable)
    return [d for d in DIMENSIONS.values() if d.field in fields]


class SpendingGroup:
    def __init__(self, row: dict[str, Any]) -> None:
        self.__dict__ = row


async def spending_summary(
    info: Info[Any, Any], filter_value: Any, group_by: Sequence[Any], region_level: Any
) -> list[SpendingGroup]:
    ctx: RequestContext = info.context
    grant = ctx.role.grant(ENTITY)
    assert grant is not None
    if not group_by:
        raise bad_input("groupBy: name at least one dimension")
    names = [getattr(g, "value", g) for g in group_by]
    if len(set(names)) != len(names):
        raise bad_input("groupBy: a dimension is named twice")
    level = getattr(region_level, "value", region_level) or "TOWNSHIP"
    dims = []
    for name in names:
        d = DIMENSIONS[name]
        length = SEGMENT_ENDS[LEVELS.index(level)] if d.name == "REGION" else d.length
        dims.append(Dimension(d.key, d.field, d.transform, length))
    where = read_filter(ENTITY, filter_fields(ENTITY, grant.filterable), filter_value)
    query = AggregateQuery(ENTITY, SUM_FIELD, tuple(dims), where, MAX_GROUPS)
    groups = await ctx.gateway.aggregate(query)
    result = []
    for g in groups:
        # Keys not grouped on are null (the schema says so), not missing attributes.
        row = {
            **dict.fromkeys(d.key for d in DIMENSIONS.values()),
            "count": g["count"],
            "totalAmount": g["total"],
            **{d.key: g[d.key] for d in dims},
        }
        if "regionCode" in row and row["regionCode"] is not None:
            row["regionCode"] = str(row["regionCode"]).ljust(12, "0")
        result.append(SpendingGroup(row))
    return result
