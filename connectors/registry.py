"""Every connector kind, registered the same way: its name, its mapping keys and its factory.

A factory takes the source's settings (`SourceLike`) and its loaded mapping, and returns the
connector; what a kind reads of a mapping's entity tables is its `mapping_keys` (a table, an
API path, a file pattern). A new kind is a subpackage with a factory module and one entry in
`KINDS`. Everything that does not fit raises `MappingError` naming the file and key.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Final

from .base import Connector, MappingError, SourceLike
from .file import factory as file_factory
from .mapping import EntityMapping, load_mapping
from .rest import factory as rest_factory
from .sql import factory as sql_factory

Factory = Callable[[SourceLike, Mapping[str, EntityMapping]], Connector]


@dataclass(frozen=True, slots=True)
class ConnectorKind:
    name: str
    mapping_keys: tuple[str, ...]
    factory: Factory


KINDS: Final[Mapping[str, ConnectorKind]] = {
    kind.name: kind
    for kind in (
        ConnectorKind("sql", sql_factory.MAPPING_KEYS, sql_factory.build_sql_connector),
        ConnectorKind("rest", rest_factory.MAPPING_KEYS, rest_factory.build_rest_connector),
        ConnectorKind("file", file_factory.MAPPING_KEYS, file_factory.build_file_connector),
    )
}


def build_connector(source: SourceLike) -> Connector:
    kind = KINDS.get(source.kind)
    if kind is None:
        raise MappingError(f"{source.where}.kind: unknown kind {source.kind!r}; expected one "
                           f"of {', '.join(sorted(KINDS))}")
    return kind.factory(source, load_mapping(source, kind.mapping_keys))


def build_connectors(sources: Iterable[SourceLike]) -> dict[str, Connector]:
    """One connector per source; each entity must be served by exactly one source."""
    connectors: dict[str, Connector] = {}
    served_by: dict[str, str] = {}
    for source in sources:
        connector = build_connector(source)
        for entity in connector.entities:
            if entity in served_by:
                raise MappingError(f"{source.where}: entity {entity} is already served by "
                                   f"source {served_by[entity]!r}")
            served_by[entity] = source.name
        connectors[source.name] = connector
    return connectors
