"""A request's nested reads as one tree, for connectors that can answer it in one statement.

Each node is the canonical query the per-request loaders would send for one list, lookup or
relation (`EntityQuery`, with the `Relation` it was reached through), and how its rows hang
under the rows of its parent (`Attach`). The gateway scopes every node exactly as it scopes a
single fetch (`ScopedNode`); a connector that offers `fetch_tree` answers the whole tree at once
with `NodeRows`: canonical, masked rows, each carrying its children's answers under
`child_key(i)`. Connectors that cannot take a tree (or a part of it) raise `TreeUnsupported`,
and the caller takes the general road instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final, Literal

from auth.access.scope import Relation
from auth.model.query import EntityQuery, ScopedQuery

from .rows import Row

AttachKind = Literal["to_one", "to_many", "subtree"]
_CHILD: Final = "#"


class TreeUnsupported(Exception):
    """The connector cannot answer this tree in one statement (a kind, type or shape it lacks)."""


@dataclass(frozen=True, slots=True)
class Attach:
    """Rows of the child whose `remote` field matches the parent row's `local` field; for a
    `subtree`, rows whose region code lies in the subtree of the parent region's `local` code."""

    kind: AttachKind
    local: str
    remote: str


@dataclass(frozen=True, slots=True)
class ReadNode:
    query: EntityQuery  # per parent: `limit` rows at most, after `query.after`
    via: Relation | None = None
    attach: Attach | None = None  # None: a root read
    page_size: int | None = None  # rows past it (per parent) only tell that more follow
    count: EntityQuery | None = None  # also count the rows matching it (per parent)
    count_notes: int = 1  # aggregates the per-node calls note per batch (aliased counts)
    children: tuple[ReadNode, ...] = ()
    wants_rows: bool = True  # False: only the count is asked for (no row is read)


@dataclass(frozen=True, slots=True)
class ScopedNode:
    node: ReadNode
    scoped: ScopedQuery
    counted: ScopedQuery | None
    children: tuple[ScopedNode, ...]

    @property
    def entity(self) -> str:
        return self.scoped.query.entity


@dataclass(slots=True)
class NodeRows:
    """One node's answer under one parent row (or at the root)."""

    rows: list[Row]
    count: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def child_key(index: int) -> str:
    """Where a row keeps the answer of its node's `index`-th child (never a field name)."""
    return f"{_CHILD}{index}"


def child_rows(row: Row, index: int) -> NodeRows:
    answer: NodeRows = row[child_key(index)]
    return answer
