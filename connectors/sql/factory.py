"""The `sql` kind's factory: a source's `url` and `timeout_seconds`, and its mapped tables."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from connectors.base import MappingError, SourceLike
from connectors.mapping import EntityMapping

from .connector import SqlConnector

# Where an entity's rows live in the source: `table`, and optionally its `schema`.
MAPPING_KEYS: Final = ("table", "schema")


def _timeout(source: SourceLike) -> float:
    value = source.options.get("timeout_seconds", 10)
    if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
        raise MappingError(f"{source.where}.timeout_seconds: expected a positive number")
    return float(value)


def build_sql_connector(source: SourceLike, mappings: Mapping[str, EntityMapping]
                        ) -> SqlConnector:
    url = source.options.get("url")
    if not isinstance(url, str) or "://" not in url:
        raise MappingError(f"{source.where}.url: expected an SQLAlchemy async URL (or url_env)")
    return SqlConnector(source.name, url, mappings, timeout=_timeout(source))
