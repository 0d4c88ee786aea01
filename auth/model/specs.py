"""The vocabulary of the catalog: value kinds, field/relation/entity specs, and the small
builders the domain modules in `auth.model.entities` declare their entities with.

Plain data: nothing here knows about GraphQL, SQL or HTTP. `auth.model.catalog` assembles the
domains into the one catalog every other package reads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType


class Kind(StrEnum):
    """The value kind of a canonical field; decides its GraphQL scalar and its coercion."""

    ID = "id"
    STRING = "string"
    INT = "int"
    BOOL = "bool"
    MONEY = "money"
    DATE = "date"
    DATETIME = "datetime"
    REGION_CODE = "region_code"
    ENUM = "enum"


@dataclass(frozen=True)
class FieldSpec:
    name: str
    kind: Kind
    description: str
    nullable: bool = False
    enum: str | None = None
    # Foreign keys are filterable inputs and join keys, but not output fields: callers follow
    # the relation instead, so a key never bypasses the target entity's own policy.
    output: bool = True
    references: str | None = None
    # "period": text written 2024, 2024Q1 or 2024-03 (checked on every write).
    format: str | None = None


@dataclass(frozen=True)
class RelationSpec:
    """A link from one entity to another: rows of `target` whose `remote` equals our `local`.

    With `via`, the link goes through a link entity: rows of `via` whose `via_local` equals our
    `local`, then rows of `target` whose `remote` equals the link's `via_remote`.
    """

    name: str
    target: str
    local: str
    remote: str
    many: bool
    description: str
    via: str | None = None
    via_local: str | None = None
    via_remote: str | None = None
    # A region's rows: every `target` row whose regionCode lies in this region's subtree,
    # served as a paged connection.
    subtree: bool = False


@dataclass(frozen=True)
class EntitySpec:
    name: str
    plural: str
    domain: str
    description: str
    fields: MappingProxyType[str, FieldSpec]
    relations: MappingProxyType[str, RelationSpec] = field(
        default_factory=lambda: MappingProxyType({})
    )
    # Internal entities (link tables) exist for policies and connectors, never as GraphQL types.
    exposed: bool = True


def f(name: str, kind: Kind, description: str, **kw: object) -> FieldSpec:
    """A field (the short name keeps the domain modules' field lists readable as tables)."""
    return FieldSpec(name, kind, description, **kw)  # type: ignore[arg-type]


def entity(
    name: str,
    plural: str,
    domain: str,
    description: str,
    fields: list[FieldSpec],
    relations: list[RelationSpec] = (),  # type: ignore[assignment]
    exposed: bool = True,
) -> EntitySpec:
    return EntitySpec(
        name=name,
        plural=plural,
        domain=domain,
        description=description,
        fields=MappingProxyType({spec.name: spec for spec in fields}),
        relations=MappingProxyType({r.name: r for r in relations}),
        exposed=exposed,
    )


def id_field(description: str) -> FieldSpec:
    return f("id", Kind.ID, description)


def region_field() -> FieldSpec:
    return f("regionCode", Kind.REGION_CODE, "12-digit 统计用区划代码 of the owning unit.")


def key(name: str, target: str, description: str, nullable: bool = False) -> FieldSpec:
    """A foreign key: filterable and a join key, never an output field."""
    return f(name, Kind.ID, description, output=False, references=target, nullable=nullable)


def to_one(name: str, target: str, local: str, description: str) -> RelationSpec:
    return RelationSpec(name, target, local, "id", False, description)


def to_many(name: str, target: str, remote: str, description: str) -> RelationSpec:
    return RelationSpec(name, target, "id", remote, True, description)
