"""Fill the three demo source databases: finance, civil affairs and inspection.

`generate` drops and re-creates the demo tables on any SQLAlchemy async URL and fills them
deterministically from `seed`. Rows are produced lazily by the stages and written in chunks
(executemany of plain dicts), so memory stays flat at any scale; indexes are built after the
load, which is much faster than maintaining them row by row. `scale=1` gives 2,500 payments;
payments grow linearly (scale 400 → 1,000,000).

    python -m huitong.demo DATA_DIR [--scale N] [--seed S]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from .civil import CivilAffairsStage
from .common import MAPPING_FILES, MAPPINGS_DIR, Context, Emitted, Row, mapping_raw
from .finance import PAYMENTS_PER_SCALE, FinanceStage
from .inspection import InspectionStage
from .residents import ResidentStage
from .tables import CIVIL_AFFAIRS, CW_ZFMX, FINANCE, INSPECTION, JW_WTXS, MZ_JMDJ

__all__ = ["MAPPINGS_DIR", "MAPPING_FILES", "DemoSummary", "DemoUrls", "generate",
           "sqlite_urls"]

CHUNK_SIZE = 5000


@dataclass(frozen=True)
class DemoUrls:
    finance: str
    civil_affairs: str
    inspection: str


@dataclass(frozen=True)
class DemoSummary:
    counts: Mapping[str, int]  # canonical entity → rows written
    seconds: float
    scale: int
    seed: int

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def __str__(self) -> str:
        parts = ", ".join(f"{entity} {n:,}" for entity, n in self.counts.items())
        return f"{self.total:,} rows in {self.seconds:.1f}s (scale {self.scale}): {parts}"


def sqlite_urls(data_dir: Path) -> DemoUrls:
    """aiosqlite URLs of `data_dir`/finance.db, civil_affairs.db and inspection.db."""
    base = Path(data_dir).resolve()
    return DemoUrls(*(f"sqlite+aiosqlite:///{base / f'{name}.db'}"
                      for name in ("finance", "civil_affairs", "inspection")))


class _Progress(Protocol):
    def advance(self, table: sa.Table, rows: int) -> None: ...
    def stage(self, label: str, table: sa.Table | None, total: int | None) -> None: ...


class _Quiet:
    def advance(self, table: sa.Table, rows: int) -> None:
        pass

    def stage(self, label: str, table: sa.Table | None, total: int | None) -> None:
        pass


class _RichProgress:
    """A rich progress bar per stage, advanced by the rows of the stage's main table."""

    def __init__(self, progress: Any) -> None:
        self.progress = progress
        self.tasks: dict[str, Any] = {}
        self.current: tuple[sa.Table | None, Any] | None = None

    def stage(self, label: str, table: sa.Table | None, total: int | None) -> None:
        self.close()
        self.current = (table, self.progress.add_task(label, total=total))

    def close(self) -> None:
        """Show the current stage as complete (its total may have been an estimate)."""
        if self.current is not None:
            task = self.current[1]
            done = self.progress.tasks[task].completed
            self.progress.update(task, total=done, completed=done)

    def advance(self, table: sa.Table, rows: int) -> None:
        if self.current is not None and (self.current[0] is None or self.current[0] is table):
            self.progress.advance(self.current[1], rows)


class _Writer:
    """Buffers rows per table and writes them in chunks on the table's own connection."""

    def __init__(self, conns: Mapping[sa.MetaData, AsyncConnection], chunk_size: int,
                 progress: _Progress) -> None:
        self.conns = conns
        self.chunk_size = chunk_size
        self.progress = progress
        self.buffers: dict[sa.Table, list[Row]] = {}
        self.counts: Counter[str] = Counter()

    async def drain(self, rows: Emitted) -> None:
        for table, row in rows:
            buffer = self.buffers.setdefault(table, [])
            buffer.append(row)
            if len(buffer) >= self.chunk_size:
                await self._flush(table)
        for table in list(self.buffers):
            await self._flush(table)

    async def _flush(self, table: sa.Table) -> None:
        rows = self.buffers.pop(table, [])
        if not rows:
            return
        conn = self.conns[table.metadata]
        await conn.execute(table.insert(), rows)
        await conn.commit()
        self.counts[table.name] += len(rows)
        self.progress.advance(table, len(rows))


