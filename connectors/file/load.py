"""Importing a drop into the hub store: idempotent by content, replacing by file name.

- The same content (sha256) already loaded for the source: nothing changes, the report says
  "already_imported".
- A file name seen before with other content: its earlier rows are deleted and the new ones
  loaded in the same transaction (replace-by-file); other files of the source keep theirs,
  so monthly drops add up. An id may live in one file only: a row whose id another file
  already loaded is rejected, never overwritten.
- A file that cannot be read, lacks mapped columns, or has rows but none valid, is
  "refused": its run and rejects are recorded, the rows loaded before stay as they were.

Valid rows and rejects are written in one transaction, after parsing (in a worker thread),
so the store's write lock is held only for the writing.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from connectors.base import SourceError

from .config import FileSource
from .parse import Parsed, ParsedPart, Progress, Reject, parse_file
from .read import FileRefused
from .store import (
    RUN_ID,
    SRC_FILE,
    SRC_LINE,
    entity_table,
    import_rejects,
    import_runs,
    store_metadata,
    stored_row,
    table_name,
)

REPORTED_REJECTS = 1000
_BATCH = 1000
_ID_CHUNK = 500


@dataclass
class EntityLoad:
    entity: str
    table: str
    sheet: str | None = None
    rows_read: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    rows_replaced: int = 0
    blank_rows: int = 0


@dataclass
class ImportReport:
    source: str
    file_name: str
    sha256: str
    # imported | already_imported | refused
    status: str
    run_id: int | None = None
    parts: list[EntityLoad] = field(default_factory=list)
    # The first REPORTED_REJECTS problems; all of them are in the `import_rejects` table.
    rejects: list[Reject] = field(default_factory=list)
    rejects_total: int = 0
    encoding: str | None = None
    delimiter: str | None = None
    message: str = ""
    reject_table: str = "import_rejects"

    def _sum(self, name: str) -> int:
        return sum(getattr(p, name) for p in self.parts)

    @property
    def rows_read(self) -> int:
        return self._sum("rows_read")

    @property
    def rows_loaded(self) -> int:
        return self._sum("rows_loaded")

    @property
    def rows_rejected(self) -> int:
        return self._sum("rows_rejected")

    @property
    def rows_replaced(self) -> int:
        return self._sum("rows_replaced")


async def ensure_store(engine: AsyncEngine, source: FileSource) -> None:
    """Create the import tables and the source's entity tables if they do not exist."""
    metadata = source_metadata(source)
    async with engine.begin() as conn:
        await conn.run_sync(store_metadata.create_all)
        await conn.run_sync(metadata.create_all)


def source_metadata(source: FileSource) -> sa.MetaData:
    metadata = sa.MetaData()
    for entity in source.entities:
        entity_table(metadata, source.name, entity)
    return metadata


async def import_file(engine: AsyncEngine, source: FileSource, path: Path,
                      progress: Progress | None = None) -> ImportReport:
    """Load one CSV/XLSX drop of `source` into the hub store; see the module's rules."""
    data = await asyncio.to_thread(path.read_bytes)
    report = ImportReport(source.name, path.name, hashlib.sha256(data).hexdigest(), "imported")
    try:
        await ensure_store(engine, source)
        async with engine.connect() as conn:
            earlier = (await conn.execute(
                sa.select(import_runs).where(import_runs.c.source == source.name,
                                             import_runs.c.sha256 == report.sha256,
                                             import_runs.c.status == "active")
            )).mappings().first()
        if earlier is not None:
            report.status, report.run_id = "already_imported", earlier["id"]
            report.message = (f"already imported as {earlier['file_name']} (run {earlier['id']}, "
                              f"{earlier['rows_loaded']} rows); nothing changed")
            return report
        started = _now()
        try:
            parsed = await asyncio.to_thread(parse_file, source, path.name, data, progress)
        except FileRefused as exc:
            return await _refuse(engine, report, source, str(exc), started, [])
        report.encoding, report.delimiter = parsed.encoding, parsed.delimiter
        everything = [r for p in parsed.parts for r in p.rejects]
        if parsed.parts and not any(p.rows for p in parsed.parts) and everything:
            report.parts = [_load_of(source, p) for p in parsed.parts]
            return await _refuse(engine, report, source, "no valid row: every row was "
                                 "rejected; the rows loaded before stay", started, everything)
        async with engine.begin() as conn:
            await _write(conn, source, report, parsed, started, progress)
    except SQLAlchemyError as exc:
        raise SourceError(source.name, f"hub store: {type(exc).__name__}") from exc
    return report


