"""Relations, loaded in batches: one statement per relation and selection, whatever the rows.

Each relation field gets a per-request DataLoader keyed by (relation, fields wanted, page
size); every parent row of the same level asks it for its key, and it issues one scoped query
(`remote IN (...)`, or a per-parent window for lists). Links through a link entity (case ↔
payment) take one statement for the links and one for the targets.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from strawberry.dataloader import DataLoader
from strawberry.types.info import Info

from auth.access.scope import Relation
from auth.model.catalog import ENTITIES, RelationSpec
from auth.model.query import Condition, EntityQuery, Op, OrderKey, Partition
from connectors.rows import clear_value, partition_of, take_partition

from .context import RequestContext
from .filters import check_first
from .gateway import GraphQLGateway
from .objects import RowObject
from .selection import current_selections, fields_for

# SQL engines cap bound parameters; larger key sets are split (rare: parents are paged).
_CHUNK = 2000
_BY_ID = (OrderKey("id"),)


def loader(
    ctx: RequestContext, key: tuple[Any, ...], batch: Callable[[list[Any]], Awaitable[list[Any]]]
) -> DataLoader[Any, Any]:
    """The request's DataLoader for `key`, made on first use."""
    found = ctx.loaders.get(key)
    if found is None:
        found = ctx.loaders[key] = DataLoader(load_fn=batch)
    return found


def _chunks(keys: Sequence[Any]) -> list[tuple[Any, ...]]:
    return [tuple(keys[i : i + _CHUNK]) for i in range(0, len(keys), _CHUNK)]


async def _rows_by_key(
    gateway: GraphQLGateway, entity: str, fields: tuple[str, ...], remote: str, keys: list[Any],
    via: Relation,
) -> dict[Any, list[dict[str, Any]]]:
    fetch_fields = tuple(sorted({*fields, remote}))
    grouped: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for chunk in _chunks(sorted(set(keys), key=str)):
        query = EntityQuery(entity, fetch_fields, (Condition(remote, Op.IN, chunk),), _BY_ID)
        for row in await gateway.fetch(query, via, keys=(remote,)):
            grouped[clear_value(row, remote)].append(row)
    return grouped


def _local_key(parent: RowObject, rel: RelationSpec) -> Any:
    return clear_value(parent.__dict__, rel.local)


async def load_one(info: Info[Any, Any], parent: RowObject, relation: str) -> RowObject | None:
    ctx: RequestContext = info.context
    entity = parent._entity
    rel = ENTITIES[entity].relations[relation]
    value = _local_key(parent, rel)
    if value is None:
        return None
    # Every row under the same field asks the same loader: find it once per field node.
    node_key = ("one@", *(id(n) for n in info._raw_info.field_nodes))
    one = ctx.loaders.get(node_key)
    if one is None:
        fields = fields_for(rel.target, current_selections(info))
        via = Relation(entity, relation)
        gateway = ctx.gateway

        async def batch(keys: list[Any]) -> list[RowObject | None]:
            grouped = await _rows_by_key(gateway, rel.target, fields, rel.remote, keys, via)
            return [RowObject(rel.target, grouped[k][0]) if grouped.get(k) else None
                    for k in keys]

        one = ctx.loaders[node_key] = loader(ctx, ("one", entity, relation, fields), batch)
    result: RowObject | None = await one.load(value)
    return result


async def load_many(
    info: Info[Any, Any], parent: RowObject, relation: str, first: int | None
) -> list[RowObject]:
    ctx: RequestContext = info.context
    entity = parent._entity
    rel = ENTITIES[entity].relations[relation]
    value = _local_key(parent, rel)
    if value is None:
        return []
    limit = check_first(first if first is not None else ctx.role.limits.max_list,
                        ctx.role.limits.max_list)
    node_key = ("many@", limit, *(id(n) for n in info._raw_info.field_nodes))
    found = ctx.loaders.get(node_key)
    if found is not None:
        cached: list[RowObject] = await found.load(value)
        return cached
    fields = fields_for(rel.target, current_selections(info))
    gateway = ctx.gateway
    via = Relation(entity, relation)
    if rel.via is None:
        async def batch(keys: list[Any]) -> list[list[RowObject]]:
            grouped: dict[Any, list[RowObject]] = defaultdict(list)
            for chunk in _chunks(sorted(set(keys), key=str)):
                query = EntityQuery(rel.target, tuple(sorted({*fields, rel.remote})), (),
                                    _BY_ID, partition=Partition(rel.remote, chunk, limit))
                for row in await gateway.fetch(query, via):
                    grouped[take_partition(row)].append(RowObject(rel.target, row))
            return [grouped.get(k, []) for k in keys]
    else:
        async def batch(keys: list[Any]) -> list[list[RowObject]]:
            return await _through_link(gateway, rel, via, fields, keys, limit)

    many = ctx.loaders[node_key] = loader(ctx, ("many", entity, relation, fields, limit), batch)
    result: list[RowObject] = await many.load(value)
    return result


async def _through_link(
    gateway: GraphQLGateway, rel: RelationSpec, via: Relation, fields: tuple[str, ...],
    keys: list[Any], limit: int,
) -> list[list[RowObject]]:
    assert rel.via and rel.via_local and rel.via_remote
    links: dict[Any, list[Any]] = defaultdict(list)
    for chunk in _chunks(sorted(set(keys), key=str)):
        query = EntityQuery(rel.via, ("id", rel.via_local, rel.via_remote), (), _BY_ID,
                            partition=Partition(rel.via_local, chunk, limit))
        for row in await gateway.fetch(query, via):
            links[partition_of(row)].append(row[rel.via_remote])
    targets = [t for ts in links.values() for t in ts]
    found = await _rows_by_key(gateway, rel.target, fields, rel.remote, targets, via) \
        if targets else {}
    return [
        [RowObject(rel.target, found[t][0]) for t in links.get(k, []) if found.get(t)]
        for k in keys
    ]
