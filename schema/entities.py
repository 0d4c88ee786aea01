"""Per-role object types: each entity with only its granted fields and relations, and its
Relay connection and edge types."""

from __future__ import annotations

from typing import Any, Optional

import strawberry

from auth.access.policy import RolePolicy
from auth.model.catalog import ENTITIES, EntitySpec, RelationSpec
from resolvers.lists import region_page
from resolvers.objects import Edge, Page, PageInfo, RowObject
from resolvers.relations import load_many, load_one

from .execution import GLOBAL_ID_MARK
from .inputs import scalar_annotation
from .namespace import RoleNamespace, with_signature


def _id_field() -> Any:
    def resolve_id(root: RowObject) -> strawberry.ID:
        return strawberry.ID(root.global_id)

    setattr(resolve_id, GLOBAL_ID_MARK, True)  # `RowExecutionContext` may read it directly

    return strawberry.field(resolver=resolve_id, description="Opaque global id.")


def _relation_field(rel: RelationSpec) -> Any:
    """Targets are named as strings: types may be cyclic, and resolve in the role's module."""
    if not rel.many:
        async def resolve_one(root: RowObject, info: strawberry.Info) -> Any:
            return await load_one(info, root, rel.name)

        return strawberry.field(
            resolver=resolve_one,
            graphql_type=Optional[rel.target],  # noqa: UP045 - forward reference by name
            description=rel.description + " Null when absent or outside your scope.",
        )

    async def resolve_many(root: RowObject, info: strawberry.Info, first: int | None = None) -> Any:
        return await load_many(info, root, rel.name, first)

    return strawberry.field(
        resolver=resolve_many,
        graphql_type=list[rel.target],  # type: ignore[name-defined]
        description=rel.description + " At most `first` rows (default and cap: the role's).",
    )


def _subtree_field(ns: RoleNamespace, rel: RelationSpec) -> Any:
    """A region's rows of one entity, paged like the root list of that entity."""
    filt = ns.get(f"{rel.target}Filter") if f"{rel.target}Filter" in ns else None
    order = ns.get(f"{rel.target}OrderBy") if f"{rel.target}OrderBy" in ns else None

    async def resolve(root: RowObject, info: strawberry.Info, first: int | None = None,
                      after: str | None = None, filter: Any = None,
                      order_by: Any = None) -> Any:
        return await region_page(info, root, rel.name, first, after, filter, order_by)

    args: dict[str, Any] = {"first": Optional[int], "after": Optional[str]}  # noqa: UP045
    if filt is not None:
        args["filter"] = Optional[filt]  # noqa: UP045
    if order is not None:
        args["order_by"] = Optional[list[order]]  # type: ignore[valid-type]  # noqa: UP045
    return strawberry.field(
        resolver=with_signature(resolve, args, dict.fromkeys(args), root=True),
        # Nullable: a source that cannot answer nulls this region's list, not the region.
        graphql_type=Optional[ns.get(f"{rel.target}Connection")],  # noqa: UP045
        description=rel.description + " Paged like the root list.",
    )


def entity_type(ns: RoleNamespace, role: RolePolicy, spec: EntitySpec, node: Any) -> Any:
    grant = role.grant(spec.name)
    assert grant is not None
    fields: dict[str, Any] = {"id": _id_field()}
    for f in spec.fields.values():
        if f.output and f.name != "id" and f.name in grant.fields:
            annotation = scalar_annotation(f)
            masked = grant.masked.get(f.name)
            description = f.description + (f" Masked ({masked})." if masked else "")
            fields[f.name] = strawberry.field(
                graphql_type=Optional[annotation] if f.nullable else annotation,  # noqa: UP045
                description=description,
            )
    for rel in spec.relations.values():
        if rel.name in grant.relations:
            fields[rel.name] = _subtree_field(ns, rel) if rel.subtree else _relation_field(rel)
    name = spec.name
    return ns.add_type(
        name,
        fields,
        bases=(node,),
        description=spec.description,
        extra={"is_type_of": classmethod(lambda cls, obj, info: getattr(obj, "_entity", None)
                                         == name)},
    )


def page_info_type(ns: RoleNamespace) -> Any:
    if "PageInfo" in ns:
        return ns.get("PageInfo")
    return ns.add_type(
        "PageInfo",
        {"hasNextPage": bool, "hasPreviousPage": bool, "startCursor": Optional[str],  # noqa: UP045
         "endCursor": Optional[str]},  # noqa: UP045
        description="Where a page sits in its connection.",
        extra={"is_type_of": classmethod(lambda cls, obj, info: isinstance(obj, PageInfo))},
    )


def connection_types(ns: RoleNamespace, spec: EntitySpec) -> Any:
    """`<Entity>Connection` and `<Entity>Edge` over a resolver `Page`; node types are
    referred to by name, so connections can be declared before the entity types."""
    node_type: Any = spec.name
    page_info = page_info_type(ns)

    def resolve_edge_cursor(root: Edge) -> str:
        return root.cursor

    ns.add_type(
        f"{spec.name}Edge",
        {"cursor": strawberry.field(resolver=resolve_edge_cursor),
         "node": strawberry.field(graphql_type=node_type)},
    )
    edge_type = ns.get(f"{spec.name}Edge")

    async def total_count(root: Page) -> int:
        return await root.total_count()

    def page_info_of(root: Page) -> Any:
        return root.page_info()

    def edges_of(root: Page) -> Any:
        return root.edges()

    def nodes_of(root: Page) -> Any:
        return root.rows

    return ns.add_type(
        f"{spec.name}Connection",
        {
            "totalCount": strawberry.field(resolver=total_count,
                                           description="Rows matching, in your scope."),
            "pageInfo": strawberry.field(resolver=page_info_of, graphql_type=page_info),
            "edges": strawberry.field(resolver=edges_of, graphql_type=list[edge_type]),  # type: ignore[valid-type]
            "nodes": strawberry.field(resolver=nodes_of, graphql_type=list[node_type]),
        },
        description=f"A page of {spec.plural}.",
    )


def exposed_entities(role: RolePolicy) -> list[EntitySpec]:
    return [spec for spec in ENTITIES.values() if spec.exposed and role.readable(spec.name)]

