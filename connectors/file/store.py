"""Where file drops live once loaded: tables in the hub store, read back by the SQL connector.

Each (source, entity) gets a table `file_<source>_<entity>` with one snake_case column per
canonical field (money as integer fen, `<field>_fen`, exact on every backend), plus the file
and line each row came from and its import run. `import_runs` records every import and
`import_rejects` every bad cell, with its file, line, column, reason and the raw row. Reads go
through `SqlConnector` over a generated mapping, so scope, keyset pages, partitions and
GROUP BY aggregates behave exactly as for any SQL source.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from auth.model.catalog import ENTITIES, Kind
from connectors.base import SourceUnavailable
from connectors.mapping import EntityMapping, FieldMapping
from connectors.sql.connector import SqlConnector

store_metadata = sa.MetaData()

import_runs = sa.Table(
    "import_runs", store_metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("source", sa.String(100), nullable=False),
    sa.Column("file_name", sa.String(255), nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("entities", sa.String(255), nullable=False),
    # active: its rows are live; superseded: replaced by a newer version of the file;
    # refused: the whole file could not be loaded (see message); nothing was changed.
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("finished_at", sa.DateTime(timezone=True)),
    sa.Column("rows_read", sa.Integer, nullable=False, default=0),
    sa.Column("rows_loaded", sa.Integer, nullable=False, default=0),
    sa.Column("rows_rejected", sa.Integer, nullable=False, default=0),
    sa.Column("rows_replaced", sa.Integer, nullable=False, default=0),
    sa.Column("message", sa.Text),
    sa.Index("ix_import_runs_source_file", "source", "file_name"),
    sa.Index("ix_import_runs_source_sha", "source", "sha256"),
    # One live load per content and source: a concurrent second import of the same file
    # (hub start-up and `huitong import` at once) fails instead of loading twice.
    sa.Index("ux_import_runs_active_sha", "source", "sha256", unique=True,
             sqlite_where=sa.text("status = 'active'"),
             postgresql_where=sa.text("status = 'active'")),
)

import_rejects = sa.Table(
    "import_rejects", store_metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.Integer, sa.ForeignKey("import_runs.id"), nullable=False),
    sa.Column("source", sa.String(100), nullable=False),
    sa.Column("entity", sa.String(64), nullable=False),
    sa.Column("file_name", sa.String(255), nullable=False),
    sa.Column("sheet", sa.String(255)),
    sa.Column("line", sa.Integer, nullable=False),
    sa.Column("column_name", sa.String(255)),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("raw_row", sa.Text, nullable=False),  # JSON: header → cell text
    sa.Index("ix_import_rejects_run", "run_id"),
)

SRC_FILE, SRC_LINE, RUN_ID = "src_file", "src_line", "run_id"


def snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def column_name(field: str, kind: Kind) -> str:
    return snake(field) + ("_fen" if kind is Kind.MONEY else "")


def table_name(source: str, entity: str) -> str:
    """`file_<source>_<entity>`, safe as an identifier everywhere (PostgreSQL: ≤ 63 bytes)."""
    clean = re.sub(r"[^a-z0-9_]", "_", source.lower())
    name = f"file_{clean}_{snake(entity)}"
    if clean != source or len(name) > 63:
        digest = hashlib.sha256(source.encode()).hexdigest()[:8]
        name = f"file_{clean[:30]}_{digest}_{snake(entity)}"[:63]
    return name


_TYPES: dict[Kind, Any] = {
    Kind.INT: sa.BigInteger, Kind.BOOL: sa.Boolean, Kind.MONEY: sa.BigInteger,
    Kind.DATE: sa.Date, Kind.DATETIME: sa.DateTime,
}


def entity_table(metadata: sa.MetaData, source: str, entity: str) -> sa.Table:
    spec = ENTITIES[entity]
    columns = [
        sa.Column(column_name(f.name, f.kind), _TYPES.get(f.kind, sa.String),
                  primary_key=f.name == "id", nullable=f.nullable and f.name != "id")
        for f in spec.fields.values()
    ]
    name = table_name(source, entity)
    extra: list[Any] = [
        sa.Column(SRC_FILE, sa.String(255), nullable=False),
        sa.Column(SRC_LINE, sa.Integer, nullable=False),
        sa.Column(RUN_ID, sa.Integer, nullable=False),
        sa.Index(f"ix_{name}_file"[:63], SRC_FILE),
    ]
    if "regionCode" in spec.fields:
        extra.append(sa.Index(f"ix_{name}_region"[:63], "region_code"))
    return sa.Table(name, metadata, *columns, *extra)


def stored_mapping(source: str, entity: str) -> EntityMapping:
    """The mapping the SQL connector reads the stored table with."""
    fields = {
        f.name: FieldMapping(f.name, column_name(f.name, f.kind), f.kind,
                             "fen" if f.kind is Kind.MONEY else "yuan")
        for f in ENTITIES[entity].fields.values()
    }
    # A row's watermark is its import run: a later import (a new drop, or a file replaced)
    # is a later change, so the hub follows file sources by their import sequence.
    return EntityMapping(entity, {"table": table_name(source, entity), "watermark": RUN_ID},
                         fields)


def stored_row(entity: str, values: dict[str, Any]) -> dict[str, Any]:
    """Canonical values as table columns (money in fen)."""
    row = {}
    for f in ENTITIES[entity].fields.values():
        value = values.get(f.name)
        if f.kind is Kind.MONEY and value is not None:
            value = int(value * 100)
        row[column_name(f.name, f.kind)] = value
    return row


class StoreReader(SqlConnector):
    """The SQL connector over the hub store's engine, which it borrows and never disposes."""

    kind = "file"

    def __init__(self, name: str, mappings: dict[str, EntityMapping]) -> None:
        super().__init__(name, "hub-store://", mappings)

    def use(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def open(self) -> None:
        if self._engine is None:
            raise SourceUnavailable(self.name, "the hub store is not attached")

    async def close(self) -> None:
        self._engine = None
        self._tables.clear()
