"""The one small async interface every connector kind implements, and its errors.

Connectors take only scoped queries (see `auth.model.query`): the row predicate is already inside
the query they are given, and they must push it down with everything else.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from auth.model.query import ScopedAggregate, ScopedQuery

Row = dict[str, Any]


class SourceError(Exception):
    """A source failed. The message is for logs; callers see only `code` and the source."""

    code: ClassVar[str] = "SOURCE_ERROR"

    def __init__(self, source: str, detail: str = "") -> None:
        super().__init__(f"source {source!r}: {detail}" if detail else f"source {source!r}")
        self.source = source
        self.detail = detail


class SourceUnavailable(SourceError):
    code = "SOURCE_UNAVAILABLE"


class SourceTimeout(SourceError):
    code = "SOURCE_TIMEOUT"


class SourceQueryTooBroad(SourceError):
    """The source cannot narrow this query enough: more rows than the hub will scan."""

    code = "SOURCE_QUERY_TOO_BROAD"


class SourceMisconfigured(SourceError):
    """The source answers, but its tables or columns do not fit the mapping."""

    code = "SOURCE_MISCONFIGURED"


class MappingError(ValueError):
    """A source mapping that does not fit the catalog or the source; stops start-up."""


class SourceLike(Protocol):
    """What a connector factory needs of `huitong.settings.SourceSettings` (no import
    upward): the source's name, its options from huitong.toml, and where they were read."""

    @property
    def name(self) -> str: ...
    @property
    def options(self) -> Mapping[str, Any]: ...
    @property
    def where(self) -> str: ...


@dataclass(frozen=True, slots=True)
class Health:
    source: str
    kind: str
    ok: bool
    latency_ms: float
    detail: str = ""


class Connector(abc.ABC):
    """Reads canonical rows for the entities it serves, from one source."""

    kind: ClassVar[str]

    def __init__(self, name: str, entities: frozenset[str]) -> None:
        self.name = name
        self.entities = entities

    async def open(self) -> None:  # noqa: B027 - optional hook
        """Open pools and clients; called once by the app's lifespan."""

    @abc.abstractmethod
    async def fetch(self, query: ScopedQuery) -> list[Row]:
        """Rows matching scope + filters, in order, after the keyset cursor, up to the limit.

        With `query.query.partition`, the limit applies per partition key instead.
        """

    @abc.abstractmethod
    async def count(self, query: ScopedQuery) -> int:
        """How many rows match scope + filters (order, cursor and limit ignored)."""

    @abc.abstractmethod
    async def count_partitioned(self, query: ScopedQuery) -> Mapping[Any, int]:
        """Counts per partition key (`query.query.partition` must be set)."""

    @abc.abstractmethod
    async def aggregate(self, query: ScopedAggregate) -> list[Row]:
        """Groups with `count` and `total` (sum of the query's sum field), computed at source."""

    @abc.abstractmethod
    async def health(self) -> Health:
        """Whether the source answers now, and how fast."""

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Release pools and clients."""
