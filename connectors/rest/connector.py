"""The `rest` connector: canonical entities read from a JSON-over-HTTP API with httpx.

Per entity the mapping names an endpoint (`path`), where its rows are in the answer
(`items`, `total`), the filters the API applies itself (`pushdown`) and how it sorts (`sort`);
see `connectors.rest.config`. The connector sends what the API can do, pages through the
answer (page, offset or cursor style) and does the rest hub-side with `connectors.in_memory`:
every condition, scope included, is checked on every row received, then order, keyset page,
partitions, counts and aggregates. It scans at most `max_scan_rows` rows per call; a broader
query fails with `SourceQueryTooBroad` rather than pulling a whole API into memory.

Entities whose mapping declares `write` endpoints (`connectors.rest.write`) take inserts and
updates by id. The API knows nothing of the hub's scopes, so an update first reads the row
through the command's scope (a row outside it is missing and is not sent), and what the API
answers it stored must lie inside the scope too.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
import zoneinfo
from collections.abc import AsyncGenerator, Awaitable, Mapping
from contextlib import aclosing
from typing import Any, TypeVar
from urllib.parse import quote

import httpx

from auth.access.scope import target_of
from auth.model.query import (
    Condition,
    Op,
    ScopedAggregate,
    ScopedInsert,
    ScopedQuery,
    ScopedUpdate,
)
from auth.model.time import local_naive, parse_local
from connectors import in_memory
from connectors.base import (
    Connector,
    Health,
    SourceError,
    SourceMisconfigured,
    SourceQueryTooBroad,
    SourceReadOnly,
    SourceTimeout,
    WriteRejected,
)
from connectors.mapping import EntityMapping
from connectors.rows import WATERMARK, Row, id_sort_text

from .breaker import CircuitBreaker
from .config import Endpoint, RestOptions, parse_endpoint
from .http import HttpSource
from .plan import Params, Plan, dig, items_of, page_params, plan, sort_params, to_row
from .write import RestWrite, Unsendable, WriteEndpoint, encode, parse_write

T = TypeVar("T")

class RestConnector(Connector):
    kind = "rest"

    def __init__(self, name: str, mappings: Mapping[str, EntityMapping], options: RestOptions,
                 *, where: str = "") -> None:
        writes = {e: w for e, m in mappings.items() if (w := parse_write(m)) is not None}
        super().__init__(name, frozenset(mappings), frozenset(writes))
        self.options = options
        self.endpoints = {e: parse_endpoint(m, options, where or f"source {name!r}")
                          for e, m in mappings.items()}
        self.writes = writes
        self.breaker = CircuitBreaker(name, options.breaker_failures, options.breaker_cooldown)
        self.http = HttpSource(
            name, options.base_url, options.headers, timeout=options.timeout,
            retries=options.retries, backoff=options.backoff, breaker=self.breaker,
            pool_size=options.pool_size,
        )
        self.tz = zoneinfo.ZoneInfo(options.timezone)
        # Rows received in the last scan: what pushdown saved, for tests and diagnostics.
        self.last_scanned = 0

    def follows(self, entity: str) -> bool:
        endpoint = self.endpoints.get(entity)
        return endpoint is not None and endpoint.watermark is not None

    async def open(self) -> None:
        await self.http.open()

    async def close(self) -> None:
        await self.http.close()

    # -- reading -----------------------------------------------------------------------------
    async def fetch(self, query: ScopedQuery) -> list[Row]:
        return await self._deadline(self._fetch(query))

    async def count(self, query: ScopedQuery) -> int:
        return await self._deadline(self._count(query))

    async def count_partitioned(self, query: ScopedQuery) -> Mapping[Any, int]:
        part = query.query.partition
        if part is None:
            raise ValueError("count_partitioned needs a partition")
        endpoint, conditions = self._endpoint(query.entity), query.conditions
        wanted = self._plan(endpoint, (*conditions, *_partition_condition(query)))

        async def run() -> Mapping[Any, int]:
            if wanted.empty:
                return {}
            rows = [r async for r in self._rows(endpoint, wanted)]
            return in_memory.count_partitions(query.entity, rows, part, conditions)

        return await self._deadline(run())

    async def aggregate(self, query: ScopedAggregate) -> list[Row]:
        endpoint, agg = self._endpoint(query.entity), query.query
        wanted = self._plan(endpoint, query.conditions)

        async def run() -> list[Row]:
            if wanted.empty:
                return []
            rows = [r async for r in self._rows(endpoint, wanted)]
            return in_memory.aggregate(query.entity, rows, agg.group_by, agg.sum_field,
                                      query.conditions, query.min_group_size, agg.limit)

        return await self._deadline(run())

    async def health(self) -> Health:
        """GET `health_path` if configured, else one row of the first endpoint: that checks
        address, token, path and JSON shape at once. One attempt, no retries."""
        started = time.perf_counter()
        try:
            if self.options.health_path:
                await self._deadline(self.http.get(self.options.health_path, {}, retries=0))
            else:
                endpoint = next(iter(self.endpoints.values()))
                params = {**endpoint.params, **page_params(endpoint.pagination, 0, 0, None, 1)}
                response = await self._deadline(self.http.get(endpoint.path, params, retries=0))
                items_of(self.name, endpoint, self.http.decode(endpoint.path, response))
        except SourceError as exc:
            return Health(self.name, self.kind, False, _ms(started), f"{exc.code}: {exc.detail}",
                          exc.code)
        return Health(self.name, self.kind, True, _ms(started))

    # -- writing -----------------------------------------------------------------------------
    async def insert(self, command: ScopedInsert) -> Row:
        endpoint = self._endpoint(command.entity)
        values = command.command.values
        target, write = self._write_endpoint(endpoint, "create", values)
        response = await self._deadline(
            self.http.send(target.method, target.path, self._body(endpoint, values)))
        if response.status_code == 404:
            raise SourceMisconfigured(self.name, f"{target.method} {target.path}: HTTP 404 "
                                      "(check the create path)")
        row = self._stored(endpoint, write, target, response)
        if row is None:
            raise SourceMisconfigured(self.name, f"{target.method} {target.path}: the answer "
                                      "holds no stored item")
        self._check_scope(command.entity, row, command.scope)
        return row

    async def update(self, command: ScopedUpdate) -> tuple[Row, Row] | None:
        update = command.command
        endpoint = self._endpoint(command.entity)
        send, write = self._write_endpoint(endpoint, "update", update.values)
        # The values keep the row inside the scope, so the row reads back through it too.
        target = target_of(command, tuple(endpoint.mapping.fields))
        found = await self._deadline(self._fetch(target))
        if not found:
            return None
        before = found[0]
        raw_id = endpoint.mapping.source_of("id").to_source(update.id)
        path = send.path.replace("{id}", quote(str(raw_id), safe=""))
        response = await self._deadline(
            self.http.send(send.method, path, self._body(endpoint, update.values)))
        if response.status_code == 404:
            return None  # gone since it was read
        after = self._stored(endpoint, write, WriteEndpoint(send.method, path), response)
        if after is None:  # the API answered without the item: read it back
            again = await self._deadline(self._fetch(target))
            if not again:
                return None
            after = again[0]
        self._check_scope(command.entity, after, command.scope)
        return before, after

    def _write_endpoint(self, endpoint: Endpoint, kind: str, values: Mapping[str, Any]
                        ) -> tuple[WriteEndpoint, RestWrite]:
        write = self.writes.get(endpoint.entity)
        target = getattr(write, kind) if write is not None else None
        mapping = endpoint.mapping.write
        if write is None or target is None or mapping is None:
            raise SourceReadOnly(self.name, f"{endpoint.entity}: no {kind} endpoint")
        refused = [name for name in values if name not in mapping.fields]
        if refused:
            raise SourceReadOnly(self.name, f"{endpoint.entity}.{refused[0]} is read-only here")
        return target, write

    def _body(self, endpoint: Endpoint, values: Mapping[str, Any]) -> dict[str, Any]:
        try:
            return encode(endpoint.mapping, values, self.tz)
        except Unsendable as exc:
            raise WriteRejected(self.name, str(exc)) from None

    def _stored(self, endpoint: Endpoint, write: RestWrite, target: WriteEndpoint,
                response: httpx.Response) -> Row | None:
        """The item the API says it stored, as a canonical row (None: the answer has none)."""
        if not response.content:
            return None
        item = dig(self.http.decode(target.path, response), write.item)
        if item is None:
            return None
        return to_row(self.name, endpoint, item, self.tz)

    def _check_scope(self, entity: str, row: Row, scope: tuple[Condition, ...]) -> None:
        if not in_memory.compile_conditions(entity, scope)(row):
            # The hub checked the values; an API that stores something else is broken.
            raise SourceError(self.name, f"{entity} {row.get('id')!r}: the stored item is "
                              "outside the writer's scope")

    # -- the work ----------------------------------------------------------------------------
    async def _fetch(self, scoped: ScopedQuery) -> list[Row]:
        query, entity = scoped.query, scoped.entity
        endpoint, conditions = self._endpoint(entity), scoped.conditions
        wanted = self._plan(endpoint, (*conditions, *_partition_condition(scoped)))
        if wanted.empty or query.limit == 0:
            return []
        if query.since is not None:
            return await self._fetch_changed(endpoint, scoped, wanted)
        sort = sort_params(endpoint, query.order) if query.partition is None else None
        if sort is not None and query.limit is not None and wanted.split is None:
            rows = await self._fetch_sorted(endpoint, scoped, {**wanted.params, **sort})
            if rows is not None:
                return rows
        matches = in_memory.compile_conditions(entity, conditions)
        rows = [r async for r in self._rows(endpoint, wanted) if matches(r)]
        return in_memory.select(entity, rows, query, ())

    async def _fetch_sorted(self, endpoint: Endpoint, scoped: ScopedQuery,
                            params: Params) -> list[Row] | None:
        """Stop paging once the page is full, while the API keeps the hub's order; None if it
        does not (the caller then scans and sorts hub-side)."""
        query, entity = scoped.query, scoped.entity
        matches = in_memory.compile_conditions(entity, scoped.conditions)
        after = in_memory.after_keyset(entity, query.order, query.after) \
            if query.after is not None else None
        compare = in_memory.compare_rows(entity, query.order)
        rows: list[Row] = []
        previous: Row | None = None
        self.last_scanned = 0
        async with aclosing(self._scan(endpoint, params, _Budget())) as stream:
            async for row in stream:
                if previous is not None and compare(previous, row) > 0:
                    return None
                previous = row
                if matches(row) and (after is None or after(row)):
                    rows.append(in_memory.project(query, row))
                    if query.limit is not None and len(rows) >= query.limit:
                        break
        return rows

    async def _fetch_changed(self, endpoint: Endpoint, scoped: ScopedQuery,
                             wanted: Plan) -> list[Row]:
        """Rows changed at or after the position's time, as the API's modified-since
        parameter selects them; order, the exact position and the limit are applied here."""
        query, mark = scoped.query, endpoint.watermark
        if mark is None:
            raise SourceMisconfigured(self.name, f"{endpoint.entity} has no watermark")
        assert query.since is not None
        position = query.since.position
        params = dict(wanted.params)
        if position is not None:
            at = position[0]
            params[mark.param] = at.strftime(mark.format) if mark.format else at.isoformat()
        matches = in_memory.compile_conditions(scoped.entity, scoped.conditions)
        source = self._scan(endpoint, params, _Budget()) if wanted.split is None \
            else self._rows(endpoint, wanted)
        start = (position[0], id_sort_text(position[1])) if position is not None else None
        rows = [r async for r in source if matches(r) and r.get(WATERMARK) is not None]
        rows = [r for r in rows if start is None or (r[WATERMARK], id_sort_text(r["id"])) > start]
        rows.sort(key=lambda r: (r[WATERMARK], id_sort_text(r["id"])))
        if query.limit is not None:
            rows = rows[:query.limit]
        return [{**in_memory.project(query, r), WATERMARK: r[WATERMARK]} for r in rows]

    def _watermark_of(self, endpoint: Endpoint, item: Any) -> dt.datetime | None:
        """The item's modification time; None when it has none the hub can read (such an
        item is never followed, like a NULL watermark column; other reads are unaffected)."""
        mark = endpoint.watermark
        assert mark is not None
        raw = dig(item, mark.field) if isinstance(item, Mapping) else None
        if not isinstance(raw, str):
            return None
        try:
            when = dt.datetime.strptime(raw, mark.format) if mark.format \
                else parse_local(raw, self.tz)
        except ValueError:
            return None
        return local_naive(when, self.tz)

    async def _count(self, scoped: ScopedQuery) -> int:
        endpoint, conditions = self._endpoint(scoped.entity), scoped.conditions
        wanted = self._plan(endpoint, conditions)
        if wanted.empty:
            return 0
        if endpoint.total is not None and wanted.covers(conditions):
            # The API filters exactly what the hub would (declared pushdown), so its total
            # is the count; one row asked for, none scanned.
            body = await self.http.get_json(
                endpoint.path,
                {**endpoint.params, **wanted.params,
                 **page_params(endpoint.pagination, 0, 0, None, 1)},
            )
            total = dig(body, endpoint.total)
            if isinstance(total, int) and not isinstance(total, bool) and total >= 0:
                return total
            raise SourceMisconfigured(self.name,
                                      f"GET {endpoint.path}: no count at {endpoint.total}")
        matches = in_memory.compile_conditions(scoped.entity, conditions)
        return sum([1 async for r in self._rows(endpoint, wanted) if matches(r)])

    async def _rows(self, endpoint: Endpoint, wanted: Plan) -> AsyncGenerator[Row, None]:
        """Every row for a plan: one scan, or one per chunk of a long IN list."""
        budget = _Budget()
        self.last_scanned = 0
        if wanted.split is None:
            async for row in self._scan(endpoint, wanted.params, budget):
                yield row
            return
        param, chunks = wanted.split
        seen: set[Any] = set()
        for chunk in chunks:
            async for row in self._scan(endpoint, {**wanted.params, param: chunk}, budget):
                if row.get("id") not in seen:
                    seen.add(row.get("id"))
                    yield row

    async def _scan(self, endpoint: Endpoint, params: Params,
                    budget: _Budget) -> AsyncGenerator[Row, None]:
        """Every row the API returns for `params`, page after page, up to the scan cap."""
        pagination, size = endpoint.pagination, endpoint.pagination.size
        page = offset = 0
        cursor: str | None = None
        cursors: set[str] = set()
        while True:
            body = await self.http.get_json(
                endpoint.path,
                {**endpoint.params, **params,
                 **page_params(pagination, page, offset, cursor, size)},
            )
            items = items_of(self.name, endpoint, body)
            for item in items:
                budget.scanned += 1
                self.last_scanned = budget.scanned
                if budget.scanned > self.options.max_scan_rows:
                    raise self._too_broad(endpoint)
                row = to_row(self.name, endpoint, item, self.tz)
                if endpoint.watermark is not None:
                    row[WATERMARK] = self._watermark_of(endpoint, item)
                yield row
            if pagination.style == "none" or not items:
                return
            if pagination.style == "cursor":
                following = dig(body, pagination.next)
                if following is None or following == "":
                    return
                cursor = str(following)
                if cursor in cursors:
                    raise SourceError(self.name, f"GET {endpoint.path}: the cursor repeats")
                cursors.add(cursor)
                continue
            page, offset = page + 1, offset + len(items)
            total = dig(body, endpoint.total) if endpoint.total else None
            if isinstance(total, int) and not isinstance(total, bool):
                if offset >= total:
                    return
            elif len(items) < size:
                return

    # -- plumbing ----------------------------------------------------------------------------
    def _endpoint(self, entity: str) -> Endpoint:
        endpoint = self.endpoints.get(entity)
        if endpoint is None:
            raise SourceError(self.name, f"does not serve {entity}")
        return endpoint

    def _plan(self, endpoint: Endpoint, conditions: tuple[Condition, ...]) -> Plan:
        return plan(endpoint, conditions)

    def _too_broad(self, endpoint: Endpoint) -> SourceQueryTooBroad:
        usable = ", ".join(f"{p.field} {p.op.value}" for p in endpoint.pushdown) or "none"
        return SourceQueryTooBroad(
            self.name,
            f"{endpoint.entity}: more than {self.options.max_scan_rows} rows to scan hub-side; "
            f"narrow the query with filters the API applies ({usable})",
        )

    async def _deadline(self, work: Awaitable[T]) -> T:
        try:
            async with asyncio.timeout(self.options.deadline):
                return await work
        except TimeoutError as exc:
            raise SourceTimeout(self.name, f"no complete answer within "
                                f"{self.options.deadline}s") from exc


class _Budget:
    """Rows scanned so far by one connector call (across chunks), against the cap."""

    scanned = 0


def _partition_condition(scoped: ScopedQuery) -> tuple[Condition, ...]:
    """A partition's keys, as a condition the API may be able to filter on."""
    part = scoped.query.partition
    if part is None or part.prefix_length:
        return ()
    return (Condition(part.field, Op.IN, tuple(part.keys)),)


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)
