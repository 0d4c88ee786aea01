"""The one road to the data: scope, call the source, mask, note the access.

Every list, lookup, `node`, relation, count and aggregate — whether a GraphQL resolver asks or
the hub's own background work (the risk scanner, exports, publishing, acting as a named system
principal) — goes through `Gateway`, so row scope, purpose rules, masking, small-group
suppression and the access log cannot be skipped by any path. Writes take the same road:
`insert` and `update` (by id) are scoped commands built by the scoper (granted fields, values
checked against the catalog, inside the row scope), written by the source's connector, and
noted in the access log with digests of the row before and after. They hand back no row
values (only a new row's id): what a caller then sees of the row is a read like any other.
It knows nothing of GraphQL: refusals and failures leave as domain errors (`AccessDenied`,
`OutOfScope`, `InvalidValue`, `NotFound`, `PurposeRequired`, `InvalidQuery`, `SourceError` and
its kinds), which each caller words for its own callers (`resolvers.gateway` as GraphQL errors
with stable codes).

`Sources` routes each entity to the connector serving it, for every request alike.
"""

from __future__ import annotations

import contextlib
import logging
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from auth.access.masking import apply_masks
from auth.access.policy import Policy
from auth.access.purpose import NO_RULES, PurposeRules
from auth.access.scope import AccessDenied, Relation, Scoper
from auth.access.suppression import suppress
from auth.audit.access_log import AccessLog
from auth.identity.principal import Principal
from auth.model.catalog import ENTITIES
from auth.model.query import AggregateQuery, EntityQuery, Insert, Update
from auth.model.regions import jurisdiction_prefix

from .base import Connector, SourceError, SourceReadOnly, SourceUnavailable
from .rows import Row, keep_clear_keys, partition_of
from .tree import NodeRows, ReadNode, ScopedNode, TreeUnsupported, child_rows

TOO_MANY_GROUPS = "Too many groups for a suppressed summary; group more coarsely."
log = logging.getLogger("huitong.sources")


@contextlib.contextmanager
def logged_failures(entity: str) -> Iterator[None]:
    """A source failure is logged here (source, code, and the detail callers never see)."""
    try:
        yield
    except SourceError as exc:
        log.warning("source %s failed reading %s: %s %s", exc.source, entity, exc.code,
                    exc.detail)
        raise


class InvalidQuery(ValueError):
    """A query the hub cannot answer as asked; the message says how to ask instead."""


class NotFound(LookupError):
    """No row of `entity` with this id in the caller's scope: a hidden row and a missing
    one are the same answer."""

    def __init__(self, entity: str, row_id: str) -> None:
        super().__init__(f"no {entity} {row_id!r} in scope")
        self.entity = entity
        self.id = row_id


@dataclass
class Sources:
    """Routes each entity to the connector serving it; shared by all requests."""

    connectors: dict[str, Connector]
    by_entity: dict[str, Connector] = field(init=False)

    def __post_init__(self) -> None:
        self.by_entity = {e: c for c in self.connectors.values() for e in c.entities}

    def for_entity(self, entity: str) -> Connector | None:
        return self.by_entity.get(entity)


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
        key = partition_of(row)
        per_partition[key] += 1
        if per_partition[key] <= page_size:
            yield row


def _tree_entities(nodes: tuple[ScopedNode, ...]) -> list[str]:
    return [e for n in nodes for e in (n.entity, *_tree_entities(n.children))]


def small_complement(whole: list[Row], query: AggregateQuery, k: int) -> Callable[[Row], bool]:
    """Complementary suppression. Where a filter leaves out fewer than k rows of a group,
    the unfiltered summary minus this one would reveal those few rows: such groups hide."""
    keys = [d.key for d in query.group_by]
    totals = {tuple(g[key] for key in keys): g["count"] for g in whole}
    return lambda g: 0 < totals.get(tuple(g[key] for key in keys), 0) - g["count"] < k


