"""Turn scoped canonical queries into SQLAlchemy Core statements over a source's own tables.

Every value goes in as a bound parameter; names come only from the checked mapping.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from auth.model.catalog import ENTITIES, ENUMS, Kind
from auth.model.query import Condition, Dimension, EntityQuery, Op, OrderKey, Transform
from connectors.mapping import EntityMapping, FieldMapping
from connectors.rows import ID_SORT_WIDTH, PARTITION, WATERMARK, id_sort_text

_NEVER = object()
_CANONICAL_INT = re.compile(r"-?(0|[1-9][0-9]*)")


@dataclass(frozen=True)
class _OutOfRange:
    """An integer beyond its column's range: no row equals it; it lies above or below all."""

    above: bool


def _out_of_range(number: int, high: int) -> _OutOfRange:
    return _OutOfRange(above=number > high)


def _integer_range(type_: Any, dialect: str) -> tuple[int, int]:
    # SQLite stores every INTEGER in up to 64 bits, whatever the declared type.
    bits = 64 if dialect == "sqlite" or isinstance(type_, sa.BigInteger) else \
        16 if isinstance(type_, sa.SmallInteger) else 32
    return -(2 ** (bits - 1)), 2 ** (bits - 1) - 1


def _range_truth(col: ColumnElement[Any], op: Op, above: bool) -> ColumnElement[bool]:
    """`col <op> value` for a value above (or below) every value the column can hold."""
    holds = {Op.LT, Op.LTE, Op.NE} if above else {Op.GT, Op.GTE, Op.NE}
    return col.is_not(None) if op in holds else sa.false()


_ROW_NUMBER = "_rn"


def _prefix(col: ColumnElement[Any], length: int) -> ColumnElement[Any]:
    # Inline, not bound: PostgreSQL matches GROUP BY to SELECT expressions only when the
    # two are written identically, and two bound parameters never are.
    return sa.func.substr(col, sa.literal_column("1"), sa.literal_column(str(int(length))))


def literal_limit(limit: int) -> ColumnElement[Any]:
    """A page size written into the statement. Bound, it lets PostgreSQL settle on a generic
    plan after five runs of a prepared statement, planned for no particular size (for a GROUP
    BY, a walk of another index through every row instead of the scope's few)."""
    return sa.literal_column(str(int(limit)))


