"""No record, no data: an audit store that cannot be written turns every data query into HTTP
503 AUDIT_UNAVAILABLE with none of the data in the body, and the hub recovers when the store
does. Purpose rules refuse reads that need a stated purpose, and the refusal is recorded.

Each backend gets a hub of its own (own store, demo policy plus a purpose rule: inspectors
reading Resident.idNumber in clear must give a case number) over the shared demo sources.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import AsyncIterator

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from tests.audit.front_door import caller, one_record, own_hub, post, store_of
from tests.conftest import POSTGRES_URL, PostgresDatabases, _plain_pg_url, fresh_database_url
from tests.hub_harness import DemoHub

INSPECTOR = "discipline_inspector"
PAYMENTS = "{ payments(first: 20) { nodes { id paymentNo payeeName payeeAccount amount } } }"
RESIDENTS = "{ residents(first: 5) { nodes { id name idNumber } } }"


@pytest.fixture(scope="module")
async def hub(
    demo_hub: DemoHub, tmp_path_factory: pytest.TempPathFactory,
    pg_databases: PostgresDatabases,
) -> AsyncIterator[DemoHub]:
    directory = tmp_path_factory.mktemp(f"audit-{demo_hub.backend}")
    store_url = await fresh_database_url(demo_hub.backend, directory, pg_databases, "hub")
    async with own_hub(directory, demo_hub.source_urls, store_url, demo_hub.backend) as own:
        yield own


def served_values(body: dict[str, object]) -> list[str]:
    data = body["data"]
    assert isinstance(data, dict)
    rows = data["payments"]["nodes"]
    values = [str(row[key]) for row in rows for key in ("id", "paymentNo", "payeeName",
                                                         "payeeAccount")]
    assert len(rows) == 20 and all(values)
    return values


async def refused_without_data(hub: DemoHub, values: list[str]) -> None:
    response = await post(hub, caller(INSPECTOR), PAYMENTS)
    assert response.status_code == 503, response.text
    body = response.json()
    assert "data" not in body
    assert [e["extensions"]["code"] for e in body["errors"]] == ["AUDIT_UNAVAILABLE"]
    assert not [v for v in values if v in response.text]


async def served_again(hub: DemoHub, values: list[str], head_before: int) -> None:
    """After recovery the data is served, and the chain holds no record of the refusals."""
    got = await one_record(hub, lambda: post(hub, caller(INSPECTOR), PAYMENTS))
    assert got.response.status_code == 200 and served_values(got.body) == values
    assert got.record.seq == head_before + 1
    assert (await store_of(hub).verify()).ok


async def test_a_missing_audit_table_refuses_the_data_then_recovers(hub: DemoHub) -> None:
    engine = hub.app.state.hub.store
    values = served_values((await post(hub, caller(INSPECTOR), PAYMENTS)).json())
    head, _ = await store_of(hub).head()
    async with engine.begin() as conn:
        await conn.execute(text("ALTER TABLE hub_audit_records RENAME TO hub_audit_gone"))
    try:
        await refused_without_data(hub, values)
        await refused_without_data(hub, values)
    finally:
        async with engine.begin() as conn:
            await conn.execute(text("ALTER TABLE hub_audit_gone RENAME TO hub_audit_records"))
    await served_again(hub, values, head)


@contextlib.asynccontextmanager
async def unreachable(hub: DemoHub) -> AsyncIterator[None]:
    """PostgreSQL: the store's database stops taking connections and drops the open ones.
    SQLite: another process holds the database's write lock (refused after the busy timeout)."""
    url = make_url(hub.settings.store_url)
    assert url.database is not None
    if hub.backend == "sqlite":
        other = sqlite3.connect(url.database, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            other.rollback()
            other.close()
        return
    admin = await asyncpg.connect(_plain_pg_url(POSTGRES_URL))
    try:
        await admin.execute(f'ALTER DATABASE "{url.database}" ALLOW_CONNECTIONS false')
        await admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                            "WHERE datname = $1 AND pid <> pg_backend_pid()", url.database)
        yield
    finally:
        await admin.execute(f'ALTER DATABASE "{url.database}" ALLOW_CONNECTIONS true')
        await admin.close()