async def generate(
    urls: DemoUrls, *, scale: int = 1, seed: int = 20241, progress: bool = False,
    chunk_size: int = CHUNK_SIZE,
) -> DemoSummary:
    """Drop, re-create and fill the demo tables of the three sources; return the row counts."""
    if scale < 1:
        raise ValueError("scale must be a positive integer")
    started = time.perf_counter()
    targets = {FINANCE: urls.finance, CIVIL_AFFAIRS: urls.civil_affairs,
               INSPECTION: urls.inspection}
    engines = {md: create_async_engine(_ensure_dir(url)) for md, url in targets.items()}
    try:
        async with contextlib.AsyncExitStack() as stack:
            conns = {md: await stack.enter_async_context(engine.connect())
                     for md, engine in engines.items()}
            for md, conn in conns.items():
                await _prepare(conn, md)
            with _progress_bar(progress) as bar:
                writer = _Writer(conns, chunk_size, bar)
                await _fill(Context(seed=seed, scale=scale), writer, bar)
                bar.stage("索引 indexes", None, sum(len(md.tables) for md in conns))
                for md, conn in conns.items():
                    await _finish(conn, md, bar)
    finally:
        for engine in engines.values():
            await engine.dispose()
    entity_of = {spec["table"]: entity for source in MAPPING_FILES
                 for entity, spec in mapping_raw(source)["entities"].items()}
    counts = {entity: writer.counts[table] for table, entity in entity_of.items()}
    return DemoSummary(MappingProxyType(counts), round(time.perf_counter() - started, 3),
                       scale, seed)


async def _fill(ctx: Context, writer: _Writer, bar: _Progress) -> None:
    residents = ResidentStage(ctx)
    finance = FinanceStage(ctx)
    civil = CivilAffairsStage(ctx, finance.facts, residents.facts)
    inspection = InspectionStage(ctx, finance.facts)
    bar.stage("区划 regions", None, len(ctx.tree))
    await writer.drain(civil.region_rows())
    bar.stage("居民与补贴 residents & subsidies", MZ_JMDJ, residents.count)
    await writer.drain(residents.rows())
    bar.stage("财务 payments & claims", CW_ZFMX, finance.count)
    await writer.drain(finance.rows())
    bar.stage("预算指标 budget indicators", None, len(finance.indicators))
    await writer.drain(finance.indicator_rows())
    bar.stage("三务公开 disclosures", None, None)
    await writer.drain(civil.rows())
    bar.stage("纪检 cases", JW_WTXS, inspection.count)
    await writer.drain(inspection.rows())


async def _prepare(conn: AsyncConnection, metadata: sa.MetaData) -> None:
    if conn.dialect.name == "sqlite":
        # Bulk-load settings: WAL stays (good for the hub's concurrent readers); not waiting
        # for fsync is fine for demo data that can be regenerated.
        for pragma in ("journal_mode=WAL", "synchronous=OFF", "temp_store=MEMORY",
                       "cache_size=-65536"):
            await conn.exec_driver_sql(f"PRAGMA {pragma}")
    await conn.run_sync(metadata.drop_all)
    await conn.run_sync(_create_tables, metadata)
    await conn.commit()


def _create_tables(sync_conn: sa.Connection, metadata: sa.MetaData) -> None:
    """CREATE TABLE without the indexes, which `_finish` builds after the load."""
    dialect = sync_conn.dialect
    for table in metadata.sorted_tables:
        sync_conn.execute(sa.schema.CreateTable(table))
        if dialect.supports_comments and not dialect.inline_comments:
            if table.comment:
                sync_conn.execute(sa.schema.SetTableComment(table))
            for column in table.columns:
                if column.comment:
                    sync_conn.execute(sa.schema.SetColumnComment(column))


async def _finish(conn: AsyncConnection, metadata: sa.MetaData, bar: _Progress) -> None:
    for table in metadata.sorted_tables:
        for index in sorted(table.indexes, key=lambda ix: str(ix.name)):
            await conn.run_sync(index.create)
        bar.advance(table, 1)
    await conn.exec_driver_sql("ANALYZE")
    await conn.commit()
    if conn.dialect.name == "sqlite":
        await conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")


def _ensure_dir(url: str) -> str:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(str(parsed.database)).parent.mkdir(parents=True, exist_ok=True)
    return url


@contextlib.contextmanager
def _progress_bar(enabled: bool) -> Iterator[_Progress]:
    if not enabled:
        yield _Quiet()
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), TimeRemainingColumn()) as progress:
        bar = _RichProgress(progress)
        yield bar
        bar.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m huitong.demo",
                                     description="Generate the three demo source databases.")
    parser.add_argument("data_dir", type=Path, help="directory for the SQLite files")
    parser.add_argument("--scale", type=int, default=1,
                        help=f"size factor: {PAYMENTS_PER_SCALE:,} payments per unit of scale")
    parser.add_argument("--seed", type=int, default=20241)
    args = parser.parse_args(argv)
    summary = asyncio.run(generate(sqlite_urls(args.data_dir), scale=args.scale,
                                   seed=args.seed, progress=True))
    for entity, n in summary.counts.items():
        print(f"{entity:16} {n:>12,}")
    print(f"{'total':16} {summary.total:>12,}  in {summary.seconds:.1f}s")
