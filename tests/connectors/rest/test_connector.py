"""The `rest` connector against a live local JSON API, checked against the SQL connector.

Every pagination style, with and without pushdown, must give exactly what the SQL connector
gives over the same rows: same rows in the same order, keyset pages, partitions, counts and
aggregates (exact Decimal totals, small groups left out). Then the failure modes: timeouts,
a server that is down, retries, the circuit breaker, and the scan cap.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from auth.model.query import (
    AggregateQuery,
    Condition,
    Dimension,
    EntityQuery,
    Op,
    OrderKey,
    Partition,
    ScopedAggregate,
    ScopedQuery,
    Transform,
)
from connectors.base import (
    Connector,
    MappingError,
    SourceError,
    SourceQueryTooBroad,
    SourceTimeout,
    SourceUnavailable,
)
from connectors.mapping import load_mapping, parse_mapping
from connectors.rest.breaker import State
from connectors.rest.connector import RestConnector
from connectors.rest.factory import MAPPING_KEYS, build_rest_connector
from connectors.rows import PARTITION
from connectors.sql.connector import SqlConnector
from huitong.settings import SourceSettings
from tests.connectors.rest.fake_api import (
    METHODS,
    STATUSES,
    ApiServer,
    ApiState,
    free_port,
    payments,
)

DISTRICT = (Condition("regionCode", Op.WITHIN, "330108"),)
FIELDS = ("regionCode", "paymentNo", "method", "payeeName", "payeeKind", "payeeIdNumber",
          "amount", "paidAt", "status", "budgetIndicatorId", "economicCode")
BY_PAID = (OrderKey("paidAt", descending=True), OrderKey("id"))
BY_ID = (OrderKey("id"),)


def api_fields(amount: Any) -> dict[str, Any]:
    return {
        "id": "zfid", "regionCode": "qhdm", "paymentNo": "zfdh", "budgetIndicatorId": "zbid",
        "reimbursementId": "bxdid", "method": {"column": "zffs", "values": METHODS},
        "payeeName": "skr.mc",
        "payeeKind": {"column": "skr.lx", "values": {"ORG": "1", "PERSON": "2"}},
        "payeeIdNumber": "skr.zjhm", "payeeAccount": "skr.zh", "amount": amount,
        "purpose": "yt", "functionCode": "gnkm", "economicCode": "jjkm", "paidAt": "zfsj",
        "status": {"column": "zt", "values": STATUSES},
    }


PUSHDOWN = {
    "regionCode_within": "region_prefix", "status_eq": "status", "method_eq": "method",
    "paidAt_gte": {"param": "paid_from", "format": "%Y-%m-%d %H:%M:%S"},
    "paidAt_lte": {"param": "paid_to", "format": "%Y-%m-%d %H:%M:%S"}, "id_in": "ids",
}
SORT = {"param": "sort", "fields": {"paidAt": "paid_at", "id": "id", "amount": "amount"}}

VARIANTS: dict[str, dict[str, Any]] = {
    "page+pushdown": {"path": "/api/payments", "items": "data.list", "total": "data.total",
                      "pushdown": PUSHDOWN, "sort": SORT, "fields": api_fields("je"),
                      "pagination": {"style": "page", "size": 25}},
    "page": {"path": "/api/payments", "items": "data.list", "fields": api_fields("je"),
             "pagination": {"style": "page", "size": 25}},
    "offset": {"path": "/api/offset/payments", "items": "items", "total": "total",
               "pushdown": {"regionCode_within": "region_prefix"},
               "fields": api_fields({"column": "je", "unit": "fen"}),
               "pagination": {"style": "offset", "size": 30}},
    "cursor": {"path": "/api/cursor/payments", "items": "results", "fields": api_fields("je"),
               "pagination": {"style": "cursor", "size": 20, "next": "next"}},
    "none": {"path": "/api/plain/payments", "fields": api_fields("je"),
             "pagination": {"style": "none"}},
}


def rest(url: str, variant: str | dict[str, Any], **options: Any) -> RestConnector:
    spec = VARIANTS[variant] if isinstance(variant, str) else variant
    source = SourceSettings(
        "finance_api", "rest",
        {"base_url": url + "/", "retries": 0, "backoff_seconds": 0.01, "timeout_seconds": 5,
         "entities": {"Payment": spec}, **options},
        Path("."), "huitong.toml: [sources.finance_api]",
    )
    connector = build_rest_connector(source, load_mapping(source, MAPPING_KEYS))
    assert isinstance(connector, RestConnector)
    return connector


@pytest.fixture(scope="module")
def api() -> Iterator[ApiServer]:
    server = ApiServer(ApiState())
    server.start()
    yield server
    server.stop()


@pytest.fixture
def state(api: ApiServer) -> Iterator[ApiState]:
    api.state.reset()
    yield api.state
    api.state.reset()


@pytest.fixture(scope="module")
async def reference(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[SqlConnector]:
    """The same payments in SQLite, read by the SQL connector: the behaviour to match."""
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('ref') / 'ref.db'}"
    meta = sa.MetaData()
    columns: list[sa.Column[Any]] = [sa.Column("id", sa.Integer, primary_key=True),
                                     sa.Column("amount_fen", sa.Integer),
                                     sa.Column("paidAt", sa.DateTime)]
    columns += [sa.Column(n, sa.String) for n in api_fields("je")
                if n not in ("id", "amount", "paidAt")]
    table = sa.Table("payments", meta, *columns)
    engine = create_async_engine(url)
    async with engine.begin() as conn:
        await conn.run_sync(meta.create_all)
        await conn.execute(table.insert(), [
            {**{k: v for k, v in r.items() if k != "amount"}, "id": int(r["id"]),
             "amount_fen": int(r["amount"] * 100)} for r in payments()])
    await engine.dispose()
    fields = {n: n for n in api_fields("je")} | {"amount": {"column": "amount_fen", "unit": "fen"}}
    mapping = parse_mapping({"entities": {"Payment": {"table": "payments", "fields": fields}}},
                            "ref", ("table",))
    connector = SqlConnector("reference", url, mapping)
    await connector.open()
    yield connector
    await connector.close()


@pytest.fixture
async def opened(request: pytest.FixtureRequest, api: ApiServer) -> AsyncIterator[Connector]:
    connector = rest(api.url, request.param)
    await connector.open()
    yield connector
    await connector.close()


def q(where: tuple[Condition, ...] = (), order: tuple[OrderKey, ...] = BY_ID,
      limit: int | None = None, scope: tuple[Condition, ...] = DISTRICT,
      after: tuple[Any, ...] | None = None, partition: Partition | None = None) -> ScopedQuery:
    return ScopedQuery(EntityQuery("Payment", FIELDS, where, order, limit, after, partition),
                       scope)


QUERIES = {
    "scope only, newest first": q(order=BY_PAID, limit=10),
    "status and date, pushed": q((Condition("status", Op.EQ, "PAID"),
                                  Condition("paidAt", Op.GTE, dt.datetime(2024, 3, 1))),
                                 (OrderKey("amount"), OrderKey("id")), 15),
    "methods and amount, hub-side": q((Condition("method", Op.IN, ("CASH", "TRANSFER")),
                                       Condition("amount", Op.GTE, Decimal("1000")))),
    "nested subtree": q((Condition("regionCode", Op.WITHIN, "330108001002"),),
                        scope=(Condition("regionCode", Op.WITHIN, "330108001"),)),
    "null test and contains": q((Condition("payeeIdNumber", Op.IS_NULL, False),
                                 Condition("purpose", Op.CONTAINS, "会议"))),
    "ids": q((Condition("id", Op.IN, ("3", "30", "33", "99", "999", "5")),)),
    "unknown code": q((Condition("status", Op.EQ, "NO_SUCH_STATUS"),)),
    "no rows in scope": q(scope=(Condition("id", Op.IN, ()),)),
    "aware datetime bound": q((Condition("paidAt", Op.LTE, dt.datetime.fromisoformat(
        "2024-03-05T09:30:00+08:00")),), BY_PAID, 20),
    "money not equal": q((Condition("amount", Op.NE, Decimal("411.03")),
                          Condition("economicCode", Op.EQ, "30201"))),
}


@pytest.mark.parametrize("opened", list(VARIANTS), indirect=True)
@pytest.mark.parametrize("name", list(QUERIES))
async def test_fetch_and_count_match_the_sql_connector(
    opened: Connector, reference: SqlConnector, state: ApiState, name: str
) -> None:
    query = QUERIES[name]
    expected = await reference.fetch(query)
    got = await opened.fetch(query)
    assert got == expected
    assert all(isinstance(r["amount"], Decimal) for r in got)
    assert await opened.count(query) == await reference.count(query)
    if name not in ("unknown code", "no rows in scope"):
        assert expected, "the query should select something"
    else:
        assert not state.requests, "an impossible condition needs no request"


@pytest.mark.parametrize("opened", ["page+pushdown", "page", "cursor"], indirect=True)
async def test_keyset_pages_walk_the_whole_result(
    opened: Connector, reference: SqlConnector, state: ApiState
) -> None:
    where = (Condition("status", Op.NE, "RETURNED"),)
    pages, after = [], None
    while True:
        page = await opened.fetch(q(where, BY_PAID, 7, after=after))
        assert page == await reference.fetch(q(where, BY_PAID, 7, after=after))
        if not page:
            break
        pages.extend(page)
        after = (page[-1]["paidAt"], page[-1]["id"])
    assert pages == await reference.fetch(q(where, BY_PAID))
    assert len({r["id"] for r in pages}) == len(pages) == 64


@pytest.mark.parametrize("opened", ["page+pushdown", "offset", "none"], indirect=True)
@pytest.mark.parametrize("partition", [
    Partition("regionCode", ("330108001001", "330108002001", "330110001001"), 3),
    Partition("regionCode", ("330108001", "330108003"), 4, prefix_length=9),
    Partition("budgetIndicatorId", ("101", "103", "104", "999"), 2),
], ids=["by region", "by subtree", "by indicator"])
async def test_partitions_and_their_counts(
    opened: Connector, reference: SqlConnector, state: ApiState, partition: Partition
) -> None:
    query = q(order=BY_PAID, partition=partition)
    got = await opened.fetch(query)
    assert got == await reference.fetch(query)
    assert all(PARTITION in r for r in got) and got
    assert await opened.count_partitioned(query) == await reference.count_partitioned(query)
    # Scope holds inside partitions: the other district's key gets nothing.
    assert not [r for r in got if r[PARTITION] == "330110001001"]


@pytest.mark.parametrize("opened", ["page+pushdown", "cursor"], indirect=True)
async def test_aggregates_are_exact_and_leave_out_small_groups(
    opened: Connector, reference: SqlConnector, state: ApiState
) -> None:
    dims = (Dimension("regionCode", "regionCode", Transform.PREFIX, 9),
            Dimension("month", "paidAt", Transform.MONTH),
            Dimension("method", "method"))
    agg = AggregateQuery("Payment", "amount", dims, (Condition("status", Op.EQ, "PAID"),))
    everything = await opened.aggregate(ScopedAggregate(agg, DISTRICT, 1))
    assert everything == await reference.aggregate(ScopedAggregate(agg, DISTRICT, 1))
    paid = [r for r in payments() if r["status"] == "PAID" and r["regionCode"][:6] == "330108"]
    assert sum(g["total"] for g in everything) == sum(r["amount"] for r in paid)
    assert all(isinstance(g["total"], Decimal) for g in everything)
    large = await opened.aggregate(ScopedAggregate(agg, DISTRICT, 3))
    assert large == await reference.aggregate(ScopedAggregate(agg, DISTRICT, 3))
    assert len(large) == 4 and len(everything) == 12 and all(g["count"] == 4 for g in large)
    monthly = AggregateQuery("Payment", "amount", (dims[1],), (), limit=3)
    assert await opened.aggregate(ScopedAggregate(monthly, DISTRICT)) == \
        await reference.aggregate(ScopedAggregate(monthly, DISTRICT))


async def test_pushdown_narrows_the_transfer_but_scope_holds_without_it(
    api: ApiServer, state: ApiState
) -> None:
    query = q((Condition("status", Op.EQ, "PAID"),), scope=(
        Condition("regionCode", Op.WITHIN, "330108001"),))
    pushed, plain = rest(api.url, "page+pushdown"), rest(api.url, "page")
    for c in (pushed, plain):
        await c.open()
    try:
        rows = await pushed.fetch(query)
        assert state.requests[0][1] | {"page": "1"} == {
            "region_prefix": "330108001", "status": "20", "page": "1", "page_size": "25"}
        scanned_pushed = pushed.last_scanned
        state.requests.clear()
        assert await plain.fetch(query) == rows
        assert all("region_prefix" not in params for _, params, _ in state.requests)
        assert plain.last_scanned == 120 and scanned_pushed == len(rows) == 16
        assert {r["regionCode"][:9] for r in rows} == {"330108001"}
    finally:
        for c in (pushed, plain):
            await c.close()


async def test_a_long_id_list_goes_in_chunks(
    api: ApiServer, state: ApiState, reference: SqlConnector
) -> None:
    """A DataLoader asks for many keys at once: the URL stays short, the answer whole."""
    connector = rest(api.url, "page+pushdown")
    await connector.open()
    try:
        ids = tuple(str(i) for i in range(250, 0, -1))
        query = q((Condition("id", Op.IN, ids),), BY_PAID, limit=90)
        assert await connector.fetch(query) == await reference.fetch(query)
        sent = [chunk.split(",") for chunk in dict.fromkeys(
            params["ids"] for _, params, _ in state.requests)]
        assert [len(chunk) for chunk in sent] == [100, 100, 50]
        assert {i for chunk in sent for i in chunk} == set(ids)
        assert all(len(params["ids"]) < 500 for _, params, _ in state.requests)
        assert await connector.count(query) == 96
    finally:
        await connector.close()


async def test_an_api_that_ignores_a_parameter_cannot_widen_scope(
    api: ApiServer, state: ApiState
) -> None:
    spec = {**VARIANTS["page"], "pushdown": {"regionCode_within": "regio_prefix"}}
    connector = rest(api.url, spec)
    await connector.open()
    try:
        rows = await connector.fetch(q(scope=(Condition("regionCode", Op.WITHIN, "330108002"),)))
        assert state.requests[0][1]["regio_prefix"] == "330108002"
        assert len(rows) == 24 and {r["regionCode"] for r in rows} == {"330108002001"}
        assert await connector.count(q(scope=(Condition("regionCode", Op.WITHIN, "330110"),))) \
            == 24
    finally:
        await connector.close()


async def test_sorted_api_stops_paging_when_the_page_is_full(
    api: ApiServer, state: ApiState, reference: SqlConnector
) -> None:
    connector = rest(api.url, "page+pushdown")
    await connector.open()
    try:
        query = q(order=BY_PAID, limit=5)
        assert await connector.fetch(query) == await reference.fetch(query)
        assert len(state.requests) == 1 and state.requests[0][1]["sort"] == "-paid_at,id"
        state.requests.clear()
        # Ordered on a field the API cannot sort by: every page is read, sorted hub-side.
        by_no = q(order=(OrderKey("paymentNo", descending=True), OrderKey("id")), limit=5)
        assert await connector.fetch(by_no) == await reference.fetch(by_no)
        assert len(state.requests) == 4
    finally:
        await connector.close()


async def test_a_wrong_sort_declaration_falls_back_to_hub_side_order(
    api: ApiServer, state: ApiState, reference: SqlConnector
) -> None:
    spec = {**VARIANTS["page+pushdown"],
            "sort": {"param": "sort", "fields": {"payeeName": "amount", "id": "id"}}}
    connector = rest(api.url, spec)
    await connector.open()
    try:
        query = q(order=(OrderKey("payeeName"), OrderKey("id")), limit=10)
        assert await connector.fetch(query) == await reference.fetch(query)
    finally:
        await connector.close()


async def test_count_uses_the_api_total_only_when_everything_is_pushed(
    api: ApiServer, state: ApiState
) -> None:
    connector = rest(api.url, "page+pushdown")
    await connector.open()
    try:
        assert await connector.count(q((Condition("status", Op.EQ, "PAID"),))) == 32
        assert len(state.requests) == 1 and state.requests[0][1]["page_size"] == "1"
        state.requests.clear()
        assert await connector.count(q((Condition("amount", Op.GT, Decimal("2500")),))) == 43
        assert len(state.requests) == 4
    finally:
        await connector.close()


async def test_scan_cap_refuses_queries_the_api_cannot_narrow(
    api: ApiServer, state: ApiState
) -> None:
    street = (Condition("regionCode", Op.WITHIN, "330108001"),)
    for variant, fails in (("page", True), ("page+pushdown", False)):
        connector = rest(api.url, variant, max_scan_rows=50)
        await connector.open()
        try:
            if fails:
                with pytest.raises(SourceQueryTooBroad) as info:
                    await connector.fetch(q(scope=street))
                assert info.value.code == "SOURCE_QUERY_TOO_BROAD"
                assert "more than 50 rows" in info.value.detail
                assert isinstance(info.value, SourceError)
            else:
                assert len(await connector.fetch(q(scope=street))) == 48
        finally:
            await connector.close()


async def test_token_from_the_environment_is_sent(api: ApiServer, state: ApiState) -> None:
    connector = rest(api.url, "none", token="s3cret-token")
    await connector.open()
    try:
        await connector.fetch(q(limit=1))
        assert state.requests[0][2] == "Bearer s3cret-token"
    finally:
        await connector.close()


async def test_slow_answers_become_source_timeout(api: ApiServer, state: ApiState) -> None:
    state.delay = 1.0
    connector = rest(api.url, "none", timeout_seconds=0.2, retries=1)
    await connector.open()
    try:
        with pytest.raises(SourceTimeout) as info:
            await connector.fetch(q())
        assert info.value.code == "SOURCE_TIMEOUT" and len(state.requests) == 2
        deadline = rest(api.url, "cursor", timeout_seconds=2, deadline_seconds=0.5)
        await deadline.open()
        state.delay = 0.3
        with pytest.raises(SourceTimeout, match="no complete answer"):
            await deadline.fetch(q())
        await deadline.close()
    finally:
        await connector.close()


async def test_a_server_that_is_down_is_unavailable() -> None:
    connector = rest(f"http://127.0.0.1:{free_port()}", "none", retries=2)
    await connector.open()
    try:
        with pytest.raises(SourceUnavailable) as info:
            await connector.fetch(q())
        assert info.value.code == "SOURCE_UNAVAILABLE" and "cannot connect" in info.value.detail
        assert connector.http.requests == 3
        health = await connector.health()
        assert not health.ok and health.detail.startswith("SOURCE_UNAVAILABLE")
    finally:
        await connector.close()


async def test_retries_then_success_and_no_retry_on_4xx_or_misconfiguration(
    api: ApiServer, state: ApiState
) -> None:
    connector = rest(api.url, "none", retries=2)
    await connector.open()
    try:
        state.fail_next = 2
        assert len(await connector.fetch(q())) == 96
        assert len(state.requests) == 3
        state.requests.clear()
        state.fail_next = 3
        with pytest.raises(SourceUnavailable, match="HTTP 503"):
            await connector.fetch(q())
        assert len(state.requests) == 3
        missing = rest(api.url, {**VARIANTS["none"], "path": "/api/nothing"}, retries=2)
        await missing.open()
        state.requests.clear()
        with pytest.raises(SourceError, match="HTTP 404") as info:
            await missing.fetch(q())
        assert info.value.code == "SOURCE_MISCONFIGURED" and missing.http.requests == 1
        assert missing.breaker.state is State.CLOSED
        await missing.close()
        wrong_items = rest(api.url, {**VARIANTS["page"], "items": "data.rows"})
        await wrong_items.open()
        with pytest.raises(SourceError, match=r"expected a list at data\.rows") as info:
            await wrong_items.fetch(q())
        assert info.value.code == "SOURCE_MISCONFIGURED"
        await wrong_items.close()
        assert (await connector.health()).ok
    finally:
        await connector.close()


async def test_circuit_breaker_opens_fails_fast_and_recovers() -> None:
    server = ApiServer(ApiState())
    server.start()
    connector = rest(server.url, "none", breaker_failures=2, breaker_cooldown_seconds=0.4)
    await connector.open()
    try:
        assert len(await connector.fetch(q())) == 96
        server.stop()
        for _ in range(2):
            with pytest.raises(SourceUnavailable, match="cannot connect"):
                await connector.fetch(q())
        assert connector.breaker.state is State.OPEN
        sent = connector.http.requests
        with pytest.raises(SourceUnavailable, match="circuit open"):
            await connector.fetch(q())
        assert connector.http.requests == sent, "an open circuit sends nothing"
        await asyncio.sleep(0.45)
        with pytest.raises(SourceUnavailable, match="cannot connect"):
            await connector.fetch(q())  # the half-open probe fails: open again
        assert connector.breaker.state is State.OPEN
        server.start()
        with pytest.raises(SourceUnavailable, match="circuit open"):
            await connector.fetch(q())
        await asyncio.sleep(0.45)
        assert len(await connector.fetch(q())) == 96
        assert connector.breaker.state is State.CLOSED and connector.breaker.failures == 0
        assert (await connector.health()).ok
    finally:
        await connector.close()
        server.stop()


async def test_health_reports_latency_and_failures(api: ApiServer, state: ApiState) -> None:
    probe = rest(api.url, "page+pushdown")
    pinged = rest(api.url, "none", health_path="/health", retries=3)
    for c in (probe, pinged):
        await c.open()
    try:
        health = await probe.health()
        assert health.ok and health.kind == "rest" and health.latency_ms > 0
        assert state.requests[-1][1] == {"page": "1", "page_size": "1"}
        assert (await pinged.health()).ok and state.requests[-1][0] == "/health"
        state.fail_next = 1
        failed = await pinged.health()
        assert not failed.ok and failed.detail == "SOURCE_UNAVAILABLE: GET /health: HTTP 503"
        assert state.fail_next == 0, "health makes one attempt, no retries"
    finally:
        for c in (probe, pinged):
            await c.close()


@pytest.mark.parametrize(("options", "entity", "message"), [
    ({"base_url": "ftp://x"}, {}, "base_url: expected an http"),
    ({"colour": "red"}, {}, "colour: unknown key"),
    ({}, {"pushdown": {"amount_between": "x"}}, "pushdown.amount_between: expected"),
    ({}, {"pagination": {"style": "pages"}}, "pagination.style: expected one of"),
    ({}, {"path": "payments"}, "path: expected the endpoint's path"),
    ({"retries": -1}, {}, "retries: expected an integer"),
    ({}, {"sort": {"param": "s", "fields": {"nope": "x"}}}, "sort.fields"),
])
def test_configuration_errors_name_the_key(
    options: dict[str, Any], entity: dict[str, Any], message: str
) -> None:
    spec = {**VARIANTS["page+pushdown"], **entity}
    with pytest.raises(MappingError, match=message) as info:
        rest("http://127.0.0.1:1", spec, **options)
    assert "[sources.finance_api]" in str(info.value)
