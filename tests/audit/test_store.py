"""The audit store on SQLite and PostgreSQL: the chain, tampering, concurrency, failing closed."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete, event, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from auth.audit import AuditEntry, AuditStore, AuditUnavailable, VerifyReport
from auth.audit.access_log import AccessLog
from auth.audit.chain import GENESIS
from auth.audit.tables import head_table, reads_table, records_table
from auth.identity.principal import Principal
from huitong.audit_recorder import document_info

KEY = b"audit-key-for-tests-0123456789ab"
REPO = Path(__file__).resolve().parents[2]
T0 = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)


def entry(n: int = 0, *, subject: str = "wang.jw", role: str = "discipline_inspector",
          purpose: str | None = "案-2025-001", ids: list[str] | None = None,
          entity: str = "Payment", at: datetime | None = None) -> AuditEntry:
    log = AccessLog()
    log.note_rows(entity, ids if ids is not None else [f"p{n}", f"p{n + 1}"],
                  ["id", "amount", "payeeName"], ["payeeName"])
    principal = Principal(subject, role, "滨江区纪委", "330108000000", purpose, "jwt:t-1")
    document = document_info("query Q { payments { id amount payeeName } }")
    return AuditEntry.build(principal, document=document, operation_name="Q",
                            variables={"first": n}, log=log, outcome="ok", duration_ms=n,
                            at=at or T0 + timedelta(seconds=n))


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
async def store(engine: AsyncEngine) -> AuditStore:
    store = AuditStore(engine, secret=KEY)
    await store.ensure_schema()
    await store.ensure_schema()  # idempotent: every start-up runs it
    return store


async def filled(store: AuditStore, count: int = 10) -> AuditStore:
    for n in range(1, count + 1):
        await store.append(entry(n))
    return store


async def execute(engine: AsyncEngine, *statements: object) -> None:
    async with engine.begin() as conn:
        for statement in statements:
            await conn.execute(statement)  # type: ignore[call-overload]


async def stored_content(engine: AsyncEngine, seq: int) -> str:
    async with engine.connect() as conn:
        content = await conn.scalar(select(records_table.c.content)
                                    .where(records_table.c.seq == seq))
    assert isinstance(content, str)
    return content


def broken(report: VerifyReport, seq: int, reason: str) -> None:
    assert report.problem is not None, report
    assert (report.problem.seq, report.problem.reason) == (seq, reason), report.problem


async def test_append_chains_records_and_verifies(store: AuditStore) -> None:
    first = await store.append(entry(1))
    second = await store.append(entry(2))
    assert (first.seq, first.prev_hash, second.seq, second.prev_hash) == (1, GENESIS, 2,
                                                                         first.hash)
    assert first.entry.principal.purpose == "案-2025-001"
    report = await store.verify()
    assert report.ok and report.checked == 2 and report.alg == "hmac-sha256"
    assert (report.first_seq, report.last_seq, report.head_seq) == (1, 2, 2)
    assert report.head_hash == second.hash == (await store.head())[1]


async def test_empty_chain_and_ranges_verify(store: AuditStore) -> None:
    empty = await store.verify()
    assert empty.ok and empty.checked == 0 and empty.head_seq == 0
    await filled(store)
    part = await store.verify(from_seq=4, to_seq=7)
    assert part.ok and (part.first_seq, part.last_seq, part.checked) == (4, 7, 4)
    assert (await store.verify(from_seq=8, to_seq=500)).last_seq == 10


async def test_hmac_chain_needs_its_key(engine: AsyncEngine, store: AuditStore) -> None:
    await filled(store, 3)
    plain = await AuditStore(engine).verify()
    broken(plain, 1, "content edited")
    assert "another audit key" in plain.problem.detail  # type: ignore[union-attr]
    assert not (await AuditStore(engine, secret=KEY[::-1]).verify()).ok


async def test_edited_content_is_caught(engine: AsyncEngine, store: AuditStore) -> None:
    await filled(store)
    content = await stored_content(engine, 6)
    await execute(engine, update(records_table).where(records_table.c.seq == 6)
                  .values(content=content.replace("wang.jw", "someone.else")))
    broken(await store.verify(), 6, "content edited")
    broken(await store.verify(batch=4), 6, "content edited")  # across batch boundaries
    assert (await store.verify(to_seq=5)).ok


async def test_edited_column_is_caught(engine: AsyncEngine, store: AuditStore) -> None:
    await filled(store)
    await execute(engine, update(records_table).where(records_table.c.seq == 3)
                  .values(purpose="案-1999-999"))
    report = await store.verify()
    broken(report, 3, "content edited")
    assert "column purpose" in report.problem.detail  # type: ignore[union-attr]


async def test_rewritten_record_without_the_key_is_caught(
    engine: AsyncEngine, store: AuditStore
) -> None:
    await filled(store)
    content = await stored_content(engine, 4)
    forged = content.replace('"outcome":"ok"', '"outcome":"denied"')
    await execute(engine, update(records_table).where(records_table.c.seq == 4)
                  .values(content=forged, outcome="denied",
                          hash=hashlib.sha256(forged.encode()).hexdigest()))
    broken(await store.verify(), 4, "content edited")


async def test_rewritten_record_breaks_the_next_link_in_a_plain_chain(
    engine: AsyncEngine,
) -> None:
    plain = AuditStore(engine)
    await plain.ensure_schema()
    await filled(plain)
    content = await stored_content(engine, 4)
    forged = content.replace('"outcome":"ok"', '"outcome":"denied"')
    await execute(engine, update(records_table).where(records_table.c.seq == 4)
                  .values(content=forged, outcome="denied",
                          hash=hashlib.sha256(forged.encode()).hexdigest()))
    broken(await plain.verify(), 5, "prev link broken")


async def test_deleted_records_are_caught(engine: AsyncEngine, store: AuditStore) -> None:
    await filled(store)
    await execute(engine, delete(records_table).where(records_table.c.seq == 5))
    report = await store.verify()
    broken(report, 5, "missing record")
    assert report.checked == 4 and report.last_seq == 4
    await execute(engine, delete(records_table).where(records_table.c.seq >= 5))
    broken(await store.verify(), 5, "missing record")  # gone from the end: the head knows


async def test_first_record_deleted_is_caught(engine: AsyncEngine, store: AuditStore) -> None:
    await filled(store, 3)
    await execute(engine, delete(records_table).where(records_table.c.seq == 1))
    broken(await store.verify(), 1, "missing record")


async def test_reordered_records_are_caught(engine: AsyncEngine, store: AuditStore) -> None:
    await filled(store)
    seq = records_table.c.seq
    await execute(engine,
                  update(records_table).where(seq == 7).values(seq=-1),
                  update(records_table).where(seq == 8).values(seq=7),
                  update(records_table).where(seq == -1).values(seq=8))
    report = await store.verify()
    broken(report, 7, "reordered")
    assert "written as seq 8" in report.problem.detail  # type: ignore[union-attr]


async def test_changed_links_and_hashes_are_caught(
    engine: AsyncEngine, store: AuditStore
) -> None:
    await filled(store)
    c = records_table.c
    await execute(engine, update(records_table).where(c.seq == 3).values(prev_hash="f" * 64))
    broken(await store.verify(), 3, "prev link broken")
    await execute(engine, update(records_table).where(c.seq == 3).values(
        prev_hash=select(c.hash).where(c.seq == 2).scalar_subquery()))
    assert (await store.verify()).ok
    await execute(engine, update(records_table).where(c.seq == 9).values(hash="e" * 64))
    broken(await store.verify(), 9, "hash mismatch")


async def test_head_and_read_index_are_checked(engine: AsyncEngine, store: AuditStore) -> None:
    await filled(store)
    await execute(engine, delete(reads_table).where(reads_table.c.seq == 3,
                                                    reads_table.c.row_id == "p4"))
    broken(await store.verify(), 3, "read index mismatch")  # record 3 read p3 and p4
    await execute(engine, reads_table.insert().values(seq=3, entity="Payment", row_id="p4",
                                                      mode="row"))
    assert (await store.verify()).ok
    await execute(engine, update(head_table).values(hash="d" * 64))
    broken(await store.verify(), 10, "chain head mismatch")
    await execute(engine, delete(head_table))
    broken(await store.verify(), 0, "chain head mismatch")
    with pytest.raises(AuditUnavailable):
        await store.append(entry(11))


async def test_concurrent_writers_keep_one_gap_free_chain(
    store: AuditStore, database_url: str
) -> None:
    writers = [create_async_engine(database_url) for _ in range(4)]
    script = (
        "import asyncio, sys\n"
        "from sqlalchemy.ext.asyncio import create_async_engine\n"
        "from auth.audit import AuditStore\n"
        "from tests.audit.test_store import KEY, entry\n"
        "async def main():\n"
        "    engine = create_async_engine(sys.argv[1])\n"
        "    store = AuditStore(engine, secret=KEY)\n"
        "    await store.ensure_schema()\n"
        "    print('ready', flush=True)\n"
        "    sys.stdin.readline()\n"
        "    for n in range(50):\n"
        "        await store.append(entry(n, subject=sys.argv[2]))\n"
        "    await engine.dispose()\n"
        "asyncio.run(main())\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-c", script, database_url, f"proc-{i}", cwd=REPO, env=env,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
        for i in range(2)
    ]
    try:
        for process in processes:
            assert process.stdout is not None
            assert await asyncio.wait_for(process.stdout.readline(), 60) == b"ready\n"
        for process in processes:
            assert process.stdin is not None
            process.stdin.write(b"go\n")
            await process.stdin.drain()
        async def write(i: int, engine: AsyncEngine) -> None:
            writer = AuditStore(engine, secret=KEY)
            for n in range(50):
                await writer.append(entry(n, subject=f"store-{i}"))

        await asyncio.gather(*(write(i, engine) for i, engine in enumerate(writers)))
        for process in processes:
            assert await asyncio.wait_for(process.wait(), 120) == 0
    finally:
        for process in processes:
            if process.returncode is None:
                process.kill()
        for engine in writers:
            await engine.dispose()
    report = await store.verify()
    assert report.ok and report.checked == report.head_seq == 300, report
    async with store.engine.connect() as conn:
        seqs = (await conn.execute(select(func.count(), func.min(records_table.c.seq),
                                          func.max(records_table.c.seq)))).one()
        subjects: dict[str, int] = dict((await conn.execute(
            select(records_table.c.subject, func.count()).group_by(records_table.c.subject)
        )).all())
        spans = (await conn.execute(
            select(func.max(records_table.c.seq) - func.min(records_table.c.seq))
            .where(records_table.c.subject.like("proc-%")).group_by(records_table.c.subject)
        )).scalars().all()
    assert tuple(seqs) == (300, 1, 300)
    assert max(spans) > 49  # the processes' records interleave with the others'
    assert subjects == {**{f"store-{i}": 50 for i in range(4)},
                        **{f"proc-{i}": 50 for i in range(2)}}


async def test_a_writer_that_knows_the_head_notices_when_another_moved_it(
    store: AuditStore, engine: AsyncEngine, backend: str,
) -> None:
    other = AuditStore(engine, secret=KEY)
    statements: list[str] = []

    def count(conn: object, cursor: object, statement: str, *args: object) -> None:
        statements.append(statement)

    await store.append(entry(1))
    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        await store.append(entry(2))
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)
    if backend == "postgresql":  # it wrote the head itself: one statement, no BEGIN/COMMIT
        assert len(statements) == 1 and "WHERE EXISTS" in statements[0], statements
    await other.append(entry(3))
    await store.append(entry(4))  # its head is stale now: it must not fork the chain
    await other.append(entry(5))
    await store.append(entry(6))
    report = await store.verify()
    assert report.ok and report.head_seq == report.checked == 6, report
    records = await store.query()
    assert [r.entry.duration_ms for r in records] == [6, 5, 4, 3, 2, 1]


async def test_a_fast_append_that_times_out_writes_nothing(
    engine: AsyncEngine, backend: str,
) -> None:
    if backend != "postgresql":
        pytest.skip("only PostgreSQL appends after a known head in one statement")
    store = AuditStore(engine, secret=KEY, timeout=0.5)
    await store.ensure_schema()
    await filled(store, 2)  # it knows the head now
    blocker = await engine.connect()
    await blocker.execute(text("SELECT seq FROM hub_audit_head WHERE id = 1 FOR UPDATE"))
    try:
        with pytest.raises(AuditUnavailable):
            await store.append(entry(3))
    finally:
        await blocker.rollback()
        await blocker.close()
    assert (await store.verify()).head_seq == 2
    await store.append(entry(4))
    report = await store.verify()
    assert report.ok and report.head_seq == 3
    [last] = await store.query(limit=1)
    assert last.entry.duration_ms == 4


async def test_query_filters_and_pages(store: AuditStore) -> None:
    await store.append(entry(1, subject="a", purpose=None))
    await store.append(entry(2, subject="b", role="civil_affairs", entity="Resident"))
    await store.append(entry(3, subject="a"))
    assert [r.seq for r in await store.query(subject="a")] == [3, 1]
    assert [r.seq for r in await store.query(role="civil_affairs")] == [2]
    assert [r.seq for r in await store.query(entity="Resident")] == [2]
    assert [r.seq for r in await store.query(entity="Payment", purpose="案-2025-001")] == [3]
    assert [r.seq for r in await store.query(since=T0 + timedelta(seconds=2),
                                             until=T0 + timedelta(seconds=2))] == [2]
    assert [r.seq for r in await store.query(before_seq=3, limit=1)] == [2]
    [record] = await store.query(subject="b")
    assert record.entry.reads["Resident"]["ids"] == ["p2", "p3"]


async def test_access_history_finds_listed_rows_and_digest_reads(store: AuditStore) -> None:
    await store.append(entry(1, ids=["p1", "p2"]))
    await store.append(entry(2, subject="bulk", ids=[f"p{i}" for i in range(1200)]))
    await store.append(entry(3, subject="other", ids=["p9"]))
    events = await store.access_history("Payment", "p1")
    assert [(e.seq, e.subject, e.listed) for e in events] == [(2, "bulk", False),
                                                              (1, "wang.jw", True)]
    assert events[1].masked_fields == ("payeeName",) and "amount" in events[1].clear_fields
    assert events[1].purpose == "案-2025-001" and events[1].at == T0 + timedelta(seconds=1)
    listed_only = await store.access_history("Payment", "p1", include_digest=False)
    assert [e.seq for e in listed_only] == [1]
    assert await store.access_history("Resident", "p1") == []


async def test_unreachable_stores_fail_closed(tmp_path: Path, backend: str) -> None:
    url = (f"sqlite+aiosqlite:///{tmp_path}/missing/dir/hub.db" if backend == "sqlite"
           else "postgresql+asyncpg://postgres@127.0.0.1:1/nothing")
    engine = create_async_engine(url)
    store = AuditStore(engine, timeout=5)
    try:
        with pytest.raises(AuditUnavailable) as info:
            await store.append(entry(1))
        assert info.value.status == 503 and "no data is served" in info.value.message
        with pytest.raises(AuditUnavailable):
            await store.ensure_schema()
        with pytest.raises(AuditUnavailable):
            await store.verify()
    finally:
        await engine.dispose()


async def test_a_store_without_its_tables_fails_closed(engine: AsyncEngine) -> None:
    with pytest.raises(AuditUnavailable):
        await AuditStore(engine).append(entry(1))


async def test_read_only_sqlite_fails_closed(tmp_path: Path) -> None:
    path = tmp_path / "hub.db"
    writable = create_async_engine(f"sqlite+aiosqlite:///{path}")
    writer = AuditStore(writable)
    await writer.ensure_schema()
    await filled(writer, 2)
    await writable.dispose()
    read_only = create_async_engine(f"sqlite+aiosqlite:///file:{path}?mode=ro&uri=true")
    try:
        store = AuditStore(read_only)
        assert (await store.verify()).ok
        with pytest.raises(AuditUnavailable):
            await store.append(entry(1))
    finally:
        await read_only.dispose()


async def test_a_locked_head_times_out_and_writes_nothing(
    store: AuditStore, engine: AsyncEngine, backend: str, database_url: str
) -> None:
    await filled(store, 2)
    blocker = await engine.connect()
    lock = ("BEGIN IMMEDIATE" if backend == "sqlite"
            else "SELECT seq FROM hub_audit_head WHERE id = 1 FOR UPDATE")
    if backend == "sqlite":
        raw = await blocker.get_raw_connection()
        await raw.driver_connection.execute(lock)  # type: ignore[union-attr]
    else:
        await blocker.execute(text(lock))
    # On SQLite a blocked statement cannot be cancelled, only given up by the driver's busy
    # timeout, so that must not be longer than the audit timeout.
    args = {"timeout": 0.3} if backend == "sqlite" else {}
    waiting_engine = create_async_engine(database_url, connect_args=args)
    waiting = AuditStore(waiting_engine, secret=KEY, timeout=0.5)
    try:
        started = asyncio.get_running_loop().time()
        with pytest.raises(AuditUnavailable):
            await waiting.append(entry(3))
        assert asyncio.get_running_loop().time() - started < 3
    finally:
        await blocker.rollback()
        await blocker.close()
    assert (await store.verify()).head_seq == 2  # the refused record was not written later
    await waiting.append(entry(4))
    await waiting_engine.dispose()
    report = await store.verify()
    assert report.ok and report.head_seq == 3
    [last] = await store.query(limit=1)
    assert json.loads(last.entry.body)["duration_ms"] == 4


async def test_denied_operations_without_reads_are_recorded(store: AuditStore) -> None:
    refused = AuditEntry.build(Principal("anonymous", "public"),
                               document=document_info("{ residents { id } }"), outcome="denied",
                               duration_ms=0, errors=["PURPOSE_REQUIRED"])
    record = await store.append(refused)
    assert record.entry.reads == {} and record.entry.principal.credential == "anonymous"
    [found] = await store.query(outcome="denied")
    assert found.seq == record.seq and found.entry.errors == ("PURPOSE_REQUIRED",)
    assert (await store.verify()).ok


async def test_verify_while_others_append(store: AuditStore) -> None:
    await filled(store, 5)

    async def keep_appending() -> None:
        for n in range(40):
            await store.append(entry(n))

    writer = asyncio.create_task(keep_appending())
    reports = []
    while not writer.done():
        reports.append(await store.verify(batch=7))
    await writer
    assert reports and all(report.ok for report in reports), reports
    assert (await store.verify()).head_seq == 45
