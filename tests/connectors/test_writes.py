"""Writes through the one road, for every kind that writes: the same battery against the `sql`
connector (SQLite and PostgreSQL) and the `rest` connector (the demo's disclosure service,
which keeps what it is sent), each behind a real `Gateway` with a real policy.

A write is a scoped command: only granted fields, values checked against the catalog, rows
only inside the writer's jurisdiction and static conditions; a row outside them answers like a
missing one; every write leaves digests of the row before and after in the access log; the
source's own names, codes, units and id columns are used as for reads. `file` sources take no
writes at all.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from auth.access.policy import parse_policy
from auth.access.scope import AccessDenied, OutOfScope, Scoper
from auth.audit import AccessLog, row_digest
from auth.identity.principal import Principal
from auth.model.query import Condition, EntityQuery, Op, OrderKey
from auth.model.values import InvalidValue
from connectors.base import Connector, MappingError, SourceReadOnly, WriteRejected
from connectors.gateway import Gateway, NotFound, Sources
from connectors.mapping import load_mapping, parse_mapping
from connectors.registry import build_connector
from connectors.rest.factory import MAPPING_KEYS as REST_KEYS
from connectors.rest.factory import build_rest_connector
from connectors.sql.connector import SqlConnector
from huitong.demo.disclosure_api import disclosure_app, rest_source
from huitong.demo.json_api import ApiThread
from huitong.settings import SourceSettings
from tests.conftest import PostgresDatabases, fresh_database_url, require_postgres

HOME = "330108001001"     # inside the writer's street (西兴街道)
NEIGHBOUR = "330108002001"  # 长河街道: outside it
STREET = "330108001000"
WHEN = dt.datetime(2024, 10, 9, 9, 30)
DOMAINS = {"PARTY": "1", "AFFAIRS": "2", "FINANCE": "3"}
STATUSES = {"DRAFT": "0", "REVIEWED": "1", "PUBLISHED": "2", "WITHDRAWN": "3"}
WRITTEN = ["regionCode", "domain", "title", "period", "body", "status", "publishedAt"]

SQL_MAPPING: dict[str, Any] = {"entities": {
    "Disclosure": {
        "table": "gk",
        "fields": {"id": "gk_id", "regionCode": "qhdm",
                   "domain": {"column": "gklb", "values": DOMAINS}, "title": "bt",
                   "period": "gkqj", "body": "nr",
                   "status": {"column": "zt", "values": STATUSES}, "publishedAt": "fbsj"},
        "write": {"fields": WRITTEN, "insert_id": "next"},
    },
    "InspectionCase": {
        "table": "xs",
        "fields": {"id": "xs_id", "regionCode": "qhdm", "subject": "xsbt",
                   "source": {"column": "xsly", "values": {
                       "PETITION": "1", "PATROL": "2", "AUDIT": "3", "PUBLIC": "4",
                       "ALERT": "5"}},
                   "summary": "zyqk",
                   "status": {"column": "blzt", "values": {
                       "OPEN": "0", "INVESTIGATING": "1", "CLOSED": "2"}},
                   "openedAt": "slsj", "closedAt": "bjsj"},
        "write": {"fields": ["regionCode", "subject", "source", "summary", "status",
                             "openedAt", "closedAt"], "insert_id": "uuid"},
    },
    "Subsidy": {
        "table": "bt",
        "fields": {"id": "bt_id", "regionCode": "qhdm", "batchNo": "pch",
                   "subsidyType": "btlx", "period": "ssq", "recipientName": "xm",
                   "recipientIdNumber": "sfzh", "amount": {"column": "je_fen", "unit": "fen"},
                   "bankCard": "kh", "paidAt": "ffsj",
                   "result": {"column": "jg", "values": {
                       "SUCCESS": "1", "FAILED": "2", "RETURNED": "3"}},
                   "published": "gs"},
        "write": {"fields": ["regionCode", "batchNo", "subsidyType", "period",
                             "recipientName", "recipientIdNumber", "amount", "bankCard",
                             "paidAt", "result", "published"]},
    },
    "Resident": {  # read-only at this source: no write table
        "table": "jm",
        "fields": {"id": "jm_id", "regionCode": "qhdm", "name": "xm", "idNumber": "sfzh",
                   "deceasedOn": "swrq", "lowIncome": "dbbz"},
    },
}}

POLICY = parse_policy({"roles": {
    "clerk": {"entities": {
        "Disclosure": {"fields": "*", "filter": "*", "write": WRITTEN},
        "InspectionCase": {"fields": "*", "write": "*"},
        "Subsidy": {"fields": "*", "masked": {"recipientIdNumber": "id_number"},
                    "write": ["regionCode", "batchNo", "subsidyType", "period",
                              "recipientName", "amount", "bankCard", "paidAt", "result",
                              "published"]},
        "Resident": {"fields": "*", "write": ["lowIncome"]},
    }},
    # Works on unpublished items only: its static condition bounds what it may change.
    "editor": {"entities": {
        "Disclosure": {"fields": "*", "where": {"status": ["DRAFT", "REVIEWED"]},
                       "write": ["title", "body", "status"]},
    }},
    "reader": {"entities": {"Disclosure": {"fields": "*"}}},
    "registrar": {"entities": {"Subsidy": {"fields": "*", "write": "*"}}},
}}, "test policy")


def _draft(region: str = HOME, **overrides: Any) -> dict[str, Any]:
    return {"regionCode": region, "domain": "FINANCE", "title": "2024年第三季度财务收支公开",
            "period": "2024Q3", "body": "本季度支出合计12,345.67元。", "status": "DRAFT",
            "publishedAt": None, **overrides}


SEED = [
    {"id": "1", **_draft(title="第一季度公开", period="2024Q1", status="PUBLISHED",
                         publishedAt=dt.datetime(2024, 4, 10, 9, 0))},
    {"id": "2", **_draft(region=NEIGHBOUR, title="邻街草稿")},
    {"id": "3", **_draft(title="待审核", status="REVIEWED")},
]


@dataclass
class Source:
    kind: str
    connector: Connector
    stored: Any  # async (entity, id) -> the raw record as the source keeps it, or None

    def gateway(self, role: str = "clerk", region: str = STREET) -> tuple[Gateway, AccessLog]:
        log = AccessLog()
        principal = Principal(f"test-{role}", role, region_code=region, credential="jwt:t")
        role_policy = POLICY.roles[role]
        return Gateway(Scoper(role_policy, principal), Sources({"src": self.connector}),
                       log=log), log


def _tables(meta: sa.MetaData) -> None:
    sa.Table("gk", meta, sa.Column("gk_id", sa.Integer, primary_key=True, autoincrement=False),
             sa.Column("qhdm", sa.String(12), nullable=False),
             sa.Column("gklb", sa.String(1), nullable=False),
             sa.Column("bt", sa.String(40), nullable=False),
             sa.Column("gkqj", sa.String(10), nullable=False),
             sa.Column("nr", sa.Text, nullable=False),
             sa.Column("zt", sa.String(1), nullable=False), sa.Column("fbsj", sa.DateTime))
    sa.Table("xs", meta, sa.Column("xs_id", sa.String(32), primary_key=True),
             sa.Column("qhdm", sa.String(12), nullable=False),
             sa.Column("xsbt", sa.String(100), nullable=False),
             sa.Column("xsly", sa.String(1), nullable=False),
             sa.Column("zyqk", sa.Text, nullable=False),
             sa.Column("blzt", sa.String(1), nullable=False),
             # A legacy system that keeps times as text.
             sa.Column("slsj", sa.String(19), nullable=False), sa.Column("bjsj", sa.DateTime))
    sa.Table("bt", meta, sa.Column("bt_id", sa.Integer, primary_key=True, autoincrement=True),
             sa.Column("qhdm", sa.String(12), nullable=False),
             sa.Column("pch", sa.String(20), nullable=False),
             sa.Column("btlx", sa.String(20), nullable=False),
             sa.Column("ssq", sa.String(7), nullable=False),
             sa.Column("xm", sa.String(20), nullable=False),
             sa.Column("sfzh", sa.String(18), nullable=False),
             sa.Column("je_fen", sa.BigInteger, nullable=False),
             sa.Column("kh", sa.String(30), nullable=False),
             sa.Column("ffsj", sa.DateTime, nullable=False),
             sa.Column("jg", sa.String(1), nullable=False),
             sa.Column("gs", sa.Boolean, nullable=False))
    sa.Table("jm", meta, sa.Column("jm_id", sa.Integer, primary_key=True),
             sa.Column("qhdm", sa.String(12)), sa.Column("xm", sa.String(20)),
             sa.Column("sfzh", sa.String(18)), sa.Column("swrq", sa.Date),
             sa.Column("dbbz", sa.Boolean))


def _gk(row: dict[str, Any]) -> dict[str, Any]:
    return {"gk_id": int(row["id"]), "qhdm": row["regionCode"], "gklb": DOMAINS[row["domain"]],
            "bt": row["title"], "gkqj": row["period"], "nr": row["body"],
            "zt": STATUSES[row["status"]], "fbsj": row["publishedAt"]}


@pytest.fixture(params=["sql-sqlite", "sql-postgresql", "rest"])
async def source(request: pytest.FixtureRequest, tmp_path: Path,
                 pg_databases: PostgresDatabases) -> AsyncIterator[Source]:
    make = _rest_source() if request.param == "rest" else \
        _sql_source(request.param.removeprefix("sql-"), tmp_path, pg_databases)
    async for found in make:
        yield found


@pytest.fixture(params=["sqlite", "postgresql"])
async def sql_source(request: pytest.FixtureRequest, tmp_path: Path,
                     pg_databases: PostgresDatabases) -> AsyncIterator[Source]:
    async for found in _sql_source(request.param, tmp_path, pg_databases):
        yield found


async def _sql_source(backend: str, tmp_path: Path, pg_databases: PostgresDatabases
                      ) -> AsyncIterator[Source]:
    if backend == "postgresql":
        require_postgres()
    url = await fresh_database_url(backend, tmp_path, pg_databases)
    engine = create_async_engine(url)
    meta = sa.MetaData()
    _tables(meta)
    async with engine.begin() as conn:
        await conn.run_sync(meta.create_all)
        await conn.execute(meta.tables["gk"].insert(), [_gk(r) for r in SEED])
        await conn.execute(meta.tables["jm"].insert(), [
            {"jm_id": 1, "qhdm": HOME, "xm": "张三", "sfzh": "330108199001011234",
             "swrq": None, "dbbz": False}])
    connector = SqlConnector("src", url, parse_mapping(SQL_MAPPING, "test", ("table",)))
    await connector.open()

    async def stored(table: str, key: str, value: Any) -> dict[str, Any] | None:
        t = meta.tables[table]
        async with engine.connect() as conn:
            found = (await conn.execute(sa.select(t).where(t.c[key] == value))).mappings().first()
        return dict(found) if found is not None else None

    try:
        yield Source("sql", connector, stored)
    finally:
        await connector.close()
        await engine.dispose()


async def _rest_source() -> AsyncIterator[Source]:
    rows = [dict(r) for r in SEED]
    server = ApiThread(disclosure_app(rows))
    server.start()
    options = rest_source(server.url, retries=0)["civil_affairs_api"]
    settings = SourceSettings("src", "rest", options, Path("."), "test: [sources.src]")
    connector = build_rest_connector(settings, load_mapping(settings, REST_KEYS))
    await connector.open()

    async def stored(table: str, key: str, value: Any) -> dict[str, Any] | None:
        assert table == "gk"
        found = next((r for r in rows if r["id"] == str(value)), None)
        return _gk(found) if found is not None else None

    try:
        yield Source("rest", connector, stored)
    finally:
        await connector.close()
        server.stop()


async def _read(gateway: Gateway, row_id: str) -> dict[str, Any] | None:
    rows = await gateway.fetch(EntityQuery("Disclosure", tuple(["id", *WRITTEN]),
                                           (Condition("id", Op.EQ, row_id),), limit=1))
    return rows[0] if rows else None


# -- the battery, every writing kind ---------------------------------------------------------
async def test_an_insert_is_stored_in_the_sources_own_names_and_codes(source: Source) -> None:
    gateway, log = source.gateway()
    new_id = await gateway.insert("Disclosure", _draft())
    assert new_id == "4"  # max + 1 (sql "next"; the service numbers its items the same way)
    raw = await source.stored("gk", "gk_id", 4)
    assert raw is not None and (raw["qhdm"], raw["gklb"], raw["zt"], raw["gkqj"]) == (
        HOME, "3", "0", "2024Q3")
    again = await _read(gateway, new_id)
    assert again == {"id": "4", **_draft()}
    [write] = log.writes
    assert (write.entity, write.id, write.op, write.before) == ("Disclosure", "4", "create",
                                                                None)
    assert write.after == row_digest({"id": "4", **_draft()})


async def test_an_update_changes_only_the_fields_given_and_keeps_both_digests(
    source: Source,
) -> None:
    gateway, log = source.gateway()
    before = await _read(gateway, "3")
    assert before is not None
    when = dt.datetime(2024, 10, 20, 15, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    await gateway.update("Disclosure", "3", {"status": "PUBLISHED", "publishedAt": when})
    after = await _read(gateway, "3")
    assert after == {**before, "status": "PUBLISHED", "publishedAt": dt.datetime(2024, 10, 20,
                                                                                 15, 0)}
    raw = await source.stored("gk", "gk_id", 3)
    assert raw is not None and raw["zt"] == "2" and raw["bt"] == "待审核"
    [write] = log.writes
    assert (write.op, write.before, write.after) == ("update", row_digest(before),
                                                     row_digest(after))


async def test_a_row_outside_the_scope_answers_like_a_missing_one(source: Source) -> None:
    gateway, log = source.gateway()
    errors = []
    for row_id in ("2", "999", "0", "abc"):  # out of jurisdiction, missing, odd ids
        with pytest.raises(NotFound) as caught:
            await gateway.update("Disclosure", row_id, {"title": "改"})
        errors.append((type(caught.value), caught.value.entity, str(caught.value)[:9]))
    assert len(set(errors)) == 1
    raw = await source.stored("gk", "gk_id", 2)
    assert raw is not None and raw["bt"] == "邻街草稿"
    assert log.writes == []
    # A static condition bounds writes like the jurisdiction does: the editor cannot touch
    # a published item, nor publish one.
    editor, _ = source.gateway("editor")
    with pytest.raises(NotFound):
        await editor.update("Disclosure", "1", {"title": "改"})
    with pytest.raises(OutOfScope):
        await editor.update("Disclosure", "3", {"status": "PUBLISHED"})


async def test_writes_cannot_put_a_row_outside_the_scope(source: Source) -> None:
    gateway, log = source.gateway()
    with pytest.raises(OutOfScope) as caught:
        await gateway.insert("Disclosure", _draft(region=NEIGHBOUR))
    assert caught.value.field == "regionCode"
    with pytest.raises(OutOfScope):
        await gateway.update("Disclosure", "3", {"regionCode": NEIGHBOUR})
    nowhere, _ = source.gateway(region="not-a-region")
    with pytest.raises(OutOfScope):
        await nowhere.insert("Disclosure", _draft())
    assert log.writes == [] and await source.stored("gk", "gk_id", 4) is None


BAD_VALUES: list[tuple[dict[str, Any], str]] = [
    ({"period": "2024Q5"}, "period"),
    ({"period": "2024-13"}, "period"),
    ({"period": "24Q1"}, "period"),
    ({"domain": "SPORTS"}, "domain"),
    ({"title": "含\x00字符"}, "title"),
    ({"body": "孤\ud800立"}, "body"),
    ({"title": None}, "title"),
    ({"title": 12}, "title"),
    ({"regionCode": "33010800100"}, "regionCode"),
    ({"publishedAt": "2024-10-01"}, "publishedAt"),
    ({"id": "7"}, "id"),
    ({"noSuchField": 1}, "noSuchField"),
]


async def test_values_are_checked_against_the_catalog(source: Source) -> None:
    gateway, log = source.gateway()
    for values, field in BAD_VALUES:
        for write in (lambda v: gateway.update("Disclosure", "3", v),
                      lambda v: gateway.insert("Disclosure", _draft(**v))):
            with pytest.raises((InvalidValue, AccessDenied)) as caught:
                await write(values)
            if isinstance(caught.value, InvalidValue):
                assert caught.value.field == field, values
    assert log.writes == []
    assert await source.stored("gk", "gk_id", 4) is None


async def test_only_granted_fields_and_writable_entities(source: Source) -> None:
    reader, _ = source.gateway("reader")
    with pytest.raises(AccessDenied):
        await reader.update("Disclosure", "3", {"title": "改"})
    editor, _ = source.gateway("editor")
    with pytest.raises(AccessDenied):  # readable, not writable for the editor
        await editor.update("Disclosure", "3", {"period": "2024Q4"})
    with pytest.raises(InvalidValue):  # an insert needs every required field
        await (source.gateway()[0]).insert("Disclosure", {"title": "只有标题"})


# -- sql only: units, id strategies, column forms ----------------------------------------------
async def test_sql_money_in_fen_a_database_id_and_masked_fields(sql_source: Source) -> None:
    values = {"regionCode": HOME, "batchNo": "BT-2024-09", "subsidyType": "高龄津贴",
              "period": "2024-09", "recipientName": "王小明", "amount": Decimal("345.6"),
              "bankCard": "6230910000001234", "paidAt": WHEN, "result": "SUCCESS",
              "published": False}
    clerk, log = sql_source.gateway()
    with pytest.raises(InvalidValue):  # a required field the role may not write is missing
        await clerk.insert("Subsidy", values)
    with pytest.raises(AccessDenied):  # it sees the ID number masked, so it cannot write it
        await clerk.insert("Subsidy", {**values, "recipientIdNumber": "330108199001011234"})
    assert log.writes == []
    registrar, log = sql_source.gateway("registrar")
    full = {**values, "recipientIdNumber": "330108199001011234"}
    first = await registrar.insert("Subsidy", full)
    second = await registrar.insert("Subsidy", {**full, "amount": Decimal("0.05")})
    assert (first, second) == ("1", "2")  # the database's autoincrement
    raw = await sql_source.stored("bt", "bt_id", 1)
    assert raw is not None and (raw["je_fen"], raw["jg"], raw["gs"]) == (34560, "1", False)
    with pytest.raises(InvalidValue, match="at most two decimals"):
        await registrar.update("Subsidy", first, {"amount": Decimal("1.005")})
    with pytest.raises(InvalidValue, match="NUMERIC"):
        await registrar.update("Subsidy", first, {"amount": Decimal("1e12")})
    await registrar.update("Subsidy", first, {"amount": "999999999999.99", "published": True})
    raw = await sql_source.stored("bt", "bt_id", 1)
    assert raw is not None and (raw["je_fen"], raw["gs"]) == (99999999999999, True)
    assert [w.op for w in log.writes] == ["create", "create", "update"]


async def test_sql_id_strategies_and_text_columns(sql_source: Source) -> None:
    gateway, log = sql_source.gateway()
    case = {"regionCode": HOME, "subject": "疑似拆分支付", "source": "ALERT",
            "summary": "同一收款人30日内3笔", "status": "OPEN", "openedAt": WHEN,
            "closedAt": None}
    case_id = await gateway.insert("InspectionCase", case)
    assert len(case_id) == 32 and int(case_id, 16) >= 0  # a uuid the hub made
    raw = await sql_source.stored("xs", "xs_id", case_id)
    assert raw is not None and raw["slsj"] == "2024-10-09 09:30:00" and raw["xsly"] == "5"
    rows = await gateway.fetch(EntityQuery("InspectionCase", ("id", "openedAt", "source"),
                                           (Condition("id", Op.EQ, case_id),)))
    assert rows == [{"id": case_id, "openedAt": WHEN, "source": "ALERT"}]
    with pytest.raises(WriteRejected, match="at most 40 characters"):
        await gateway.insert("Disclosure", _draft(title="很" * 41))
    with pytest.raises(SourceReadOnly):
        await gateway.update("Resident", "1", {"lowIncome": True})
    assert [w.entity for w in log.writes] == ["InspectionCase"]


async def test_sql_concurrent_inserts_each_get_their_own_next_id(sql_source: Source) -> None:
    gateway, log = sql_source.gateway()
    ids = await asyncio.gather(*(gateway.insert("Disclosure", _draft(title=f"并发{i}"))
                                 for i in range(6)))
    assert sorted(ids, key=int) == [str(i) for i in range(4, 10)]
    rows = await gateway.fetch(EntityQuery("Disclosure", ("id", "title"),
                                           order=(OrderKey("id"),)))
    assert len(rows) == 8 and len(log.writes) == 6  # 2 of the 3 seeds are in scope


# -- kinds that take no writes ---------------------------------------------------------------
def _file_settings(entities: dict[str, Any]) -> SourceSettings:
    return SourceSettings("drops", "file", {"path": "drops", "entities": entities},
                          Path("."), "huitong.toml: [sources.drops]")


def test_file_sources_are_read_only() -> None:
    subsidy = SQL_MAPPING["entities"]["Subsidy"]
    spec = {"file": "*.csv", "fields": subsidy["fields"], "write": subsidy["write"]}
    with pytest.raises(MappingError, match=r"entities\.Subsidy\.write: file sources are "
                       r"read-only"):
        build_connector(_file_settings({"Subsidy": spec}))
    plain = build_connector(_file_settings({"Subsidy": {"file": "*.csv",
                                                        "fields": subsidy["fields"]}}))
    assert plain.writable == frozenset()


@pytest.mark.parametrize(("write", "message"), [
    ({"fields": ["id"]}, "'id' cannot be written"),
    ({"fields": []}, "expected a list"),
    ({"fields": ["title"], "insert_id": "max"}, "insert_id: expected one of"),
    ({"fields": ["title"], "upsert": True}, "upsert: unknown key"),
])
def test_write_tables_are_checked_at_start_up(write: dict[str, Any], message: str) -> None:
    mapping = {"entities": {"Disclosure": {**SQL_MAPPING["entities"]["Disclosure"],
                                           "write": write}}}
    with pytest.raises(MappingError, match=message):
        SqlConnector("src", "sqlite+aiosqlite://", parse_mapping(mapping, "m.toml", ("table",)))


def test_rest_write_endpoints_are_checked_at_start_up() -> None:
    spec = rest_source("http://127.0.0.1:9")["civil_affairs_api"]
    disclosure = spec["entities"]["Disclosure"]
    for write, message in [
        ({"fields": ["title"]}, "expected a create or an update endpoint"),
        ({"fields": ["title"], "update": {"path": "/gkxx"}}, r"expected \{id\}"),
        ({"fields": ["title"], "create": {"method": "GET", "path": "/gkxx"}},
         "method: expected one of POST, PUT"),
    ]:
        options = {**spec, "entities": {"Disclosure": {**disclosure, "write": write}}}
        settings = SourceSettings("api", "rest", options, Path("."), "t: [sources.api]")
        with pytest.raises(MappingError, match=message):
            build_rest_connector(settings, load_mapping(settings, REST_KEYS))


async def test_rest_refusals_keep_the_apis_words_to_the_log() -> None:
    """An API that refuses a write (here: a status code it does not know, because this
    hub's mapping disagrees with it) is SOURCE_REJECTED in the hub's words, and a row it no
    longer has is missing."""
    rows = [dict(r) for r in SEED]
    server = ApiThread(disclosure_app(rows))
    server.start()
    options = rest_source(server.url, retries=0)["civil_affairs_api"]
    disclosure = options["entities"]["Disclosure"]
    fields = {**disclosure["fields"], "status": {"column": "zt", "values": {
        "DRAFT": "10", "REVIEWED": "25", "PUBLISHED": "30", "WITHDRAWN": "90"}}}
    options = {**options, "entities": {"Disclosure": {**disclosure, "fields": fields}}}
    settings = SourceSettings("src", "rest", options, Path("."), "test: [sources.src]")
    connector = build_rest_connector(settings, load_mapping(settings, REST_KEYS))
    await connector.open()
    try:
        gateway, log = Source("rest", connector, None).gateway()
        with pytest.raises(WriteRejected) as caught:
            await gateway.update("Disclosure", "1", {"status": "REVIEWED"})
        assert caught.value.reason == "the source refused the change (HTTP 422)"
        assert "无法识别" not in str(caught.value)
        rows.remove(next(r for r in rows if r["id"] == "3"))
        with pytest.raises(NotFound):
            await gateway.update("Disclosure", "3", {"title": "改"})
        assert log.writes == []
    finally:
        await connector.close()
        server.stop()