@dataclass(frozen=True)
class BoundTable:
    """A mapped entity bound to the reflected table of one source."""

    mapping: EntityMapping
    table: sa.TableClause
    dialect: str

    def column(self, name: str) -> sa.ColumnClause[Any]:
        return self.table.c[self.mapping.source_of(name).source]

    def field(self, name: str) -> FieldMapping:
        return self.mapping.source_of(name)

    def is_integer(self, name: str) -> bool:
        return isinstance(self.column(name).type, sa.Integer)

    def is_text(self, name: str) -> bool:
        return isinstance(self.column(name).type, sa.String)

    # -- values ----------------------------------------------------------------------------
    def bind_value(self, name: str, value: Any) -> Any:
        """A canonical value as the source stores it, or _NEVER when it cannot match."""
        fm = self.field(name)
        converted = fm.to_source(value)
        if converted is None:
            return _NEVER
        if self.is_integer(name) and fm.kind in (Kind.ID, Kind.INT):
            # Only the canonical spelling names a row: " 12", "012" or full-width "１２"
            # would otherwise be one more id for the same object.
            if isinstance(converted, str) and not _CANONICAL_INT.fullmatch(converted):
                return _NEVER
            try:
                number = int(converted)
            except (TypeError, ValueError):
                return _NEVER
            low, high = _integer_range(self.column(name).type, self.dialect)
            # Beyond the column's range nothing can match; binding it would be a driver error.
            return number if low <= number <= high else _out_of_range(number, high)
        if self.is_text(name) and not isinstance(converted, str):
            return str(converted) if fm.kind not in (Kind.DATE, Kind.DATETIME) else (
                converted.isoformat(sep=" ") if fm.kind is Kind.DATETIME else converted.isoformat()
            )
        return converted

    def integer_value(self, name: str, value: Any) -> int | None:
        """The integer an integer column holds for canonical `value`, or None if it cannot."""
        bound = self.bind_value(name, value)
        return None if bound is _NEVER or isinstance(bound, _OutOfRange) else int(bound)

    # -- expressions -----------------------------------------------------------------------
    def condition(self, cond: Condition) -> ColumnElement[bool]:
        col = self.column(cond.field)
        if cond.op is Op.IS_NULL:
            return col.is_(None) if cond.value else col.is_not(None)
        if cond.op is Op.WITHIN:
            prefix = str(cond.value)
            pad = 12 - len(prefix)
            return col.between(prefix + "0" * pad, prefix + "9" * pad)
        if cond.op is Op.CONTAINS:
            return col.contains(str(cond.value), autoescape=True)
        if cond.op is Op.IN:
            values = [v for v in (self.bind_value(cond.field, x) for x in cond.value)
                      if v is not _NEVER and not isinstance(v, _OutOfRange)]
            return col.in_(values) if values else sa.false()
        value = self.bind_value(cond.field, cond.value)
        if isinstance(value, _OutOfRange):
            return _range_truth(col, cond.op, value.above)
        if value is _NEVER:
            return sa.true() if cond.op is Op.NE else sa.false()
        ops = {
            Op.EQ: col.__eq__, Op.NE: col.__ne__, Op.LT: col.__lt__,
            Op.LTE: col.__le__, Op.GT: col.__gt__, Op.GTE: col.__ge__,
        }
        return ops[cond.op](value)

    def where(self, conditions: Sequence[Condition]) -> ColumnElement[bool]:
        return sa.and_(sa.true(), *(self.condition(c) for c in conditions))

    def sort_expr(self, name: str) -> ColumnElement[Any]:
        """What a field sorts by: its column, or for an enum its rank in the catalog's
        declared order (a lifecycle, not the source's codes or the names' spelling)."""
        spec = ENTITIES[self.mapping.entity].fields[name]
        if spec.kind is Kind.ID and self.is_text(name):
            return self._padded(self.column(name))
        if spec.kind is not Kind.ENUM or spec.enum is None:
            return self.column(name)
        ranks = [(self.bind_value(name, value), i) for i, value in enumerate(ENUMS[spec.enum])]
        whens: list[tuple[Any, ColumnElement[Any]]] = [
            (code, sa.literal_column(str(i))) for code, i in ranks if code is not _NEVER]
        return sa.case(*((self.column(name) == code, rank) for code, rank in whens),
                       else_=sa.literal_column(str(len(ranks))))

    def _padded(self, col: ColumnElement[Any]) -> ColumnElement[Any]:
        # Ids kept as text sort like numbers when they are numbers ('9' before '10'), as
        # integer keys do and as `connectors.in_memory` orders them: right-aligned text.
        if self.dialect == "sqlite":
            return sa.func.printf(sa.literal_column(f"'%{ID_SORT_WIDTH}s'"), col)
        return sa.func.lpad(col, sa.literal_column(str(ID_SORT_WIDTH)), sa.literal_column("' '"))

    def sort_value(self, name: str, value: Any) -> Any:
        spec = ENTITIES[self.mapping.entity].fields[name]
        if spec.kind is Kind.ID and self.is_text(name):
            return id_sort_text(value)
        if spec.kind is Kind.ENUM and spec.enum is not None:
            values = ENUMS[spec.enum]
            return values.index(value) if value in values else len(values)
        return self.bind_value(name, value)

    def keyset(self, order: Sequence[OrderKey], after: Sequence[Any]) -> ColumnElement[bool]:
        """Rows strictly after `after` in `order` (a lexicographic OR-chain; NULL-free keys)."""
        branches = []
        for i, key in enumerate(order):
            equal = [self.sort_expr(k.field) == self.sort_value(k.field, v)
                     for k, v in zip(order[:i], after[:i], strict=True)]
            value = self.sort_value(key.field, after[i])
            expr = self.sort_expr(key.field)
            branches.append(sa.and_(*equal, expr < value if key.descending else expr > value))
        return sa.or_(*branches)

    def order_by(self, order: Sequence[OrderKey]) -> list[ColumnElement[Any]]:
        return [self.sort_expr(k.field).desc() if k.descending else self.sort_expr(k.field).asc()
                for k in order]

    def partition_expr(self, field_name: str, prefix_length: int | None) -> ColumnElement[Any]:
        col = self.column(field_name)
        return _prefix(col, prefix_length) if prefix_length else col

    def dimension(self, dim: Dimension) -> ColumnElement[Any]:
        col = self.column(dim.field)
        if dim.transform is Transform.PREFIX:
            return _prefix(col, dim.length or 0)
        if dim.transform is Transform.MONTH:
            if self.is_text(dim.field) or self.dialect == "sqlite":
                return _prefix(col, 7)
            return sa.func.to_char(col, sa.literal_column("'YYYY-MM'"))
        return col

    # -- statements ------------------------------------------------------------------------
    def watermark(self) -> ColumnElement[Any]:
        name = self.mapping.container.get("watermark")
        if not isinstance(name, str):
            raise ValueError(f"{self.mapping.entity} has no watermark in its mapping")
        return self.table.c[name]

    def select_changed(self, query: EntityQuery, conditions: Sequence[Condition]
                       ) -> sa.Select[Any]:
        """Rows in watermark order (then id) after the query's position; rows whose
        watermark is NULL are never followed."""
        assert query.since is not None
        wanted = dict.fromkeys(("id", *query.fields))
        mark, ident = self.watermark(), self.sort_expr("id")
        criteria = sa.and_(self.where(conditions), mark.is_not(None))
        if query.since.position is not None:
            at, after = query.since.position
            key = self.sort_value("id", after)
            criteria = sa.and_(criteria, sa.or_(mark > at, sa.and_(mark == at, ident > key)))
        stmt = (sa.select(*(self.column(f).label(f) for f in wanted), mark.label(WATERMARK))
                .where(criteria).order_by(mark.asc(), ident.asc()))
        return stmt.limit(query.limit) if query.limit is not None else stmt

    def select_rows(self, query: EntityQuery, conditions: Sequence[Condition]) -> sa.Select[Any]:
        if query.since is not None:
            return self.select_changed(query, conditions)
        wanted = dict.fromkeys(("id", *query.fields, *(k.field for k in query.order)))
        columns: list[ColumnElement[Any]] = [self.column(f).label(f) for f in wanted]
        criteria = self.where(conditions)
        if query.after is not None:
            criteria = sa.and_(criteria, self.keyset(query.order, query.after))
        part = query.partition
        if part is None:
            stmt = sa.select(*columns).where(criteria).order_by(*self.order_by(query.order))
            return stmt.limit(literal_limit(query.limit)) if query.limit is not None else stmt
        key_expr = self.partition_expr(part.field, part.prefix_length)
        keys = [self.bind_value(part.field, k) for k in part.keys] if not part.prefix_length \
            else list(part.keys)
        ranked = (
            sa.select(
                *columns,
                key_expr.label(PARTITION),
                sa.func.row_number()
                .over(partition_by=key_expr, order_by=self.order_by(query.order))
                .label(_ROW_NUMBER),
            )
            .where(criteria, key_expr.in_([k for k in keys if k is not _NEVER]))
            .subquery()
        )
        return (
            sa.select(*(ranked.c[name] for name in (*wanted, PARTITION)))
            .where(ranked.c[_ROW_NUMBER] <= part.limit)
            .order_by(ranked.c[PARTITION], ranked.c[_ROW_NUMBER])
        )

    def select_count(self, conditions: Sequence[Condition]) -> sa.Select[Any]:
        return sa.select(sa.func.count()).select_from(self.table).where(self.where(conditions))

    def select_partition_counts(
        self, query: EntityQuery, conditions: Sequence[Condition]
    ) -> sa.Select[Any]:
        part = query.partition
        assert part is not None
        key_expr = self.partition_expr(part.field, part.prefix_length)
        keys = [self.bind_value(part.field, k) for k in part.keys] if not part.prefix_length \
            else list(part.keys)
        return (
            sa.select(key_expr.label(PARTITION), sa.func.count().label("n"))
            .where(self.where(conditions), key_expr.in_([k for k in keys if k is not _NEVER]))
            .group_by(key_expr)
        )

    def select_aggregate(
        self,
        group_by: Sequence[Dimension],
        sum_field: str,
        conditions: Sequence[Condition],
        min_group_size: int,
        limit: int | None,
    ) -> sa.Select[Any]:
        dims = [self.dimension(d).label(d.key) for d in group_by]
        exprs = [self.dimension(d) for d in group_by]
        ordering = [self.sort_expr(d.field) if d.transform is Transform.VALUE else e
                    for d, e in zip(group_by, exprs, strict=True)]
        stmt = (
            sa.select(
                *dims,
                sa.func.count().label("count"),
                sa.func.sum(self.column(sum_field)).label("total"),
            )
            .select_from(self.table)
            .where(self.where(conditions))
            .group_by(*exprs)
            .order_by(*ordering)
        )
        if min_group_size > 1:
            stmt = stmt.having(sa.func.count() >= min_group_size)
        return stmt.limit(literal_limit(limit)) if limit is not None else stmt
