"""What an export asks for: a list's root, its columns, filters and resume point, read from
plain text parameters and checked against the caller's grants.

`/export/payments.csv?fields=paymentNo,amount&paidFrom=2024-01-01&amountMin=100.00` and
`huitong export payments.csv --param paidFrom=2024-01-01` both become an `ExportRequest`
here. Columns are the entity's output fields the role sees (all of them by default, `id`
first); filters are the GraphQL filter inputs of the role (`auth.model.filters`). A field the
role may not see, as a column or a filter, is refused with exactly the words an absent one
gets: the caller cannot tell "hidden" from "no such thing".
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

from auth.access.policy import RolePolicy
from auth.model.catalog import ENTITIES, ENUMS, EntitySpec, Kind
from auth.model.filters import FilterField, filter_fields
from auth.model.ids import from_global_id
from auth.model.query import Condition
from auth.model.regions import is_region_code, jurisdiction_prefix
from auth.model.time import local_naive

FORMATS: Final = ("ndjson", "csv", "xlsx")
ENCODINGS: Final = {"utf-8": "utf-8-sig", "gb18030": "gb18030"}
RESERVED: Final = ("fields", "after", "encoding")
MAX_TEXT: Final = 200
_MONEY = re.compile(r"^-?(0|[1-9][0-9]{0,11})(\.[0-9]{1,2})?$")
_UNSAFE = re.compile(r"[\x00\ud800-\udfff]")


class ExportRefused(ValueError):
    """A request the export cannot serve as asked: a stable `code` and a message that names
    only what the caller sent (never whether a hidden thing exists)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class ExportRequest:
    root: str
    entity: str
    format: str
    fields: tuple[str, ...]
    where: tuple[Condition, ...]
    # The raw id of the last row already received: the export resumes after it.
    after: str | None = None
    # The CSV text encoding (Python codec name); UTF-8 with a BOM unless asked otherwise.
    encoding: str = "utf-8-sig"

    @property
    def filters(self) -> dict[str, Any]:
        return {c.field: c.value for c in self.where}


def exportable_entity(role: RolePolicy, root: str) -> EntitySpec | None:
    """The entity whose list root is `root`, if the role may read it (else None: the same
    answer as for a root that does not exist)."""
    for spec in ENTITIES.values():
        if spec.plural == root and spec.exposed and role.readable(spec.name):
            return spec
    return None


def columns_of(role: RolePolicy, entity: str) -> tuple[str, ...]:
    """Every output field of `entity` the role sees, `id` first, in catalog order."""
    grant = role.grant(entity)
    assert grant is not None
    return tuple(f.name for f in ENTITIES[entity].fields.values()
                 if f.output and f.name in grant.fields)


def parse_export(role: RolePolicy, root: str, fmt: str,
                 params: Sequence[tuple[str, str]]) -> ExportRequest:
    """An export of the list `root` as `fmt`, with `params` (name, value) as sent."""
    spec = exportable_entity(role, root)
    if spec is None or fmt not in FORMATS:
        raise ExportRefused("NOT_FOUND", f"There is no export {root}.{fmt}; exports are "
                            f"/export/<list>.<{'|'.join(FORMATS)}> of the lists you can read.")
    values = _single(params)
    grant = role.grant(spec.name)
    assert grant is not None
    visible = columns_of(role, spec.name)
    fields = _columns(values.pop("fields", None), visible, root)
    after = _after(values.pop("after", None), spec.name)
    encoding = _encoding(values.pop("encoding", None), fmt)
    inputs = {ff.input_name: ff for ff in filter_fields(spec.name, grant.filterable)}
    where = []
    for name, raw in values.items():
        ff = inputs.get(name)
        if ff is None:
            raise ExportRefused("UNKNOWN_PARAMETER", f"Unknown parameter {_shown(name)}: "
                                f"{root} exports take fields, after, encoding and the "
                                "filters of its list.")
        where.append(Condition(ff.field.name, ff.op, _value(ff, raw, spec.name)))
    return ExportRequest(root, spec.name, fmt, fields, tuple(where), after, encoding)


def _single(params: Sequence[tuple[str, str]]) -> dict[str, str]:
    values: dict[str, str] = {}
    for name, value in params:
        if name in values:
            raise ExportRefused("BAD_PARAMETER", f"The parameter {_shown(name)} is given "
                                "twice; give each parameter once.")
        values[name] = value
    return values


