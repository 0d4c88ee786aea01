"""Root lists (Relay connections), single lookups and `node(id:)`."""

from __future__ import annotations

from typing import Any

from strawberry.types.info import Info

from auth.catalog import ENTITIES
from auth.query import Condition, EntityQuery, Op

from .context import RequestContext
from .cursors import InvalidCursor
from .errors import invalid_cursor
from .filters import check_first, filter_fields, read_filter, read_order
from .gateway import Gateway
from .ids import from_global_id
from .records import Page, Record
from .selection import connection_node_selections, current_selections, fields_for, flatten


async def list_page(
    info: Info[Any, Any],
    entity: str,
    first: int | None,
    after: str | None,
    filter_value: Any,
    order_value: Any,
    extra: tuple[Condition, ...] = (),
) -> Page:
    ctx: RequestContext = info.context
    grant = ctx.role.grant(entity)
    assert grant is not None  # the role's schema has no list for entities it cannot read
    limit = check_first(first, ctx.role.limits.max_first)
    where = read_filter(entity, filter_fields(entity, grant.filterable), filter_value) + extra
    order = read_order(entity, grant.orderable, order_value)
    position = None
    if after is not None:
        try:
            position = ctx.cursors.decode(after, entity, order)
        except InvalidCursor:
            raise invalid_cursor() from None
    selections = current_selections(info)
    fields = fields_for(entity, connection_node_selections(selections))
    gateway = Gateway(ctx)
    rows: list[dict[str, Any]] = []
    if limit > 0 and _wants_rows(selections):
        query = EntityQuery(entity, fields, where, order, limit + 1, position)
        rows = await gateway.fetch(query)
    count_query = EntityQuery(entity, ("id",), where)
    return Page(
        entity=entity,
        records=[Record(entity, r) for r in rows[:limit]],
        has_next=len(rows) > limit,
        has_previous=position is not None,
        order=order,
        codec=ctx.cursors,
        counter=lambda: gateway.count(count_query),
    )


def _wants_rows(selections: list[Any]) -> bool:
    return any(f.name in ("nodes", "edges", "pageInfo") for f in flatten(selections))


async def lookup(info: Info[Any, Any], entity: str, raw_id: str) -> Record | None:
    """One row by its raw id, inside the caller's scope; a hidden row is simply absent."""
    ctx: RequestContext = info.context
    fields = fields_for(entity, current_selections(info))
    rows = await Gateway(ctx).fetch(
        EntityQuery(entity, fields, (Condition("id", Op.EQ, raw_id),), limit=1)
    )
    return Record(entity, rows[0]) if rows else None


async def lookup_global(info: Info[Any, Any], entity: str, global_id: str) -> Record | None:
    decoded = from_global_id(global_id)
    if decoded is None or decoded[0] != entity:
        return None
    return await lookup(info, entity, decoded[1])


async def node(info: Info[Any, Any], global_id: str) -> Record | None:
    """`node(id:)`: only entities the role can read, always inside the row scope."""
    ctx: RequestContext = info.context
    decoded = from_global_id(global_id)
    if decoded is None:
        return None
    entity, raw_id = decoded
    spec = ENTITIES.get(entity)
    if spec is None or not spec.exposed or not ctx.role.readable(entity):
        return None
    return await lookup(info, entity, raw_id)