class Gateway:
    """One principal's road to the data, in its role: every read scoped, masked and logged."""

    def __init__(self, scoper: Scoper, sources: Sources, purpose: PurposeRules = NO_RULES,
                 log: AccessLog | None = None) -> None:
        self.scoper = scoper
        self.sources = sources
        self.purpose = purpose
        self.log = log if log is not None else AccessLog()

    @classmethod
    def for_principal(cls, policy: Policy, principal: Principal, sources: Sources,
                      log: AccessLog | None = None) -> Gateway:
        """The road for `principal` in its role of `policy` (AccessDenied: no such role)."""
        role = policy.role(principal.role)
        if role is None:
            raise AccessDenied(f"the role {principal.role!r} is not in the policy")
        return cls(Scoper(role, principal), sources, policy.purpose, log)

    @property
    def principal(self) -> Principal:
        return self.scoper.principal

    def _check_purpose(self, entity: str, clear_fields: list[str]) -> None:
        """Refuse reads that need a stated purpose (e.g. a case number) the caller lacks."""
        self.purpose.require(self.principal, [(entity, f) for f in clear_fields])

    async def insert(self, entity: str, values: Mapping[str, Any]) -> str:
        """Store a new row as the principal; its id. The access log keeps the digest of the
        row as stored."""
        command = self.scoper.scope_insert(Insert(entity, dict(values)))
        row = await self._writer(entity).insert(command)
        row_id = str(row["id"])
        self.log.note_write(entity, row_id, "create", None, row)
        return row_id

    async def update(self, entity: str, row_id: str, values: Mapping[str, Any]) -> None:
        """Change one row the principal can see (NotFound: none in scope with that id). The
        access log keeps the digests of the row before and after."""
        command = self.scoper.scope_update(Update(entity, str(row_id), dict(values)))
        changed = await self._writer(entity).update(command)
        if changed is None:
            raise NotFound(entity, str(row_id))
        before, after = changed
        self.log.note_write(entity, str(row_id), "update", before, after)

    def _writer(self, entity: str) -> Connector:
        connector = self._connector(entity)
        if entity not in connector.writable:
            raise SourceReadOnly(connector.name, f"{entity} is read-only here")
        return connector

    def _connector(self, entity: str) -> Connector:
        connector = self.sources.for_entity(entity)
        if connector is None:
            raise SourceUnavailable(f"<{entity}>", "no source serves it")
        return connector

    async def fetch(
        self, query: EntityQuery, via: Relation | None = None, keys: tuple[str, ...] = (),
        *, page_size: int | None = None,
    ) -> list[Row]:
        """Scoped, masked rows. Join keys that get masked keep their clear value for the
        hub's own joins only (`connectors.rows.clear_value`). Rows past `page_size` (per
        partition) only tell a page whether more follow: the caller never sees them, so they
        are not noted as read."""
        scoped = self.scoper.scope(query, via)
        # Filtering on a field reads it too (a count or an empty page answers "is it there?").
        self._check_purpose(query.entity, [
            *(f for f in query.fields if f not in scoped.masks), *_filtered(query)])
        with logged_failures(query.entity):
            rows = await self._connector(query.entity).fetch(scoped)
        join_keys = [k for k in (*keys, *_relation_keys(query.entity)) if k in scoped.masks]
        if join_keys:
            for row in rows:
                keep_clear_keys(row, join_keys)
        apply_masks(rows, scoped.masks)
        self.log.note_rows(query.entity, (r["id"] for r in _shown(rows, page_size)),
                           query.fields, scoped.masks)
        return rows

    async def count(self, query: EntityQuery) -> int:
        scoped = self.scoper.scope(query)
        self._check_purpose(query.entity, _filtered(query))
        with logged_failures(query.entity):
            count = await self._connector(query.entity).count(scoped)
        self.log.note_aggregate(query.entity, _filtered(query))
        return count

    async def count_partitioned(
        self, query: EntityQuery, via: Relation | None = None
    ) -> Mapping[Any, int]:
        scoped = self.scoper.scope(query, via)
        self._check_purpose(query.entity, _filtered(query))
        with logged_failures(query.entity):
            counts = await self._connector(query.entity).count_partitioned(scoped)
        self.log.note_aggregate(query.entity, _filtered(query))
        return counts

    async def aggregate(self, query: AggregateQuery) -> list[Row]:
        """Groups computed at the source; with the role's minimum group size, small groups
        and the groups that would let a caller subtract down to them are left out."""
        self._check_purpose(query.entity, [query.sum_field, *(d.field for d in query.group_by)])
        scoped = self.scoper.scope_aggregate(query)
        connector = self._connector(query.entity)
        with logged_failures(query.entity):
            k = scoped.min_group_size
            if k <= 1:
                groups = await connector.aggregate(scoped)
            else:
                every = await connector.aggregate(self.scoper.unsuppressed(scoped))
                if query.limit is not None and len(every) >= query.limit:
                    # Suppression must see every group to be sound.
                    raise InvalidQuery(TOO_MANY_GROUPS)
                hide: Callable[[Row], bool] | None = None
                if query.where:
                    whole = await connector.aggregate(self.scoper.complement(scoped))
                    hide = small_complement(whole, query, k)
                groups = suppress(every, query.group_by, k, hide)
        self.log.note_aggregate(
            query.entity, [query.sum_field, *(d.field for d in query.group_by)]
        )
        return groups

    async def fetch_tree(self, roots: tuple[ReadNode, ...]) -> list[NodeRows]:
        """A whole tree of reads from one source in one go: every node scoped and checked as
        `fetch` and `count` check it, masked at the source, and noted as the per-node calls
        would note it. `TreeUnsupported` when one connector cannot answer it all."""
        scoped = tuple(self._scope_node(node) for node in roots)
        connectors = {id(self._connector(e)): self._connector(e) for e in _tree_entities(scoped)}
        if len(connectors) != 1:
            raise TreeUnsupported("the tree spans several sources")
        (connector,) = connectors.values()
        answers = await connector.fetch_tree(scoped)
        for node, answer in zip(scoped, answers, strict=True):
            self._note_tree(node, [answer], [None])
        return answers

    def _scope_node(self, node: ReadNode) -> ScopedNode:
        scoped = self.scoper.scope(node.query, node.via)
        self._check_purpose(node.query.entity, [
            *(f for f in node.query.fields if f not in scoped.masks), *_filtered(node.query)])
        counted = None
        if node.count is not None:
            counted = self.scoper.scope(node.count, node.via)
            self._check_purpose(node.count.entity, _filtered(node.count))
        children = tuple(self._scope_node(child) for child in node.children)
        return ScopedNode(node, scoped, counted, children)

    def _note_tree(self, node: ScopedNode, answers: list[NodeRows],
                   parents: list[Row | None]) -> None:
        """Note one node's rows under every parent row it was read for, as the per-node
        loaders note them: rows past a page unseen (and their children never asked for),
        parents without a key never asked about, one count per batch."""
        query, attach, size = node.scoped.query, node.node.attach, node.node.page_size
        shown: list[Row] = []
        batches: set[int] = set()
        asked = False
        for answer, parent in zip(answers, parents, strict=True):
            if parent is not None and attach is not None:
                key = parent.get(attach.local)
                if key is None:
                    continue
                # Region subtrees are batched per level (the length of their prefix).
                batches.add(len(jurisdiction_prefix(str(key))) if attach.kind == "subtree"
                            else 0)
            asked = True
            shown += answer.rows if size is None else answer.rows[:size]
        if not asked:
            return
        if node.node.wants_rows:
            self.log.note_rows(query.entity, (r["id"] for r in shown), query.fields,
                               node.scoped.masks)
        if node.counted is not None:
            for _ in range((len(batches) or 1) * node.node.count_notes):
                self.log.note_aggregate(query.entity, _filtered(node.counted.query))
        for i, child in enumerate(node.children):
            self._note_tree(child, [child_rows(row, i) for row in shown], list(shown))
