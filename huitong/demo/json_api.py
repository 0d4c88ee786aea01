"""A tiny page-style JSON API over rows held in memory, served on a loopback port.

It stands in for a department system's HTTP interface: the demo's civil-affairs disclosure
service is one (`disclosure_api`), and tests build others the same way. A `Resource` is
derived from the same `rest` mapping the hub is configured with — the API's own field names
and codes (`fields`), the filters it applies itself (`pushdown`) and the sort it knows
(`sort`) — so the service does exactly what the hub's configuration says it does:

    GET /api/v1/gkxx?pageNo=1&pageSize=100&xzqh=330108&zt=30&sort=-gkqj,gkbh
    → {"code": 0, "msg": "成功", "data": {"total": 612, "rows": [{"gkbh": 7, …}, …]}}

A mapping that declares `write` endpoints (`connectors.rest.write`) makes the resource take
writes too: a create (`POST /api/v1/gkxx`) gets the next number as its id, an update
(`PUT /api/v1/gkxx/7`) changes the fields sent; both answer with the stored item, as the hub
expects, and refuse values the API has no code for with HTTP 422. A `Resource.saved` hook lets
the service keep what it is sent (the demo's disclosure service writes it back to the
civil-affairs database it was loaded from).

`ApiThread` runs such an app under uvicorn in a background thread, so it can be stopped and
started again on the same port (tests of a source going down use that).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from auth.model.catalog import Kind
from auth.model.time import local_naive, parse_local
from connectors.in_memory import sort_key
from connectors.mapping import EntityMapping, FieldMapping, parse_mapping
from connectors.rows import WATERMARK

Row = dict[str, Any]
Filter = Callable[[Row, str], bool]
# Keeps a row the API was sent: (the canonical row, True for a new one).
Saved = Callable[[Row, bool], Awaitable[None]]


def entity_mapping(entity: str, spec: Mapping[str, Any]) -> EntityMapping:
    """The `rest` mapping of one entity, checked as the hub checks it."""
    return parse_mapping({"entities": {entity: spec}}, f"API {entity}", ("path",))[entity]


class NoCode(ValueError):
    """A value sent in a write that the API has no code or form for."""


def decoder(mapping: EntityMapping, fields: Iterable[str]) -> Callable[[Mapping[str, Any]], Row]:
    """The API's JSON item (its names and codes) → the canonical values of `fields` it holds."""
    wanted = [mapping.fields[name] for name in fields]

    def decode(item: Mapping[str, Any]) -> Row:
        row: Row = {}
        for fm in wanted:
            found, value = _dig(item, fm.source)
            if not found:
                continue
            try:
                canonical = fm.to_canonical(value)
                if value is not None and canonical is None:
                    raise ValueError(value)
                if isinstance(canonical, dt.datetime):
                    canonical = parse_local(str(value))
            except (ValueError, TypeError, ArithmeticError) as exc:
                raise NoCode(f"{fm.source}: {value!r}") from exc
            row[fm.name] = canonical
        return row

    return decode


def _dig(item: Mapping[str, Any], dotted: str) -> tuple[bool, Any]:
    current: Any = item
    for part in dotted.split("."):
        if not isinstance(current, Mapping) or part not in current:
            return False, None
        current = current[part]
    return True, current


def encoder(mapping: EntityMapping, when: Callable[[dt.datetime], str],
            watermark: Mapping[str, str] | None = None) -> Callable[[Row], dict[str, Any]]:
    """Canonical row → the API's JSON item (its names, dotted names nested, its codes; the
    row's modification time under the watermark's `field`)."""

    def encode(row: Row) -> dict[str, Any]:
        item: dict[str, Any] = {}
        if watermark is not None and row.get(WATERMARK) is not None:
            item[watermark["field"]] = row[WATERMARK].strftime(watermark["format"])
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
class Writes:
    """What a resource takes writes of, and where."""

    create: str | None
    update: str | None
    decode: Callable[[Mapping[str, Any]], Row]
    fields: tuple[str, ...]


