"""The `file` connector: CSV/XLSX drops from legacy systems, checked and loaded into the hub store.

Drops are validated row by row and loaded into tables of the hub's own database (see
`connectors.file.load` for the rules: idempotent by sha256, replace-by-file, bad rows kept in
`import_rejects`); queries are then answered by the SQL connector over those tables, so
scope, filters, keyset pages, partitions and aggregates are pushed down as SQL.

The connector does not open the store itself: the hub lends it its store engine through
`attach(Services(store=…))` before `open()`. `open()` creates the tables and, unless
`import_on_open = false` (or the services say it is no start-up), loads the new or changed
files found at the source's `path`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from auth.model.query import Condition, ScopedAggregate, ScopedQuery
from auth.model.time import local_naive
from connectors.base import Connector, Health, Services, SourceError, SourceUnavailable
from connectors.rows import Row

from .config import FileSource
from .load import ImportReport, ensure_store, import_file
from .parse import Progress
from .store import StoreReader, import_runs, stored_mapping

log = logging.getLogger("huitong.connectors.file")


class FileConnector(Connector):
    kind = "file"

    def __init__(self, source: FileSource) -> None:
        super().__init__(source.name, frozenset(source.entities))
        self.source = source
        self.reader = StoreReader(
            source.name, {e: stored_mapping(source.name, e) for e in source.entities})
        self._store: AsyncEngine | None = None
        self._start_up = True
        self._ready = False
        self._lock = asyncio.Lock()
        self._importing = asyncio.Lock()

    async def attach(self, services: Services) -> None:
        """Use the hub store's engine (borrowed: `close()` never disposes it)."""
        self._start_up = services.start_up
        if services.store is None:
            return
        self._store = services.store
        self.reader.use(services.store)
        self._ready = False

    async def open(self) -> None:
        if self._store is None:
            log.warning("file source %r: no hub store attached; its entities are unavailable",
                        self.name)
            return
        await self._ensure()
        if not self.source.import_on_open or not self._start_up:
            return
        for path in self.source.files():
            try:
                report = await self.import_file(path)
            except (SourceError, OSError) as exc:
                log.error("file source %r: importing %s failed: %s", self.name, path.name, exc)
                continue
            log.info("file source %r: %s %s: %d loaded, %d rejected%s", self.name,
                     report.file_name, report.status, report.rows_loaded, report.rows_rejected,
                     f" ({report.message})" if report.message else "")

    async def close(self) -> None:
        await self.reader.close()
        self._ready = False

    # -- importing ---------------------------------------------------------------------------
    async def import_file(self, path: Path | str,
                          progress: Progress | None = None) -> ImportReport:
        """Load one drop (see `connectors.file.load` for what "load" means)."""
        store = self._require_store()
        await self._ensure()
        async with self._importing:
            return await import_file(store, self.source, Path(path), progress)

    async def import_pending(self, progress: Progress | None = None) -> list[ImportReport]:
        """Load every file at the source's `path`; unchanged ones report already_imported."""
        return [await self.import_file(p, progress) for p in self.source.files()]

    def follows(self, entity: str) -> bool:
        return self.reader.follows(entity)

    # -- reading -----------------------------------------------------------------------------
    async def fetch(self, query: ScopedQuery) -> list[Row]:
        await self._ensure()
        return await self.reader.fetch(_naive(query))

    async def count(self, query: ScopedQuery) -> int:
        await self._ensure()
        return await self.reader.count(_naive(query))

    async def count_partitioned(self, query: ScopedQuery) -> Mapping[Any, int]:
        await self._ensure()
        return await self.reader.count_partitioned(_naive(query))

    async def aggregate(self, query: ScopedAggregate) -> list[Row]:
        await self._ensure()
        local = dataclasses.replace(
            query, query=dataclasses.replace(query.query, where=_naive_all(query.query.where)),
            scope=_naive_all(query.scope))
        return await self.reader.aggregate(local)

    async def health(self) -> Health:
        started = time.perf_counter()
        try:
            await self._ensure()
            async with self._require_store().connect() as conn:
                files = (await conn.execute(
                    sa.select(sa.func.count()).select_from(import_runs)
                    .where(import_runs.c.source == self.name, import_runs.c.status == "active")
                )).scalar_one()
        except SourceError as exc:
            return Health(self.name, self.kind, False, _ms(started), f"{exc.code}: {exc.detail}",
                          exc.code)
        except SQLAlchemyError as exc:
            return Health(self.name, self.kind, False, _ms(started), type(exc).__name__,
                          "SOURCE_UNAVAILABLE")
        return Health(self.name, self.kind, True, _ms(started), f"{files} file(s) loaded")

    # -- plumbing ----------------------------------------------------------------------------
    def _require_store(self) -> AsyncEngine:
        if self._store is None:
            raise SourceUnavailable(self.name, "the hub store is not attached")
        return self._store

    async def _ensure(self) -> None:
        if self._ready:
            return
        store = self._require_store()
        async with self._lock:
            if self._ready:
                return
            try:
                await ensure_store(store, self.source)
            except (SQLAlchemyError, OSError) as exc:
                raise SourceUnavailable(self.name, f"hub store: {type(exc).__name__}") from exc
            self._ready = True


def _naive_all(conditions: tuple[Condition, ...]) -> tuple[Condition, ...]:
    """Stored times are local wall-clock times: compare aware bounds in that form."""
    return tuple(
        dataclasses.replace(c, value=local_naive(c.value))
        if isinstance(c.value, dt.datetime) and c.value.tzinfo is not None else c
        for c in conditions
    )


def _naive(query: ScopedQuery) -> ScopedQuery:
    inner = dataclasses.replace(query.query, where=_naive_all(query.query.where))
    return dataclasses.replace(query, query=inner, scope=_naive_all(query.scope))


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)
