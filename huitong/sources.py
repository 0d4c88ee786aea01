"""The configured sources as connectors, one per source (`connectors.registry` builds them);
a source whose settings or mapping do not fit stops start-up with a `ConfigError`."""

from __future__ import annotations

from collections.abc import Mapping

from connectors import registry
from connectors.base import Connector, MappingError

from .settings import ConfigError, SourceSettings


def build_connectors(sources: Mapping[str, SourceSettings]) -> dict[str, Connector]:
    try:
        return registry.build_connectors(sources.values())
    except MappingError as exc:
        raise ConfigError(str(exc)) from exc
