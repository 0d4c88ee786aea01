"""Declarative mappings from a source's own names and codes to the canonical entities.

A mapping says, per canonical entity, where its rows live in the source (`table`, an API
`path`, …) and, per canonical field, the source's name for it, optionally with a unit (money
kept in fen) or a code table (`values`: canonical value → source code). The same mapping form
serves every connector kind; each kind reads the container keys it needs. A source gives its
mapping inline (`entities` tables in huitong.toml) or as a `mapping` file beside the
configuration (`load_mapping`).

An entity the hub may write at this source says so in a `write` table: which canonical fields
the source takes (`fields`, never `id`), plus what its kind needs to write — for `sql`,
`insert_id` (how a new row gets its id: "database" when the column assigns it, "next" for
max + 1 in the same statement, "uuid" for a text column the hub fills); for `rest`, the
`create` and `update` endpoints and where the stored item is in the answer (see
`connectors.rest.config`). Values go through the same units and code tables as reads.

    [entities.Disclosure.write]
    fields = ["regionCode", "domain", "title", "period", "body", "status", "publishedAt"]
    insert_id = "next"

Without a `write` table the entity is read-only at that source; `file` sources are always.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from auth.model.catalog import ENTITIES, Kind

from .base import MappingError, SourceLike

_CENT = Decimal("0.01")


@dataclass(frozen=True)
class FieldMapping:
    name: str
    source: str
    kind: Kind
    unit: str = "yuan"
    values: Mapping[Any, Any] = field(default_factory=dict)

    def to_canonical(self, value: Any) -> Any:
        if value is None:
            return None
        if self.values:
            return self._reverse.get(value, self._reverse.get(str(value)))
        return to_canonical(self.kind, value, self.unit)

    def to_source(self, value: Any) -> Any:
        if value is None:
            return None
        if self.values:
            return self.values.get(value)
        if self.kind is Kind.MONEY and self.unit == "fen":
            return int((Decimal(value) * 100).to_integral_value())
        return value

    @property
    def converter(self) -> Callable[[Any], Any]:
        """`to_canonical` specialised for this field, for converting many rows fast."""
        cached = self.__dict__.get("_converter")
        if cached is None:
            cached = _fast_converter(self)
            object.__setattr__(self, "_converter", cached)
        return cached

    @property
    def _reverse(self) -> dict[Any, Any]:
        cached = self.__dict__.get("_rev")
        if cached is None:
            cached = {v: k for k, v in self.values.items()}
            object.__setattr__(self, "_rev", cached)
        return cached


@dataclass(frozen=True)
class WriteMapping:
    """What the source takes writes of: canonical `fields`, and its kind's own `options`."""

    fields: frozenset[str]
    options: Mapping[str, Any]
    where: str


@dataclass(frozen=True)
class EntityMapping:
    entity: str
    container: Mapping[str, Any]
    fields: Mapping[str, FieldMapping]
    write: WriteMapping | None = None

    def source_of(self, name: str) -> FieldMapping:
        return self.fields[name]


def _fast_converter(fm: FieldMapping) -> Callable[[Any], Any]:
    # Values a driver already hands over in the canonical type pass straight through;
    # everything else takes the general path.
    if fm.values:
        return fm.to_canonical
    native: type | tuple[type, ...] | None = {
        Kind.ID: str, Kind.STRING: str, Kind.REGION_CODE: str, Kind.INT: int,
        Kind.BOOL: bool, Kind.DATETIME: dt.datetime, Kind.ENUM: str,
    }.get(fm.kind)
    if native is not None:
        kind, unit = fm.kind, fm.unit

        def convert(value: Any) -> Any:
            if value is None or value.__class__ is native:
                return value
            return to_canonical(kind, value, unit)

        return convert
    if fm.kind is Kind.MONEY and fm.unit == "fen":
        def fen(value: Any) -> Any:
            if value is None:
                return None
            if value.__class__ is int:
                return Decimal(value).scaleb(-2)
            return to_canonical(Kind.MONEY, value, "fen")

        return fen
    return fm.to_canonical


def to_canonical(kind: Kind, value: Any, unit: str = "yuan") -> Any:
    """Coerce a source value to the canonical Python type of `kind`."""
    if value is None:
        return None
    if kind is Kind.ID:
        return str(value)
    if kind is Kind.MONEY:
        amount = Decimal(value) if not isinstance(value, float) else Decimal(repr(value))
        if unit == "fen":
            amount = amount / 100
        return amount.quantize(_CENT)
    if kind is Kind.DATETIME:
        return value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
    if kind is Kind.DATE:
        if isinstance(value, dt.datetime):
            return value.date()
        return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))
    if kind is Kind.BOOL:
        if isinstance(value, str):
            return value.strip().lower() in {"1", "true", "t", "y", "yes", "是"}
        return bool(value)
    if kind is Kind.INT:
        return int(value)
    return str(value)


