"""The answer's shape, and the response data built from a tree's rows in one pass.

Values are serialised by the same leaf types graphql-core would use (so a value the general
path would reject — a null where the type forbids one, a value its scalar refuses — makes the
request take the general path, which reports it); ids, cursors and page info are made with
the same codecs as the connection objects (`resolvers.objects`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from graphql import Undefined

from auth.model.query import OrderKey
from connectors.tree import NodeRows, child_rows

from ..cursors import CursorCodec
from ..ids import to_global_id


class NotShaped(Exception):
    """A value the general path would report as an error: let it."""


@dataclass(frozen=True, slots=True)
class Field:
    """One response key: `name` is the schema field, `kind` what it is (VALUE: `spec` is
    (serialize, nullable); CHILD: (child index, shape); TYPENAME: `spec` is the name)."""

    key: str
    name: str
    spec: Any
    kind: str = ""


VALUE, CHILD, TYPENAME, GLOBAL_ID = "value", "child", "typename", "id"


@dataclass(frozen=True, slots=True)
class ObjectShape:
    entity: str
    fields: tuple[Field, ...]


@dataclass(frozen=True, slots=True)
class ConnectionShape:
    entity: str
    type_name: str
    keys: tuple[Field, ...]
    node: ObjectShape | None
    limit: int
    has_previous: bool
    order: tuple[OrderKey, ...]
    bind: str


@dataclass(frozen=True, slots=True)
class Root:
    key: str
    node: Any  # the root's ReadNode; None for __typename
    shape: ObjectShape | ConnectionShape | None
    typename: str | None = None


class Builder:
    def __init__(self, cursors: CursorCodec) -> None:
        self.cursors = cursors

    def data(self, roots: list[Root], answers: list[NodeRows]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        given = iter(answers)
        for root in roots:
            if root.node is None:
                out[root.key] = root.typename
            elif isinstance(root.shape, ConnectionShape):
                out[root.key] = self.connection(root.shape, next(given))
            else:
                assert root.shape is not None
                answer = next(given)
                out[root.key] = self.object(root.shape, answer.rows[0]) if answer.rows else None
        return out

    def object(self, shape: ObjectShape, row: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in shape.fields:
            spec = f.spec
            kind = f.kind
            if kind is GLOBAL_ID:
                out[f.key] = to_global_id(shape.entity, row["id"])
            elif kind is TYPENAME:
                out[f.key] = spec
            elif kind is VALUE:
                serialize, nullable = spec
                value = row.get(f.name)
                if value is None:
                    if not nullable:
                        raise NotShaped(f.key)
                    out[f.key] = None
                    continue
                result = serialize(value)
                if result is None or result is Undefined:
                    raise NotShaped(f.key)
                out[f.key] = result
            else:
                index, sub = spec
                answer = child_rows(row, index)
                if isinstance(sub, ConnectionShape):
                    out[f.key] = self.connection(sub, answer)
                elif isinstance(sub, _ManyMark):
                    out[f.key] = [self.object(sub.shape, r) for r in answer.rows]
                else:
                    out[f.key] = self.object(sub, answer.rows[0]) if answer.rows else None
        return out

    def connection(self, shape: ConnectionShape, answer: NodeRows) -> dict[str, Any]:
        rows = answer.rows[: shape.limit]
        out: dict[str, Any] = {}
        for f in shape.keys:
            if f.name == "totalCount":
                out[f.key] = answer.count
            elif f.name == "__typename":
                out[f.key] = shape.type_name
            elif f.name == "nodes":
                assert shape.node is not None
                out[f.key] = [self.object(shape.node, r) for r in rows]
            elif f.name == "edges":
                out[f.key] = [self.edge(shape, f.spec, r) for r in rows]
            elif f.name == "pageInfo":
                out[f.key] = self.page_info(shape, f.spec, rows, len(answer.rows) > shape.limit)
        return out

    def edge(self, shape: ConnectionShape, parts: Any, row: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, name, type_name in parts:
            if name == "cursor":
                out[key] = self.cursor(shape, row)
            elif name == "node":
                assert shape.node is not None
                out[key] = self.object(shape.node, row)
            else:
                out[key] = type_name
        return out

    def page_info(self, shape: ConnectionShape, parts: Any, rows: list[dict[str, Any]],
                  has_next: bool) -> dict[str, Any]:
        values = {
            "hasNextPage": has_next,
            "hasPreviousPage": shape.has_previous,
            "startCursor": self.cursor(shape, rows[0]) if rows else None,
            "endCursor": self.cursor(shape, rows[-1]) if rows else None,
        }
        return {key: values.get(name, type_name)
                for key, name, type_name in parts}

    def cursor(self, shape: ConnectionShape, row: dict[str, Any]) -> str:
        return self.cursors.encode(shape.entity, shape.order,
                                   [row[k.field] for k in shape.order], shape.bind)


@dataclass(frozen=True, slots=True)
class _ManyMark:
    shape: ObjectShape


def many(shape: ObjectShape) -> _ManyMark:
    """A list of objects (a to-many relation), as opposed to one object or a connection."""
    return _ManyMark(shape)
