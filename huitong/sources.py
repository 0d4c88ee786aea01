"""Build one connector per configured source, by kind, and route entities to them."""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Mapping
from typing import Any

from connectors.base import Connector, MappingError
from connectors.file import connector as file_kind
from connectors.mapping import EntityMapping, parse_mapping
from connectors.rest import connector as rest_kind
from connectors.sql.connector import SqlConnector

from .settings import ConfigError, SourceSettings

ConnectorFactory = Callable[[SourceSettings], Connector]


def load_mapping(
    source: SourceSettings, container_keys: tuple[str, ...]
) -> dict[str, EntityMapping]:
    """The source's mapping: inline `entities` tables, or a `mapping` file beside the config."""
    options = source.options
    if "entities" in options:
        raw: Mapping[str, Any] = {"entities": options["entities"]}
        where = source.where
    else:
        mapping = options.get("mapping")
        if not isinstance(mapping, str):
            raise ConfigError(f"{source.where}.mapping: expected the path of a mapping file")
        path = source.resolve_path(mapping)
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ConfigError(f"{source.where}.mapping: file {path} not found") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{source.where}.mapping: {path} is not valid TOML ({exc})") from exc
        where = str(path)
    try:
        return parse_mapping(raw, where, container_keys)
    except MappingError as exc:
        raise ConfigError(str(exc)) from exc


def _timeout(source: SourceSettings) -> float:
    value = source.options.get("timeout_seconds", 10)
    if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
        raise ConfigError(f"{source.where}.timeout_seconds: expected a positive number")
    return float(value)


def build_sql(source: SourceSettings) -> Connector:
    url = source.options.get("url")
    if not isinstance(url, str) or "://" not in url:
        raise ConfigError(f"{source.where}.url: expected an SQLAlchemy async URL (or url_env)")
    return SqlConnector(source.name, url, load_mapping(source, ("table", "schema")),
                        timeout=_timeout(source))


FACTORIES: dict[str, ConnectorFactory] = {
    "sql": build_sql,
    "rest": lambda s: rest_kind.build_rest_connector(s, load_mapping(s, rest_kind.MAPPING_KEYS)),
    "file": lambda s: file_kind.build_file_connector(s, load_mapping(s, file_kind.MAPPING_KEYS)),
}


def build_connectors(sources: Mapping[str, SourceSettings]) -> dict[str, Connector]:
    """One connector per source; each entity must be served by exactly one source."""
    connectors: dict[str, Connector] = {}
    served_by: dict[str, str] = {}
    for name, source in sources.items():
        factory = FACTORIES.get(source.kind)
        if factory is None:
            raise ConfigError(
                f"{source.where}.kind: unknown kind {source.kind!r}; expected one of "
                + ", ".join(sorted(FACTORIES))
            )
        connector = factory(source)
        for entity in connector.entities:
            if entity in served_by:
                raise ConfigError(
                    f"{source.where}: entity {entity} is already served by source "
                    f"{served_by[entity]!r}"
                )
            served_by[entity] = name
        connectors[name] = connector
    return connectors