def parse_money(text: str) -> Decimal:
    try:
        amount = Decimal(text)
    except InvalidOperation as exc:
        raise ValueError(f"{text!r} is not an amount") from exc
    if not amount.is_finite():
        raise ValueError(f"{text!r} is not an amount")
    return amount


def load_mapping(
    source: SourceLike, container_keys: tuple[str, ...]
) -> dict[str, EntityMapping]:
    """The source's mapping: inline `entities` tables, or a `mapping` file beside the config."""
    options = source.options
    if "entities" in options:
        raw: Mapping[str, Any] = {"entities": options["entities"]}
        where = source.where
    else:
        mapping = options.get("mapping")
        if not isinstance(mapping, str):
            raise MappingError(f"{source.where}.mapping: expected the path of a mapping file")
        path = source.resolve_path(mapping)
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise MappingError(f"{source.where}.mapping: file {path} not found") from exc
        except tomllib.TOMLDecodeError as exc:
            raise MappingError(f"{source.where}.mapping: {path} is not valid TOML ({exc})"
                               ) from exc
        where = str(path)
    return parse_mapping(raw, where, container_keys)


def parse_mapping(
    raw: Mapping[str, Any], where: str, container_keys: tuple[str, ...]
) -> dict[str, EntityMapping]:
    """Check a mapping against the catalog; `where` names the file/key for error messages."""
    entities = raw.get("entities")
    if not isinstance(entities, Mapping) or not entities:
        raise MappingError(f"{where}: expected an [entities.<Entity>] table per entity served")
    result: dict[str, EntityMapping] = {}
    for name, spec in entities.items():
        at = f"{where}: entities.{name}"
        if name not in ENTITIES:
            raise MappingError(f"{at}: unknown entity; expected one of {', '.join(ENTITIES)}")
        if not isinstance(spec, Mapping):
            raise MappingError(f"{at}: expected a table")
        container = {k: spec[k] for k in container_keys if k in spec}
        if not container:
            raise MappingError(f"{at}: expected a key {' or '.join(container_keys)}")
        raw_fields = spec.get("fields")
        if not isinstance(raw_fields, Mapping):
            raise MappingError(f"{at}.fields: expected a table of canonical field = source name")
        catalog_fields = ENTITIES[name].fields
        fields: dict[str, FieldMapping] = {}
        for fname, fspec in raw_fields.items():
            fat = f"{at}.fields.{fname}"
            if fname not in catalog_fields:
                raise MappingError(
                    f"{fat}: {name} has no field {fname!r}; expected one of "
                    + ", ".join(catalog_fields)
                )
            fields[fname] = _field_mapping(fname, fspec, catalog_fields[fname].kind, fat)
        missing = [f for f in catalog_fields if f not in fields]
        if missing:
            raise MappingError(f"{at}.fields: missing {', '.join(missing)}")
        write = _write_mapping(spec["write"], fields, f"{at}.write") if "write" in spec \
            else None
        result[name] = EntityMapping(name, container, fields, write)
    return result


def _write_mapping(raw: Any, fields: Mapping[str, FieldMapping], at: str) -> WriteMapping:
    if not isinstance(raw, Mapping):
        raise MappingError(f"{at}: expected a table with `fields` = [canonical field, …]")
    names = raw.get("fields")
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise MappingError(f"{at}.fields: expected a list of the canonical fields the source "
                           "takes writes of")
    allowed = [f for f in fields if f != "id"]
    for name in names:
        if name not in allowed:
            raise MappingError(f"{at}.fields: {name!r} cannot be written; expected mapped "
                               f"fields other than id ({', '.join(allowed)})")
    options = {k: v for k, v in raw.items() if k != "fields"}
    return WriteMapping(frozenset(names), options, at)


def _field_mapping(name: str, spec: Any, kind: Kind, at: str) -> FieldMapping:
    if isinstance(spec, str):
        return FieldMapping(name, spec, kind)
    if not isinstance(spec, Mapping) or not isinstance(spec.get("column"), str):
        raise MappingError(f"{at}: expected a source name or {{ column = \"…\", … }}")
    unit = spec.get("unit", "yuan")
    if unit not in ("yuan", "fen") or (unit == "fen" and kind is not Kind.MONEY):
        raise MappingError(f"{at}.unit: expected \"yuan\" or \"fen\" (money fields only)")
    values = spec.get("values", {})
    if not isinstance(values, Mapping):
        raise MappingError(f"{at}.values: expected a table of canonical value = source code")
    if kind is Kind.BOOL:
        values = {k.lower() == "true": v for k, v in values.items()}
    return FieldMapping(name, spec["column"], kind, unit, dict(values))
