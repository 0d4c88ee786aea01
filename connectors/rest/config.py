"""The `rest` connector's configuration: source options and per-entity endpoints, checked.

A source names its API and how to talk to it; each mapped entity names its endpoint:

    [sources.finance_api]
    kind = "rest"
    base_url = "https://cw.example.gov.cn/api/v1"
    token_env = "FINANCE_API_TOKEN"       # sent as `Authorization: Bearer <token>`
    pagination = { style = "page", size = 200 }
    [sources.finance_api.entities.Payment]
    path = "/payments"                    # GET, relative to base_url
    items = "data.list"                   # where the rows are in the JSON body
    total = "data.total"                  # optional: the API's count of matching rows
    pushdown = { regionCode_within = "region_prefix", status_eq = "status",
                 paidAt_gte = { param = "paid_from", format = "%Y-%m-%d %H:%M:%S" } }
    sort = { param = "sort", fields = { paidAt = "paid_at", id = "id" }, desc_prefix = "-" }
    watermark = { field = "updated_at", param = "updated_since", format = "%Y-%m-%d %H:%M:%S" }
    [sources.finance_api.entities.Payment.fields]
    id = "zfmx_id" …

`watermark` lets the hub follow the entity's changes: `field` is the item's modification time
(dotted key; ISO 8601 or `format`), `param` the API's "modified at or after" parameter.

A pushdown key is `<canonical field>_<op>` (ops of `auth.query.Op`); only what is declared is
sent to the API, and the hub re-checks every condition on every row it receives anyway.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from auth.model.query import Op
from connectors.base import MappingError
from connectors.mapping import EntityMapping

STYLES = ("page", "offset", "cursor", "none")
_SOURCE_KEYS = {
    "kind", "mapping", "entities", "base_url", "token", "auth_header", "auth_scheme",
    "headers", "timeout_seconds", "deadline_seconds", "retries", "backoff_seconds",
    "breaker_failures", "breaker_cooldown_seconds", "max_scan_rows", "pool_size",
    "health_path", "timezone", "pagination",
}
_PAGINATION_KEYS = {"style", "size", "page_param", "size_param", "first_page", "offset_param",
                    "cursor_param", "next"}


@dataclass(frozen=True)
class Pagination:
    style: str = "page"
    size: int = 100
    page_param: str = "page"
    size_param: str = "page_size"
    first_page: int = 1
    offset_param: str = "offset"
    cursor_param: str = "cursor"
    next: str = "next"


@dataclass(frozen=True)
class Pushdown:
    """One API parameter that filters like a canonical condition."""

    field: str
    op: Op
    param: str
    format: str | None = None
    repeat: bool = False


@dataclass(frozen=True)
class Sort:
    param: str
    fields: Mapping[str, str]
    desc_prefix: str = "-"
    separator: str = ","


@dataclass(frozen=True)
class Watermark:
    """Where an item says when it last changed, and how to ask for items changed since."""

    field: str
    param: str
    format: str | None = None


@dataclass(frozen=True)
class Endpoint:
    entity: str
    path: str
    mapping: EntityMapping
    pagination: Pagination
    items: str | None = None
    total: str | None = None
    pushdown: tuple[Pushdown, ...] = ()
    sort: Sort | None = None
    params: Mapping[str, str] = field(default_factory=dict)
    watermark: Watermark | None = None


@dataclass(frozen=True)
class RestOptions:
    base_url: str
    headers: Mapping[str, str]
    pagination: Pagination
    timeout: float = 10.0
    deadline: float = 60.0
    retries: int = 2
    backoff: float = 0.2
    breaker_failures: int = 5
    breaker_cooldown: float = 30.0
    max_scan_rows: int = 20_000
    pool_size: int = 10
    health_path: str = ""
    timezone: str = "Asia/Shanghai"


def parse_options(options: Mapping[str, Any], where: str) -> RestOptions:
    for key in options:
        if key not in _SOURCE_KEYS and not key.endswith("_env"):
            raise MappingError(f"{where}.{key}: unknown key; expected one of "
                               + ", ".join(sorted(_SOURCE_KEYS)))
    base_url = options.get("base_url")
    if not isinstance(base_url, str) or not base_url.startswith(("http://", "https://")):
        raise MappingError(f"{where}.base_url: expected an http:// or https:// URL "
                           "(or base_url_env)")
    headers = dict(_table(options, "headers", where, str))
    token = options.get("token")
    if token is not None:
        if not isinstance(token, str) or not token:
            raise MappingError(f"{where}.token_env: expected a variable holding the API token")
        header = _text(options, "auth_header", where, "Authorization")
        scheme = options.get("auth_scheme", "Bearer")
        if not isinstance(scheme, str):
            raise MappingError(f"{where}.auth_scheme: expected a string such as \"Bearer\"")
        headers[header] = f"{scheme} {token}" if scheme else token
    timezone = _text(options, "timezone", where, "Asia/Shanghai")
    try:
        zoneinfo.ZoneInfo(timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise MappingError(f"{where}.timezone: expected an IANA zone such as Asia/Shanghai") \
            from exc
    return RestOptions(
        base_url=base_url.rstrip("/"),
        headers=headers,
        pagination=parse_pagination(options.get("pagination", {}), f"{where}.pagination"),
        timeout=_number(options, "timeout_seconds", where, 10.0),
        deadline=_number(options, "deadline_seconds", where, 60.0),
        retries=int(_number(options, "retries", where, 2, integer=True, minimum=0)),
        backoff=_number(options, "backoff_seconds", where, 0.2, minimum=0),
        breaker_failures=int(_number(options, "breaker_failures", where, 5, integer=True)),
        breaker_cooldown=_number(options, "breaker_cooldown_seconds", where, 30.0),
        max_scan_rows=int(_number(options, "max_scan_rows", where, 20_000, integer=True)),
        pool_size=int(_number(options, "pool_size", where, 10, integer=True)),
        health_path=_text(options, "health_path", where, ""),
        timezone=timezone,
    )


def parse_pagination(raw: Any, where: str, base: Pagination | None = None) -> Pagination:
    if not isinstance(raw, Mapping):
        raise MappingError(f"{where}: expected a table such as {{ style = \"page\", size = 100 }}")
    for key in raw:
        if key not in _PAGINATION_KEYS:
            raise MappingError(f"{where}.{key}: unknown key; expected one of "
                               + ", ".join(sorted(_PAGINATION_KEYS)))
    start = base or Pagination()
    style = raw.get("style", start.style)
    if style not in STYLES:
        raise MappingError(f"{where}.style: expected one of {', '.join(STYLES)}")
    size_default = start.size_param
    if base is None or base.style != style:
        size_default = "page_size" if style == "page" else "limit"
    return Pagination(
        style=style,
        size=int(_number(raw, "size", where, start.size, integer=True)),
        page_param=_text(raw, "page_param", where, start.page_param),
        size_param=_text(raw, "size_param", where, size_default),
        first_page=int(_number(raw, "first_page", where, start.first_page, integer=True,
                               minimum=0)),
        offset_param=_text(raw, "offset_param", where, start.offset_param),
        cursor_param=_text(raw, "cursor_param", where, start.cursor_param),
        next=_text(raw, "next", where, start.next),
    )


def parse_endpoint(mapping: EntityMapping, options: RestOptions, where: str) -> Endpoint:
    at = f"{where}: entities.{mapping.entity}"
    raw = mapping.container
    path = raw.get("path")
    if not isinstance(path, str) or not path.startswith("/"):
        raise MappingError(f"{at}.path: expected the endpoint's path, starting with /")
    items, total = raw.get("items"), raw.get("total")
    for key, value in (("items", items), ("total", total)):
        if value is not None and (not isinstance(value, str) or not value):
            raise MappingError(f"{at}.{key}: expected a dotted JSON key such as \"data.list\"")
    pagination = options.pagination
    if "pagination" in raw:
        pagination = parse_pagination(raw["pagination"], f"{at}.pagination", options.pagination)
    return Endpoint(
        entity=mapping.entity,
        path=path,
        mapping=mapping,
        pagination=pagination,
        items=items,
        total=total,
        pushdown=_pushdowns(raw.get("pushdown", {}), mapping, f"{at}.pushdown"),
        sort=_sort(raw["sort"], mapping, f"{at}.sort") if "sort" in raw else None,
        params=dict(_table(raw, "params", at, str)),
        watermark=_watermark(raw["watermark"], f"{at}.watermark") if "watermark" in raw
        else None,
    )


def _watermark(raw: Any, where: str) -> Watermark:
    if not isinstance(raw, Mapping) or not all(isinstance(raw.get(k), str) and raw[k]
                                               for k in ("field", "param")):
        raise MappingError(f"{where}: expected {{ field = \"<item's modification time>\", "
                           "param = \"<modified-since parameter>\", format = \"%Y-%m-%d "
                           "%H:%M:%S\" }")
    fmt = raw.get("format")
    if fmt is not None and not isinstance(fmt, str):
        raise MappingError(f"{where}.format: expected a strftime format")
    return Watermark(raw["field"], raw["param"], fmt)


def _pushdowns(raw: Any, mapping: EntityMapping, where: str) -> tuple[Pushdown, ...]:
    if not isinstance(raw, Mapping):
        raise MappingError(f"{where}: expected a table of <field>_<op> = \"param\"")
    result = []
    for key, spec in raw.items():
        name, _, op_name = str(key).partition("_")
        if name not in mapping.fields or op_name not in Op.__members__.values():
            raise MappingError(
                f"{where}.{key}: expected <mapped field>_<op> with op one of "
                + ", ".join(op.value for op in Op)
            )
        if isinstance(spec, str) and spec:
            result.append(Pushdown(name, Op(op_name), spec))
            continue
        if not isinstance(spec, Mapping) or not isinstance(spec.get("param"), str):
            raise MappingError(f"{where}.{key}: expected \"param\" or {{ param = \"…\", "
                               "format = \"%Y-%m-%d\", join = \",\" | \"repeat\" }")
        fmt, join = spec.get("format"), spec.get("join", ",")
        if fmt is not None and not isinstance(fmt, str):
            raise MappingError(f"{where}.{key}.format: expected a strftime format")
        if join not in (",", "repeat"):
            raise MappingError(f"{where}.{key}.join: expected \",\" or \"repeat\"")
        result.append(Pushdown(name, Op(op_name), spec["param"], fmt, join == "repeat"))
    return tuple(result)


def _sort(raw: Any, mapping: EntityMapping, where: str) -> Sort:
    if not isinstance(raw, Mapping) or not isinstance(raw.get("param"), str):
        raise MappingError(f"{where}: expected {{ param = \"sort\", fields = {{ … }} }}")
    fields = dict(_table(raw, "fields", where, str))
    unknown = [f for f in fields if f not in mapping.fields]
    if unknown or not fields:
        raise MappingError(f"{where}.fields: expected canonical field = API sort name; "
                           f"not mapped: {', '.join(unknown) or '(none given)'}")
    return Sort(raw["param"], fields, _text(raw, "desc_prefix", where, "-"),
                _text(raw, "separator", where, ","))


def _table(raw: Mapping[str, Any], key: str, where: str, kind: type) -> Mapping[str, Any]:
    value = raw.get(key, {})
    if not isinstance(value, Mapping) or not all(isinstance(v, kind) for v in value.values()):
        raise MappingError(f"{where}.{key}: expected a table of {kind.__name__} values")
    return value


def _text(raw: Mapping[str, Any], key: str, where: str, default: str) -> str:
    value = raw.get(key, default)
    if not isinstance(value, str):
        raise MappingError(f"{where}.{key}: expected a string")
    return value


def _number(raw: Mapping[str, Any], key: str, where: str, default: float, *,
            integer: bool = False, minimum: float | None = None) -> float:
    value = raw.get(key, default)
    bad = isinstance(value, bool) or not isinstance(value, int if integer else int | float)
    low = 0 if minimum is None else minimum
    if bad or value < low or (minimum is None and value == 0):
        what = "an integer" if integer else "a number"
        raise MappingError(f"{where}.{key}: expected {what} "
                           + ("> 0" if minimum is None else f"≥ {minimum}"))
    return float(value)
