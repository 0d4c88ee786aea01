"""What the `rest` connector asks an API for: pushed-down filters, sort, pages, and rows back.

`plan` turns a query's conditions (scope first) into the query parameters the endpoint
declares; what it cannot send stays for the hub to evaluate. Pushing down only narrows what
is transferred: the connector re-checks every condition on every row it receives, so an API
that ignores a parameter can never widen a caller's scope.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from auth.model.catalog import Kind
from auth.model.query import Condition, Op, OrderKey
from auth.model.time import local_naive
from connectors.base import SourceMisconfigured
from connectors.in_memory import Unmatchable, coerce
from connectors.mapping import FieldMapping
from connectors.rows import Row

from .config import Endpoint, Pagination, Pushdown

Params = dict[str, str | list[str]]
_PLAIN = Pushdown("", Op.EQ, "")
# Keeps URLs well under the 8 KB many servers and proxies accept.
MAX_IN_VALUES = 100


@dataclass
class Plan:
    params: Params = field(default_factory=dict)
    pushed: list[Condition] = field(default_factory=list)
    # A condition no row can meet (an unknown code, an empty IN): no request is needed.
    empty: bool = False
    # A long IN list (a DataLoader's keys) goes in chunks: (parameter, one value per request).
    split: tuple[str, list[str | list[str]]] | None = None

    def covers(self, conditions: Sequence[Condition]) -> bool:
        """Whether one request filters on all `conditions` (so the API's total counts)."""
        return self.split is None and all(c in self.pushed for c in conditions)


def plan(endpoint: Endpoint, conditions: Sequence[Condition]) -> Plan:
    result = Plan()
    by_key = {(p.field, p.op): p for p in endpoint.pushdown}
    for cond in conditions:
        fm = endpoint.mapping.source_of(cond.field)
        if _impossible(fm, cond):
            result.empty = True
            return result
        pushdown = by_key.get((cond.field, cond.op))
        if pushdown is None:
            continue
        if cond.op is Op.IN:
            values = [v for v in (_one(pushdown, fm, x) for x in cond.value) if v is not None]
            if len(values) > MAX_IN_VALUES:
                if result.split is None and pushdown.param not in result.params:
                    chunks = [values[i:i + MAX_IN_VALUES]
                              for i in range(0, len(values), MAX_IN_VALUES)]
                    result.split = (pushdown.param, [_joined(pushdown, c) for c in chunks])
                    result.pushed.append(cond)
                continue
        value = _param(pushdown, fm, cond)
        if value is None or (result.split is not None and pushdown.param == result.split[0]):
            continue
        current = result.params.get(pushdown.param)
        if current is not None:
            # Two conditions on one parameter (scope and filter on regionCode): keep the
            # narrower subtree when one holds the other; the hub checks both anyway.
            if cond.op is Op.WITHIN and isinstance(current, str) and isinstance(value, str) \
                    and value.startswith(current):
                result.params[pushdown.param] = value
                result.pushed.append(cond)
            elif cond.op is Op.WITHIN and isinstance(current, str) and isinstance(value, str) \
                    and current.startswith(value):
                result.pushed.append(cond)
            continue
        result.params[pushdown.param] = value
        result.pushed.append(cond)
    return result


def _impossible(fm: FieldMapping, cond: Condition) -> bool:
    """An equality no row can meet: an empty IN, or only values the source has no code for."""
    if cond.op not in (Op.EQ, Op.IN):
        return False
    values = cond.value if cond.op is Op.IN else (cond.value,)
    return all(_one(_PLAIN, fm, v) is None for v in values)


def _param(pushdown: Pushdown, fm: FieldMapping, cond: Condition) -> str | list[str] | None:
    if cond.op is Op.IS_NULL:
        return "true" if cond.value else "false"
    if cond.op in (Op.WITHIN, Op.CONTAINS):
        return str(cond.value)
    if cond.op is Op.IN:
        values = [v for v in (_one(pushdown, fm, x) for x in cond.value) if v is not None]
        return _joined(pushdown, values) if values else None
    return _one(pushdown, fm, cond.value)


def _joined(pushdown: Pushdown, values: list[str]) -> str | list[str]:
    return values if pushdown.repeat else ",".join(values)


def _one(pushdown: Pushdown, fm: FieldMapping, value: Any) -> str | None:
    try:
        canonical = coerce(fm.kind, value) if not fm.values else value
    except Unmatchable:
        return None
    source = fm.to_source(canonical)
    if source is None:
        return None
    if isinstance(source, bool):
        return "true" if source else "false"
    if isinstance(source, dt.date):
        if pushdown.format:
            return source.strftime(pushdown.format)
        return source.isoformat()
    if isinstance(source, Decimal):
        return format(source, "f")
    return str(source)


def sort_params(endpoint: Endpoint, order: Sequence[OrderKey]) -> Params | None:
    """The API's sort parameter for `order`, or None when it cannot sort that way."""
    sort = endpoint.sort
    if sort is None or not order or any(k.field not in sort.fields for k in order):
        return None
    parts = [(sort.desc_prefix if k.descending else "") + sort.fields[k.field] for k in order]
    return {sort.param: sort.separator.join(parts)}


def page_params(pagination: Pagination, page: int, offset: int, cursor: str | None,
                size: int) -> Params:
    if pagination.style == "none":
        return {}
    params: Params = {pagination.size_param: str(size)}
    if pagination.style == "page":
        params[pagination.page_param] = str(pagination.first_page + page)
    elif pagination.style == "offset":
        params[pagination.offset_param] = str(offset)
    elif cursor is not None:
        params[pagination.cursor_param] = cursor
    return params


def dig(body: Any, path: str | None) -> Any:
    """The value at a dotted key (`data.list`), or None."""
    if path is None:
        return body
    if isinstance(body, Mapping) and path in body:
        return body[path]
    current = body
    for part in path.split("."):
        if not isinstance(current, Mapping):
            return None
        current = current.get(part)
    return current


def items_of(source: str, endpoint: Endpoint, body: Any) -> list[Any]:
    items = dig(body, endpoint.items) if endpoint.items else (
        body if isinstance(body, list) else dig(body, "items"))
    if not isinstance(items, list):
        where = endpoint.items or "the body (or its `items`)"
        raise SourceMisconfigured(source, f"GET {endpoint.path}: expected a list at {where}")
    return items


def to_row(source: str, endpoint: Endpoint, item: Any, tz: dt.tzinfo) -> Row:
    """An API item as a canonical row (all mapped fields: the hub may filter on any)."""
    if not isinstance(item, Mapping):
        raise SourceMisconfigured(source, f"GET {endpoint.path}: an item is not a JSON object")
    row: Row = {}
    for name, fm in endpoint.mapping.fields.items():
        raw = dig(item, fm.source)
        try:
            value = fm.to_canonical(raw)
        except (ValueError, TypeError, ArithmeticError) as exc:
            raise SourceMisconfigured(
                source, f"GET {endpoint.path}: {endpoint.entity}.{name} is not a valid "
                f"{fm.kind.value}") from exc
        if isinstance(value, dt.datetime):
            value = local_naive(value, tz)
        elif fm.kind is Kind.ID and isinstance(value, str) and isinstance(raw, Decimal):
            value = format(raw.normalize(), "f")
        row[name] = value
    return row
