"""The row protocol between connectors and resolvers: what a row is and the keys it may carry.

A row is a plain dict of canonical field name → canonical value (`Row`). Besides the fields
asked for, a row may carry two keys of the hub's own, which no GraphQL field ever reads:

- `PARTITION`: in the answer to a partitioned fetch (`Partition`: at most n rows per parent,
  or per region subtree), the partition key the row belongs to. Connectors set it; resolvers
  take it off (`take_partition`) to group rows under their parents.
- `WATERMARK`: in the answer to a query `since` a position (`auth.model.query.Since`), the
  source's watermark of the row (when it last changed); with the id, the position after it.
- `KEYS`: the clear values of join keys that the role sees masked, so that the hub can still
  follow relations on them (`keep_clear_keys` before masking, `clear_value` when joining).

Ids kept as text sort like numbers, right-aligned to `ID_SORT_WIDTH` characters (`id_sort_text`),
in SQL and in hub-side evaluation alike, so every kind pages the same way.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

Row = dict[str, Any]

PARTITION: Final = "_partition"
KEYS: Final = "_keys"
WATERMARK: Final = "_watermark"
ID_SORT_WIDTH: Final = 40


def partition_of(row: Row) -> Any:
    """The partition key a row of a partitioned fetch belongs to (None in a plain fetch)."""
    return row.get(PARTITION)


def take_partition(row: Row) -> Any:
    """Remove and return the row's partition key."""
    return row.pop(PARTITION)


def keep_clear_keys(row: Row, names: Iterable[str]) -> None:
    """Keep the clear values of join keys `names`, before masking changes them."""
    row[KEYS] = {name: row.get(name) for name in names}


def clear_value(row: Row, name: str) -> Any:
    """A join key's value before masking."""
    keys = row.get(KEYS)
    return keys[name] if keys and name in keys else row.get(name)


def id_sort_text(value: Any) -> str:
    """An id as the text it sorts by (numbers in numeric order)."""
    return str(value).rjust(ID_SORT_WIDTH)
