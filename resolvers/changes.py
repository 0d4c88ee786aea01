"""`changes(entity, after, first)`: the change feed (`publishing.changes`) as a connection.

Cursors are journal positions signed like list cursors and bound to the caller and the
entity, so they survive hub restarts (with a configured cursor secret) and mean nothing to
anyone else. Each change's `node` is the row as it is now, read through the caller's own
scope in one batch per page (null for a DELETE, or when the row has left the caller's scope
since; a later DELETE then follows).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from graphql import GraphQLError
from strawberry.types.info import Info

from auth.model.ids import to_global_id
from auth.model.query import Condition, EntityQuery, Op, OrderKey
from publishing.change_follower import FEEDS
from publishing.changes import UPSERT, ChangeFeed

from .context import RequestContext
from .cursors import InvalidCursor
from .errors import invalid_cursor
from .filters import check_first
from .gateway import caller_errors
from .objects import PageInfo, RowObject
from .relations import loader
from .selection import current_selections, fields_for


@dataclass
class ChangeView:
    cursor: str
    op: str
    entity: str
    id: str
    at: datetime
    raw_id: str = field(repr=False, default="")


@dataclass
class ChangesView:
    nodes: list[ChangeView]
    pageInfo: PageInfo


def _unavailable(entity: str) -> GraphQLError:
    return GraphQLError(f"The changes of {entity} cannot be followed: its source offers no "
                        "watermark, or the hub store is not open.",
                        extensions={"code": "CHANGES_UNAVAILABLE"})


def _bind(ctx: RequestContext, entity: str) -> str:
    p = ctx.principal
    return repr((p.role, p.subject, p.region_code, "changes", entity))


async def changes(info: Info[Any, Any], entity: Any, after: str | None,
                  first: int | None) -> ChangesView:
    ctx: RequestContext = info.context
    name = str(getattr(entity, "value", entity))
    canonical = FEEDS[name]
    feed: ChangeFeed | None = ctx.changes
    if feed is None or not feed.follows(canonical):
        raise _unavailable(name)
    limit = check_first(first, ctx.role.limits.max_first)
    bind = _bind(ctx, canonical)
    position = 0
    if after is not None:
        try:
            position = ctx.cursors.decode_position(after, canonical, bind)
        except InvalidCursor:
            raise invalid_cursor() from None
    with caller_errors():
        page = await feed.read(ctx.scoper, canonical, position, limit, ctx.access_log)
    views = [ChangeView(ctx.cursors.encode_position(canonical, c.seq, bind), c.op, name,
                        to_global_id(canonical, c.row_id), c.at, c.row_id)  # type: ignore[arg-type]
             for c in page.changes]
    end = ctx.cursors.encode_position(canonical, page.position, bind)
    start = views[0].cursor if views else None
    return ChangesView(views, PageInfo(page.has_next, position > 0, start, end))


async def change_node(info: Info[Any, Any], change: ChangeView) -> RowObject | None:
    """The changed row now, through the caller's scope; the page's rows in one batch."""
    if change.op != UPSERT:
        return None
    ctx: RequestContext = info.context
    canonical = FEEDS[change.entity]
    node_key = ("change-node@", *(id(n) for n in info._raw_info.field_nodes))
    found = ctx.loaders.get(node_key)
    if found is None:
        fields = fields_for(canonical, current_selections(info))
        gateway = ctx.gateway

        async def batch(ids: list[str]) -> list[RowObject | None]:
            rows = await gateway.fetch(EntityQuery(
                canonical, fields, (Condition("id", Op.IN, tuple(dict.fromkeys(ids))),),
                (OrderKey("id"),)))
            by_id = {str(r["id"]): RowObject(canonical, r) for r in rows}
            return [by_id.get(i) for i in ids]

        found = ctx.loaders[node_key] = loader(ctx, ("change-node", canonical, fields), batch)
    result: RowObject | None = await found.load(change.raw_id)
    return result
