"""The canonical query model: what a resolver asks for, and the scoped form connectors accept.

A resolver builds an `EntityQuery` (or `AggregateQuery`) from GraphQL arguments. Only
`auth.access.scope` turns it into a `ScopedQuery`/`ScopedAggregate`, adding the role's row predicate
and masking plan; connectors accept nothing else, so no path can fetch unscoped rows.

Writes are commands of the same kind: an `Insert` or an `Update` (by id) of canonical values,
which only the scoper turns into a `ScopedInsert`/`ScopedUpdate` (values checked against the
catalog and the role's write grant; the row scope attached), the only form connectors write.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any


class Op(StrEnum):
    EQ = "eq"
    NE = "ne"
    IN = "in"
    LT = "lt"
    LTE = "lte"
    GT = "gt"
    GTE = "gte"
    IS_NULL = "is_null"
    # Region subtree: the value is a jurisdiction prefix (length 2, 4, 6, 9 or 12).
    WITHIN = "within"
    CONTAINS = "contains"


@dataclass(frozen=True, slots=True)
class Condition:
    field: str
    op: Op
    value: Any = None


@dataclass(frozen=True, slots=True)
class OrderKey:
    field: str
    descending: bool = False


@dataclass(frozen=True, slots=True)
class Partition:
    """Fetch at most `limit` rows per key of `field` (per parent in a nested list).

    With `prefix_length`, rows are grouped by the first `prefix_length` characters of the
    field (a region's subtree), and `keys` are such prefixes.
    """

    field: str
    keys: tuple[Any, ...]
    limit: int
    prefix_length: int | None = None


@dataclass(frozen=True, slots=True)
class Since:
    """Rows in the order their source last changed them: by the source's watermark (an
    `updated_at` column, an API's modified time, a file's import sequence), then id; after
    `position` = (watermark, id) of the last row seen, or from the start. The rows carry their
    watermark (`connectors.rows.WATERMARK`). Only sources whose mapping names a watermark
    answer such a query (`Connector.follows`)."""

    position: tuple[Any, str] | None = None


@dataclass(frozen=True, slots=True)
class EntityQuery:
    entity: str
    fields: tuple[str, ...]
    where: tuple[Condition, ...] = ()
    # Keyset pagination needs a total order: resolvers always end `order` with `id`.
    order: tuple[OrderKey, ...] = ()
    limit: int | None = None
    after: tuple[Any, ...] | None = None
    partition: Partition | None = None
    # Changes since a position: `order` and `after` are then unused (see `Since`).
    since: Since | None = None


class Transform(StrEnum):
    VALUE = "value"
    PREFIX = "prefix"
    MONTH = "month"


@dataclass(frozen=True, slots=True)
class Dimension:
    """One GROUP BY key: a field's value, its first `length` characters, or its month."""

    key: str
    field: str
    transform: Transform = Transform.VALUE
    length: int | None = None


@dataclass(frozen=True, slots=True)
class AggregateQuery:
    entity: str
    sum_field: str
    group_by: tuple[Dimension, ...]
    where: tuple[Condition, ...] = ()
    limit: int | None = None


@dataclass(frozen=True, slots=True)
class ScopedQuery:
    query: EntityQuery
    scope: tuple[Condition, ...]
    masks: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def entity(self) -> str:
        return self.query.entity

    @property
    def conditions(self) -> tuple[Condition, ...]:
        return self.scope + self.query.where


@dataclass(frozen=True, slots=True)
class ScopedAggregate:
    query: AggregateQuery
    scope: tuple[Condition, ...]
    # Groups with fewer rows are left out by the source (HAVING COUNT(*) >= min_group_size).
    min_group_size: int = 1

    @property
    def entity(self) -> str:
        return self.query.entity

    @property
    def conditions(self) -> tuple[Condition, ...]:
        return self.scope + self.query.where


@dataclass(frozen=True, slots=True)
class Insert:
    """A new row of `entity` with canonical `values` (the source or the mapping makes its id)."""

    entity: str
    values: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Update:
    """New canonical `values` for the row of `entity` whose id is `id`."""

    entity: str
    id: str
    values: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class ScopedInsert:
    command: Insert
    # The row scope the new row lies in (the scoper has checked its values against it).
    scope: tuple[Condition, ...]

    @property
    def entity(self) -> str:
        return self.command.entity


@dataclass(frozen=True, slots=True)
class ScopedUpdate:
    command: Update
    # Only a row that satisfies these conditions may be changed: connectors test them on the
    # row as it is (a row outside them is missing); the new values keep the row inside them.
    scope: tuple[Condition, ...]

    @property
    def entity(self) -> str:
        return self.command.entity
