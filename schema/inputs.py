"""Per-role filter and order inputs: only the fields the role may filter or sort on exist."""

from __future__ import annotations

import datetime as dt
from typing import Any, Optional

import strawberry

from auth.access.policy import EntityGrant
from auth.model.catalog import ENTITIES, FieldSpec, Kind
from resolvers.filters import filter_fields

from .enums import CATALOG_ENUMS, OrderDirection
from .namespace import RoleNamespace
from .scalars import Money, RegionCode


def scalar_annotation(spec: FieldSpec) -> Any:
    """The Python annotation strawberry maps to this field's GraphQL scalar or enum."""
    kinds: dict[Kind, Any] = {
        Kind.ID: strawberry.ID,
        Kind.STRING: str,
        Kind.INT: int,
        Kind.BOOL: bool,
        Kind.MONEY: Money,
        Kind.DATE: dt.date,
        Kind.DATETIME: dt.datetime,
        Kind.REGION_CODE: RegionCode,
    }
    if spec.kind is Kind.ENUM:
        assert spec.enum is not None
        return CATALOG_ENUMS[spec.enum]
    return kinds[spec.kind]


def filter_input(ns: RoleNamespace, grant: EntityGrant) -> Any | None:
    """`<Entity>Filter`, or None when the role may not filter this entity at all."""
    fields = filter_fields(grant.entity, grant.filterable)
    if not fields:
        return None
    name = f"{grant.entity}Filter"
    if name in ns:
        return ns.get(name)
    annotations = {
        ff.input_name: Optional[scalar_annotation(ff.field)]  # noqa: UP045 - runtime typing
        for ff in fields
    }
    return ns.add_type(
        name,
        # No default: a field left out and a field given as null mean different things.
        {k: strawberry.field(default=strawberry.UNSET, graphql_type=v,
                             description=_describe(ff))
         for (k, v), ff in zip(annotations.items(), fields, strict=True)},
        decorator=strawberry.input,
        description=f"Conditions on {grant.entity}; all given conditions must hold.",
    )


def _describe(ff: Any) -> str:
    op = {"gte": "at least", "lte": "at most", "within": "inside the region subtree of",
          "eq": "equal to"}[ff.op.value]
    text = f"{ff.field.name} {op} this value."
    return text + " Null: rows without a value." if ff.field.nullable else text


def order_input(ns: RoleNamespace, grant: EntityGrant) -> Any | None:
    """`<Entity>OrderBy`: one optional direction per sortable field; None if none is."""
    spec = ENTITIES[grant.entity]
    names = [f for f in spec.fields if f in grant.orderable]
    if not names:
        return None
    name = f"{grant.entity}OrderBy"
    if name in ns:
        return ns.get(name)
    return ns.add_type(
        name,
        {
            f: strawberry.field(default=None, graphql_type=Optional[OrderDirection])  # noqa: UP045
            for f in names
        },
        decorator=strawberry.input,
        description=f"Sort {grant.entity} by one field per list element; ties end by id.",
    )