@dataclass(frozen=True)
class Resource:
    """One endpoint: canonical rows, how they look on the wire, what the API filters on."""

    path: str
    rows: list[Row]
    encode: Callable[[Row], dict[str, Any]]
    filters: Mapping[str, Filter]
    sorts: Mapping[str, str]  # API sort name → canonical field
    writes: Writes | None = None
    saved: Saved | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @classmethod
    def from_mapping(cls, entity: str, spec: Mapping[str, Any], rows: Iterable[Row],
                     when: Callable[[dt.datetime], str], saved: Saved | None = None
                     ) -> Resource:
        mapping = entity_mapping(entity, spec)
        filters: dict[str, Filter] = {}
        for key, target in spec.get("pushdown", {}).items():
            field_name, _, op = key.partition("_")
            param = target if isinstance(target, str) else target["param"]
            fmt = None if isinstance(target, str) else target.get("format")
            # One parameter may serve both `eq` and `in`: the list form reads both.
            if param not in filters or op == "in":
                filters[param] = _filter(mapping.fields[field_name], op, fmt)
        mark = spec.get("watermark")
        if mark is not None:
            filters[mark["param"]] = _changed_since(mark["format"])
        sort = spec.get("sort", {})
        writes = None
        if mapping.write is not None:
            options = mapping.write.options
            writes = Writes(options.get("create", {}).get("path"),
                            options.get("update", {}).get("path"),
                            decoder(mapping, mapping.write.fields),
                            tuple(sorted(mapping.write.fields)))
        # The given list itself: what the service is sent is kept in it.
        kept = rows if isinstance(rows, list) else list(rows)
        return cls(spec["path"], kept, encoder(mapping, when, mark), filters,
                   {api: name for name, api in sort.get("fields", {}).items()}, writes, saved)

    async def create(self, item: Mapping[str, Any]) -> Row:
        assert self.writes is not None
        values = self.writes.decode(item)
        async with self.lock:
            taken = [int(r["id"]) for r in self.rows if str(r["id"]).isdigit()]
            row: Row = {name: None for name in self.rows[0]} if self.rows else {}
            row.update(values, id=str(max(taken, default=0) + 1))
            row[WATERMARK] = _now()  # a write is a change: the hub's feed follows it
            if self.saved is not None:
                await self.saved(row, True)
            self.rows.append(row)
        return row

    async def update(self, row_id: str, item: Mapping[str, Any]) -> Row | None:
        assert self.writes is not None
        values = self.writes.decode(item)
        async with self.lock:
            found = next((r for r in self.rows if str(r["id"]) == row_id), None)
            if found is None:
                return None
            changed = {**found, **values, WATERMARK: _now()}
            if self.saved is not None:
                await self.saved(changed, False)
            found.update(changed)
        return found

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


def _now() -> dt.datetime:
    """The service's clock, as its modification times are kept (China wall-clock time)."""
    return local_naive(dt.datetime.now(dt.UTC))


def _changed_since(fmt: str) -> Filter:
    def changed(row: Row, text: str) -> bool:
        return row.get(WATERMARK) is not None and \
            row[WATERMARK] >= dt.datetime.strptime(text, fmt)

    return changed


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
    for resource in resources:
        if resource.writes is not None:
            routes += _write_routes(resource, prefix)
    return Starlette(routes=[*routes, Route(prefix + "/health", health)])


def _write_routes(resource: Resource, prefix: str) -> list[Route]:
    assert resource.writes is not None
    writes = resource.writes

    async def body(request: Request) -> Mapping[str, Any] | None:
        try:
            item = json.loads(await request.body(), parse_float=Decimal)
        except ValueError:
            return None
        return item if isinstance(item, Mapping) else None

    def answer(row: Row) -> Response:
        return JSONResponse({"code": 0, "msg": "成功", "data": resource.encode(row)})

    def refused(message: str) -> Response:
        return JSONResponse({"code": 422, "msg": message}, status_code=422)

    async def create(request: Request) -> Response:
        item = await body(request)
        if item is None:
            return refused("参数错误")
        try:
            return answer(await resource.create(item))
        except NoCode as exc:
            return refused(f"无法识别的值 {exc}")

    async def update(request: Request) -> Response:
        item = await body(request)
        if item is None:
            return refused("参数错误")
        try:
            row = await resource.update(request.path_params["id"], item)
        except NoCode as exc:
            return refused(f"无法识别的值 {exc}")
        if row is None:
            return JSONResponse({"code": 404, "msg": "记录不存在"}, status_code=404)
        return answer(row)

    routes = []
    if writes.create is not None:
        routes.append(Route(prefix + writes.create, create, methods=["POST"]))
    if writes.update is not None:
        path = prefix + writes.update.replace("{id}", "{id:str}")
        routes.append(Route(path, update, methods=["PUT", "PATCH"]))
    return routes


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
                                lifespan="off", timeout_graceful_shutdown=1,
                                server_header=False)
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