async def _write(conn: AsyncConnection, source: FileSource, report: ImportReport,
                 parsed: Parsed, started: dt.datetime, progress: Progress | None) -> None:
    run_id = await _new_run(conn, report, source, started, "active")
    metadata = source_metadata(source)
    rejects: list[Reject] = []
    total = sum(len(p.rows) for p in parsed.parts)
    done = 0
    for part in parsed.parts:
        table = metadata.tables[table_name(source.name, part.target.entity)]
        load = _load_of(source, part)
        deleted = await conn.execute(sa.delete(table).where(table.c[SRC_FILE] == report.file_name))
        load.rows_replaced = max(deleted.rowcount or 0, 0)
        taken = await _ids_elsewhere(conn, table, [str(v["id"]) for _, v in part.rows])
        rows = []
        for line, values in part.rows:
            owner = taken.get(str(values["id"]))
            if owner is not None:
                fields = part.target.mapping.fields
                rejects.append(Reject(
                    part.target.entity, line, fields["id"].source,
                    f"id {values['id']!r} is already loaded from file {owner}", part.sheet,
                    {fields[k].source: "" if v is None else str(v) for k, v in values.items()}))
                load.rows_rejected += 1
                continue
            rows.append({**stored_row(part.target.entity, values), SRC_FILE: report.file_name,
                         SRC_LINE: line, RUN_ID: run_id})
        for start in range(0, len(rows), _BATCH):
            await conn.execute(table.insert(), rows[start:start + _BATCH])
            done += len(rows[start:start + _BATCH])
            if progress is not None:
                progress("load", done, total)
        load.rows_loaded = len(rows)
        rejects = part.rejects + rejects
        report.parts.append(load)
    await _store_rejects(conn, report, source, run_id, rejects)
    await conn.execute(
        sa.update(import_runs)
        .where(import_runs.c.source == source.name, import_runs.c.file_name == report.file_name,
               import_runs.c.status == "active", import_runs.c.id != run_id)
        .values(status="superseded"))
    await _finish_run(conn, report, run_id, "active")


async def _ids_elsewhere(conn: AsyncConnection, table: sa.Table, ids: list[str]
                         ) -> dict[str, str]:
    """Ids among `ids` that rows of other files already hold, with that file's name."""
    taken: dict[str, str] = {}
    for start in range(0, len(ids), _ID_CHUNK):
        chunk = ids[start:start + _ID_CHUNK]
        result = await conn.execute(
            sa.select(table.c.id, table.c[SRC_FILE]).where(table.c.id.in_(chunk)))
        taken.update({str(i): str(f) for i, f in result.all()})
    return taken


async def _refuse(engine: AsyncEngine, report: ImportReport, source: FileSource, message: str,
                  started: dt.datetime, rejects: list[Reject]) -> ImportReport:
    report.status, report.message = "refused", message
    async with engine.begin() as conn:
        run_id = await _new_run(conn, report, source, started, "refused")
        await _store_rejects(conn, report, source, run_id, rejects)
        await _finish_run(conn, report, run_id, "refused")
    return report


async def _new_run(conn: AsyncConnection, report: ImportReport, source: FileSource,
                   started: dt.datetime, status: str) -> int:
    result = await conn.execute(import_runs.insert().values(
        source=source.name, file_name=report.file_name, sha256=report.sha256,
        entities=",".join(source.entities)[:255], status=status, started_at=started))
    run_id = int(result.inserted_primary_key[0])  # type: ignore[index]
    report.run_id = run_id
    return run_id


async def _finish_run(conn: AsyncConnection, report: ImportReport, run_id: int,
                      status: str) -> None:
    await conn.execute(sa.update(import_runs).where(import_runs.c.id == run_id).values(
        status=status, finished_at=_now(), rows_read=report.rows_read,
        rows_loaded=report.rows_loaded, rows_rejected=report.rows_rejected,
        rows_replaced=report.rows_replaced, message=report.message or None))


async def _store_rejects(conn: AsyncConnection, report: ImportReport, source: FileSource,
                         run_id: int, rejects: list[Reject]) -> None:
    ordered = sorted(rejects, key=lambda r: (r.entity, r.sheet or "", r.line))
    report.rejects, report.rejects_total = ordered[:REPORTED_REJECTS], len(ordered)
    rows: list[dict[str, Any]] = [
        {"run_id": run_id, "source": source.name, "entity": r.entity,
         "file_name": report.file_name, "sheet": r.sheet, "line": r.line,
         "column_name": r.column, "reason": r.reason, "raw_row": r.raw_json()}
        for r in ordered
    ]
    for start in range(0, len(rows), _BATCH):
        await conn.execute(import_rejects.insert(), rows[start:start + _BATCH])


def _load_of(source: FileSource, part: ParsedPart) -> EntityLoad:
    return EntityLoad(part.target.entity, table_name(source.name, part.target.entity),
                      part.sheet, part.rows_read, 0, part.rows_rejected, 0, part.blank_rows)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
