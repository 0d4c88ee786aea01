"""The audit tables in the hub store (SQLite or PostgreSQL).

- `hub_audit_records`: one row per operation: `seq` (gap-free, from 1), searchable copies of
  who/when/what (checked against the content by verify), `prev_hash`, `hash` and `content`
  (the exact hashed text).
- `hub_audit_head`: a single row (id 1) holding the last seq and hash. Appenders lock it, so it
  serialises writers across processes, and it lets verify notice records deleted from the end.
- `hub_audit_reads`: the read index for access history: per record one row per entity read
  (`row_id` NULL, `mode` = the entity's ids_mode) and one row per listed row id (`mode` "row").
  Reads kept as a digest are therefore found by entity only.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

HEAD_ID = 1

head_table = Table(
    "hub_audit_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", BigInteger, nullable=False),
    Column("hash", String(64), nullable=False),
)

records_table = Table(
    "hub_audit_records",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("at", DateTime(timezone=True), nullable=False),
    # No length limits: a long subject must never make the audit write (and so the request) fail.
    Column("subject", String, nullable=False),
    Column("role", String, nullable=False),
    Column("agency", String, nullable=True),
    Column("region_code", String, nullable=True),
    Column("client", String, nullable=False),
    Column("purpose", String, nullable=True),
    Column("operation", String, nullable=True),
    Column("outcome", String(16), nullable=False),
    Column("duration_ms", BigInteger, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    Column("content", Text, nullable=False),
    Index("ix_hub_audit_records_at", "at"),
    Index("ix_hub_audit_records_subject", "subject", "seq"),
    Index("ix_hub_audit_records_role", "role", "seq"),
)

reads_table = Table(
    "hub_audit_reads",
    metadata,
    Column("seq", BigInteger, nullable=False),
    Column("entity", String, nullable=False),
    Column("row_id", String, nullable=True),
    Column("mode", String(8), nullable=False),
    Index("ix_hub_audit_reads_entity_row", "entity", "row_id", "seq"),
    Index("ix_hub_audit_reads_seq", "seq"),
)
