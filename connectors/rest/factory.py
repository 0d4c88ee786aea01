"""The `rest` kind's factory: the API's options (`connectors.rest.config`) and its endpoints."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from connectors.base import MappingError, SourceLike
from connectors.mapping import EntityMapping

from .config import parse_options
from .connector import RestConnector

# Per entity: its endpoint, where the rows and the count are in the answer, what it filters
# and sorts on itself, fixed parameters and its own pagination.
MAPPING_KEYS: Final = ("path", "items", "total", "pushdown", "sort", "params", "pagination",
                        "watermark")


def build_rest_connector(source: SourceLike, mappings: Mapping[str, EntityMapping]
                         ) -> RestConnector:
    options = parse_options(source.options, source.where)
    if not mappings:
        raise MappingError(f"{source.where}: expected at least one mapped entity")
    return RestConnector(source.name, mappings, options, where=source.where)
