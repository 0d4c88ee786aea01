"""Tree statements compiled once: SQL text and parameters per tree of scoped reads.

The key is the whole scoped tree — entities, fields, masks, scope and filter conditions with
their values, orders, page sizes, cursors — so an entry is only ever reused for the very
reads it was compiled for; a hit skips building and compiling the statement.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

from auth.model.query import ScopedQuery
from connectors.tree import ScopedNode

from .statement import NodePlan, TreeStatement

MAX_STATEMENTS = 2048


@dataclass(frozen=True, slots=True)
class CompiledTree:
    sql: str
    parameters: tuple[Any, ...]
    plans: tuple[NodePlan, ...]


def _scoped_key(scoped: ScopedQuery | None) -> Hashable:
    if scoped is None:
        return None
    return (scoped.query, scoped.scope, tuple(sorted(scoped.masks.items())))


def tree_key(roots: tuple[ScopedNode, ...]) -> Hashable:
    return tuple((n.node.attach, n.node.page_size, n.node.wants_rows, _scoped_key(n.scoped),
                  _scoped_key(n.counted), tree_key(n.children)) for n in roots)


def compile_tree(builder: TreeStatement, roots: tuple[ScopedNode, ...]) -> CompiledTree:
    stmt, plans = builder.build(roots)
    compiled = stmt.compile(dialect=builder.dialect)
    params = compiled.construct_params()
    # As SQLAlchemy itself would send them: through the bind processors of their types
    # (SQLite's DATETIME text, for one), since the statement is sent as driver SQL.
    processors: dict[str, Any] = dict(compiled._bind_processors)
    values = []
    for name in compiled.positiontup or []:
        process = processors.get(name)
        values.append(process(params[name]) if process is not None else params[name])
    return CompiledTree(str(compiled), tuple(values), plans)


class StatementCache:
    def __init__(self, size: int = MAX_STATEMENTS) -> None:
        self._size = size
        self._entries: OrderedDict[Hashable, CompiledTree] = OrderedDict()

    def get(self, key: Hashable) -> CompiledTree | None:
        found = self._entries.get(key)
        if found is not None:
            self._entries.move_to_end(key)
        return found

    def put(self, key: Hashable, compiled: CompiledTree) -> CompiledTree:
        self._entries[key] = compiled
        if len(self._entries) > self._size:
            self._entries.popitem(last=False)
        return compiled
