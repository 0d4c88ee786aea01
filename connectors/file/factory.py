"""The `file` kind's factory: where the drops are (`connectors.file.config`) and what they feed."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from connectors.base import MappingError, SourceLike
from connectors.mapping import EntityMapping

from .config import parse_file_source
from .connector import FileConnector

# Per entity: which files feed it, the XLSX sheet and the header row.
MAPPING_KEYS: Final = ("file", "sheet", "header_row")


def build_file_connector(source: SourceLike, mappings: Mapping[str, EntityMapping]
                         ) -> FileConnector:
    for entity, mapping in mappings.items():
        if mapping.write is not None:
            # Drops are loaded from the legacy system's exports; nothing goes back to it.
            raise MappingError(f"{source.where}: entities.{entity}.write: file sources are "
                               "read-only (their drops are loaded, never written back); "
                               "remove the write table")
    return FileConnector(parse_file_source(source, mappings))
