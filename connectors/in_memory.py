"""The in-memory evaluator: scoped queries over canonical rows, for sources that cannot.

A REST API that filters on a few parameters only, or a file, hands the hub canonical rows;
this module applies the rest exactly as the SQL connector would at the source: every
condition (scope included), order, keyset `after`, limit, per-key partitions, counts and
GROUP BY aggregates with exact Decimal sums and the minimum group size. NULLs sort last when
ascending and first when descending (PostgreSQL's rule); a NULL never satisfies a comparison.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from typing import Any

from auth.model.catalog import ENTITIES, ENUMS, Kind
from auth.model.query import Condition, Dimension, EntityQuery, Op, OrderKey, Partition, Transform
from auth.model.time import local_naive

from .mapping import to_canonical
from .rows import PARTITION, Row, id_sort_text

Predicate = Callable[[Row], bool]


class Unmatchable(Exception):
    """A condition value that cannot equal any value of its field (like SQL's `_NEVER`)."""


def kinds(entity: str) -> dict[str, Kind]:
    return {name: spec.kind for name, spec in ENTITIES[entity].fields.items()}


def coerce(kind: Kind, value: Any) -> Any:
    """A condition or cursor value as the canonical type of `kind` (else Unmatchable)."""
    try:
        if kind is Kind.DATETIME and isinstance(value, dt.datetime):
            return local_naive(value)
        if kind is Kind.DATETIME and isinstance(value, dt.date):
            return dt.datetime.combine(value, dt.time())
        converted = to_canonical(kind, value)
    except (ValueError, TypeError, ArithmeticError) as exc:
        raise Unmatchable from exc
    return local_naive(converted) if isinstance(converted, dt.datetime) else converted


def field_key(entity: str, name: str) -> Callable[[Any], Any]:
    """The sort key of one field of `entity` (enums by their declared order)."""
    spec = ENTITIES[entity].fields[name]
    return sort_key(spec.kind, spec.enum)


def sort_key(kind: Kind, enum: str | None = None) -> Callable[[Any], Any]:
    """Non-NULL values in a total order, as the SQL connector orders them too: ids as
    right-aligned text (numbers in numeric order, like the APIs that number their items),
    enum values in the order the catalog declares them (a lifecycle: DRAFT → PUBLISHED)."""
    if kind is Kind.ENUM and enum is not None:
        rank = {value: i for i, value in enumerate(ENUMS[enum])}
        return lambda value: rank.get(value, len(rank))
    if kind is Kind.ID:
        # As the SQL connector sorts ids kept as text.
        return id_sort_text
    return lambda value: value


# -- conditions --------------------------------------------------------------------------------
def compile_conditions(entity: str, conditions: Sequence[Condition]) -> Predicate:
    """One predicate for all `conditions` (AND); scope conditions are conditions like any."""
    field_kinds = kinds(entity)
    tests = [_condition(c, field_kinds[c.field]) for c in conditions]
    return lambda row: all(test(row) for test in tests)


def _condition(cond: Condition, kind: Kind) -> Predicate:
    name, op = cond.field, cond.op
    if op is Op.IS_NULL:
        want_null = bool(cond.value)
        return lambda row: (row.get(name) is None) is want_null
    if op is Op.WITHIN:
        prefix = str(cond.value)
        low, high = prefix + "0" * (12 - len(prefix)), prefix + "9" * (12 - len(prefix))
        return lambda row: row.get(name) is not None and low <= str(row[name]) <= high
    if op is Op.CONTAINS:
        needle = str(cond.value)
        return lambda row: row.get(name) is not None and needle in str(row[name])
    if op is Op.IN:
        wanted = set()
        for item in cond.value:
            try:
                wanted.add(_hashable(coerce(kind, item)) if item is not None else None)
            except Unmatchable:
                continue
        wanted.discard(None)
        return lambda row: row.get(name) is not None and _hashable(row[name]) in wanted
    try:
        if cond.value is None:
            raise Unmatchable
        value = coerce(kind, cond.value)
    except Unmatchable:
        # As in SQL: nothing equals an impossible value, so every row differs from it.
        return (lambda row: True) if op is Op.NE else (lambda row: False)
    if op is Op.EQ:
        return lambda row: row.get(name) is not None and row[name] == value
    if op is Op.NE:
        return lambda row: row.get(name) is not None and row[name] != value
    key = sort_key(kind)
    bound = key(value)
    compare: dict[Op, Callable[[Any, Any], bool]] = {
        Op.LT: lambda a, b: a < b, Op.LTE: lambda a, b: a <= b,
        Op.GT: lambda a, b: a > b, Op.GTE: lambda a, b: a >= b,
    }
    test = compare[op]

    def ordered(row: Row) -> bool:
        current = row.get(name)
        if current is None:
            return False
        try:
            return test(key(current), bound)
        except TypeError:
            return False

    return ordered


def _hashable(value: Any) -> Any:
    return str(value) if isinstance(value, dict | list) else value


# -- order and keyset --------------------------------------------------------------------------
def sort_rows(entity: str, rows: list[Row], order: Sequence[OrderKey]) -> None:
    """Sort in place; stable, so equal keys keep the source's order."""
    for k in reversed(order):
        rows.sort(key=_row_key(k.field, field_key(entity, k.field)), reverse=k.descending)


def _row_key(name: str, key: Callable[[Any], Any]) -> Callable[[Row], tuple[Any, ...]]:
    return lambda row: _null_last(row.get(name), key)


def _null_last(value: Any, key: Callable[[Any], Any]) -> tuple[Any, ...]:
    return (1,) if value is None else (0, key(value))


def compare_rows(entity: str, order: Sequence[OrderKey]) -> Callable[[Row, Row], int]:
    """-1, 0 or 1: whether the first row comes before, with or after the second in `order`."""
    keys = [(k, field_key(entity, k.field)) for k in order]

    def compare(a: Row, b: Row) -> int:
        for k, key in keys:
            x, y = _null_last(a.get(k.field), key), _null_last(b.get(k.field), key)
            if x != y:
                before = x < y
                return -1 if before != k.descending else 1
        return 0

    return compare


def after_keyset(entity: str, order: Sequence[OrderKey], after: Sequence[Any]) -> Predicate:
    """Rows strictly after `after` in `order`: the SQL connector's OR-chain, NULLs failing."""
    field_kinds = kinds(entity)
    bounds = []
    for k, v in zip(order, after, strict=True):
        key = field_key(entity, k.field)
        try:
            bounds.append((k, key, key(coerce(field_kinds[k.field], v)) if v is not None else None))
        except Unmatchable:
            return lambda row: False

    def after_row(row: Row) -> bool:
        for k, key, bound in bounds:
            value = row.get(k.field)
            if value is None or bound is None:
                return False
            current = key(value)
            if current != bound:
                try:
                    return bool(current < bound if k.descending else current > bound)
                except TypeError:
                    return False
        return False

    return after_row


# -- pages, partitions, counts -----------------------------------------------------------------
def partition_key(partition: Partition) -> Callable[[Row], Any]:
    name, length = partition.field, partition.prefix_length
    if length:
        return lambda row: None if row.get(name) is None else str(row[name])[:length]
    return lambda row: _hashable(row.get(name))


def partition_keys(entity: str, partition: Partition) -> set[Any]:
    if partition.prefix_length:
        return {str(k) for k in partition.keys}
    kind = kinds(entity)[partition.field]
    keys = set()
    for k in partition.keys:
        try:
            keys.add(_hashable(coerce(kind, k)))
        except Unmatchable:
            continue
    return keys


def project(query: EntityQuery, row: Row) -> Row:
    """The columns the SQL connector returns: id, the fields asked for, the order keys."""
    wanted = dict.fromkeys(("id", *query.fields, *(k.field for k in query.order)))
    return {name: row.get(name) for name in wanted}


def select(entity: str, rows: Iterable[Row], query: EntityQuery,
           conditions: Sequence[Condition]) -> list[Row]:
    """`fetch` over canonical rows: filter, keyset, order, then the limit or per-key limits."""
    matches = compile_conditions(entity, conditions)
    after = after_keyset(entity, query.order, query.after) if query.after is not None else None
    part = query.partition
    keep: Predicate = matches
    if part is not None:
        key_of, keys = partition_key(part), partition_keys(entity, part)
        keep = lambda row: matches(row) and key_of(row) in keys  # noqa: E731
    chosen = [r for r in rows if keep(r) and (after is None or after(r))]
    sort_rows(entity, chosen, query.order)
    if part is None:
        limited = chosen if query.limit is None else chosen[: max(query.limit, 0)]
        return [project(query, r) for r in limited]
    grouped: dict[Any, list[Row]] = defaultdict(list)
    for row in chosen:
        bucket = grouped[key_of(row)]
        if len(bucket) < part.limit:
            bucket.append(row)
    key = str if part.prefix_length else field_key(entity, part.field)
    result = []
    for k in sorted(grouped, key=key):
        for row in grouped[k]:
            result.append({**project(query, row), PARTITION: k})
    return result


def count_partitions(entity: str, rows: Iterable[Row], partition: Partition,
                     conditions: Sequence[Condition]) -> dict[Any, int]:
    matches = compile_conditions(entity, conditions)
    key_of, keys = partition_key(partition), partition_keys(entity, partition)
    counts: dict[Any, int] = defaultdict(int)
    for row in rows:
        if matches(row):
            k = key_of(row)
            if k in keys:
                counts[k] += 1
    return dict(counts)


# -- aggregates --------------------------------------------------------------------------------
def dimension_value(dim: Dimension, row: Row) -> Any:
    value = row.get(dim.field)
    if value is None or dim.transform is Transform.VALUE:
        return value
    if dim.transform is Transform.PREFIX:
        return str(value)[: dim.length]
    if isinstance(value, dt.date):
        return f"{value.year:04d}-{value.month:02d}"
    return str(value)[:7]


def aggregate(
    entity: str,
    rows: Iterable[Row],
    group_by: Sequence[Dimension],
    sum_field: str,
    conditions: Sequence[Condition],
    min_group_size: int = 1,
    limit: int | None = None,
) -> list[Row]:
    """Groups with `count` and an exact `total`, ordered by the dimensions; small groups left
    out (the HAVING COUNT(*) >= min_group_size of the SQL connector)."""
    matches = compile_conditions(entity, conditions)
    counts: dict[tuple[Any, ...], int] = defaultdict(int)
    totals: dict[tuple[Any, ...], Decimal] = defaultdict(Decimal)
    for row in rows:
        if not matches(row):
            continue
        group = tuple(_hashable(dimension_value(d, row)) for d in group_by)
        counts[group] += 1
        amount = row.get(sum_field)
        if amount is not None:
            totals[group] += Decimal(amount)
    keys = [field_key(entity, d.field) if d.transform is Transform.VALUE else str
            for d in group_by]
    ordered = sorted(
        (g for g, n in counts.items() if n >= min_group_size),
        key=lambda g: tuple(_null_last(v, key) for v, key in zip(g, keys, strict=True)),
    )
    if limit is not None:
        ordered = ordered[: max(limit, 0)]
    return [
        {**{d.key: v for d, v in zip(group_by, g, strict=True)},
         "count": counts[g], "total": to_canonical(Kind.MONEY, totals[g])}
        for g in ordered
    ]