def _columns(raw: str | None, visible: tuple[str, ...], root: str) -> tuple[str, ...]:
    if raw is None or raw.strip() == "":
        return visible
    asked = [name.strip() for name in raw.split(",")]
    for name in asked:
        if name not in visible:
            raise ExportRefused("UNKNOWN_FIELD", f"{root} has no field {_shown(name)} to "
                                "export.")
    if len(set(asked)) != len(asked):
        raise ExportRefused("BAD_PARAMETER", "fields: name each field once.")
    # The id always leads: it is what a resumed export continues after.
    return ("id", *(name for name in asked if name != "id"))


def _after(raw: str | None, entity: str) -> str | None:
    if raw is None:
        return None
    decoded = from_global_id(raw)
    if decoded is None or decoded[0] != entity:
        raise ExportRefused("INVALID_CURSOR", "after: expected the id of the last row "
                            "received (the export's id column); start again without it.")
    return decoded[1]


def _encoding(raw: str | None, fmt: str) -> str:
    if raw is None:
        return ENCODINGS["utf-8"]
    key = raw.strip().lower().replace("_", "-")
    key = "utf-8" if key == "utf8" else key
    if fmt != "csv" or key not in ENCODINGS:
        raise ExportRefused("BAD_PARAMETER", "encoding: csv exports are utf-8 (with a BOM, "
                            "the default) or gb18030; other formats take no encoding.")
    return ENCODINGS[key]


def _value(ff: FilterField, raw: str, entity: str) -> Any:
    """A filter parameter's text as the canonical value (as GraphQL's scalars read it)."""
    what = ff.input_name
    kind = ff.field.kind
    text = _text(raw, what)
    try:
        if kind is Kind.MONEY:
            if not _MONEY.match(text):
                raise ValueError('a decimal amount such as "1234.50"')
            return Decimal(text)
        if kind is Kind.DATETIME:
            return local_naive(dt.datetime.fromisoformat(text))
        if kind is Kind.DATE:
            return dt.date.fromisoformat(text)
        if kind is Kind.REGION_CODE:
            if not is_region_code(text):
                raise ValueError("a 12-digit region code such as 330108001000")
            return jurisdiction_prefix(text)
        if kind is Kind.ENUM:
            allowed = ENUMS[ff.field.enum or ""]
            if text not in allowed:
                raise ValueError("one of " + ", ".join(allowed))
            return text
        if kind is Kind.BOOL:
            if text not in ("true", "false"):
                raise ValueError("true or false")
            return text == "true"
        if kind is Kind.INT:
            if not re.fullmatch(r"-?[0-9]{1,18}", text):
                raise ValueError("an integer")
            return int(text)
        if kind is Kind.ID:
            target = ff.field.references or entity
            decoded = from_global_id(text)
            if decoded is None or decoded[0] != target:
                raise ValueError(f"an id of a {target}")
            return decoded[1]
    except ValueError as exc:
        detail = str(exc) if kind not in (Kind.DATE, Kind.DATETIME) else \
            "an ISO date" + (" and time, e.g. 2024-01-31T00:00:00" if kind is Kind.DATETIME
                             else ", e.g. 2024-01-31")
        raise ExportRefused("BAD_USER_INPUT", f"{what}: expected {detail}.") from None
    return text


def _text(raw: str, what: str) -> str:
    if len(raw) > MAX_TEXT:
        raise ExportRefused("BAD_USER_INPUT", f"{what}: at most {MAX_TEXT} characters.")
    if _UNSAFE.search(raw):
        raise ExportRefused("BAD_USER_INPUT", f"{what}: contains a NUL or an unpaired "
                            "surrogate character.")
    return raw


def _shown(name: str) -> str:
    """A caller's parameter name, quoted safely (bounded, printable)."""
    clean = "".join(ch if ch.isprintable() else "?" for ch in name[:60])
    return repr(clean)


def request_parameters(request: ExportRequest) -> Mapping[str, Any]:
    """The request as the audit record keeps it (values redacted by the audit layer)."""
    return {"root": request.root, "format": request.format, "fields": list(request.fields),
            "filters": {k: str(v) for k, v in request.filters.items()},
            "after": request.after, "encoding": request.encoding}
