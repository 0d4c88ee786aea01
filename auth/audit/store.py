"""The audit store: an append-only, hash-chained record of every operation, in the hub store.

`append` is on the request path and fails closed: any failure to make the record durable
raises `AuditUnavailable`, and the caller must not serve the data (HTTP 503).

Appending is one short transaction: ``UPDATE hub_audit_head SET seq = seq + n … RETURNING``
takes the head row's write lock (PostgreSQL row lock; on SQLite the first statement is a write,
so it takes the database write lock at once, as BEGIN IMMEDIATE would), then the records and
their read index are inserted, the head's hash is set and the transaction commits. Writers in
other processes queue on that lock, so the chain cannot fork. Inside one process, appends that
arrive while a write is in progress are written together in the next transaction (one lock, one
commit for the group), which keeps the lock window small under load; each caller still returns
only once its own record is committed.

On PostgreSQL a writer that wrote the last records itself knows the head, and appends the next
group in one autocommit statement that applies only if the head is still what it wrote
(`writer.write_after`); when another process has appended meanwhile, nothing is written and the
group goes the locking way. Under load that halves the round trips per group.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import and_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from .chain import GENESIS, ChainHasher
from .errors import AuditUnavailable, brief
from .records import AuditEntry, StoredRecord
from .search import AuditSearch
from .tables import HEAD_ID, head_table, metadata, records_table
from .verify import VerifyReport, verify_chain
from .writer import HeadMissing, write_after, write_records

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RawRecord:
    """A record as stored: the exact hashed `content` text, unparsed."""

    seq: int
    prev_hash: str
    hash: str
    content: str


@dataclass(slots=True)
class _Pending:
    entry: AuditEntry
    future: asyncio.Future[StoredRecord]


class AuditStore(AuditSearch):
    """Append, verify and search the audit chain (SQLite or PostgreSQL)."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        secret: bytes | None = None,
        timeout: float = 10.0,
        max_batch: int = 200,
        previous: tuple[bytes, ...] = (),
    ) -> None:
        self._engine = engine
        self._hasher = ChainHasher(secret)
        # Keys the chain was keyed with before a rotation: for verifying only.
        ring = [self._hasher, *(ChainHasher(key) for key in previous)]
        self._ring = {hasher.key_id: hasher for hasher in ring}
        self._timeout = timeout
        self._max_batch = max_batch
        self._lock = asyncio.Lock()
        self._queue: deque[_Pending] = deque()
        # (seq, hash) of the head after this store's last write; None when not known for sure.
        self._head: tuple[int, str] | None = None

    @property
    def engine(self) -> AsyncEngine:
        return self._engine

    @property
    def alg(self) -> str:
        return self._hasher.alg

    @property
    def key_id(self) -> str:
        return self._hasher.key_id

    async def ensure_schema(self) -> None:
        """Create the tables and the chain head if missing; safe to run from several processes."""
        dialect = self._engine.dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        for attempt in range(3):
            try:
                async with self._engine.begin() as conn:
                    await conn.run_sync(metadata.create_all)
                    await conn.execute(
                        insert(head_table)
                        .values(id=HEAD_ID, seq=0, hash=GENESIS)
                        .on_conflict_do_nothing(index_elements=["id"])
                    )
                return
            except Exception as exc:
                # Two processes creating the tables at once: the loser retries and finds them.
                if attempt == 2 or not isinstance(exc, DBAPIError):
                    raise AuditUnavailable(
                        f"The audit store cannot be opened: {brief(exc)}"
                    ) from exc
                await asyncio.sleep(0.05 * (attempt + 1))

    async def append(self, entry: AuditEntry) -> StoredRecord:
        """Make `entry` a durable, chained record; AuditUnavailable if that cannot be done."""
        pending = _Pending(entry, asyncio.get_running_loop().create_future())
        self._queue.append(pending)
        try:
            async with asyncio.timeout(self._timeout):
                while not pending.future.done():
                    async with self._lock:
                        if pending.future.done():
                            break
                        count = min(len(self._queue), self._max_batch)
                        await self._write([self._queue.popleft() for _ in range(count)])
            return pending.future.result()
        except AuditUnavailable:
            raise
        except Exception as exc:
            log.error("audit record not written: %s", brief(exc))
            raise AuditUnavailable() from exc
        finally:
            if not pending.future.done():
                # Cancelled or timed out before anyone wrote it: it must not be written later.
                if pending in self._queue:
                    self._queue.remove(pending)
                pending.future.cancel()
            elif not pending.future.cancelled():
                pending.future.exception()  # mark retrieved: it was raised above already

    async def _write(self, batch: list[_Pending]) -> None:
        try:
            records = await self._insert([p.entry for p in batch])
        except BaseException as exc:
            for pending in batch:
                if not pending.future.done():
                    failure = AuditUnavailable()
                    failure.__cause__ = exc
                    pending.future.set_exception(failure)
            raise
        for pending, record in zip(batch, records, strict=True):
            if not pending.future.done():
                pending.future.set_result(record)

    async def _insert(self, entries: list[AuditEntry]) -> list[StoredRecord]:
        bodies = [entry.body for entry in entries]
        head, self._head = self._head, None  # unknown until this write is known to be done
        try:
            records = None
            if head is not None:
                async with self._engine.connect() as conn:
                    autocommit = await conn.execution_options(isolation_level="AUTOCOMMIT")
                    records = await write_after(autocommit, self._hasher, entries, bodies, head)
            if records is None:
                async with self._engine.begin() as conn:
                    records = await write_records(conn, self._hasher, entries, bodies)
        except HeadMissing:
            raise AuditUnavailable("The audit chain head is missing: the audit store was not "
                                   "set up (ensure_schema) or has been tampered with.") from None
        if self._engine.dialect.name == "postgresql":
            self._head = (records[-1].seq, records[-1].hash)
        return records

    async def verify(
        self, from_seq: int | None = None, to_seq: int | None = None, *, batch: int = 500
    ) -> VerifyReport:
        """Walk the chain (in batches) and report the first broken or missing record."""
        try:
            return await verify_chain(self._engine, self._hasher, from_seq, to_seq, batch,
                                      self._ring)
        except (DBAPIError, OSError) as exc:
            raise AuditUnavailable(f"The audit trail cannot be read: {brief(exc)}") from exc

    async def head(self) -> tuple[int, str]:
        async with self._engine.connect() as conn:
            row = (await conn.execute(select(head_table.c.seq, head_table.c.hash)
                                      .where(head_table.c.id == HEAD_ID))).first()
        return (0, GENESIS) if row is None else (row.seq, row.hash)

    async def seq_range(self, since: datetime, until: datetime) -> tuple[int, int] | None:
        """The smallest seq range holding every record with `since <= at <= until`.

        Records are stamped when the operation ran, so concurrent ones can be a little out of
        order; the range is contiguous and may include a few neighbours just outside the times.
        """
        c = records_table.c
        window = and_(c.at >= since.astimezone(UTC), c.at <= until.astimezone(UTC))
        query = select(c.seq).where(window)
        async with self._engine.connect() as conn:
            low = await conn.scalar(query.order_by(c.seq).limit(1))
            high = await conn.scalar(query.order_by(c.seq.desc()).limit(1))
        return None if low is None or high is None else (low, high)

    async def stream(
        self, from_seq: int, to_seq: int, batch: int = 500
    ) -> AsyncIterator[RawRecord]:
        """Records as stored, in seq order, read a batch at a time."""
        c = records_table.c
        after = from_seq - 1
        while True:
            async with self._engine.connect() as conn:
                rows = (await conn.execute(
                    select(c.seq, c.prev_hash, c.hash, c.content)
                    .where(c.seq > after, c.seq <= to_seq).order_by(c.seq).limit(batch)
                )).all()
            for row in rows:
                yield RawRecord(row.seq, row.prev_hash, row.hash, row.content)
            if len(rows) < batch:
                return
            after = rows[-1].seq
