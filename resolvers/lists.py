"""Root lists (Relay connections), single lookups and `node(id:)`."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from strawberry.types.info import Info

from auth.access.scope import Relation
from auth.model.catalog import ENTITIES
from auth.model.query import Condition, EntityQuery, Op, OrderKey, Partition
from auth.model.regions import jurisdiction_prefix
from connectors.rows import take_partition

from .context import RequestContext
from .cursors import InvalidCursor
from .errors import invalid_cursor
from .filters import check_first, filter_fields, read_filter, read_order
from .ids import from_global_id
from .objects import Page, RowObject
from .relations import loader as _loader
from .selection import connection_node_selections, current_selections, fields_for, flatten


@dataclass(frozen=True)
class PageRequest:
    """A connection's arguments, read and checked: the same for roots and region subtrees."""

    entity: str
    fields: tuple[str, ...]
    where: tuple[Condition, ...]
    order: tuple[OrderKey, ...]
    limit: int
    position: tuple[Any, ...] | None
    wants_rows: bool
    bind: str


def cursor_binding(ctx: RequestContext, where: tuple[Condition, ...]) -> str:
    """Cursors belong to one principal and one set of filters: from anyone else, or for
    another query, they are refused rather than reinterpreted."""
    p = ctx.principal
    return repr((p.role, p.subject, p.region_code, where))


@dataclass(frozen=True)
class PageArguments:
    """A connection's arguments, read and checked (bad ones raise the caller's error)."""

    where: tuple[Condition, ...]
    order: tuple[OrderKey, ...]
    limit: int
    position: tuple[Any, ...] | None
    bind: str


def page_arguments(
    ctx: RequestContext, entity: str, first: int | None, after: str | None,
    filter_value: Any, order_value: Any,
) -> PageArguments:
    grant = ctx.role.grant(entity)
    assert grant is not None  # the role's schema has no list for entities it cannot read
    limit = check_first(first, ctx.role.limits.max_first)
    where = read_filter(entity, filter_fields(entity, grant.filterable), filter_value)
    order = read_order(entity, grant.orderable, order_value)
    bind = cursor_binding(ctx, where)
    position = None
    if after is not None:
        try:
            position = ctx.cursors.decode(after, entity, order, bind)
        except InvalidCursor:
            raise invalid_cursor() from None
    return PageArguments(where, order, limit, position, bind)


def _page_request(
    info: Info[Any, Any], entity: str, first: int | None, after: str | None,
    filter_value: Any, order_value: Any,
) -> PageRequest:
    args = page_arguments(info.context, entity, first, after, filter_value, order_value)
    selections = current_selections(info)
    fields = fields_for(entity, connection_node_selections(selections))
    return PageRequest(entity, fields, args.where, args.order, args.limit, args.position,
                       args.limit > 0 and _wants_rows(selections), args.bind)


def _page(ctx: RequestContext, req: PageRequest, rows: list[dict[str, Any]],
          counter: Callable[[], Awaitable[int]]) -> Page:
    return Page(
        entity=req.entity,
        rows=[RowObject(req.entity, r) for r in rows[: req.limit]],
        has_next=len(rows) > req.limit,
        has_previous=req.position is not None,
        order=req.order,
        codec=ctx.cursors,
        counter=counter,
        bind=req.bind,
    )


async def list_page(
    info: Info[Any, Any], entity: str, first: int | None, after: str | None,
    filter_value: Any, order_value: Any,
) -> Page:
    ctx: RequestContext = info.context
    req = _page_request(info, entity, first, after, filter_value, order_value)
    gateway = ctx.gateway
    rows: list[dict[str, Any]] = []
    if req.wants_rows:
        rows = await gateway.fetch(EntityQuery(entity, req.fields, req.where, req.order,
                                               req.limit + 1, req.position),
                                   page_size=req.limit)
    count_query = EntityQuery(entity, ("id",), req.where)
    return _page(ctx, req, rows, lambda: gateway.count(count_query))


async def region_page(
    info: Info[Any, Any], region: RowObject, relation: str, first: int | None, after: str | None,
    filter_value: Any, order_value: Any,
) -> Page:
    """One region's rows of an entity. Sibling regions of the same level share one
    windowed statement for their pages and one GROUP BY for their counts."""
    ctx: RequestContext = info.context
    rel = ENTITIES["Region"].relations[relation]
    req = _page_request(info, rel.target, first, after, filter_value, order_value)
    prefix = jurisdiction_prefix(str(region.__dict__["code"]))
    length = len(prefix)
    gateway = ctx.gateway
    via = Relation("Region", relation)

    def partitioned(limit: int) -> Callable[[list[str]], EntityQuery]:
        return lambda keys: EntityQuery(
            rel.target, req.fields if limit else ("id",), req.where, req.order if limit else (),
            None, req.position if limit else None,
            Partition("regionCode", tuple(keys), limit, length),
        )

    async def batch_rows(keys: list[str]) -> list[list[dict[str, Any]]]:
        grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for row in await gateway.fetch(partitioned(req.limit + 1)(keys), via,
                                       page_size=req.limit):
            grouped[take_partition(row)].append(row)
        return [grouped.get(k, []) for k in keys]

    async def batch_counts(keys: list[str]) -> list[int]:
        counts = await gateway.count_partitioned(partitioned(0)(keys), via)
        return [counts.get(k, 0) for k in keys]

    rows: list[dict[str, Any]] = []
    if req.wants_rows:
        loader = _loader(ctx, ("subtree", relation, length, req), batch_rows)
        rows = await loader.load(prefix)
    counter = _loader(ctx, ("subtree-count", relation, length, req.where), batch_counts)
    return _page(ctx, req, rows, lambda: counter.load(prefix))


def _wants_rows(selections: list[Any]) -> bool:
    return any(f.name in ("nodes", "edges", "pageInfo") for f in flatten(selections))


async def lookup(info: Info[Any, Any], entity: str, raw_id: str) -> RowObject | None:
    """One row by its raw id, inside the caller's scope; a hidden row is simply absent."""
    ctx: RequestContext = info.context
    fields = fields_for(entity, current_selections(info))
    rows = await ctx.gateway.fetch(
        EntityQuery(entity, fields, (Condition("id", Op.EQ, raw_id),), limit=1)
    )
    return RowObject(entity, rows[0]) if rows else None


async def lookup_global(info: Info[Any, Any], entity: str, global_id: str) -> RowObject | None:
    decoded = from_global_id(global_id)
    if decoded is None or decoded[0] != entity:
        return None
    return await lookup(info, entity, decoded[1])


async def node(info: Info[Any, Any], global_id: str) -> RowObject | None:
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
