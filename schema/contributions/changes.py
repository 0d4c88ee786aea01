"""The incremental-pull root field, for roles whose policy grants `changes`.

    changes(entity: ChangeEntity!, after: String, first: Int): ChangeConnection
    ChangeConnection { nodes { cursor op entity id at node } pageInfo { hasNextPage endCursor } }

`ChangeEntity` holds only the followed entities the role can read; `node` is the role's own
`Node` (the row as the role sees it now). A role without the grant has none of these types.
"""

from __future__ import annotations

import datetime as dt
from enum import Enum
from typing import Any, Optional

import strawberry

from auth.access.policy import RolePolicy
from publishing.change_follower import FEEDS
from resolvers.changes import ChangeView, change_node, changes

from ..entities import page_info_type
from ..namespace import RoleNamespace, with_signature


def _f(kind: Any, description: str) -> Any:
    return strawberry.field(graphql_type=kind, description=description)


def query_fields(ns: RoleNamespace, role: RolePolicy) -> dict[str, Any]:
    """`changes`, when the role's `operations` grant it and it can read a followed entity."""
    entities = [name for name, entity in FEEDS.items() if role.readable(entity)]
    if "changes" not in role.operations or not entities:
        return {}
    functional: Any = Enum("ChangeEntity", {n: n for n in entities}, type=str)  # type: ignore[misc]
    entity_enum = strawberry.enum(functional, name="ChangeEntity",
                                  description="An entity whose changes can be pulled.")
    op_members: Any = Enum("ChangeOp", {"UPSERT": "UPSERT", "DELETE": "DELETE"}, type=str)  # type: ignore[misc]
    op_enum = strawberry.enum(op_members, name="ChangeOp", description=(
        "UPSERT: the row is new or changed and inside your scope; DELETE: it has left your "
        "scope (withdrawn, unpublished, moved), drop your copy."))

    async def resolve_node(root: ChangeView, info: strawberry.Info) -> Any:
        return await change_node(info, root)

    change = ns.add_type("Change", {
        "cursor": _f(str, "This change's position: pass it as `after` to continue after it."),
        "op": _f(op_enum, "What happened to the row, as far as you can see."),
        "entity": _f(entity_enum, "The row's entity."),
        "id": _f(strawberry.ID, "The row's global id (as `node(id:)` takes it)."),
        "at": _f(dt.datetime, "When the source changed the row (China wall-clock time)."),
        "node": strawberry.field(resolver=resolve_node, graphql_type=Optional[ns.get("Node")],  # noqa: UP045
                                 description="The row as it is now, in your scope; null for "
                                 "a DELETE, or when it has left your scope since."),
    }, description="One change of a row, in journal order.")
    connection = ns.add_type("ChangeConnection", {
        "nodes": _f(list[change], "The changes, oldest first."),  # type: ignore[valid-type]
        "pageInfo": _f(page_info_type(ns), "`endCursor` is where to continue from (your "
                       "`after` when nothing new came); `hasNextPage` says whether more are "
                       "waiting now."),
    }, description="A page of changes.")

    async def resolve(info: strawberry.Info, entity: Any, after: Any = None,
                      first: Any = None) -> Any:
        return await changes(info, entity, after, first)

    args = {"entity": entity_enum, "after": Optional[str], "first": Optional[int]}  # noqa: UP045
    return {"changes": strawberry.field(
        resolver=with_signature(resolve, args, {"after": None, "first": None}),
        graphql_type=connection,
        description="What was inserted, updated or withdrawn since `after`, in order, as you "
        f"may see it; pages of `first` (default 20, at most {role.limits.max_first}). "
        "Resumable from any cursor, across restarts of the hub.",
    )}
