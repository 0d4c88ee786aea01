"""Demo data as a legacy system exports it: canonical rows read back from a generated source,
written as CSV with the export's own headers and codes.

`huitong demo` writes the subsidy payouts (惠民惠农补贴发放) as a GB18030 CSV with Chinese
headers and a title row into the data folder, and the hub's `file` source imports it; the
finance database's copy of the same rows is then left out of the hub's configuration.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import AsyncIterator, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from auth.model.catalog import Kind
from connectors.mapping import EntityMapping, FieldMapping, parse_mapping
from connectors.rows import WATERMARK

from .common import mapping_raw
from .tables import CIVIL_AFFAIRS, FINANCE, INSPECTION

Row = dict[str, Any]
SOURCE: Final = "subsidy_export"
SUBSIDY_FILE: Final = "惠民惠农补贴发放明细.csv"
_METADATA: Final = {"finance": FINANCE, "civil_affairs": CIVIL_AFFAIRS, "inspection": INSPECTION}

# Canonical field → the export's header (or { column, values } where it has its own codes).
SUBSIDY_COLUMNS: Final[dict[str, Any]] = {
    "id": "发放流水号",
    "regionCode": "区划代码",
    "batchNo": "批次号",
    "subsidyType": "补贴类型",
    "period": "所属期",
    "recipientName": "姓名",
    "recipientIdNumber": "身份证号",
    "amount": "发放金额",
    "bankCard": "一卡通账号",
    "paidAt": "发放时间",
    "result": {"column": "发放结果",
               "values": {"SUCCESS": "成功", "FAILED": "失败", "RETURNED": "退回"}},
    "published": {"column": "是否公示", "values": {"true": "是", "false": "否"}},
}


def demo_mapping(source: str, entity: str) -> EntityMapping:
    """The demo SQL mapping of one entity (what the generator wrote it with)."""
    return parse_mapping(mapping_raw(source), source, ("table", "schema", "watermark"))[entity]


async def read_rows(url: str, source: str, entity: str) -> AsyncIterator[Row]:
    """Every row of `entity` in a generated demo source, as canonical values, by id; with the
    row's watermark (`connectors.rows.WATERMARK`) where the mapping names one."""
    mapping = demo_mapping(source, entity)
    table = _METADATA[source].tables[str(mapping.container["table"])]
    fields = list(mapping.fields.values())
    watermark = mapping.container.get("watermark")
    columns = [table.c[fm.source] for fm in fields]
    stmt = sa.select(*columns, *([table.c[watermark]] if watermark else [])).order_by(
        table.c[mapping.fields["id"].source])
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            result = await conn.stream(stmt.execution_options(yield_per=2000))
            async for raw in result:
                row = {fm.name: fm.to_canonical(value)
                       for fm, value in zip(fields, raw[:len(fields)], strict=True)}
                if watermark:
                    row[WATERMARK] = raw[len(fields)]
                yield row
    finally:
        await engine.dispose()


def columns_mapping(entity: str, columns: Mapping[str, Any]) -> EntityMapping:
    """The `file` mapping of an export (checked as the hub checks it)."""
    spec = {"file": "*", "fields": dict(columns)}
    return parse_mapping({"entities": {entity: spec}}, f"{entity} export", ("file",))[entity]


def cell(fm: FieldMapping, value: Any) -> str:
    """A canonical value as the export writes it."""
    value = fm.to_source(value)
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value, ",.2f") if fm.kind is Kind.MONEY else format(value, "f")
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date):
        return f"{value.year}/{value.month}/{value.day}"
    if isinstance(value, bool):
        return "是" if value else "否"
    return str(value)


async def export_csv(url: str, source: str, entity: str, columns: Mapping[str, Any],
                     path: Path, *, encoding: str = "gb18030", title: str | None = None) -> int:
    """Write every row of `entity` as CSV at `path`; returns how many rows were written.

    Written to a temporary name first: a hub watching the folder never imports half a file.
    """
    mapping = columns_mapping(entity, columns)
    fields = list(mapping.fields.values())
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    count = 0
    with partial.open("w", encoding=encoding, newline="") as fh:
        writer = csv.writer(fh, lineterminator="\r\n")
        if title:
            writer.writerow([title])
        writer.writerow([fm.source for fm in fields])
        async for row in read_rows(url, source, entity):
            writer.writerow([cell(fm, row[fm.name]) for fm in fields])
            count += 1
    partial.replace(path)
    return count


async def export_subsidies(finance_url: str, directory: Path) -> Path:
    """The subsidy payouts of the generated finance source, as the 一卡通 system exports them."""
    path = directory / SUBSIDY_FILE
    await export_csv(finance_url, "finance", "Subsidy", SUBSIDY_COLUMNS, path,
                     title="惠民惠农补贴“一卡通”发放明细（导出）")
    return path


def file_source(directory: str | Path) -> dict[str, dict[str, Any]]:
    """The `[sources.subsidy_export]` table for huitong.toml (serves Subsidy)."""
    return {SOURCE: {
        "kind": "file",
        "path": str(directory),
        "encoding": "gb18030",
        "delimiter": ",",
        "entities": {"Subsidy": {"file": "*.csv", "fields": SUBSIDY_COLUMNS}},
    }}
