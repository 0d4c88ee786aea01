"""The `file` connector on SQLite and PostgreSQL hub stores: CSV in UTF-8, UTF-8 with BOM and
GB18030, XLSX; bad rows rejected with line and reason and kept; idempotent re-imports;
changed files replacing their rows; queries with scope through the SQL connector."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

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
from connectors.base import Services, SourceUnavailable
from connectors.file.connector import FileConnector
from connectors.file.load import ImportReport
from connectors.file.store import import_rejects, import_runs, table_name
from connectors.rows import PARTITION
from huitong.settings import SourceSettings
from huitong.sources import build_connectors
from tests.conftest import PostgresDatabases, fresh_database_url
from tests.connectors.file.drops import (
    HEADERS,
    RESIDENT_FIELDS,
    SUBSIDY_FIELDS,
    bad_rows,
    id_number,
    subsidy,
    subsidy_cells,
    write_csv,
    write_xlsx,
)

STREET = (Condition("regionCode", Op.WITHIN, "330108001"),)
FIELDS = ("regionCode", "recipientName", "recipientIdNumber", "amount", "paidAt", "result",
          "published", "period")


def source_settings(tmp_path: Path, entities: dict[str, Any] | None = None,
                    **options: Any) -> SourceSettings:
    entities = entities or {"Subsidy": {"file": "*.csv", "fields": SUBSIDY_FIELDS}}
    return SourceSettings("subsidy_export", "file",
                          {"path": "drops", "entities": entities, **options}, tmp_path,
                          "huitong.toml: [sources.subsidy_export]")


@pytest.fixture
async def store(backend: str, tmp_path: Path, pg_databases: PostgresDatabases
                ) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(await fresh_database_url(backend, tmp_path, pg_databases))
    yield engine
    await engine.dispose()


async def connector_for(store: AsyncEngine, settings: SourceSettings) -> FileConnector:
    connector = build_connectors({settings.name: settings})[settings.name]
    assert isinstance(connector, FileConnector)
    await connector.attach(Services(store=store))
    await connector.open()
    return connector


def scoped(where: tuple[Condition, ...] = (), scope: tuple[Condition, ...] = STREET,
           order: tuple[OrderKey, ...] = (OrderKey("id"),), **kw: Any) -> ScopedQuery:
    return ScopedQuery(EntityQuery("Subsidy", FIELDS, where, order, **kw), scope)


def expected(ids: range, prefix: str = "330108001") -> list[dict[str, Any]]:
    rows = [subsidy(i) for i in ids]
    return [{"id": r["id"], **{f: r[f] for f in FIELDS}} for r in rows
            if r["regionCode"].startswith(prefix)]


async def stored_rejects(store: AsyncEngine) -> list[dict[str, Any]]:
    async with store.connect() as conn:
        result = await conn.execute(sa.select(import_rejects).order_by(import_rejects.c.id))
        return [dict(r) for r in result.mappings()]


async def runs(store: AsyncEngine) -> list[dict[str, Any]]:
    async with store.connect() as conn:
        result = await conn.execute(sa.select(import_runs).order_by(import_runs.c.id))
        return [dict(r) for r in result.mappings()]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
async def test_csv_loads_in_each_encoding_and_answers_scoped_queries(
    store: AsyncEngine, tmp_path: Path, encoding: str
) -> None:
    drops = tmp_path / "drops"
    drops.mkdir()
    write_csv(drops / "subsidies-2024-03.csv",
              [subsidy_cells(subsidy(i), i) for i in range(1, 41)], encoding,
              title=encoding == "gb18030")
    connector = await connector_for(store, source_settings(tmp_path))  # imports on open
    try:
        rows = await connector.fetch(scoped())
        assert rows == expected(range(1, 41))
        assert all(isinstance(r["amount"], Decimal) for r in rows)
        assert await connector.count(scoped()) == len(rows) == 20
        assert await connector.count(scoped(scope=())) == 40
        paid = await connector.fetch(scoped((Condition("result", Op.EQ, "SUCCESS"),
                                             Condition("amount", Op.GTE, Decimal("500")))))
        assert paid == [r for r in expected(range(1, 41))
                        if r["result"] == "SUCCESS" and r["amount"] >= 500]
        health = await connector.health()
        assert health.ok and health.kind == "file" and health.detail == "1 file(s) loaded"
    finally:
        await connector.close()


async def test_bad_rows_are_rejected_with_line_and_reason_and_kept(
    store: AsyncEngine, tmp_path: Path
) -> None:
    (tmp_path / "drops").mkdir()
    good = [subsidy_cells(subsidy(i), i) for i in range(1, 11)]
    bad = bad_rows()
    duplicate = subsidy_cells(subsidy(3), 3)
    ragged = [*subsidy_cells(subsidy(20), 20), "多出的一列"]
    path = write_csv(tmp_path / "drops" / "subsidies.csv",
                     [*good[:5], [], *(c for c, _, _ in bad), duplicate, ragged, *good[5:]],
                     "gb18030")
    connector = await connector_for(store, source_settings(tmp_path, import_on_open=False))
    try:
        report = await connector.import_file(path)
        assert report.status == "imported" and report.encoding == "gb18030"
        assert (report.rows_read, report.rows_loaded, report.rows_rejected) == (22, 10, 12)
        assert report.parts[0].blank_rows == 1
        by_line = {r.line: r for r in report.rejects}
        # Header on line 1, five good rows, a blank line 7: the bad rows start on line 8.
        for offset, (_, column, reason) in enumerate(bad):
            reject = by_line[8 + offset]
            assert reject.column == column and reason in reject.reason, reject
        assert by_line[18].reason == "duplicate id 'BT00003': already on line 4"
        assert "13 cells but 12 headers" in by_line[19].reason
        assert "330108" in by_line[14].reason and id_number(5) not in by_line[14].reason
        kept = await stored_rejects(store)
        assert len(kept) == report.rejects_total == 12
        first = kept[0]
        assert (first["file_name"], first["line"], first["column_name"], first["entity"]) == \
            ("subsidies.csv", 8, "发放金额", "Subsidy")
        raw = json.loads(first["raw_row"])
        assert raw["发放金额"] == "12.345" and raw["流水号"] == "BAD01" and set(HEADERS) <= set(raw)
        assert {r["run_id"] for r in kept} == {report.run_id}
        assert await connector.count(scoped(scope=())) == 10
    finally:
        await connector.close()


async def test_reimport_is_idempotent_and_a_changed_file_replaces_its_rows(
    store: AsyncEngine, tmp_path: Path
) -> None:
    (tmp_path / "drops").mkdir()
    path = tmp_path / "drops" / "subsidies.csv"
    write_csv(path, [subsidy_cells(subsidy(i), i) for i in range(1, 31)], "utf-8")
    connector = await connector_for(store, source_settings(tmp_path, import_on_open=False))
    try:
        first = await connector.import_file(path)
        again = await connector.import_file(path)
        assert first.status == "imported" and first.rows_loaded == 30
        assert again.status == "already_imported" and again.run_id == first.run_id
        assert "already imported as subsidies.csv" in again.message
        assert await connector.count(scoped(scope=())) == 30
        # Corrected export: one amount changed, row 30 dropped, two rows added.
        changed = subsidy(7) | {"amount": Decimal("999.99")}
        rows = [subsidy_cells(changed if i == 7 else subsidy(i), i) for i in range(1, 30)]
        write_csv(path, rows + [subsidy_cells(subsidy(i), i) for i in (31, 32)], "utf-8")
        second = await connector.import_file(path)
        assert second.status == "imported" and second.rows_replaced == 30
        assert second.rows_loaded == 31
        assert await connector.count(scoped(scope=())) == 31
        got = await connector.fetch(scoped((Condition("id", Op.IN, ("BT00007", "BT00030")),),
                                           scope=()))
        assert [(r["id"], r["amount"]) for r in got] == [("BT00007", Decimal("999.99"))]
        assert [(r["status"], r["rows_loaded"]) for r in await runs(store)] == \
            [("superseded", 30), ("active", 31)]
        # Another month's drop adds up; an id already loaded from the first file is refused.
        other = write_csv(tmp_path / "drops" / "subsidies-04.csv",
                          [subsidy_cells(subsidy(i, "2024-04"), i) for i in (1, 40, 41)], "utf-8")
        april = await connector.import_file(other)
        assert (april.rows_loaded, april.rows_rejected) == (2, 1)
        assert april.rejects[0].reason == "id 'BT00001' is already loaded from file subsidies.csv"
        assert await connector.count(scoped(scope=())) == 33
        reports = await connector.import_pending()
        assert sorted(r.status for r in reports) == ["already_imported", "already_imported"]
    finally:
        await connector.close()


async def test_two_importers_at_once_load_a_file_once(store: AsyncEngine, tmp_path: Path
                                                      ) -> None:
    """The hub starting up and `huitong import` may meet on the same drop."""
    (tmp_path / "drops").mkdir()
    path = write_csv(tmp_path / "drops" / "subsidies.csv",
                     [subsidy_cells(subsidy(i), i) for i in range(1, 201)], "utf-8")
    settings = source_settings(tmp_path, import_on_open=False)
    first, second = [await connector_for(store, settings) for _ in range(2)]
    try:
        outcomes = await asyncio.gather(first.import_file(path), second.import_file(path),
                                        return_exceptions=True)
        statuses = sorted(o.status if isinstance(o, ImportReport) else getattr(o, "code", repr(o))
                          for o in outcomes)
        assert statuses in (["already_imported", "imported"], ["SOURCE_ERROR", "imported"])
        assert await first.count(scoped(scope=())) == 200
        assert [r["status"] for r in await runs(store)] == ["active"]
    finally:
        await first.close()
        await second.close()


async def test_refused_files_change_nothing(store: AsyncEngine, tmp_path: Path) -> None:
    (tmp_path / "drops").mkdir()
    path = write_csv(tmp_path / "drops" / "subsidies.csv",
                     [subsidy_cells(subsidy(i), i) for i in range(1, 6)], "utf-8")
    connector = await connector_for(store, source_settings(tmp_path, import_on_open=False))
    try:
        assert (await connector.import_file(path)).rows_loaded == 5
        write_csv(path, [c for c, _, _ in bad_rows()], "utf-8")
        all_bad = await connector.import_file(path)
        assert all_bad.status == "refused" and "every row was rejected" in all_bad.message
        assert all_bad.rows_rejected == 10 and len(await stored_rejects(store)) == 10
        path.write_text("流水号,姓名\nBT1,张三\n", encoding="utf-8")
        missing = await connector.import_file(path)
        assert missing.status == "refused" and "missing column(s) 区划代码" in missing.message
        assert await connector.count(scoped(scope=())) == 5
        assert [r["status"] for r in await runs(store)] == ["active", "refused", "refused"]
    finally:
        await connector.close()


async def test_xlsx_with_two_sheets_feeds_two_entities(store: AsyncEngine, tmp_path: Path
                                                       ) -> None:
    (tmp_path / "drops").mkdir()
    subsidies: list[list[Any]] = []
    for i in range(1, 13):
        row = subsidy(i)
        cells: list[Any] = subsidy_cells(row, i)
        cells[HEADERS.index("发放时间")] = row["paidAt"]  # a real date cell
        cells[HEADERS.index("发放金额")] = float(row["amount"]) if i % 2 else cells[7]
        cells[HEADERS.index("区划代码")] = int(row["regionCode"])
        subsidies.append(cells)
    subsidies.append([*subsidy_cells(subsidy(13), 13)[:6], 330108195001010011, "1.5", "x",
                      "2024-03-01", "成功", "是"])
    residents: list[list[Any]] = [
        ["R1", "330108001001", "张三", id_number(1), None, "是"],
        ["R2", "330108001002", "李四", id_number(2), dt.datetime(2023, 5, 6), "否"],
        ["R3", "330108001002", "王五", id_number(3), "2023/2/30", "否"],
    ]
    path = write_xlsx(tmp_path / "drops" / "台账.xlsx", subsidies, residents)
    entities = {"Subsidy": {"file": "*.xlsx", "sheet": "补贴发放", "fields": SUBSIDY_FIELDS},
                "Resident": {"file": "*.xlsx", "sheet": "居民", "fields": RESIDENT_FIELDS}}
    connector = await connector_for(store, source_settings(tmp_path, entities,
                                                           import_on_open=False))
    try:
        report = await connector.import_file(path)
        assert report.status == "imported"
        assert {(p.entity, p.sheet, p.rows_loaded, p.rows_rejected) for p in report.parts} == {
            ("Subsidy", "补贴发放", 12, 1), ("Resident", "居民", 2, 1)}
        reasons = {(r.sheet, r.line, r.column): r.reason for r in report.rejects}
        assert "stored as a number" in reasons[("补贴发放", 15, "身份证号")]
        assert "is not a date" in reasons[("居民", 4, "死亡日期")]
        assert await connector.fetch(scoped()) == expected(range(1, 13))
        people = await connector.fetch(ScopedQuery(
            EntityQuery("Resident", ("name", "deceasedOn", "lowIncome"), (), (OrderKey("id"),)),
            STREET))
        assert people == [
            {"id": "R1", "name": "张三", "deceasedOn": None, "lowIncome": True},
            {"id": "R2", "name": "李四", "deceasedOn": dt.date(2023, 5, 6), "lowIncome": False}]
    finally:
        await connector.close()


async def test_pages_partitions_and_aggregates_run_in_the_store(
    store: AsyncEngine, tmp_path: Path
) -> None:
    (tmp_path / "drops").mkdir()
    write_csv(tmp_path / "drops" / "s.csv",
              [subsidy_cells(subsidy(i), i) for i in range(1, 81)], "utf-8-sig", delimiter="\t")
    connector = await connector_for(store, source_settings(tmp_path))
    try:
        order = (OrderKey("amount", descending=True), OrderKey("id"))
        pages, after = [], None
        while page := await connector.fetch(scoped(order=order, limit=6, after=after)):
            pages += page
            after = (page[-1]["amount"], page[-1]["id"])
        everything = expected(range(1, 81))
        assert pages == sorted(everything, key=lambda r: (-r["amount"], r["id"]))
        part = Partition("regionCode", ("330108001001", "330110001001"), 3)
        rows = await connector.fetch(scoped(partition=part))
        assert [(r[PARTITION], r["id"]) for r in rows] == [
            ("330108001001", r["id"]) for r in everything if r["regionCode"] == "330108001001"
        ][:3]
        assert await connector.count_partitioned(scoped(partition=part)) == {"330108001001": 20}
        dims = (Dimension("region", "regionCode", Transform.PREFIX, 12),
                Dimension("published", "published"))
        agg = AggregateQuery("Subsidy", "amount", dims, (
            Condition("paidAt", Op.GTE, dt.datetime.fromisoformat("2024-03-05T00:00+08:00")),))
        groups = await connector.aggregate(ScopedAggregate(agg, STREET, 1))
        chosen = [r for r in everything if r["paidAt"] >= dt.datetime(2024, 3, 5)]
        assert sum(g["total"] for g in groups) == sum(r["amount"] for r in chosen)
        assert sum(g["count"] for g in groups) == len(chosen)
        assert {(g["region"], g["published"]) for g in groups} == {
            (r, p) for r in ("330108001001", "330108001002") for p in (False, True)}
        big = await connector.aggregate(ScopedAggregate(agg, STREET, 5))
        assert [(g["region"], g["published"]) for g in big] == [
            ("330108001001", True), ("330108001002", True)]
        assert big == [g for g in groups if g["published"]]
    finally:
        await connector.close()


async def test_without_a_store_the_source_is_unavailable(tmp_path: Path) -> None:
    connector = build_connectors({"subsidy_export": source_settings(tmp_path)})["subsidy_export"]
    await connector.open()  # logs, does not fail start-up
    with pytest.raises(SourceUnavailable, match="not attached"):
        await connector.fetch(scoped())
    assert not (await connector.health()).ok


def test_table_names_are_safe_identifiers() -> None:
    assert table_name("subsidy_export", "Subsidy") == "file_subsidy_export_subsidy"
    odd = table_name("民政-导出", "InspectionCase")
    assert odd.startswith("file_") and odd.endswith("_inspection_case") and odd.isascii()
    assert len(table_name("x" * 80, "Rectification")) <= 63
