"""Build each role's schema once at start-up, from the catalog and that role's grants.

A role's schema holds only what it is granted: other types, fields, arguments, filter and
order fields, and dimension values do not exist for it, in introspection or validation.
The entities give the root lists, lookups, `node` and `spendingSummary`; every other root
field comes from a contribution (`schema.contributions`), only where the role's
`operations` grant it. `Mutation` and `Subscription` exist only for roles that have some.
"""

from __future__ import annotations

import logging
from enum import Enum
from typing import Any, Optional

import strawberry
from graphql import GraphQLError
from strawberry.extensions import MaxTokensLimiter, ParserCache
from strawberry.schema.config import StrawberryConfig

from auth.access.policy import Policy, RolePolicy
from auth.identity.principal import PUBLIC_ROLE
from auth.model.catalog import ENTITIES, EntitySpec
from auth.model.operations import OperationKind
from resolvers.compiled import CompiledQueries
from resolvers.lists import list_page, lookup, lookup_global, node
from resolvers.spending import allowed_dimensions, spending_summary

from .contributions import Contribution, audit_trail, changes
from .entities import connection_types, entity_type, exposed_entities
from .enums import CATALOG_ENUMS
from .execution import RowExecutionContext
from .extensions.errors import MaskUnexpectedErrors
from .extensions.validation import RoleValidation, cost_limits, role_rules, validate_document
from .inputs import filter_input, order_input, scalar_annotation
from .namespace import RoleNamespace, with_signature
from .scalars import SCALAR_MAP, Money, RegionCode

log = logging.getLogger("huitong.graphql")

# Modules adding root fields (see `schema.contributions`), in the order their fields appear.
CONTRIBUTIONS: tuple[Contribution, ...] = (audit_trail, changes)
_ROOTS = (("query_fields", OperationKind.QUERY), ("mutation_fields", OperationKind.MUTATION),
          ("subscription_fields", OperationKind.SUBSCRIPTION))


class ContributionError(ValueError):
    """A contribution offered a root field the role is not granted (a bug, caught at start)."""


class HubSchema(strawberry.Schema):
    """A role's schema. Errors callers caused (syntax, validation, bad input, an unavailable
    source) are theirs to read, not ours to log as failures; unexpected ones are logged with
    their traceback by `MaskUnexpectedErrors` before being masked."""

    role_rules: tuple[Any, ...] = ()  # its validation rules, for the compiled path

    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None) -> None:
        for error in errors:
            log.debug("graphql error: %s", error.message)


def _lower_first(name: str) -> str:
    return name[0].lower() + name[1:]


def _list_field(spec: EntitySpec, connection: Any, filt: Any, order: Any, max_first: int) -> Any:
    async def resolve(info: strawberry.Info, first: int | None = None, after: str | None = None,
                      filter: Any = None, order_by: Any = None) -> Any:
        return await list_page(info, spec.name, first, after, filter, order_by)

    args: dict[str, Any] = {"first": Optional[int], "after": Optional[str]}  # noqa: UP045
    if filt is not None:
        args["filter"] = Optional[filt]  # noqa: UP045
    if order is not None:
        args["order_by"] = Optional[list[order]]  # noqa: UP045
    return strawberry.field(
        resolver=with_signature(resolve, args, dict.fromkeys(args)),
        # Nullable, so that a source that cannot answer nulls this list only, not every
        # other department's data in the same response.
        graphql_type=Optional[connection],  # noqa: UP045
        description=f"{spec.description} Pages of `first` rows (default 20, at most "
        f"{max_first}) after the opaque cursor `after`.",
    )


def _lookup_field(spec: EntitySpec, type_: Any) -> Any:
    if spec.name == "Region":
        async def by_code(info: strawberry.Info, code: RegionCode) -> Any:
            return await lookup(info, "Region", str(code))

        return strawberry.field(resolver=by_code, graphql_type=Optional[type_],  # noqa: UP045
                                description="One region by its 12-digit code.")

    async def by_id(info: strawberry.Info, id: strawberry.ID) -> Any:
        return await lookup_global(info, spec.name, str(id))

    return strawberry.field(resolver=by_id, graphql_type=Optional[type_],  # noqa: UP045
                            description=f"One {spec.name} by id; null when absent or hidden.")


def _node_field(node_interface: Any) -> Any:
    async def resolve(info: strawberry.Info, id: strawberry.ID) -> Any:
        return await node(info, str(id))

    return strawberry.field(resolver=resolve, graphql_type=Optional[node_interface],  # noqa: UP045
                            description="Any object you may see, by its global id.")


