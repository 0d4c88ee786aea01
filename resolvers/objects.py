"""The objects GraphQL resolves fields on: rows (`RowObject`) and the pages of connections."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from auth.model.query import OrderKey

from .cursors import CursorCodec
from .ids import to_global_id


class RowObject:
    """One canonical row; attribute access is the row dict's, so field reads stay cheap."""

    def __init__(self, entity: str, row: dict[str, Any]) -> None:
        self.__dict__ = row
        self._entity = entity

    @property
    def global_id(self) -> str:
        return to_global_id(self._entity, self.__dict__["id"])


@dataclass
class Edge:
    cursor: str
    node: RowObject


@dataclass
class PageInfo:
    hasNextPage: bool
    hasPreviousPage: bool
    startCursor: str | None
    endCursor: str | None


@dataclass
class Page:
    """One page of a connection; `totalCount` runs its own count only when selected."""

    entity: str
    rows: list[RowObject]
    has_next: bool
    has_previous: bool
    order: tuple[OrderKey, ...]
    codec: CursorCodec
    counter: Callable[[], Awaitable[int]]
    bind: str = ""

    def cursor(self, obj: RowObject) -> str:
        row = obj.__dict__
        return self.codec.encode(self.entity, self.order, [row[k.field] for k in self.order],
                                 self.bind)

    def edges(self) -> list[Edge]:
        return [Edge(self.cursor(r), r) for r in self.rows]

    def page_info(self) -> PageInfo:
        first = self.cursor(self.rows[0]) if self.rows else None
        last = self.cursor(self.rows[-1]) if self.rows else None
        return PageInfo(self.has_next, self.has_previous, first, last)

    async def total_count(self) -> int:
        return await self.counter()
