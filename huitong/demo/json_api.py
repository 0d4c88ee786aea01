"""A tiny page-style JSON API over rows held in memory, served on a loopback port.

It stands in for a department system's HTTP interface: the demo's civil-affairs disclosure
service is one (`disclosure_api`), and tests build others the same way. A `Resource` is
derived from the same `rest` mapping the hub is configured with — the API's own field names
and codes (`fields`), the filters it applies itself (`pushdown`) and the sort it knows
(`sort`) — so the service does exactly what the hub's configuration says it does:

    GET /api/v1/gkxx?pageNo=1&pageSize=100&xzqh=330108&zt=30&sort=-gkqj,gkbh
    → {"code": 0, "msg": "成功", "data": {"total": 612, "rows": [{"gkbh": 7, …}, …]}}

`ApiThread` runs such an app under uvicorn in a background thread, so it can be stopped and
started again on the same port (tests of a source going down use that).
"""

from __future__ import annotations

import datetime as dt
import socket
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from auth.model.catalog import Kind
from connectors.in_memory import sort_key
from connectors.mapping import EntityMapping, FieldMapping, parse_mapping

Row = dict[str, Any]
Filter = Callable[[Row, str], bool]


def entity_mapping(entity: str, spec: Mapping[str, Any]) -> EntityMapping:
    """The `rest` mapping of one entity, checked as the hub checks it."""
    return parse_mapping({"entities": {entity: spec}}, f"API {entity}", ("path",))[entity]


def encoder(mapping: EntityMapping, when: Callable[[dt.datetime], str]
            ) -> Callable[[Row], dict[str, Any]]:
    """Canonical row → the API's JSON item (its names, dotted names nested, its codes)."""

    def encode(row: Row) -> dict[str, Any]:
        item: dict[str, Any] = {}
        for name, fm in mapping.fields.items():
            value = _json(fm.to_source(row.get(name)), when)
            if fm.kind is Kind.ID and isinstance(value, str) and value.isdigit() \
                    and str(int(value)) == value:
                value = int(value)  # numbered records, as such APIs send them
            *parents, leaf = fm.source.split(".")
            target = item
            for part in parents:
                target = target.setdefault(part, {})
            target[leaf] = value
        return item

    return encode


def _json(value: Any, when: Callable[[dt.datetime], str]) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dt.datetime):
        return when(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


@dataclass(frozen=True)
class Resource:
    """One endpoint: canonical rows, how they look on the wire, what the API filters on."""

    path: str
    rows: list[Row]
    encode: Callable[[Row], dict[str, Any]]
    filters: Mapping[str, Filter]
    sorts: Mapping[str, str]  # API sort name → canonical field

    @classmethod
    def from_mapping(cls, entity: str, spec: Mapping[str, Any], rows: Iterable[Row],
                     when: Callable[[dt.datetime], str]) -> Resource:
        mapping = entity_mapping(entity, spec)
        filters: dict[str, Filter] = {}
        for key, target in spec.get("pushdown", {}).items():
            field_name, _, op = key.partition("_")
            param = target if isinstance(target, str) else target["param"]
            fmt = None if isinstance(target, str) else target.get("format")
            # One parameter may serve both `eq` and `in`: the list form reads both.
            if param not in filters or op == "in":
                filters[param] = _filter(mapping.fields[field_name], op, fmt)
        sort = spec.get("sort", {})
        return cls(spec["path"], list(rows), encoder(mapping, when), filters,
                   {api: field for field, api in sort.get("fields", {}).items()})

    def select(self, params: Mapping[str, str]) -> list[Row]:
        rows = [r for r in self.rows
                if all(test(r, params[p]) for p, test in self.filters.items() if p in params)]
        for key in reversed([k for k in params.get("sort", "").split(",") if k]):
            name = self.sorts.get(key.lstrip("-"))
            if name is not None:
                rows.sort(key=_sorting(name), reverse=key.startswith("-"))
        return rows


def _sorting(name: str) -> Callable[[Row], Any]:
    key = sort_key(Kind.ID) if name == "id" else (lambda v: v)
    return lambda row: (row[name] is None, key(row[name]) if row[name] is not None else 0)


def _filter(fm: FieldMapping, op: str, fmt: str | None) -> Filter:
    name = fm.name

    def value(text: str) -> Any:
        if fm.kind is Kind.DATETIME and fmt:
            return dt.datetime.strptime(text, fmt)
        return fm.to_canonical(text)

    if op == "within":
        return lambda row, text: str(row[name] or "").startswith(text)
    if op == "in":
        return lambda row, text: row[name] in {value(t) for t in text.split(",")}
    if op == "eq":
        return lambda row, text: row[name] == value(text)
    if op in ("gte", "lte"):
        def ranged(row: Row, text: str) -> bool:
            current, bound = row[name], value(text)
            return current is not None and (current >= bound if op == "gte" else current <= bound)

        return ranged
    raise ValueError(f"the demo API cannot filter with {op!r}")


def build_app(resources: Iterable[Resource], prefix: str = "/api/v1", *,
              page_param: str = "pageNo", size_param: str = "pageSize",
              max_size: int = 500) -> Starlette:
    """Every resource at `prefix + path`, pages numbered from 1; `/health` says it is up."""

    def endpoint(resource: Resource) -> Callable[[Request], Any]:
        async def page(request: Request) -> Response:
            params = request.query_params
            try:
                number = int(params.get(page_param, "1"))
                size = min(int(params.get(size_param, "20")), max_size)
                rows = resource.select(params)
            except ValueError:
                return JSONResponse({"code": 400, "msg": "参数错误"}, status_code=400)
            chunk = rows[(number - 1) * size: number * size] if number > 0 and size > 0 else []
            return JSONResponse({"code": 0, "msg": "成功", "data": {
                "total": len(rows), "rows": [resource.encode(r) for r in chunk]}})

        return page

    async def health(request: Request) -> Response:
        return JSONResponse({"code": 0, "msg": "成功"})

    routes = [Route(prefix + r.path, endpoint(r)) for r in resources]
    return Starlette(routes=[*routes, Route(prefix + "/health", health)])


class ApiThread:
    """An ASGI app under uvicorn in a daemon thread; `stop()` then `start()` keeps the port."""

    def __init__(self, app: Starlette, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = app
        self.host = host
        self.port = port
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 10.0) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        # Restarting on the port just released must not wait out TIME_WAIT.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(self.app, log_level="warning", access_log=False,
                                lifespan="off", timeout_graceful_shutdown=1)
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]},
                                  name=f"json-api-{self.port}", daemon=True)
        thread.start()
        deadline = time.monotonic() + timeout
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                server.should_exit = True
                sock.close()
                raise RuntimeError(f"the JSON API on {self.url} did not start")
            time.sleep(0.01)
        self._server, self._thread = server, thread

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)
        self._server = self._thread = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()
