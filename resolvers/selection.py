"""Read a GraphQL selection into the canonical fields a query must fetch.

Only fields the selection names are fetched (plus `id`, and the keys of selected relations);
aliases, fragments and inline fragments all count by the field's real name.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from strawberry.types.info import Info
from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField, Selection

from auth.model.catalog import ENTITIES

from .context import RequestContext


def flatten(
    selections: Iterable[Selection], type_name: str | None = None
) -> Iterator[SelectedField]:
    """Fields of a selection set, looking through fragments that apply to `type_name`."""
    for sel in selections:
        if isinstance(sel, SelectedField):
            yield sel
        elif isinstance(sel, FragmentSpread | InlineFragment):
            condition = sel.type_condition
            if type_name is None or condition in (None, type_name, "Node"):
                yield from flatten(sel.selections, type_name)


def children(
    selections: Iterable[Selection], name: str, type_name: str | None = None
) -> list[Selection]:
    """The merged sub-selections of every field called `name` (whatever its alias)."""
    merged: list[Selection] = []
    for field in flatten(selections, type_name):
        if field.name == name:
            merged.extend(field.selections)
    return merged


def current_selections(info: Info[Any, Any]) -> list[Selection]:
    """The sub-selections of the field being resolved, cached per request and field node.

    Nested relation resolvers run once per parent row; the selection is the same for all.
    """
    ctx: RequestContext = info.context
    nodes = info._raw_info.field_nodes
    key = ("selection", *(id(n) for n in nodes))
    cached = ctx.loaders.get(key)
    if cached is None:
        cached = [s for f in info.selected_fields for s in f.selections]
        ctx.loaders[key] = cached
    return cached


def fields_for(entity: str, selections: Iterable[Selection]) -> tuple[str, ...]:
    """Canonical fields to fetch for rows of `entity` shown with `selections`."""
    spec = ENTITIES[entity]
    wanted = {"id"}
    for field in flatten(selections, entity):
        if field.name in spec.fields and spec.fields[field.name].output:
            wanted.add(field.name)
        elif field.name in spec.relations:
            rel = spec.relations[field.name]
            wanted.add(rel.local)
    return tuple(sorted(wanted))


def connection_node_selections(selections: Iterable[Selection]) -> list[Selection]:
    """What a connection's selection asks of each node: `nodes { … }` and `edges { node { … } }`."""
    nodes = children(selections, "nodes")
    nodes.extend(children(children(selections, "edges"), "node"))
    return nodes
