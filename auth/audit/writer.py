"""Writing a group of entries as the next records of the chain.

`write_records` runs inside the caller's transaction (`engine.begin()`); everything from taking
the head's lock to the commit is kept to as few statements as the backend allows, because that
window is what serialises every writer of the store. On PostgreSQL that is two: the head update
(which takes the row lock and returns the previous seq and hash) and one statement inserting
the records and their read index and moving the head's hash. SQLite has no data-modifying CTEs,
so it runs the same steps as separate statements; they are in-process calls, not round trips.

`write_after` is PostgreSQL's fast path when the writer already knows the head (it wrote the
last records itself): one autocommit statement moves the head only if it is still that seq and
hash, and inserts the records only if it did. No BEGIN, no head read, no COMMIT round trip: the
statement is atomic on its own, and a head someone else moved makes it write nothing (None),
after which the caller takes the locking path.
"""

from __future__ import annotations

from typing import Any, Final

from sqlalchemy import text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from .chain import ChainHasher, record_content
from .records import AuditEntry, StoredRecord
from .tables import HEAD_ID, head_table, reads_table, records_table

_RECORD_COLUMNS: Final = (
    ("seq", "bigint"), ("at", "timestamptz"), ("subject", "text"), ("role", "text"),
    ("agency", "text"), ("region_code", "text"), ("client", "text"), ("purpose", "text"),
    ("operation", "text"), ("outcome", "text"), ("duration_ms", "bigint"),
    ("prev_hash", "text"), ("hash", "text"), ("content", "text"),
)
_READ_COLUMNS: Final = (("seq", "bigint"), ("entity", "text"), ("row_id", "text"),
                        ("mode", "text"))


def _unnest(table: str, columns: tuple[tuple[str, str], ...], prefix: str) -> str:
    names = ", ".join(name for name, _ in columns)
    arrays = ", ".join(f"CAST(:{prefix}{name} AS {kind}[])" for name, kind in columns)
    return f"INSERT INTO {table} ({names}) SELECT * FROM unnest({arrays})"


_PG_WRITE: Final = text(
    f"WITH records AS ({_unnest('hub_audit_records', _RECORD_COLUMNS, 'r_')}), "
    f"reads AS ({_unnest('hub_audit_reads', _READ_COLUMNS, 'i_')}) "
    f"UPDATE hub_audit_head SET hash = :head_hash WHERE id = {HEAD_ID}"
)


_PG_WRITE_AFTER: Final = text(
    f"WITH head AS (UPDATE hub_audit_head SET seq = :new_seq, hash = :head_hash "
    f"WHERE id = {HEAD_ID} AND seq = :old_seq AND hash = :old_hash RETURNING seq), "
    f"records AS ({_unnest('hub_audit_records', _RECORD_COLUMNS, 'r_')} "
    f"WHERE EXISTS (SELECT 1 FROM head)), "
    f"reads AS ({_unnest('hub_audit_reads', _READ_COLUMNS, 'i_')} "
    f"WHERE EXISTS (SELECT 1 FROM head)) "
    f"SELECT count(*) FROM head"
)


class HeadMissing(Exception):
    """The chain head row is gone: the schema was never created, or someone deleted it."""


Rows = list[dict[str, Any]]


def _chain(
    hasher: ChainHasher, entries: list[AuditEntry], bodies: list[str], seq: int, prev: str
) -> tuple[list[StoredRecord], Rows, Rows]:
    """The records after (seq, prev): as records, as table rows, and their read index rows."""
    records: list[StoredRecord] = []
    rows: list[dict[str, Any]] = []
    index: list[dict[str, Any]] = []
    for entry, body in zip(entries, bodies, strict=True):
        seq += 1
        content = record_content(body, seq, prev)
        digest = hasher(content)
        rows.append({**entry.columns(), "seq": seq, "prev_hash": prev, "hash": digest,
                     "content": content})
        index.extend({"seq": seq, "entity": entity, "row_id": row_id, "mode": mode}
                     for entity, row_id, mode in entry.index_rows())
        records.append(StoredRecord(seq, prev, digest, entry))
        prev = digest
    return records, rows, index


def _arrays(records: list[StoredRecord], rows: Rows, index: Rows) -> dict[str, Any]:
    """Parameters of the PostgreSQL statements: one array per column, and the new head hash."""
    params: dict[str, Any] = {"head_hash": records[-1].hash}
    for name, _ in _RECORD_COLUMNS:
        params[f"r_{name}"] = [row[name] for row in rows]
    for name, _ in _READ_COLUMNS:
        params[f"i_{name}"] = [row[name] for row in index]
    return params


async def write_records(
    conn: AsyncConnection, hasher: ChainHasher, entries: list[AuditEntry], bodies: list[str]
) -> list[StoredRecord]:
    head = (await conn.execute(
        update(head_table)
        .where(head_table.c.id == HEAD_ID)
        .values(seq=head_table.c.seq + len(entries))
        .returning(head_table.c.seq, head_table.c.hash)
    )).first()
    if head is None:
        raise HeadMissing()
    records, rows, index = _chain(hasher, entries, bodies, head.seq - len(entries), head.hash)
    if conn.dialect.name == "postgresql":
        await conn.execute(_PG_WRITE, _arrays(records, rows, index))
        return records
    await conn.execute(records_table.insert(), rows)
    if index:
        await conn.execute(reads_table.insert(), index)
    await conn.execute(update(head_table).where(head_table.c.id == HEAD_ID)
                       .values(hash=records[-1].hash))
    return records


async def write_after(
    conn: AsyncConnection, hasher: ChainHasher, entries: list[AuditEntry], bodies: list[str],
    head: tuple[int, str],
) -> list[StoredRecord] | None:
    """PostgreSQL, autocommit: the records after `head`, or None if the head has moved."""
    records, rows, index = _chain(hasher, entries, bodies, *head)
    params = _arrays(records, rows, index)
    params.update(old_seq=head[0], old_hash=head[1], new_seq=head[0] + len(entries))
    moved = await conn.scalar(_PG_WRITE_AFTER, params)
    return records if moved == 1 else None
