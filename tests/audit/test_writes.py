"""Writes in the audit trail: the access log keeps digests of each row before and after (never
its values), the durable record carries them, and the chain still verifies — records made
before writes existed included. On SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from auth.audit import AccessLog, AuditEntry, AuditStore, canonical_json, row_digest
from auth.identity.principal import Principal, system_principal
from huitong.audit_recorder import document_info

KEY = b"k" * 32
AT = dt.datetime(2025, 5, 1, 9, 0, tzinfo=dt.UTC)
BEFORE = {"id": "d1", "regionCode": "330108001001", "title": "2025年一季度财务公开",
          "status": "REVIEWED", "publishedAt": None}
AFTER = {**BEFORE, "status": "PUBLISHED", "publishedAt": dt.datetime(2025, 5, 1, 17, 0)}
# A record as the hub wrote them before writes existed (the same entry built by main's code).
OLD_BODY = (
    '{"at":"2025-05-01T09:00:00.000000+00:00","client":"jwt:t-1","duration_ms":3,"errors":[],'
    '"operation":{"document_hash":"4871cbd6ff78b5e473152b2f14c16f5e4d254cee524b284a621ee8b4'
    '4cfd801b","name":"Q","normalised":true,"type":"query"},"outcome":"ok","principal":'
    '{"agency":"滨江区纪委","region_code":"330108000000","role":"discipline_inspector",'
    '"subject":"wang.jw"},"purpose":"案-2025-001","reads":{"Payment":{"aggregates":0,'
    '"clear_fields":["amount","id"],"count":2,"digest":"6040a79e32f7d7381ffc7acfb89a81f12f42'
    'a894ffd0134b5006bc80442ac4cf","ids":["p1","p2"],"ids_mode":"listed","masked_fields":'
    '["payeeName"],"truncated":false}},"request_id":null,"v":1,"variables":{"first":2}}'
)


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[AuditStore]:
    engine = create_async_engine(database_url)
    store = AuditStore(engine, secret=KEY)
    await store.ensure_schema()
    yield store
    await engine.dispose()


def read_entry() -> AuditEntry:
    log = AccessLog()
    log.note_rows("Payment", ["p1", "p2"], ["id", "amount", "payeeName"], ["payeeName"])
    principal = Principal("wang.jw", "discipline_inspector", "滨江区纪委", "330108000000",
                          "案-2025-001", "jwt:t-1")
    return AuditEntry.build(principal, document=document_info(
        "query Q { payments { id amount payeeName } }"), operation_name="Q",
        variables={"first": 2}, log=log, outcome="ok", duration_ms=3, at=AT)


def write_entry() -> AuditEntry:
    log = AccessLog()
    log.note_rows("Disclosure", ["d1"], ["id", "status"], [])
    log.note_write("Disclosure", "d1", "update", BEFORE, AFTER)
    log.note_write("Disclosure", "d2", "create", None, {**AFTER, "id": "d2"})
    log.note_write("Disclosure", "d3", "delete", {**BEFORE, "id": "d3"}, None)
    publisher = system_principal("publisher", role="civil_affairs", region_code="330108000000")
    return AuditEntry.build(publisher, document=document_info(
        'mutation { publishDisclosure(id: "RGlzY2xvc3VyZTpkMQ") { status } }'),
        log=log, outcome="ok", duration_ms=5, at=AT)


def test_digests_are_of_the_rows_canonical_json_and_keep_no_value() -> None:
    digest = row_digest(AFTER)
    plain = {**AFTER, "publishedAt": "2025-05-01T17:00:00"}
    assert digest == hashlib.sha256(canonical_json(plain).encode()).hexdigest()
    assert row_digest(dict(reversed(list(AFTER.items())))) == digest  # key order does not count
    assert row_digest({"amount": Decimal("12.50")}) != row_digest({"amount": Decimal("12.5")})
    assert row_digest(None) is None
    body = write_entry().body
    assert "2025年一季度财务公开" not in body and "PUBLISHED" not in body


@pytest.mark.parametrize(("op", "before", "after"), [
    ("create", BEFORE, AFTER), ("delete", BEFORE, AFTER), ("update", None, AFTER),
    ("update", BEFORE, None), ("upsert", BEFORE, AFTER),
])
def test_a_write_must_fit_its_op(op: str, before: dict[str, object] | None,
                                 after: dict[str, object] | None) -> None:
    with pytest.raises(ValueError):
        AccessLog().note_write("Disclosure", "d1", op, before, after)


async def test_writes_are_in_the_durable_record_and_the_chain_verifies(
    store: AuditStore,
) -> None:
    await store.append(read_entry())
    written = await store.append(write_entry())
    await store.append(read_entry())
    [raw] = [r async for r in store.stream(written.seq, written.seq)]
    writes = json.loads(raw.content)["entry"]["writes"]
    assert writes == [
        {"entity": "Disclosure", "id": "d1", "op": "update", "before": row_digest(BEFORE),
         "after": row_digest(AFTER)},
        {"entity": "Disclosure", "id": "d2", "op": "create", "before": None,
         "after": row_digest({**AFTER, "id": "d2"})},
        {"entity": "Disclosure", "id": "d3", "op": "delete",
         "before": row_digest({**BEFORE, "id": "d3"}), "after": None},
    ]
    [found] = await store.query(subject="system:publisher")
    assert found.entry.writes == tuple(writes) and found.entry.principal.credential == \
        "system:publisher"
    report = await store.verify()
    assert report.ok and report.checked == 3, report.problem


async def test_records_without_writes_keep_their_old_form(store: AuditStore) -> None:
    entry = read_entry()
    assert entry.body == OLD_BODY and "writes" not in json.loads(entry.body)
    assert AuditEntry.from_dict(json.loads(OLD_BODY)).body == OLD_BODY
    for _ in range(2):
        await store.append(entry)
    assert (await store.verify()).ok
