"""The only road from resolvers to connectors: scope, call the source, mask, note the read.

Every list, lookup, `node`, relation, count and aggregate goes through here, so row scope,
masking and the read log cannot be skipped by any path.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from graphql import GraphQLError

from auth.access.masking import apply_masks
from auth.access.scope import AccessDenied, Relation
from auth.access.suppression import suppress
from auth.model.catalog import ENTITIES
from auth.model.query import AggregateQuery, EntityQuery
from connectors.base import Connector, Row, SourceError, SourceUnavailable
from resolvers.context import RequestContext
from resolvers.errors import source_failed


@contextlib.contextmanager
def _caller_errors() -> Iterator[None]:
    """Refusals and source failures as the GraphQL errors callers see (stable codes only)."""
    try:
        yield
    except AccessDenied:
        raise GraphQLError("This query is not permitted for your role.",
                           extensions={"code": "FORBIDDEN"}) from None
    except SourceError as exc:
        raise source_failed(exc) from None


def _relation_keys(entity: str) -> tuple[str, ...]:
    return tuple(rel.local for rel in ENTITIES[entity].relations.values())


def _filtered(query: EntityQuery) -> list[str]:
    return [c.field for c in query.where if c.field != "id"]


def _shown(rows: list[Row], page_size: int | None) -> Iterator[Row]:
    if page_size is None:
        yield from rows
        return
    per_partition: Counter[Any] = Counter()
    for row in rows:
        key = row.get("_partition")
        per_partition[key] += 1
        if per_partition[key] <= page_size:
            yield row


def clear_value(row: Row, name: str) -> Any:
    """A join key's value before masking."""
    keys = row.get("_keys")
    return keys[name] if keys and name in keys else row.get(name)


def _small_complement(whole: list[Row], query: AggregateQuery, k: int) -> Callable[[Row], bool]:
    """Complementary suppression. Where a filter leaves out fewer than k rows of a group,
    the unfiltered summary minus this one would reveal those few rows: such groups hide."""
    keys = [d.key for d in query.group_by]
    totals = {tuple(g[key] for key in keys): g["count"] for g in whole}
    return lambda g: 0 < totals.get(tuple(g[key] for key in keys), 0) - g["count"] < k


class Gateway:
    def __init__(self, ctx: RequestContext) -> None:
        self.ctx = ctx

    def _check_purpose(self, entity: str, clear_fields: list[str]) -> None:
        """Refuse reads that need a stated purpose (e.g. a case number) the caller lacks."""
        refusal = self.ctx.purpose.check(self.ctx.principal, [(entity, f) for f in clear_fields])
        if refusal is not None:
            raise GraphQLError(refusal, extensions={"code": "PURPOSE_REQUIRED"})

    def _connector(self, entity: str) -> Connector:
        connector = self.ctx.sources.for_entity(entity)
        if connector is None:
            raise source_failed(SourceUnavailable(f"<{entity}>", "no source serves it"))
        return connector

    async def fetch(
        self, query: EntityQuery, via: Relation | None = None, keys: tuple[str, ...] = (),
        *, page_size: int | None = None,
    ) -> list[Row]:
        """Scoped, masked rows. Join keys that get masked keep their clear value in
        `row["_keys"]`, for the hub's own joins only (no GraphQL field reads it). Rows past
        `page_size` (per partition) only tell a page whether more follow: the caller never
        sees them, so they are not noted as read."""
        with _caller_errors():
            scoped = self.ctx.scoper.scope(query, via)
            # Filtering on a field reads it too (a count or an empty page answers "is it
            # there?").
            self._check_purpose(query.entity, [
                *(f for f in query.fields if f not in scoped.masks), *_filtered(query)])
            rows = await self._connector(query.entity).fetch(scoped)
        join_keys = [k for k in (*keys, *_relation_keys(query.entity)) if k in scoped.masks]
        if join_keys:
            for row in rows:
                row["_keys"] = {k: row.get(k) for k in join_keys}
        apply_masks(rows, scoped.masks)
        self.ctx.reads.note_rows(query.entity, (r["id"] for r in _shown(rows, page_size)),
                                 query.fields, scoped.masks)
        return rows

    async def count(self, query: EntityQuery) -> int:
        with _caller_errors():
            scoped = self.ctx.scoper.scope(query)
            self._check_purpose(query.entity, _filtered(query))
            count = await self._connector(query.entity).count(scoped)
        self.ctx.reads.note_aggregate(query.entity, _filtered(query))
        return count

    async def count_partitioned(
        self, query: EntityQuery, via: Relation | None = None
    ) -> Mapping[Any, int]:
        with _caller_errors():
            scoped = self.ctx.scoper.scope(query, via)
            self._check_purpose(query.entity, _filtered(query))
            counts = await self._connector(query.entity).count_partitioned(scoped)
        self.ctx.reads.note_aggregate(query.entity, _filtered(query))
        return counts

    async def aggregate(self, query: AggregateQuery) -> list[Row]:
        self._check_purpose(query.entity, [query.sum_field, *(d.field for d in query.group_by)])
        with _caller_errors():
            scoped = self.ctx.scoper.scope_aggregate(query)
            connector = self._connector(query.entity)
            k = scoped.min_group_size
            if k <= 1:
                groups = await connector.aggregate(scoped)
            else:
                every = await connector.aggregate(self.ctx.scoper.unsuppressed(scoped))
                if query.limit is not None and len(every) >= query.limit:
                    # Suppression must see every group to be sound.
                    raise GraphQLError("Too many groups for a suppressed summary; group more "
                                       "coarsely.", extensions={"code": "BAD_USER_INPUT"})
                hide: Callable[[Row], bool] | None = None
                if query.where:
                    whole = await connector.aggregate(self.ctx.scoper.complement(scoped))
                    hide = _small_complement(whole, query, k)
                groups = suppress(every, query.group_by, k, hide)
        self.ctx.reads.note_aggregate(
            query.entity, [query.sum_field, *(d.field for d in query.group_by)]
        )
        return groups
