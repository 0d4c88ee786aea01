"""The `sql` connector: any SQLAlchemy async URL, mapped onto the canonical entities.

Tables are reflected on first use (so a source that is down at start-up does not stop the
hub) and every query is pushed down whole: scope, filters, order, keyset page, per-parent
windows, counts and GROUP BY aggregates.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from auth.model.catalog import Kind
from auth.model.query import ScopedAggregate, ScopedQuery
from connectors.base import (
    Connector,
    Health,
    SourceError,
    SourceMisconfigured,
    SourceTimeout,
    SourceUnavailable,
)
from connectors.mapping import EntityMapping, FieldMapping, to_canonical
from connectors.rows import Row

from .compile import BoundTable

T = TypeVar("T")


class SqlConnector(Connector):
    kind = "sql"

    def __init__(
        self,
        name: str,
        url: str,
        mappings: Mapping[str, EntityMapping],
        *,
        timeout: float = 10.0,
        pool_size: int = 5,
    ) -> None:
        super().__init__(name, frozenset(mappings))
        self.url = url
        self.mappings = dict(mappings)
        self.timeout = timeout
        self.pool_size = pool_size
        self._engine: AsyncEngine | None = None
        self._tables: dict[str, BoundTable] = {}
        self._reflect_lock = asyncio.Lock()

    @property
    def engine(self) -> AsyncEngine:
        if self._engine is None:
            raise SourceUnavailable(self.name, "connector is not open")
        return self._engine

    async def open(self) -> None:
        if self._engine is not None:
            return
        kwargs: dict[str, Any] = {"pool_pre_ping": True}
        if not self.url.startswith("sqlite"):
            kwargs.update(pool_size=self.pool_size, max_overflow=self.pool_size,
                          pool_timeout=self.timeout)
        self._engine = create_async_engine(self.url, **kwargs)

    async def close(self) -> None:
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = None

    # -- reading -----------------------------------------------------------------------------
    async def fetch(self, query: ScopedQuery) -> list[Row]:
        table = await self._table(query.entity)
        stmt = table.select_rows(query.query, query.conditions)

        async def run(conn: AsyncConnection) -> tuple[list[str], Sequence[Any]]:
            result = await conn.execute(stmt)
            return list(result.keys()), result.all()

        names, raw = await self._run(run)
        fields = table.mapping.fields
        part = query.query.partition
        converters = [
            fields[k].converter if k in fields else
            _key_converter(table.field(part.field), part.prefix_length) if part else str
            for k in names
        ]
        return [{k: conv(v) for k, conv, v in zip(names, converters, r, strict=True)}
                for r in raw]

    async def count(self, query: ScopedQuery) -> int:
        table = await self._table(query.entity)
        stmt = table.select_count(query.conditions)

        async def run(conn: AsyncConnection) -> int:
            return int((await conn.execute(stmt)).scalar_one())

        return await self._run(run)

    async def count_partitioned(self, query: ScopedQuery) -> Mapping[Any, int]:
        table = await self._table(query.entity)
        part = query.query.partition
        if part is None:
            raise ValueError("count_partitioned needs a partition")
        stmt = table.select_partition_counts(query.query, query.conditions)
        keyconv = _key_converter(table.field(part.field), part.prefix_length)

        async def run(conn: AsyncConnection) -> dict[Any, int]:
            return {keyconv(k): int(n) for k, n in (await conn.execute(stmt)).all()}

        return await self._run(run)

    async def aggregate(self, query: ScopedAggregate) -> list[Row]:
        table = await self._table(query.entity)
        agg = query.query
        stmt = table.select_aggregate(
            agg.group_by, agg.sum_field, query.conditions, query.min_group_size, agg.limit
        )
        sum_field = table.field(agg.sum_field)

        async def run(conn: AsyncConnection) -> list[Row]:
            return [dict(m) for m in (await conn.execute(stmt)).mappings()]

        groups = []
        for raw in await self._run(run):
            group: Row = {"count": int(raw["count"]),
                          "total": to_canonical(Kind.MONEY, raw["total"] or 0, sum_field.unit)}
            for dim in agg.group_by:
                value = raw[dim.key]
                fm = table.field(dim.field)
                group[dim.key] = fm.to_canonical(value) if dim.transform == "value" else value
            groups.append(group)
        return groups

    async def health(self) -> Health:
        """Answers, and its tables fit the mapping (checked once, when first reachable)."""
        started = time.perf_counter()
        try:
            await self._run(lambda conn: conn.execute(sa.text("SELECT 1")))
            if not self._tables:
                async with self._reflect_lock:
                    if not self._tables:
                        await self._reflect()
        except SourceError as exc:
            return Health(self.name, self.kind, False, _ms(started), exc.code)
        return Health(self.name, self.kind, True, _ms(started))

    # -- plumbing ----------------------------------------------------------------------------
    async def _run(self, work: Callable[[AsyncConnection], Awaitable[T]]) -> T:
        """Run on a pooled connection, turning driver failures into stable source errors."""
        try:
            async with asyncio.timeout(self.timeout):
                conn = self.engine.connect()
                try:
                    await conn.start()
                except SQLAlchemyError as exc:
                    # Whatever stops a connection (refused, database gone or closed to
                    # connections, too many clients) means the source is unavailable.
                    raise SourceUnavailable(self.name, type(exc).__name__) from exc
                try:
                    return await work(conn)
                finally:
                    await conn.close()
        except TimeoutError as exc:
            raise SourceTimeout(self.name, f"no answer within {self.timeout}s") from exc
        except (OperationalError, InterfaceError, OSError, ConnectionError) as exc:
            raise SourceUnavailable(self.name, type(exc).__name__) from exc
        except DBAPIError as exc:
            if exc.connection_invalidated:
                raise SourceUnavailable(self.name, type(exc).__name__) from exc
            raise SourceError(self.name, type(exc).__name__) from exc
        except SQLAlchemyError as exc:
            raise SourceError(self.name, type(exc).__name__) from exc

    async def _table(self, entity: str) -> BoundTable:
        bound = self._tables.get(entity)
        if bound is not None:
            return bound
        async with self._reflect_lock:
            if entity not in self._tables:
                await self._reflect()
        return self._tables[entity]

    async def _reflect(self) -> None:
        """Read the source's column types once, and check the mapping against them."""
        specs = {e: (m.container.get("schema"), str(m.container["table"]))
                 for e, m in self.mappings.items()}

        def inspect(sync_conn: sa.Connection) -> dict[str, list[Any]]:
            inspector = sa.inspect(sync_conn)
            return {e: list(inspector.get_columns(t, schema=s)) for e, (s, t) in specs.items()}

        async def run(conn: AsyncConnection) -> dict[str, list[Any]]:
            return await conn.run_sync(inspect)

        try:
            reflected = await self._run(run)
        except SourceError as exc:
            if isinstance(exc.__cause__, sa.exc.NoSuchTableError):
                raise SourceMisconfigured(self.name, f"table {exc.__cause__} not found") \
                    from exc
            raise
        dialect = self.engine.dialect.name
        for entity, columns in reflected.items():
            mapping = self.mappings[entity]
            types = {c["name"]: c["type"] for c in columns}
            missing = [fm.source for fm in mapping.fields.values() if fm.source not in types]
            if missing:
                raise SourceMisconfigured(
                    self.name,
                    f"{entity} maps to columns missing from table "
                    f"{specs[entity][1]!r}: {', '.join(missing)}"
                )
            used = dict.fromkeys(fm.source for fm in mapping.fields.values())
            table = sa.table(specs[entity][1], *(sa.column(c, types[c]) for c in used),
                             schema=specs[entity][0])
            self._tables[entity] = BoundTable(mapping, table, dialect)


def _key_converter(fm: FieldMapping, prefix_length: int | None) -> Callable[[Any], Any]:
    if prefix_length:
        return str
    return fm.to_canonical


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)

