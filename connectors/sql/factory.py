"""The `sql` kind's factory: a source's `url` and `timeout_seconds`, and its mapped tables."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from connectors.base import MappingError, SourceLike
from connectors.mapping import EntityMapping

from .connector import SqlConnector

# Where an entity's rows live in the source: `table`, and optionally its `schema`; a
# `watermark` column (when the row last changed, NOT NULL, indexed with the id) lets the hub
# follow the entity's changes (`changes`).
MAPPING_KEYS: Final = ("table", "schema", "watermark")


def _timeout(source: SourceLike) -> float:
    value = source.options.get("timeout_seconds", 10)
    if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
        raise MappingError(f"{source.where}.timeout_seconds: expected a positive number")
    return float(value)


def _count(source: SourceLike, key: str, default: int, least: int) -> int:
    value = source.options.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or value < least:
        raise MappingError(f"{source.where}.{key}: expected a whole number ≥ {least}")
    return value


def build_sql_connector(source: SourceLike, mappings: Mapping[str, EntityMapping]
                        ) -> SqlConnector:
    """Keys: `url` (or `url_env`), `timeout_seconds` (10), `pool_size` (5 connections kept
    open), `max_overflow` (5 more under load), `pool_recycle_seconds` (1800: connections
    older than this are replaced before use)."""
    url = source.options.get("url")
    if not isinstance(url, str) or "://" not in url:
        raise MappingError(f"{source.where}.url: expected an SQLAlchemy async URL (or url_env)")
    for entity, mapping in mappings.items():
        at = f"{source.where}: entities.{entity}"
        if not isinstance(mapping.container.get("table"), str):
            raise MappingError(f"{at}.table: expected the name of the source's table")
        watermark = mapping.container.get("watermark")
        if watermark is not None and (not isinstance(watermark, str) or not watermark):
            raise MappingError(f"{at}.watermark: expected the column that says when a row "
                               "last changed (e.g. \"updated_at\")")
    recycle = source.options.get("pool_recycle_seconds", 1800)
    if not isinstance(recycle, int | float) or isinstance(recycle, bool) or recycle <= 0:
        raise MappingError(f"{source.where}.pool_recycle_seconds: expected a positive number")
    return SqlConnector(source.name, url, mappings, timeout=_timeout(source),
                        pool_size=_count(source, "pool_size", 5, 1),
                        max_overflow=_count(source, "max_overflow", 5, 0),
                        pool_recycle=float(recycle))
