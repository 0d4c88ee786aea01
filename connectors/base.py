"""The one small async interface every connector kind implements, and its errors.

Connectors take only scoped queries (see `auth.model.query`): the row predicate is already
inside the query they are given, and they must push it down with everything else. They answer
with plain rows (`connectors.rows`). Each kind registers a factory in `connectors.registry`.

Writes are optional: a kind that can write (sql, rest) inserts rows and updates them by id for
the entities whose mapping declares a `write` table (`connectors.mapping`), taking only
scoped commands (`ScopedInsert`, `ScopedUpdate`) and answering with the whole row as stored,
before and after, so the gateway can note digests of both. Every other entity, and every
entity of a kind that cannot write (file), refuses with `SourceReadOnly`.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Protocol

from sqlalchemy.ext.asyncio import AsyncEngine

from auth.model.query import ScopedAggregate, ScopedInsert, ScopedQuery, ScopedUpdate

from .rows import Row
from .tree import NodeRows, ScopedNode, TreeUnsupported


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


class SourceReadOnly(SourceError):
    """The source takes no writes of this entity or field (its mapping declares none)."""

    code = "SOURCE_READ_ONLY"


class WriteRejected(SourceError):
    """The source refused a write, or cannot store a value. `reason` is the hub's own
    wording (never a driver's or an API's message) and safe to show to the caller."""

    code = "SOURCE_REJECTED"

    def __init__(self, source: str, reason: str, detail: str = "") -> None:
        super().__init__(source, detail or reason)
        self.reason = reason


class MappingError(ValueError):
    """A source's settings or mapping that do not fit the catalog or the source; stops
    start-up. The message names the file and key (the assembly reports it as a ConfigError)."""


class SourceLike(Protocol):
    """What a connector factory needs of `huitong.settings.SourceSettings` (no import
    upward): the source's name and kind, its options from huitong.toml, where they were read,
    and how paths in them are resolved (relative to that file)."""

    @property
    def name(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def options(self) -> Mapping[str, Any]: ...
    @property
    def where(self) -> str: ...
    def resolve_path(self, value: str) -> Path: ...


@dataclass(frozen=True, slots=True)
class Services:
    """What the hub lends its connectors before they open (`Connector.attach`)."""

    # The hub store's engine (borrowed: a connector never disposes it).
    store: AsyncEngine | None = None
    # Whether `open()` may do a source's start-up work (a file source imports the drops that
    # are new); one-off commands that only look (`huitong check`) say False.
    start_up: bool = True


@dataclass(frozen=True, slots=True)
class Health:
    """One source's readiness. `code` is the stable code of what failed (for operators);
    `detail` may hold driver or HTTP text and is for the log only."""

    source: str
    kind: str
    ok: bool
    latency_ms: float
    detail: str = ""
    code: str = ""


class Connector(abc.ABC):
    """Reads canonical rows for the entities it serves, from one source."""

    kind: ClassVar[str]

    def __init__(self, name: str, entities: frozenset[str],
                 writable: frozenset[str] = frozenset()) -> None:
        self.name = name
        self.entities = entities
        # The entities this source takes writes of (their mapping declares `write`).
        self.writable = writable

    async def attach(self, services: Services) -> None:  # noqa: B027 - optional hook
        """Take what the hub lends (its store, …); called before `open()`. Most kinds need
        nothing; the file kind keeps its loaded drops in the hub store."""

    async def open(self) -> None:  # noqa: B027 - optional hook
        """Open pools and clients; called once by the app's lifespan."""

    def follows(self, entity: str) -> bool:
        """Whether the source offers a watermark for `entity` (answers `since` queries)."""
        return False

    @abc.abstractmethod
    async def fetch(self, query: ScopedQuery) -> list[Row]:
        """Rows matching scope + filters, in order, after the keyset cursor, up to the limit.

        With `query.query.partition`, the limit applies per partition key instead; with
        `query.query.since`, rows come in watermark order after its position, each carrying
        its watermark (`connectors.rows.WATERMARK`).
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

    async def insert(self, command: ScopedInsert) -> Row:
        """Store a new row; the row as stored (every mapped field, with its new id)."""
        raise SourceReadOnly(self.name, f"{command.entity} cannot be written here")

    async def update(self, command: ScopedUpdate) -> tuple[Row, Row] | None:
        """Change the row `command` names if it satisfies the command's scope now: the whole
        row (every mapped field) before and after; None when no such row is in scope."""
        raise SourceReadOnly(self.name, f"{command.entity} cannot be written here")

    @abc.abstractmethod
    async def health(self) -> Health:
        """Whether the source answers now, and how fast."""

    async def fetch_tree(self, roots: tuple[ScopedNode, ...]) -> list[NodeRows]:
        """A whole tree of reads in one go (`connectors.tree`); kinds that cannot, refuse."""
        raise TreeUnsupported(f"the {self.kind} kind answers one query at a time")

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Release pools and clients."""
