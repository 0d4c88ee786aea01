"""Writes of the `sql` kind: canonical values as the source stores them, and the statements.

Values take the mapping's units and code tables like reads do (`FieldMapping.to_source`), then
the column's own form: integers for integer ids, text for text columns (times as ISO text),
an offset for time-zone-aware columns. What a column cannot hold — no code for an enum value,
text longer than the column — is refused with the hub's own reason before any statement runs.
Every value is a bound parameter; names come only from the checked mapping.

A new row's id comes from the mapping's `write.insert_id`: "database" (the column assigns it:
autoincrement, identity or a default), "next" (max + 1 computed inside the INSERT, retried when
a concurrent insert took it) or "uuid" (the hub fills a text column).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping, Sequence
from typing import Any, Final

import sqlalchemy as sa

from auth.model.catalog import Kind
from auth.model.query import Condition, Op
from auth.model.time import CHINA, local_naive
from connectors.base import MappingError
from connectors.mapping import EntityMapping

from .compile import BoundTable

INSERT_IDS: Final = ("database", "next", "uuid")


class Unstorable(ValueError):
    """A value the source's column cannot hold; the message is the hub's own reason."""


def insert_id(mapping: EntityMapping) -> str:
    """The mapping's id strategy for new rows (checked at start-up)."""
    write = mapping.write
    if write is None:
        return "database"
    unknown = set(write.options) - {"insert_id"}
    if unknown:
        raise MappingError(f"{write.where}.{sorted(unknown)[0]}: unknown key; expected fields, "
                           "insert_id")
    value = write.options.get("insert_id", "database")
    if value not in INSERT_IDS:
        raise MappingError(f"{write.where}.insert_id: expected one of {', '.join(INSERT_IDS)}")
    return str(value)


def stored_value(table: BoundTable, name: str, value: Any) -> Any:
    """A canonical value as `table`'s column for field `name` keeps it (Unstorable)."""
    if value is None:
        return None
    fm = table.field(name)
    what = f"{table.mapping.entity}.{name}"
    converted = fm.to_source(value)
    if converted is None:
        raise Unstorable(f"{what}: the source has no code for {value!r}")
    column = table.column(name)
    if table.is_integer(name) and fm.kind in (Kind.ID, Kind.INT):
        number = table.integer_value(name, value)
        if number is None:
            raise Unstorable(f"{what}: the source keeps it as a number; {value!r} is not one "
                             "it can hold")
        return number
    if table.is_text(name) and not isinstance(converted, str):
        if isinstance(converted, dt.datetime):
            converted = converted.isoformat(sep=" ")
        elif isinstance(converted, dt.date):
            converted = converted.isoformat()
        else:
            converted = str(converted)
    length = getattr(column.type, "length", None)
    if isinstance(converted, str) and length is not None and len(converted) > length:
        raise Unstorable(f"{what}: the source keeps at most {length} characters")
    if isinstance(converted, dt.datetime) and getattr(column.type, "timezone", False):
        converted = converted.replace(tzinfo=CHINA)
    return converted


def stored_values(table: BoundTable, values: Mapping[str, Any]) -> dict[str, Any]:
    """Column name → value, for every canonical field in `values`."""
    return {table.field(name).source: stored_value(table, name, value)
            for name, value in values.items()}


def by_id(table: BoundTable, row_id: str, scope: Sequence[Condition]) -> tuple[Condition, ...]:
    return (Condition("id", Op.EQ, row_id), *scope)


def stamped(table: BoundTable, columns: Mapping[str, Any]) -> dict[str, Any]:
    """`columns` with the mapping's watermark column set to now: a write is a change, and
    the hub's change feed follows the source by that column."""
    watermark = table.mapping.container.get("watermark")
    if not isinstance(watermark, str):
        return dict(columns)
    return {**columns, watermark: local_naive(dt.datetime.now(dt.UTC))}


def insert_statement(table: BoundTable, columns: Mapping[str, Any], strategy: str
                     ) -> tuple[sa.Insert, str | None]:
    """The INSERT for `columns`, returning the new id's column; and the id the hub made
    (strategy "uuid"), if any."""
    columns = stamped(table, columns)
    id_column = table.column("id")
    if strategy == "uuid":
        if not table.is_text("id"):
            raise Unstorable(f"{table.mapping.entity}.id: insert_id = \"uuid\" needs a text "
                             "id column")
        made = uuid.uuid4().hex
        stmt = sa.insert(table.table).values({id_column.name: made, **columns})
        return stmt.returning(id_column), made
    if strategy == "next":
        if not table.is_integer("id"):
            raise Unstorable(f"{table.mapping.entity}.id: insert_id = \"next\" needs an "
                             "integer id column")
        names = list(columns)
        values = [sa.literal(columns[n], type_=table.table.c[n].type) for n in names]
        following = sa.select(sa.func.coalesce(sa.func.max(id_column), 0) + 1, *values)
        stmt = sa.insert(table.table).from_select([id_column.name, *names], following)
        return stmt.returning(id_column), None
    return sa.insert(table.table).values(columns).returning(id_column), None


def update_statement(table: BoundTable, row_id: str, scope: Sequence[Condition],
                     columns: Mapping[str, Any]) -> sa.Update:
    return sa.update(table.table).where(table.where(by_id(table, row_id, scope))).values(
        stamped(table, columns))
