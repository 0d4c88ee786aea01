"""The audit-trail queries: the jurisdiction rule (`TrailScope`) and the store searches behind
them. The grant is in tests/access/test_operations.py, the schema's fields in
tests/schema/test_contributions.py, and front-door behaviour (an inspector asking who saw a
payment, hidden rows, roles without the grant) in tests/audit/test_trail_front_door.py.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from auth.access.policy import load_policy, parse_policy
from auth.audit import AuditEntry, AuditStore, StoredRecord, TrailScope
from auth.audit.access_log import AccessLog
from auth.audit.trail_scope import enclosing_codes
from auth.identity.principal import Principal
from huitong.audit_recorder import document_info
from huitong.demo.config import POLICY_PATH
from resolvers.audit_trail import record_view
from resolvers.ids import to_global_id

DEMO = load_policy(POLICY_PATH)
T0 = datetime(2025, 5, 1, 9, 0, tzinfo=UTC)


# --- the jurisdiction rule ---------------------------------------------------------------

POLICY = parse_policy({"roles": {
    "inspector": {"entities": {"Payment": {"fields": ["amount"]},
                               "Subsidy": {"fields": ["amount"], "where": {"published": True}},
                               "Region": {"fields": ["name"], "rows": "all"}},
                  "operations": ["auditRecords", "accessHistory"]},
    "clerk": {"entities": {"Payment": {"fields": ["amount"]},
                           "Subsidy": {"fields": ["amount"]},
                           "Resident": {"fields": ["name"]},
                           "Region": {"fields": ["name"], "rows": "all"}}},
    "auditor": {"entities": {"Payment": {"fields": ["amount"], "rows": "all"}}},
}}, "p.toml")


def scope(region: str | None = "330108000000") -> TrailScope:
    return TrailScope(POLICY, POLICY.roles["inspector"],
                      Principal("jw", "inspector", region_code=region))


def test_records_are_limited_to_principals_inside_the_jurisdiction() -> None:
    assert scope().records_prefix() == "330108"
    assert scope().records_prefix("330108001000") == "330108001"  # narrowed by the filter
    assert scope().records_prefix("330100000000") == "330108"  # a wider filter narrows nothing
    assert scope().records_prefix("330102000000") is None  # another district: nothing
    assert scope(None).records_prefix() is None
    assert scope("not-a-code").records_prefix() is None


def test_ids_are_shown_only_when_they_cannot_name_a_row_out_of_reach() -> None:
    s = scope()
    assert s.ids_disclosed("Payment", "clerk", "330108001000")  # a street inside: its rows
    assert s.ids_disclosed("Payment", "clerk", "330108000000")
    assert not s.ids_disclosed("Payment", "auditor", "330108001000")  # reads every region
    assert not s.ids_disclosed("Payment", "clerk", "330102000000")  # outside
    assert not s.ids_disclosed("Payment", "clerk", "330100000000")  # above: the whole city
    assert not s.ids_disclosed("Payment", "gone_role", "330108001000")  # not in the policy
    assert not s.ids_disclosed("Subsidy", "clerk", "330108001000")  # our `where` may hide some
    assert not s.ids_disclosed("Resident", "clerk", "330108001000")  # we cannot read them
    assert s.ids_disclosed("Region", "clerk", "330108001000")  # we read every region
    assert s.ids_disclosed("AuditRecord", "inspector", "330108001000")
    assert not s.ids_disclosed("AuditRecord", "inspector", "330100000000")


def test_withheld_ids_take_their_digest_with_them() -> None:
    def read_by(role: str, ids: list[str], max_listed: int = 3) -> Any:
        stored = StoredRecord(1, "0" * 64, "1" * 64,
                              entry(1, "s", role, "330108001000", ids, max_listed=max_listed))
        [read] = record_view(scope(), stored).reads
        return read

    shown = read_by("clerk", ["7"])
    assert shown.ids == [to_global_id("Payment", "7")] and not shown.ids_withheld
    assert shown.digest == hashlib.sha256(b"7\n").hexdigest()
    withheld = read_by("auditor", ["7"])  # reads every region: "7" may be out of reach
    assert (withheld.ids, withheld.ids_withheld, withheld.digest) == (None, True, None)
    assert withheld.count == 1 and withheld.clear_fields == ["amount", "id"]
    bulk = read_by("auditor", [str(i) for i in range(10)])  # a digest of many: kept
    assert (bulk.listed, bulk.ids, bulk.ids_withheld) == (False, None, False)
    assert bulk.digest is not None and bulk.count == 10


def test_digest_reads_count_only_readers_who_could_have_seen_the_row() -> None:
    assert enclosing_codes("330108001005") == (
        "330000000000", "330100000000", "330108000000", "330108001000", "330108001005")
    assert enclosing_codes("441900003000") == ("440000000000", "441900000000", "441900003000")
    codes, roles = scope().digest_readers("Payment", "330108001005")
    assert "330108000000" in codes and "330102000000" not in codes
    assert roles == ("auditor",)
    assert scope().digest_readers("Payment", None) == ((), ("auditor",))


# --- the store searches behind them ------------------------------------------------------

def entry(n: int, subject: str, role: str, region: str | None, ids: list[str],
          entity: str = "Payment", max_listed: int = 3) -> AuditEntry:
    log = AccessLog()
    log.note_rows(entity, ids, ["id", "amount"], [])
    return AuditEntry.build(Principal(subject, role, None, region, None, "jwt:x"),
                            document=document_info("{ payments { nodes { id amount } } }"), log=log,
                            outcome="ok", duration_ms=1, at=T0 + timedelta(seconds=n),
                            max_listed_ids=max_listed)


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[AuditStore]:
    engine = create_async_engine(database_url)
    store = AuditStore(engine)
    await store.ensure_schema()
    yield store
    await engine.dispose()


async def test_records_are_found_by_region_prefix(store: AuditStore) -> None:
    await store.append(entry(1, "street", "clerk", "330108001000", ["1"]))
    await store.append(entry(2, "district", "clerk", "330108000000", ["2"]))
    await store.append(entry(3, "other", "clerk", "330102000000", ["3"]))
    await store.append(entry(4, "anonymous", "public", None, ["4"]))
    assert [r.entry.principal.subject for r in await store.query(region_prefix="330108")] == \
        ["district", "street"]
    assert [r.seq for r in await store.query(region_prefix="330108001")] == [1]
    assert [r.seq for r in await store.query(region_prefix="3301")] == [3, 2, 1]
    assert await store.query(region_prefix="33_") == []  # a LIKE wildcard is only a character


async def test_digest_reads_are_kept_to_readers_who_could_have_seen_the_row(
    store: AuditStore,
) -> None:
    many = [str(i) for i in range(10)]  # more than max_listed: kept as a digest
    await store.append(entry(1, "street", "clerk", "330108001000", many))
    await store.append(entry(2, "elsewhere", "clerk", "330102000000", many))
    await store.append(entry(3, "everywhere", "auditor", "330102000000", many))
    await store.append(entry(4, "listed", "clerk", "330102000000", ["5"]))
    events = await store.access_history("Payment", "5")
    assert [e.subject for e in events] == ["listed", "everywhere", "elsewhere", "street"]
    codes, roles = scope().digest_readers("Payment", "330108001005")
    events = await store.access_history("Payment", "5", digest_region_codes=codes,
                                        digest_roles=roles)
    assert [(e.subject, e.listed, e.region_code) for e in events] == [
        ("listed", True, "330102000000"), ("everywhere", False, "330102000000"),
        ("street", False, "330108001000")]
