"""One statement for a whole tree of scoped reads, returning every node's rows as JSON.

Each node becomes a subquery over its table with the node's scope, filters, keyset position,
order and (literal, validated) page size, correlated to its parent's row for nested nodes;
its rows are aggregated in order into a JSON array (`json_agg` on PostgreSQL, an ordered
`json_group_array` on SQLite), each row an array of its columns followed by its children's
answers, and each answer `[rows, count]`. Values stay bound parameters. `NodePlan` says how to
read the answer back (`decode`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from itertools import count as counter
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.elements import ColumnElement

from connectors.sql.compile import BoundTable
from connectors.tree import Attach, ScopedNode, TreeUnsupported

from .values import emit, masked

Convert = Callable[[Any], Any]
_TWELVE_ZEROS: ColumnElement[str] = sa.literal_column("'000000000000'")
_TWELVE_NINES: ColumnElement[str] = sa.literal_column("'999999999999'")


@dataclass(frozen=True)
class NodePlan:
    """How to read one node's JSON answer: its columns (field, conversion) and children."""

    columns: tuple[tuple[str, Convert], ...]
    children: tuple[NodePlan, ...]


def _compose(decode: Convert | None, process: Convert | None, convert: Convert) -> Convert:
    """decode, then SQLAlchemy's processing, then the mapping's converter (None stays None)."""
    if decode is None and process is None:
        return convert  # converters pass None through
    first = decode if process is None else process if decode is None else None

    if first is not None:
        def one(value: Any) -> Any:
            return None if value is None else convert(first(value))

        return one
    assert decode is not None and process is not None

    def both(value: Any) -> Any:
        return None if value is None else convert(process(decode(value)))

    return both


def _lit(n: int) -> ColumnElement[Any]:
    return sa.literal_column(str(int(n)))


def jurisdiction_prefix(code: ColumnElement[Any]) -> ColumnElement[Any]:
    """SQL twin of `auth.model.regions.jurisdiction_prefix` for 12-digit codes: the code cut
    after its last segment that is not all zeros."""
    def seg(start: int, length: int, zeros: str) -> ColumnElement[bool]:
        return sa.func.substr(code, _lit(start), _lit(length)) != sa.literal_column(f"'{zeros}'")

    return sa.case(
        (seg(10, 3, "000"), code),
        (seg(7, 3, "000"), sa.func.substr(code, _lit(1), _lit(9))),
        (seg(5, 2, "00"), sa.func.substr(code, _lit(1), _lit(6))),
        (seg(3, 2, "00"), sa.func.substr(code, _lit(1), _lit(4))),
        else_=sa.func.substr(code, _lit(1), _lit(2)),
    )


