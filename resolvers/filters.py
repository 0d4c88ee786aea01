"""Filter and order inputs: which input fields each canonical field gives, and their reading.

The schema builder declares one input field per `FilterField` (`auth.model.filters`, the
vocabulary every surface shares) a role may use; resolvers read the caller's values back into
canonical conditions here. Both sides use the same list.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from enum import Enum
from typing import Any

from strawberry import UNSET

from auth.model.catalog import Kind
from auth.model.filters import FilterField, filter_fields
from auth.model.query import Condition, Op, OrderKey
from auth.model.regions import BadRegionCode, check_region_code, jurisdiction_prefix
from auth.model.time import local_naive

from .errors import bad_input
from .ids import from_global_id

__all__ = ["FilterField", "check_first", "check_text", "filter_fields", "read_filter",
           "read_order"]

_UNSAFE_TEXT = re.compile(r"[\x00\ud800-\udfff]")
MAX_TEXT = 200


def check_text(value: str, what: str) -> str:
    if len(value) > MAX_TEXT:
        raise bad_input(f"{what}: at most {MAX_TEXT} characters")
    if _UNSAFE_TEXT.search(value):
        raise bad_input(f"{what}: contains a NUL or an unpaired surrogate character")
    return value


def is_unset(value: Any) -> bool:
    """An input field the caller left out (as opposed to one given as null)."""
    return value is UNSET


def null_condition(entity: str, ff: FilterField) -> Condition:
    """An explicit null: rows without a value, where the field can have none; else refused,
    never ignored (ignoring it would answer every row)."""
    if not ff.field.nullable:
        raise bad_input(f"filter.{ff.input_name}: {entity}.{ff.field.name} always has a "
                        "value, so null matches nothing; leave the condition out instead")
    return Condition(ff.field.name, Op.IS_NULL, True)


def read_filter(entity: str, fields: list[FilterField], value: Any) -> tuple[Condition, ...]:
    """Canonical conditions from a filter input object: fields left out add nothing, a field
    given as null means "has no value" (`null_condition`)."""
    if value is None:
        return ()
    conditions = []
    for ff in fields:
        raw = getattr(value, ff.input_name, UNSET)
        if is_unset(raw):
            continue
        if raw is None:
            cond = null_condition(entity, ff)
            if cond not in conditions:  # `approvedFrom: null, approvedTo: null` is one test
                conditions.append(cond)
            continue
        conditions.append(Condition(ff.field.name, ff.op, _canonical(ff, raw, entity)))
    return tuple(conditions)


def _canonical(ff: FilterField, raw: Any, entity: str) -> Any:
    what = f"filter.{ff.input_name}"
    kind = ff.field.kind
    if kind is Kind.REGION_CODE:
        try:
            return jurisdiction_prefix(check_region_code(raw))
        except BadRegionCode as exc:
            raise bad_input(f"{what}: {exc}") from None
    if kind is Kind.ID:
        target = ff.field.references or entity
        decoded = from_global_id(str(raw))
        if decoded is None or decoded[0] != target:
            raise bad_input(f"{what}: not an id of a {target}")
        return decoded[1]
    if isinstance(raw, dt.datetime):
        # Canonical times are China wall-clock time, as the sources keep them: an instant
        # given with an offset means that instant, whatever connector serves the entity.
        return local_naive(raw)
    if isinstance(raw, Enum):
        return raw.value
    if isinstance(raw, str):
        return check_text(raw, what)
    return raw


def read_order(entity: str, orderable: Iterable[str], value: Any) -> tuple[OrderKey, ...]:
    """Order keys from `[XOrderBy!]`: each element names exactly one field; `id` ends it."""
    keys: list[OrderKey] = []
    allowed = set(orderable)
    for i, item in enumerate(value or ()):
        chosen = [(name, getattr(item, name, None)) for name in sorted(allowed)]
        chosen = [(n, d) for n, d in chosen if d is not None and not is_unset(d)]
        if len(chosen) != 1:
            raise bad_input(f"orderBy[{i}]: set exactly one field per element")
        name, direction = chosen[0]
        if any(k.field == name for k in keys):
            raise bad_input(f"orderBy[{i}]: {name} is already ordered on")
        keys.append(OrderKey(name, getattr(direction, "value", direction) == "DESC"))
    if not any(k.field == "id" for k in keys):
        keys.append(OrderKey("id"))
    return tuple(keys)


def check_first(first: int | None, maximum: int) -> int:
    if first is None:
        return min(20, maximum)
    if first < 0 or first > maximum:
        raise bad_input(f"first: expected 0 to {maximum}, got {first}")
    return first

