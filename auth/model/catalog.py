"""The canonical catalog: every entity, field, relation and code list the hub can expose.

This is the one description that the schema builder, the policy checker, the connectors'
mappings and the scoping step all agree on. Each domain declares its entities and code lists
in a module of `auth.model.entities`; the catalog is those domains, in the order of `DOMAINS`
(which is also the order of types in every role's schema). A new domain is a new module there
and one more entry in `DOMAINS`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from types import MappingProxyType, ModuleType
from typing import Final

from .entities import civil_affairs, finance, inspection, reference
from .specs import EntitySpec, FieldSpec, Kind, RelationSpec

__all__ = ["DOMAINS", "ENTITIES", "ENUMS", "EntitySpec", "FieldSpec", "Kind", "RelationSpec"]

# Each module defines ENTITIES (a tuple of EntitySpec) and ENUMS (code list name -> values).
DOMAINS: Final[tuple[ModuleType, ...]] = (reference, finance, civil_affairs, inspection)


def _enums(domains: Iterable[ModuleType]) -> dict[str, tuple[str, ...]]:
    enums: dict[str, tuple[str, ...]] = {}
    for domain in domains:
        for name, values in domain.ENUMS.items():
            if name in enums:
                raise ValueError(f"{domain.__name__}: code list {name} is declared twice")
            enums[name] = values
    return enums


def _entities(domains: Iterable[ModuleType], enums: Mapping[str, tuple[str, ...]]
              ) -> dict[str, EntitySpec]:
    entities: dict[str, EntitySpec] = {}
    for domain in domains:
        for spec in domain.ENTITIES:
            if spec.name in entities:
                raise ValueError(f"{domain.__name__}: entity {spec.name} is declared twice")
            entities[spec.name] = spec
    for spec in entities.values():
        for fspec in spec.fields.values():
            if fspec.enum is not None and fspec.enum not in enums:
                raise ValueError(f"{spec.name}.{fspec.name}: no code list {fspec.enum}")
            if fspec.references is not None and fspec.references not in entities:
                raise ValueError(f"{spec.name}.{fspec.name}: no entity {fspec.references}")
        for rel in spec.relations.values():
            for target in (rel.target, rel.via):
                if target is not None and target not in entities:
                    raise ValueError(f"{spec.name}.{rel.name}: no entity {target}")
    return entities


def _with_region_subtrees(entities: dict[str, EntitySpec]) -> dict[str, EntitySpec]:
    """Give Region one subtree connection per exposed entity that carries a regionCode."""
    region = entities["Region"]
    subtrees = {
        spec.plural: RelationSpec(
            spec.plural, spec.name, "code", "regionCode", True,
            f"{spec.name} rows anywhere in this region's subtree.", subtree=True,
        )
        for spec in entities.values()
        if spec.exposed and "regionCode" in spec.fields
    }
    relations = MappingProxyType({**region.relations, **subtrees})
    return {**entities, "Region": replace(region, relations=relations)}


ENUMS: Final[MappingProxyType[str, tuple[str, ...]]] = MappingProxyType(_enums(DOMAINS))
ENTITIES: Final[MappingProxyType[str, EntitySpec]] = MappingProxyType(
    _with_region_subtrees(_entities(DOMAINS, ENUMS))
)
