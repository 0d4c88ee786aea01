"""Enforcement: turn a canonical query or write into a scoped one, or refuse it.

This is the only place that builds `ScopedQuery`/`ScopedAggregate` and the scoped writes
`ScopedInsert`/`ScopedUpdate`. It re-checks every field, filter, order and grouping against the
role's grants (the per-role schema already hides them; this is the second lock), adds the row
predicate, and attaches the masking plan. A write may touch only the fields the role's `write`
grant names, with values that fit the catalog (`auth.model.values`), and only rows inside the
role's row scope — an update's target must lie in it (connectors test that on the row, so a
row outside it answers like a missing one), and no write may put a row outside it
(`OutOfScope`). The one unscoped query, `operator_lookup`, is for the operator's own command
line.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from auth.identity.principal import Principal
from auth.model.catalog import ENTITIES
from auth.model.query import (
    AggregateQuery,
    Condition,
    EntityQuery,
    Insert,
    Op,
    ScopedAggregate,
    ScopedInsert,
    ScopedQuery,
    ScopedUpdate,
    Update,
)
from auth.model.regions import is_region_code, jurisdiction_prefix
from auth.model.values import check_values

from .policy import EntityGrant, RolePolicy


class AccessDenied(Exception):
    """A query asked for something its role is not granted (a bug upstream, or probing)."""


class OutOfScope(Exception):
    """A write whose values would put a row where the role's row scope does not reach (a
    region outside its jurisdiction, a status its static conditions exclude)."""

    def __init__(self, entity: str, field: str, value: object) -> None:
        super().__init__(f"{entity}.{field} = {value!r} is outside your scope")
        self.entity = entity
        self.field = field
        self.value = value


@dataclass(frozen=True)
class Relation:
    """How a query was reached: following `name` from a row of `parent`."""

    parent: str
    name: str


_NO_ROWS = Condition("id", Op.IN, ())


class Scoper:
    """Scopes queries for one principal acting in one role."""

    def __init__(self, role: RolePolicy, principal: Principal) -> None:
        self.role = role
        self.principal = principal

    def row_scope(self, grant: EntityGrant) -> tuple[Condition, ...]:
        conditions = list(grant.where)
        if grant.rows == "jurisdiction":
            code = self.principal.region_code
            if code is None or not is_region_code(code):
                return (_NO_ROWS,)
            conditions.insert(0, Condition("regionCode", Op.WITHIN, jurisdiction_prefix(code)))
        return tuple(conditions)

    def row_conditions(self, entity: str) -> tuple[Condition, ...]:
        """The row predicate alone, for what the hub keeps of rows rather than fetches (the
        change journal tests each change's recorded region and status against it)."""
        return self.row_scope(self._grant(entity, read=True))

    def scope(self, query: EntityQuery, via: Relation | None = None) -> ScopedQuery:
        grant = self._grant(query.entity, read=True)
        internal = self._internal_fields(grant, via)
        for name in query.fields:
            if not grant.visible(name) and name not in internal:
                raise AccessDenied(f"{query.entity}.{name} is not granted to {self.role.name}")
        for cond in query.where:
            # Looking a row up by id is what `read` grants (lookups and `node`).
            if cond.field not in grant.filterable and cond.field not in internal \
                    and cond.field != "id":
                raise AccessDenied(f"filter on {query.entity}.{cond.field} is not granted")
        for key in query.order:
            if key.field not in grant.orderable and key.field != "id":
                raise AccessDenied(f"order on {query.entity}.{key.field} is not granted")
        part = query.partition
        if part is not None and part.field not in internal and part.field not in grant.filterable:
            raise AccessDenied(f"partition on {query.entity}.{part.field} is not granted")
        masks = {f: m for f, m in grant.masked.items() if f in query.fields}
        return ScopedQuery(query, self.row_scope(grant), masks)

    def scope_aggregate(self, query: AggregateQuery) -> ScopedAggregate:
        grant = self._grant(query.entity, read=False)
        if not grant.aggregate:
            raise AccessDenied(f"aggregates over {query.entity} are not granted")
        for dim in query.group_by:
            if dim.field not in grant.groupable:
                raise AccessDenied(f"grouping on {query.entity}.{dim.field} is not granted")
        for cond in query.where:
            if cond.field not in grant.filterable:
                raise AccessDenied(f"filter on {query.entity}.{cond.field} is not granted")
        if query.sum_field not in grant.fields or query.sum_field in grant.masked:
            raise AccessDenied(f"sum of {query.entity}.{query.sum_field} is not granted")
        return ScopedAggregate(query, self.row_scope(grant), self.role.min_group_size)

    def scope_insert(self, insert: Insert) -> ScopedInsert:
        """A new row: granted fields, values that fit the catalog, inside the row scope."""
        grant = self._write_grant(insert.entity, insert.values)
        values = check_values(insert.entity, insert.values, insert=True)
        scope = self.row_scope(grant)
        for cond in scope:
            if not _holds(cond, values.get(cond.field)):
                raise OutOfScope(insert.entity, cond.field, values.get(cond.field))
        return ScopedInsert(Insert(insert.entity, values), scope)

    def scope_update(self, update: Update) -> ScopedUpdate:
        """New values for one row: granted fields, values that fit the catalog; the row must
        lie in the row scope now (tested by the connector) and stay inside it."""
        grant = self._write_grant(update.entity, update.values)
        values = check_values(update.entity, update.values, insert=False)
        scope = self.row_scope(grant)
        for cond in scope:
            if cond.field in values and not _holds(cond, values[cond.field]):
                raise OutOfScope(update.entity, cond.field, values[cond.field])
        return ScopedUpdate(Update(update.entity, str(update.id), values), scope)

    def _write_grant(self, entity: str, values: Mapping[str, Any]) -> EntityGrant:
        grant = self._grant(entity, read=True)
        for name in values:
            if name not in grant.writable:
                raise AccessDenied(f"writing {entity}.{name} is not granted to {self.role.name}")
        return grant

    def unsuppressed(self, scoped: ScopedAggregate) -> ScopedAggregate:
        """The same query with every group, small ones included: for the hub's own
        suppression (`auth.access.suppression`), which needs their sizes (never returned)."""
        return ScopedAggregate(scoped.query, scoped.scope, 1)

    def complement(self, scoped: ScopedAggregate) -> ScopedAggregate:
        """The same groups without the caller's filters and without suppression: for the hub
        to see which filtered groups could be recovered by differencing (never returned)."""
        return ScopedAggregate(replace(scoped.query, where=()), scoped.scope, 1)

    def _grant(self, entity: str, *, read: bool) -> EntityGrant:
        grant = self.role.grant(entity)
        if grant is None or (read and not grant.read):
            raise AccessDenied(f"{entity} is not granted to {self.role.name}")
        return grant

    def _internal_fields(self, grant: EntityGrant, via: Relation | None) -> set[str]:
        """Keys the hub itself needs: to follow the role's visible relations, and the
        remote key of the relation this query was reached through."""
        entity = ENTITIES[grant.entity]
        needed = {entity.relations[r].local for r in grant.relations}
        needed |= {entity.relations[r].via_local or "" for r in grant.relations}
        if via is not None:
            parent_grant = self._grant(via.parent, read=True)
            if via.name not in parent_grant.relations:
                raise AccessDenied(f"{via.parent}.{via.name} is not granted")
            rel = ENTITIES[via.parent].relations[via.name]
            if rel.via == grant.entity:
                needed |= {rel.via_local or "", rel.via_remote or ""}
            elif rel.target == grant.entity:
                needed.add(rel.remote)
            else:
                raise AccessDenied(f"{via.parent}.{via.name} does not lead to {grant.entity}")
        needed.discard("")
        return needed


def _holds(cond: Condition, value: object) -> bool:
    """Whether a written value satisfies one condition of a row scope (the forms policies
    make: a jurisdiction subtree, static IN lists; anything else is not assumed to hold)."""
    if value is None:
        return False
    if cond.op is Op.WITHIN:
        return is_region_code(value) and str(value).startswith(str(cond.value))
    if cond.op is Op.IN:
        return value in cond.value
    if cond.op is Op.EQ:
        return bool(value == cond.value)
    return False


def target_of(update: ScopedUpdate, fields: tuple[str, ...]) -> ScopedQuery:
    """The row a scoped update names, as a scoped read: by id, inside the update's scope (for
    connectors whose source cannot test the scope in the write itself)."""
    by_id = (Condition("id", Op.EQ, update.command.id),)
    return ScopedQuery(EntityQuery(update.entity, fields, by_id, limit=1), update.scope)


def operator_lookup(entity: str, row_id: str) -> ScopedQuery:
    """One row by id, every field, no row scope and no masks: the operator's own look at a
    row for `huitong policy explain`, which runs locally with the operator's access to the
    sources. No request to the hub can reach this."""
    fields = tuple(ENTITIES[entity].fields)
    return ScopedQuery(EntityQuery(entity, fields, (Condition("id", Op.EQ, row_id),), limit=1),
                       scope=())
