"""The SQL connector against a source with its own names and codes, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
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
from connectors.base import SourceMisconfigured, SourceUnavailable
from connectors.mapping import parse_mapping
from connectors.rows import PARTITION
from connectors.sql.connector import SqlConnector

MAPPING = {
    "entities": {
        "Payment": {
            "table": "zf",
            "fields": {
                "id": "zf_id", "regionCode": "qhdm", "paymentNo": "zfbh",
                "budgetIndicatorId": "zbid", "reimbursementId": "bxid",
                "method": {"column": "zffs", "values": {"TREASURY": "1", "TRANSFER": "2",
                                                        "OFFICIAL_CARD": "3", "CASH": "4"}},
                "payeeName": "skr", "payeeKind": {"column": "sklx", "values": {
                    "ORG": "D", "PERSON": "G"}},
                "payeeIdNumber": "sfzh", "payeeAccount": "zh",
                "amount": {"column": "je_fen", "unit": "fen"},
                "purpose": "yt", "functionCode": "gnkm", "economicCode": "jjkm",
                "paidAt": "zfsj", "status": {"column": "zt", "values": {
                    "PENDING": "0", "PAID": "1", "RETURNED": "9"}},
            },
        }
    }
}
REGIONS = ["330108001001", "330108001002", "330108002001", "330102016001"]
ALL_FIELDS = ("id", "regionCode", "paymentNo", "amount", "method", "paidAt", "economicCode")


def _rows() -> list[dict[str, Any]]:
    rows = []
    for i in range(1, 61):
        rows.append({
            "zf_id": i, "qhdm": REGIONS[i % 4], "zfbh": f"ZF{i:04d}", "zbid": i % 5 or None,
            "bxid": None, "zffs": "1234"[(i // 3) % 4], "skr": f"单位{i % 7}", "sklx": "D",
            "sfzh": None, "zh": "6222020000000000", "je_fen": 1000 * (i % 9) + 1,
            "yt": "办公用品", "gnkm": "2010101", "jjkm": ["30201", "30211", "30215"][i % 3],
            "zfsj": dt.datetime(2024, 1 + i % 12, 1 + i % 27, 10, 0),
            "zt": "1" if i % 10 else "0",
        })
    return rows


@pytest.fixture
async def connector(database_url: str) -> Any:
    engine = create_async_engine(database_url)
    meta = sa.MetaData()
    table = sa.Table(
        "zf", meta,
        sa.Column("zf_id", sa.Integer, primary_key=True),
        sa.Column("qhdm", sa.String(12)), sa.Column("zfbh", sa.String(20)),
        sa.Column("zbid", sa.Integer), sa.Column("bxid", sa.Integer),
        sa.Column("zffs", sa.String(1)), sa.Column("skr", sa.String(50)),
        sa.Column("sklx", sa.String(1)), sa.Column("sfzh", sa.String(18)),
        sa.Column("zh", sa.String(30)), sa.Column("je_fen", sa.BigInteger),
        sa.Column("yt", sa.String(50)), sa.Column("gnkm", sa.String(7)),
        sa.Column("jjkm", sa.String(5)), sa.Column("zfsj", sa.DateTime),
        sa.Column("zt", sa.String(1)),
    )
    async with engine.begin() as conn:
        await conn.run_sync(meta.create_all)
        await conn.execute(table.insert(), _rows())
    await engine.dispose()
    conn_ = SqlConnector("finance", database_url, parse_mapping(MAPPING, "m", ("table",)))
    await conn_.open()
    yield conn_
    await conn_.close()


def q(where: tuple[Condition, ...] = (), **kw: Any) -> ScopedQuery:
    scope = kw.pop("scope", ())
    return ScopedQuery(EntityQuery("Payment", kw.pop("fields", ALL_FIELDS), where, **kw), scope)


async def test_rows_come_back_canonical(connector: SqlConnector) -> None:
    rows = await connector.fetch(q(order=(OrderKey("id"),), limit=2))
    assert rows[0] == {
        "id": "1", "regionCode": "330108001002", "paymentNo": "ZF0001",
        "amount": Decimal("10.01"), "method": "TREASURY",
        "paidAt": dt.datetime(2024, 2, 2, 10, 0), "economicCode": "30211",
    }
    assert isinstance(rows[0]["amount"], Decimal)


async def test_scope_filters_and_codes_are_pushed_down(connector: SqlConnector) -> None:
    scope = (Condition("regionCode", Op.WITHIN, "330108001"),)
    rows = await connector.fetch(q((Condition("method", Op.EQ, "CASH"),
                                    Condition("amount", Op.GTE, Decimal("30.00"))),
                                   scope=scope, order=(OrderKey("id"),)))
    assert rows and all(r["regionCode"].startswith("330108001") for r in rows)
    assert all(r["method"] == "CASH" and r["amount"] >= Decimal("30.00") for r in rows)
    expected = [r for r in _rows() if r["qhdm"].startswith("330108001") and r["zffs"] == "4"
                and r["je_fen"] >= 3000]
    assert [r["id"] for r in rows] == [str(r["zf_id"]) for r in expected]


async def test_jurisdiction_prefix_never_matches_a_sibling_with_more_digits(
    connector: SqlConnector,
) -> None:
    # 33010 would match 330102…, but a county-level prefix is six digits, never stripped.
    count = await connector.count(q(scope=(Condition("regionCode", Op.WITHIN, "330108"),)))
    assert count == sum(1 for r in _rows() if r["qhdm"].startswith("330108"))


async def test_unknown_codes_and_bad_ids_match_nothing(connector: SqlConnector) -> None:
    assert await connector.count(q((Condition("method", Op.EQ, "BARTER"),))) == 0
    assert await connector.count(q((Condition("id", Op.EQ, "not-a-number"),))) == 0
    assert await connector.count(q((Condition("id", Op.IN, ("1", "x", "3")),))) == 2


async def test_keyset_pages_cover_everything_once(connector: SqlConnector) -> None:
    order = (OrderKey("amount", descending=True), OrderKey("paidAt"), OrderKey("id"))
    seen: list[str] = []
    after = None
    while True:
        rows = await connector.fetch(q(order=order, limit=7, after=after))
        seen += [r["id"] for r in rows]
        if len(rows) < 7:
            break
        last = rows[-1]
        after = (last["amount"], last["paidAt"], last["id"])
    everything = await connector.fetch(q(order=order))
    assert seen == [r["id"] for r in everything]
    assert len(seen) == len(set(seen)) == 60


async def test_partitioned_fetch_limits_per_key(connector: SqlConnector) -> None:
    rows = await connector.fetch(q(fields=("id", "regionCode"), order=(OrderKey("id"),),
                                   partition=Partition("regionCode", ("330108", "330102"), 3, 6)))
    by_key: dict[str, list[str]] = {}
    for r in rows:
        by_key.setdefault(r[PARTITION], []).append(r["id"])
    assert by_key == {"330102": ["3", "7", "11"], "330108": ["1", "2", "4"]}
    counts = await connector.count_partitioned(q(
        partition=Partition("regionCode", ("330108", "330102"), 3, 6)))
    assert counts == {"330102": 15, "330108": 45}


async def test_aggregate_groups_in_the_source(connector: SqlConnector) -> None:
    agg = AggregateQuery("Payment", "amount", (
        Dimension("regionCode", "regionCode", Transform.PREFIX, 9),
        Dimension("month", "paidAt", Transform.MONTH),
    ))
    groups = await connector.aggregate(ScopedAggregate(agg, ()))
    assert sum(g["count"] for g in groups) == 60
    assert sum(g["total"] for g in groups) == Decimal(sum(r["je_fen"] for r in _rows())) / 100
    by_method = await connector.aggregate(ScopedAggregate(
        AggregateQuery("Payment", "amount", (Dimension("method", "method"),)), ()))
    assert {g["method"] for g in by_method} == {"TREASURY", "TRANSFER", "OFFICIAL_CARD", "CASH"}
    assert all(len(g["month"]) == 7 and g["month"].startswith("2024-") for g in groups)
    smallest = min(g["count"] for g in groups)
    for k in (smallest, smallest + 1):
        kept = await connector.aggregate(ScopedAggregate(agg, (), min_group_size=k))
        assert kept == [g for g in groups if g["count"] >= k]
    assert len(kept) < len(groups)


async def test_missing_column_is_a_mapping_error(database_url: str, connector: Any) -> None:
    bad = {"entities": {"Payment": {**MAPPING["entities"]["Payment"]}}}
    bad["entities"]["Payment"]["fields"] = {**bad["entities"]["Payment"]["fields"],
                                            "purpose": "no_such_col"}
    c = SqlConnector("finance", database_url, parse_mapping(bad, "m", ("table",)))
    await c.open()
    try:
        with pytest.raises(SourceMisconfigured, match="no_such_col") as info:
            await c.count(q())
        assert info.value.code == "SOURCE_MISCONFIGURED"
        health = await c.health()
        assert not health.ok and health.detail == "SOURCE_MISCONFIGURED"
    finally:
        await c.close()


async def test_unreachable_source_is_source_unavailable() -> None:
    c = SqlConnector("gone", "postgresql+asyncpg://postgres@127.0.0.1:1/none",
                     parse_mapping(MAPPING, "m", ("table",)), timeout=3)
    await c.open()
    try:
        with pytest.raises(SourceUnavailable) as info:
            await c.count(q())
        assert info.value.code == "SOURCE_UNAVAILABLE"
        health = await c.health()
        assert not health.ok and health.detail == "SOURCE_UNAVAILABLE"
    finally:
        await c.close()


async def test_only_the_canonical_spelling_of_an_id_names_a_row(connector: SqlConnector) -> None:
    assert await connector.count(q((Condition("id", Op.EQ, "12"),))) == 1
    for spelling in (" 12", "012", "１２", "1_2", "+12", "12 "):
        assert await connector.count(q((Condition("id", Op.EQ, spelling),))) == 0, spelling