def _spending_field(ns: RoleNamespace, role: RolePolicy) -> Any | None:
    grant = role.grant("Payment")
    if grant is None or not grant.aggregate:
        return None
    dims = allowed_dimensions(grant.groupable)
    if not dims:
        return None
    members = {d.name: d.name for d in dims}
    functional: Any = Enum("SpendingDimension", members, type=str)  # type: ignore[misc]
    dimension_enum = strawberry.enum(functional, name="SpendingDimension")
    payment = ENTITIES["Payment"]
    group_fields: dict[str, Any] = {}
    for d in dims:
        if d.name == "REGION":
            group_fields["regionCode"] = Optional[RegionCode]  # noqa: UP045
        elif d.name in ("CATEGORY", "MONTH"):
            group_fields[d.key] = Optional[str]  # noqa: UP045
        else:
            group_fields[d.key] = Optional[scalar_annotation(payment.fields[d.field])]  # noqa: UP045
    group_fields["count"] = int
    group_fields["totalAmount"] = Money
    group_type = ns.add_type(
        "SpendingGroup", group_fields,
        description="One group of payments: its keys (null when not grouped on), how many, "
        "and their total.",
    )
    filt = filter_input(ns, grant)

    async def resolve(info: strawberry.Info, group_by: Any, filter: Any = None,
                      region_level: Any = None) -> Any:
        return await spending_summary(info, filter, group_by, region_level)

    args: dict[str, Any] = {"group_by": list[dimension_enum]}  # type: ignore[valid-type]
    defaults: dict[str, Any] = {}
    if filt is not None:
        args["filter"] = Optional[filt]  # noqa: UP045
        defaults["filter"] = None
    if any(d.name == "REGION" for d in dims):
        level = CATALOG_ENUMS["RegionLevel"]
        args["region_level"] = Optional[level]  # noqa: UP045
        defaults["region_level"] = None
    suppressed = (f" Groups of fewer than {role.min_group_size} payments are left out."
                  if role.min_group_size > 1 else "")
    return strawberry.field(
        resolver=with_signature(resolve, args, defaults),
        # Nullable: a finance source that cannot answer nulls this field, not the response.
        graphql_type=Optional[list[group_type]],  # type: ignore[valid-type]  # noqa: UP045
        description="Payments grouped at the source by the given dimensions (REGION at "
        "`regionLevel`, default TOWNSHIP)." + suppressed,
    )


def _contributed(ns: RoleNamespace, role: RolePolicy, contributions: tuple[Contribution, ...]
                 ) -> dict[OperationKind, dict[str, Any]]:
    """Each kind's contributed root fields, each checked against the role's operations."""
    roots: dict[OperationKind, dict[str, Any]] = {kind: {} for _, kind in _ROOTS}
    for contribution in contributions:
        for hook, kind in _ROOTS:
            offer = getattr(contribution, hook, None)
            for name, value in (offer(ns, role) if offer is not None else {}).items():
                granted = role.operations.get(name)
                if granted is None or granted.kind is not kind or name in roots[kind]:
                    raise ContributionError(
                        f"{getattr(contribution, '__name__', contribution)} offers the {kind} "
                        f"{name} to role {role.name}, which is not granted it as a {kind}")
                roots[kind][name] = value
    return roots


def introspectable(role: RolePolicy, *, production: bool) -> bool:
    """Whether the role may introspect its schema: as its policy says, and never the public
    in production."""
    return role.introspection and not (production and role.name == PUBLIC_ROLE)


def build_role_schema(
    role: RolePolicy, *, production: bool = False, fast_rows: bool = True,
    contributions: tuple[Contribution, ...] = CONTRIBUTIONS,
) -> strawberry.Schema:
    """`fast_rows=False` keeps graphql-core's general path for every field (tests compare)."""
    ns = RoleNamespace(role.name)
    node_interface = ns.add_type("Node", {"id": strawberry.ID}, decorator=strawberry.interface,
                                 description="An object with a global id.")
    readable = exposed_entities(role)
    # Inputs and connections first: Region's subtree fields take them as arguments.
    lists = {}
    for spec in readable:
        grant = role.grant(spec.name)
        assert grant is not None
        lists[spec.name] = (connection_types(ns, spec), filter_input(ns, grant),
                            order_input(ns, grant))
    types = [entity_type(ns, role, spec, node_interface) for spec in readable]
    query: dict[str, Any] = {}
    for spec, type_ in zip(readable, types, strict=True):
        connection, filt, order = lists[spec.name]
        query[spec.plural] = _list_field(spec, connection, filt, order, role.limits.max_first)
        query[_lower_first(spec.name)] = _lookup_field(spec, type_)
    query["node"] = _node_field(node_interface)
    spending = _spending_field(ns, role)
    if spending is not None:
        query["spendingSummary"] = spending
    roots = _contributed(ns, role, contributions)
    query.update(roots[OperationKind.QUERY])
    query_type = ns.add_type("Query", query, description=f"What the role {role.name} may read.")
    mutation_type = ns.add_type(
        "Mutation", roots[OperationKind.MUTATION],
        description=f"What the role {role.name} may change.",
    ) if roots[OperationKind.MUTATION] else None
    subscription_type = ns.add_type(
        "Subscription", roots[OperationKind.SUBSCRIPTION],
        description=f"What the role {role.name} may follow.",
    ) if roots[OperationKind.SUBSCRIPTION] else None
    rules = role_rules(role.limits, introspectable(role, production=production))
    limits = cost_limits(role.limits)
    schema = HubSchema(
        query=query_type,
        mutation=mutation_type,
        subscription=subscription_type,
        execution_context_class=RowExecutionContext if fast_rows else None,
        types=types,
        config=StrawberryConfig(disable_field_suggestions=True, scalar_map=SCALAR_MAP),
        extensions=[
            lambda: MaxTokensLimiter(max_token_count=role.limits.max_tokens),
            lambda: ParserCache(maxsize=512),
            lambda: RoleValidation(rules, limits),
            MaskUnexpectedErrors,
        ],
    )
    schema.role_rules = rules
    return schema


def compiled_queries(schema: strawberry.Schema, role: RolePolicy) -> CompiledQueries:
    """The compiled path for `role`, validating documents exactly as its schema does."""
    rules = schema.role_rules if isinstance(schema, HubSchema) else ()
    limits = cost_limits(role.limits)
    return CompiledQueries(schema, lambda document: validate_document(schema._schema, document,
                                                                        rules, limits),
                           role.limits.max_tokens)


def build_schemas(policy: Policy, *, production: bool = False) -> dict[str, strawberry.Schema]:
    """One schema per role that callers can act in (system roles have none)."""
    return {name: build_role_schema(role, production=production)
            for name, role in policy.roles.items() if not role.system}
