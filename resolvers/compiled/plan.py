"""A validated query operation → the tree of canonical reads the loaders would make, and the
shape of the answer.

The walk follows graphql-core's own field collection (aliases, fragments, merged fields) over
the role's schema, and reads arguments with the very functions the resolvers use (`first`,
filters, orders, cursors), so each node is the `EntityQuery` the per-request loaders would
send, reached through the same `Relation`. What it cannot express — another root field, a
link-entity relation, a directive —
raises `NotCompiled`, and the request takes the general path; so does any argument the
resolvers would refuse (their error is then reported by the general path, unchanged).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graphql import (
    FieldNode,
    GraphQLField,
    GraphQLLeafType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    OperationDefinitionNode,
    get_named_type,
)
from graphql.execution.collect_fields import (
    FieldDetailsList,
    FragmentDetails,
    collect_fields,
    collect_subfields,
)
from graphql.execution.values import get_argument_values
from strawberry.types.arguments import convert_arguments

from auth.access.scope import Relation
from auth.model.catalog import ENTITIES, EntitySpec, RelationSpec
from auth.model.query import Condition, EntityQuery, Op, OrderKey, Partition
from connectors.tree import Attach, ReadNode

from ..context import RequestContext
from ..filters import check_first
from ..ids import from_global_id
from ..lists import page_arguments
from .shape import (
    CHILD,
    GLOBAL_ID,
    TYPENAME,
    VALUE,
    ConnectionShape,
    Field,
    ObjectShape,
    Root,
    many,
)

_BY_ID = (OrderKey("id"),)


class NotCompiled(Exception):
    """This operation (or this request's arguments) is for the general path."""


class Planner:
    """Plans one operation of a document for one request (its variables, its principal)."""

    def __init__(self, strawberry_schema: Any, ctx: RequestContext,
                 fragments: dict[str, FragmentDetails], variables: Any,
                 operation: OperationDefinitionNode) -> None:
        self.schema: GraphQLSchema = strawberry_schema._schema
        self.strawberry = strawberry_schema
        self.ctx = ctx
        self.fragments = fragments
        self.variables = variables
        self.operation = operation
        self.by_plural = {s.plural: s for s in ENTITIES.values() if s.exposed}
        self.by_lookup = {s.name[0].lower() + s.name[1:]: s for s in ENTITIES.values()
                          if s.exposed}

    # -- roots -----------------------------------------------------------------------------
    def roots(self) -> list[Root]:
        query_type = self.schema.query_type
        assert query_type is not None
        grouped = collect_fields(self.schema, self.fragments, self.variables, query_type,
                                 self.operation, hide_suggestions=True).grouped_field_set
        roots: list[Root] = []
        for key, details in grouped.items():
            name = details[0].node.name.value
            if name == "__typename":
                roots.append(Root(key, None, None, query_type.name))
                continue
            field_def = query_type.fields[name]
            args = self._arguments(field_def, details[0].node)
            shape: ObjectShape | ConnectionShape
            if name in self.by_plural:
                node, shape = self._connection(self.by_plural[name], field_def, details, args,
                                               None, None)
            elif name in self.by_lookup:
                node, shape = self._lookup(self.by_lookup[name], field_def, details, args)
            else:
                raise NotCompiled(name)
            roots.append(Root(key, node, shape))
        return roots

    def _lookup(self, spec: EntitySpec, field_def: GraphQLField, details: FieldDetailsList,
                args: Mapping[str, Any]) -> tuple[ReadNode, ObjectShape]:
        if spec.name == "Region":
            raw_id = str(args["code"])
        else:
            decoded = from_global_id(str(args["id"]))
            if decoded is None or decoded[0] != spec.name:
                raise NotCompiled("an id of another type")  # the general path answers null
            raw_id = decoded[1]
        shape, children = self._object(spec, field_def, details)
        query = EntityQuery(spec.name, self._fields(spec, field_def, details),
                            (Condition("id", Op.EQ, raw_id),), limit=1)
        return ReadNode(query, children=children), shape

    # -- connections -----------------------------------------------------------------------
    def _connection(self, spec: EntitySpec, field_def: GraphQLField, details: FieldDetailsList,
                    args: Mapping[str, Any], via: Relation | None,
                    attach: Attach | None) -> tuple[ReadNode, ConnectionShape]:
        req = page_arguments(self.ctx, spec.name, args.get("first"), args.get("after"),
                             args.get("filter"), args.get("order_by"))
        conn_type = _object_type(field_def)
        sub = self._sub(conn_type, details)
        wants_rows = req.limit > 0 and any(
            d[0].node.name.value in ("nodes", "edges", "pageInfo") for d in sub.values())
        node_details: FieldDetailsList = []
        keys: list[Field] = []
        node_shape: ObjectShape | None = None
        children: tuple[ReadNode, ...] = ()
        node_type = self.schema.get_type(spec.name)
        assert isinstance(node_type, GraphQLObjectType)
        for key, d in sub.items():
            name = d[0].node.name.value
            if name == "nodes":
                node_details += d
            elif name == "edges":
                edge_type = _object_type(conn_type.fields["edges"])
                for e_details in self._sub(edge_type, d).values():
                    if e_details[0].node.name.value == "node":
                        node_details += e_details
            keys.append(Field(key, name, self._connection_part(conn_type, name, d)))
        counts = sum(1 for f in keys if f.name == "totalCount")
        if node_details:
            node_shape, children = self._object_from(spec, node_type, node_details)
        fields = _fields_for(spec, self._names(node_type, node_details)) if node_details \
            else ("id",)
        subtree = attach is not None and attach.kind == "subtree"
        query = EntityQuery(spec.name, fields, req.where, req.order, req.limit + 1,
                            req.position,
                            Partition("regionCode", (), req.limit + 1) if subtree else None)
        count = None
        if counts:
            count = EntityQuery(spec.name, ("id",), req.where,
                                partition=Partition("regionCode", (), 0) if subtree else None)
        node = ReadNode(query, via, attach, req.limit, count, 1 if subtree else counts,
                        children if wants_rows else (), wants_rows)
        shape = ConnectionShape(spec.name, conn_type.name, tuple(keys), node_shape, req.limit,
                                req.position is not None, req.order, req.bind)
        return node, shape

    def _connection_part(self, conn_type: GraphQLObjectType, name: str,
                         details: FieldDetailsList) -> Any:
        """The sub-keys of pageInfo and edges (the node's own shape is the connection's)."""
        if name not in ("pageInfo", "edges"):
            return None
        part_type = _object_type(conn_type.fields[name])
        return tuple((key, d[0].node.name.value, part_type.name)
                     for key, d in self._sub(part_type, details).items())

    # -- objects ---------------------------------------------------------------------------
    def _object(self, spec: EntitySpec, field_def: GraphQLField,
                details: FieldDetailsList) -> tuple[ObjectShape, tuple[ReadNode, ...]]:
        return self._object_from(spec, _object_type(field_def), details)

    def _object_from(self, spec: EntitySpec, type_: GraphQLObjectType,
                     details: FieldDetailsList) -> tuple[ObjectShape, tuple[ReadNode, ...]]:
        fields: list[Field] = []
        children: list[ReadNode] = []
        for key, d in self._sub(type_, details).items():
            name = d[0].node.name.value
            if name == "__typename":
                fields.append(Field(key, name, type_.name, TYPENAME))
                continue
            field_def = type_.fields[name]
            if name == "id":
                fields.append(Field(key, "id", None, GLOBAL_ID))
            elif name in spec.fields:
                leaf = field_def.type
                nullable = not isinstance(leaf, GraphQLNonNull)
                named = get_named_type(leaf)
                assert isinstance(named, GraphQLLeafType)
                fields.append(Field(key, name, (named.serialize, nullable), VALUE))
            else:
                child, shape = self._relation(spec, spec.relations[name], field_def, d)
                fields.append(Field(key, name, (len(children), shape), CHILD))
                children.append(child)
        return ObjectShape(spec.name, tuple(fields)), tuple(children)

    def _relation(self, parent: EntitySpec, rel: RelationSpec, field_def: GraphQLField,
                  details: FieldDetailsList) -> tuple[ReadNode, Any]:
        via = Relation(parent.name, rel.name)
        target = ENTITIES[rel.target]
        args = self._arguments(field_def, details[0].node)
        if rel.subtree:
            return self._connection(target, field_def, details, args, via,
                                    Attach("subtree", rel.local, rel.remote))
        if rel.via is not None:
            raise NotCompiled("a relation through a link entity")
        shape, children = self._object(target, field_def, details)
        fields = tuple(sorted({*self._fields(target, field_def, details), rel.remote}))
        if not rel.many:
            query = EntityQuery(target.name, fields, (), _BY_ID)
            return ReadNode(query, via, Attach("to_one", rel.local, rel.remote),
                            children=children), shape
        limits = self.ctx.role.limits
        first = args.get("first")
        limit = check_first(first if first is not None else limits.max_list, limits.max_list)
        query = EntityQuery(target.name, fields, (), _BY_ID, limit,
                            partition=Partition(rel.remote, (), limit))
        return ReadNode(query, via, Attach("to_many", rel.local, rel.remote),
                        children=children), many(shape)

    # -- helpers ---------------------------------------------------------------------------
    def _sub(self, type_: GraphQLObjectType, details: FieldDetailsList) -> dict[str, Any]:
        return collect_subfields(self.schema, self.fragments, self.variables, self.operation,
                                 type_, details, hide_suggestions=True).grouped_field_set

    def _names(self, type_: GraphQLObjectType, details: FieldDetailsList) -> list[str]:
        return [d[0].node.name.value for d in self._sub(type_, details).values()]

    def _fields(self, spec: EntitySpec, field_def: GraphQLField,
                details: FieldDetailsList) -> tuple[str, ...]:
        return _fields_for(spec, self._names(_object_type(field_def), details))

    def _arguments(self, field_def: GraphQLField, node: FieldNode) -> dict[str, Any]:
        raw = get_argument_values(field_def, node, self.variables, hide_suggestions=True)
        definition = (field_def.extensions or {}).get("strawberry-definition")
        if definition is None:
            raise NotCompiled("a field strawberry did not define")
        return convert_arguments(raw, definition.arguments,
                                 scalar_registry=self.strawberry.schema_converter.scalar_registry,
                                 config=self.strawberry.config)


def _object_type(field_def: GraphQLField) -> GraphQLObjectType:
    named = get_named_type(field_def.type)
    if not isinstance(named, GraphQLObjectType):
        raise NotCompiled("an interface or union")
    return named


def _fields_for(spec: EntitySpec, names: list[str]) -> tuple[str, ...]:
    """As `resolvers.selection.fields_for`: the fields shown, `id`, and the keys of relations."""
    wanted = {"id"}
    for name in names:
        if name in spec.fields and spec.fields[name].output:
            wanted.add(name)
        elif name in spec.relations:
            wanted.add(spec.relations[name].local)
    return tuple(sorted(wanted))
