"""Writes of the `rest` kind: the endpoints a mapping declares, and values as the API takes them.

An entity the API lets the hub write names its endpoints in the mapping's `write` table:

    [sources.civil_affairs_api.entities.Disclosure.write]
    fields = ["regionCode", "domain", "title", "period", "body", "status", "publishedAt"]
    create = { method = "POST", path = "/gkxx" }          # answers with the stored item
    update = { method = "PUT", path = "/gkxx/{id}" }      # PUT or PATCH; {id}: the row's id
    item = "data"                                         # where the item is in the answer

The body is one JSON object in the API's own names (dotted names nested, as reads take them
apart) and codes; money as exact decimal text (or integer fen where the mapping says fen),
times in the source's time zone with their offset. The API must answer a write with the item
as it stored it, so that the hub can check and digest it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

from connectors.base import MappingError
from connectors.mapping import EntityMapping

METHODS: Final = {"create": ("POST", "PUT"), "update": ("PUT", "PATCH")}
_KEYS: Final = {"create", "update", "item"}


class Unsendable(ValueError):
    """A value the API has no code for; the message is the hub's own reason."""


@dataclass(frozen=True)
class WriteEndpoint:
    method: str
    path: str


@dataclass(frozen=True)
class RestWrite:
    create: WriteEndpoint | None
    update: WriteEndpoint | None
    item: str | None


def parse_write(mapping: EntityMapping) -> RestWrite | None:
    write = mapping.write
    if write is None:
        return None
    for key in write.options:
        if key not in _KEYS:
            raise MappingError(f"{write.where}.{key}: unknown key; expected fields, "
                               + ", ".join(sorted(_KEYS)))
    endpoints = {k: _endpoint(write.options.get(k), k, f"{write.where}.{k}")
                 for k in ("create", "update")}
    if endpoints["create"] is None and endpoints["update"] is None:
        raise MappingError(f"{write.where}: expected a create or an update endpoint")
    update = endpoints["update"]
    if update is not None and "{id}" not in update.path:
        raise MappingError(f"{write.where}.update.path: expected {{id}} where the row's id goes")
    item = write.options.get("item")
    if item is not None and (not isinstance(item, str) or not item):
        raise MappingError(f"{write.where}.item: expected a dotted JSON key such as \"data\"")
    return RestWrite(endpoints["create"], update, item)


def _endpoint(raw: Any, kind: str, at: str) -> WriteEndpoint | None:
    if raw is None:
        return None
    allowed = METHODS[kind]
    if not isinstance(raw, Mapping) or not isinstance(raw.get("path"), str) \
            or not raw["path"].startswith("/"):
        raise MappingError(f"{at}: expected {{ method = \"{allowed[0]}\", path = \"/…\" }}")
    method = str(raw.get("method", allowed[0])).upper()
    if method not in allowed:
        raise MappingError(f"{at}.method: expected one of {', '.join(allowed)}")
    return WriteEndpoint(method, raw["path"])


def encode(mapping: EntityMapping, values: Mapping[str, Any], tz: dt.tzinfo) -> dict[str, Any]:
    """Canonical values as the API's JSON object (Unsendable: no code for a value)."""
    item: dict[str, Any] = {}
    for name, value in values.items():
        fm = mapping.source_of(name)
        converted = fm.to_source(value)
        if value is not None and converted is None:
            raise Unsendable(f"{mapping.entity}.{name}: the source has no code for {value!r}")
        *parents, leaf = fm.source.split(".")
        target = item
        for part in parents:
            target = target.setdefault(part, {})
        target[leaf] = _json(converted, tz)
    return item


def _json(value: Any, tz: dt.tzinfo) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dt.datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=tz)
        return aware.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return value