class TreeStatement:
    """Builds the statement for one tree of scoped nodes over a source's bound tables."""

    def __init__(self, tables: Callable[[str], BoundTable], dialect: Dialect) -> None:
        self._tables = tables
        self._dialect = dialect
        self.dialect = dialect
        self._pg = dialect.name == "postgresql"
        self._names = counter()
        self._parent_fields: dict[int, list[str]] = {}
        self._parent_masks: dict[int, set[str]] = {}

    def build(self, roots: tuple[ScopedNode, ...]) -> tuple[sa.Select[Any], tuple[NodePlan, ...]]:
        parts, plans = [], []
        for root in roots:
            json, plan = self._node(root, None)
            parts.append(json)
            plans.append(plan)
        array = sa.func.json_build_array if self._pg else sa.func.json_array
        return sa.select(sa.cast(array(*parts), sa.Text)), tuple(plans)

    # -- one node --------------------------------------------------------------------------
    def _alias(self, entity: str) -> BoundTable:
        bound = self._tables(entity)
        alias = bound.table.alias(f"t{next(self._names)}")
        return BoundTable(bound.mapping, alias, bound.dialect)  # type: ignore[arg-type]

    def _node(self, node: ScopedNode, parent: Any) -> tuple[ColumnElement[Any], NodePlan]:
        query = node.scoped.query
        table = self._alias(node.entity)
        wanted = list(dict.fromkeys(("id", *query.fields, *(k.field for k in query.order))))
        columns: list[ColumnElement[Any]] = []
        plan_columns: list[tuple[str, Convert]] = []
        for i, name in enumerate(wanted):
            fm = table.field(name)
            column = table.column(name)
            process = column.type.result_processor(self._dialect, None)
            masker = node.scoped.masks.get(name)
            if masker is not None:
                expr, decode = masked(column, masker, fm, self._dialect.name), None
            else:
                expr, decode = emit(column, self._dialect.name)
            columns.append(expr.label(f"c{i}"))
            plan_columns.append((name, _compose(decode, process, fm.converter)))
        criteria = table.where(node.scoped.conditions)
        if query.after is not None:
            criteria = sa.and_(criteria, table.keyset(query.order, query.after))
        limit = query.limit if node.node.wants_rows else 0
        attach = node.node.attach
        if attach is not None and attach.kind == "subtree" and self._pg:
            rows = self._subtree_rows(table, columns, criteria, node, limit, parent)
        else:
            if attach is not None:
                criteria = sa.and_(criteria, self._attach(table, attach, parent))
            order = table.order_by(query.order)
            inner = (sa.select(*columns, sa.func.row_number().over(order_by=order).label("_n"))
                     .where(criteria).order_by(*order))
            if limit is not None:
                inner = inner.limit(_lit(limit))
            if parent is not None:
                inner = inner.correlate(parent)
            rows = inner.subquery(f"q{next(self._names)}")
        self._parent_fields[id(rows)] = wanted
        self._parent_masks[id(rows)] = set(node.scoped.masks)
        kids = [self._node(child, rows) for child in node.children]
        values = [rows.c[f"c{i}"] for i in range(len(wanted))] + [self._json(j) for j, _ in kids]
        answer = self._rows_json(rows, values)
        counted: ColumnElement[Any] = sa.null()
        if node.counted is not None:
            counted = self._count(node, parent)
        array = sa.func.json_build_array if self._pg else sa.func.json_array
        plan = NodePlan(tuple(plan_columns), tuple(p for _, p in kids))
        return array(answer, counted), plan

    def _subtree_rows(self, table: BoundTable, columns: list[ColumnElement[Any]],
                      criteria: ColumnElement[bool], node: ScopedNode, limit: int | None,
                      parent: Any) -> Any:
        """A region's rows in two branches, of which each region runs one: a village's by
        equality on its code, so that an index on (region code, …) hands them over in order
        and stops at the page; a larger region's by its code range. For the 12-digit codes
        the catalog stipulates, both select exactly the rows `subtree` does."""
        assert node.node.attach is not None
        query = node.scoped.query
        prefix = jurisdiction_prefix(parent.c[f"c{self._position(parent, node.node.attach.local)}"])
        remote = table.column(node.node.attach.remote)
        keys = [table.sort_expr(k.field).label(f"s{j}") for j, k in enumerate(query.order)]
        order = table.order_by(query.order)

        def branch(condition: ColumnElement[bool]) -> Any:
            select = sa.select(*columns, *keys).where(criteria, condition).order_by(*order)
            return (select.limit(_lit(limit)) if limit is not None else select).correlate(parent)

        width = sa.func.length(prefix)
        union = sa.union_all(
            branch(sa.and_(width == 12, remote == prefix)),
            branch(sa.and_(width < 12, self._within(remote, prefix))),
        ).subquery(f"u{next(self._names)}")
        ordered = [union.c[f"s{j}"].desc() if k.descending else union.c[f"s{j}"].asc()
                   for j, k in enumerate(query.order)]
        outer = (sa.select(*(union.c[c.name] for c in columns),
                           sa.func.row_number().over(order_by=ordered).label("_n"))
                 .order_by(*ordered))
        if limit is not None:
            outer = outer.limit(_lit(limit))
        return outer.subquery(f"q{next(self._names)}")

    def _within(self, remote: ColumnElement[Any], prefix: ColumnElement[Any]
                ) -> ColumnElement[bool]:
        """`remote` in the subtree of the region whose jurisdiction prefix is `prefix`."""
        width = sa.func.length(prefix)
        low = prefix.op("||")(sa.func.substr(_TWELVE_ZEROS, _lit(1), 12 - width))
        high = prefix.op("||")(sa.func.substr(_TWELVE_NINES, _lit(1), 12 - width))
        return sa.and_(remote.between(low, high), sa.func.substr(remote, _lit(1), width) == prefix)

    def _json(self, value: ColumnElement[Any]) -> ColumnElement[Any]:
        # SQLite forgets that a subquery's result is JSON; json() says it again.
        return value if self._pg else sa.func.json(value)

    def _rows_json(self, rows: Any, values: list[ColumnElement[Any]]) -> ColumnElement[Any]:
        if self._pg:
            row = sa.func.json_build_array(*values)
            agg = sa.func.coalesce(sa.func.json_agg(aggregate_order_by(row, rows.c._n)),
                                   sa.literal_column("'[]'::json"))
            return sa.select(agg).select_from(rows).scalar_subquery()
        # SQLite (before 3.44) has no ORDER BY inside an aggregate; it aggregates the rows of
        # an ordered, limited subquery in their order.
        return (sa.select(sa.func.json_group_array(sa.func.json_array(*values)))
                .select_from(rows).scalar_subquery())

    def _count(self, node: ScopedNode, parent: Any) -> ColumnElement[Any]:
        assert node.counted is not None
        table = self._alias(node.entity)
        criteria = table.where(node.counted.conditions)
        if node.node.attach is not None:
            criteria = sa.and_(criteria, self._attach(table, node.node.attach, parent))
        return (sa.select(sa.func.count()).select_from(table.table).where(criteria)
                .scalar_subquery())

    def _attach(self, table: BoundTable, attach: Attach, parent: Any) -> ColumnElement[bool]:
        local = parent.c[f"c{self._position(parent, attach.local)}"]
        remote = table.column(attach.remote)
        if attach.kind == "subtree":
            return self._within(remote, jurisdiction_prefix(local))
        if attach.kind == "to_one" and table.field(attach.remote).source != \
                table.field("id").source:
            # The loaders take the first of the rows matching a key; one statement can only
            # promise that when the key is the target's id.
            raise TreeUnsupported("a to-one relation on a key other than the target's id")
        if _kind(remote.type) != _kind(local.type):
            raise TreeUnsupported("joining columns of different types")
        return remote == local

    def _position(self, parent: Any, field: str) -> int:
        fields = self._parent_fields[id(parent)]
        if field not in fields:
            raise TreeUnsupported(f"the parent rows lack the join key {field}")
        if field in self._parent_masks[id(parent)]:
            # The loaders join on the key's clear value; the parent's column here is masked.
            raise TreeUnsupported(f"joining on the masked key {field}")
        return fields.index(field)


def _kind(type_: Any) -> str:
    if isinstance(type_, sa.Integer):
        return "integer"
    if isinstance(type_, sa.String):
        return "text"
    return repr(type_)