async def test_an_unreachable_store_refuses_the_data_then_recovers(hub: DemoHub) -> None:
    values = served_values((await post(hub, caller(INSPECTOR), PAYMENTS)).json())
    head, _ = await store_of(hub).head()
    async with unreachable(hub):
        await refused_without_data(hub, values)
    await served_again(hub, values, head)


async def test_reading_a_purpose_bound_field_without_a_purpose_is_refused_and_recorded(
    hub: DemoHub,
) -> None:
    who = caller(INSPECTOR)
    got = await one_record(hub, lambda: post(hub, who, RESIDENTS))
    assert got.response.status_code == 200
    body = got.body
    assert (body["data"] or {}).get("residents") is None
    [error] = body["errors"]
    assert error["extensions"]["code"] == "PURPOSE_REQUIRED"
    assert "Resident.idNumber" in error["message"] and "案-2025-017" in error["message"]
    entry = got.record.entry
    assert (entry.outcome, entry.errors, entry.reads) == ("denied", ("PURPOSE_REQUIRED",), {})
    assert entry.principal.purpose is None and entry.principal.subject == who.subject

    got = await one_record(hub, lambda: post(hub, who, RESIDENTS, purpose="随便看看"))
    [error] = got.body["errors"]
    assert error["extensions"]["code"] == "PURPOSE_REQUIRED"
    assert "not of the required form" in error["message"]
    assert (got.record.entry.outcome, got.record.entry.principal.purpose) == ("denied",
                                                                              "随便看看")


async def test_filtering_or_counting_on_a_purpose_bound_field_needs_the_purpose_too(
    hub: DemoHub,
) -> None:
    who = caller(INSPECTOR)
    probe = '{ residents(filter: {idNumber: "330108199001011234"}) { totalCount } }'
    got = await one_record(hub, lambda: post(hub, who, probe))
    assert [e["extensions"]["code"] for e in got.body["errors"]] == ["PURPOSE_REQUIRED"]
    assert got.record.entry.outcome == "denied"
    got = await one_record(hub, lambda: post(hub, who, probe, purpose="案-2025-017"))
    assert "errors" not in got.body and got.record.entry.outcome == "ok"
    assert got.record.entry.reads["Resident"]["clear_fields"] == ["idNumber"]


@pytest.mark.parametrize("via", ["header", "token"])
async def test_with_a_case_number_the_read_is_served_and_the_purpose_recorded(
    hub: DemoHub, via: str,
) -> None:
    who = caller(INSPECTOR, purpose="案-2025-017") if via == "token" else caller(INSPECTOR)
    header = "案-2025-017" if via == "header" else None
    got = await one_record(hub, lambda: post(hub, who, RESIDENTS, purpose=header))
    assert "errors" not in got.body
    shown = got.body["data"]["residents"]["nodes"]
    assert shown and all(r["idNumber"] and "*" not in r["idNumber"] for r in shown)
    entry = got.record.entry
    assert (entry.outcome, entry.principal.purpose) == ("ok", "案-2025-017")
    assert "idNumber" in entry.reads["Resident"]["clear_fields"]


async def test_reads_the_rule_does_not_cover_need_no_purpose(hub: DemoHub) -> None:
    got = await one_record(hub, lambda: post(
        hub, caller(INSPECTOR), "{ residents(first: 5) { nodes { id name } } }"))
    assert "errors" not in got.body and got.record.entry.outcome == "ok"
    masked = await one_record(hub, lambda: post(hub, caller("civil_affairs"), RESIDENTS))
    assert "errors" not in masked.body  # civil affairs reads idNumber masked, and has no rule
    assert masked.record.entry.reads["Resident"]["masked_fields"] == ["idNumber", "name"]
