"""A faster way through the plain fields of a row.

graphql-core resolves every field of every row on its own (resolve info, resolver, value
completion): several microseconds a field, which dominates a page of a few hundred rows. For
a row object (`RowObject`) whose selected fields are plain attributes or its global id, with no
arguments, this reads and serialises them in one loop, producing exactly what the general
path would. Anything else (relations, arguments, a null where the type forbids one, a value
its scalar refuses) takes the general path, which raises the proper error.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphql import (
    GraphQLLeafType,
    GraphQLNonNull,
    GraphQLObjectType,
    Undefined,
    is_leaf_type,
)
from graphql.execution.collect_fields import GroupedFieldSet
from graphql.pyutils import AwaitableOrValue, Path
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from resolvers.objects import RowObject

GLOBAL_ID_MARK = "_huitong_global_id"

# (response name, read the value from a row object, serialise it, may it be null)
FastField = tuple[str, Callable[[RowObject], Any], Callable[[Any], Any], bool]
Plan = tuple[list[FastField], GroupedFieldSet]


def _reader(field_def: Any) -> Callable[[RowObject], Any] | None:
    definition = (field_def.extensions or {}).get("strawberry-definition")
    if definition is None:
        return None
    resolver = definition.base_resolver
    if resolver is None:
        name = definition.python_name
        return lambda obj: obj.__dict__.get(name)
    if getattr(resolver.wrapped_func, GLOBAL_ID_MARK, False):
        return lambda obj: obj.global_id
    return None


class RowExecutionContext(StrawberryGraphQLCoreExecutionContext):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._plans: dict[tuple[Any, ...], Plan | None] = {}

    def _plan(self, parent_type: GraphQLObjectType, fields: GroupedFieldSet) -> Plan | None:
        # graphql-core collects a new field set for every object; the AST nodes in it are
        # the same for all objects under one field, so they key the plan.
        key = (parent_type.name, *(id(details[0].node) for details in fields.values()))
        if key in self._plans:
            return self._plans[key]
        fast: list[FastField] = []
        rest: GroupedFieldSet = {}
        for response_name, details in fields.items():
            node = details[0].node
            field_def = parent_type.fields.get(node.name.value)
            leaf = field_def.type if field_def is not None else None
            nullable = not isinstance(leaf, GraphQLNonNull)
            if isinstance(leaf, GraphQLNonNull):
                leaf = leaf.of_type
            reader = _reader(field_def) if field_def is not None else None
            if (reader is None or node.arguments or field_def.args
                    or not is_leaf_type(leaf)):
                rest[response_name] = details
                continue
            assert isinstance(leaf, GraphQLLeafType)
            fast.append((response_name, reader, leaf.serialize, nullable))
        plan = (fast, rest) if fast else None
        self._plans[key] = plan
        return plan

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: GroupedFieldSet,
        position_context: Any,
    ) -> AwaitableOrValue[dict[str, Any]]:
        general = super().execute_fields
        if type(source_value) is not RowObject:
            return general(parent_type, source_value, path, grouped_field_set, position_context)
        plan = self._plan(parent_type, grouped_field_set)
        if plan is None:
            return general(parent_type, source_value, path, grouped_field_set, position_context)
        fast, rest = plan
        results: dict[str, Any] = {}
        try:
            for response_name, read, serialize, nullable in fast:
                value = read(source_value)
                if value is None:
                    if not nullable:
                        raise ValueError(response_name)
                    results[response_name] = None
                    continue
                out = serialize(value)
                if out is None or out is Undefined:
                    raise ValueError(response_name)
                results[response_name] = out
        except Exception:
            # Let the general path find and report the problem, with its path.
            return general(parent_type, source_value, path, grouped_field_set, position_context)
        if not rest:
            return results
        others = general(parent_type, source_value, path, rest, position_context)
        order = list(grouped_field_set)
        if isinstance(others, dict):
            return _merged(order, results, others)

        async def merged_later() -> dict[str, Any]:
            return _merged(order, results, await others)

        return merged_later()


def _merged(order: list[str], fast: dict[str, Any], others: dict[str, Any]) -> dict[str, Any]:
    """Both halves in the order the query asked for them (JSON keys keep that order)."""
    return {name: fast[name] if name in fast else others[name]
            for name in order if name in fast or name in others}
