"""Drops for the `file` connector's tests: a subsidy list and a resident roll, as a township
civil-affairs office would export them — Chinese headers, mixed date and money formats, a
title row — written as CSV in several encodings and as XLSX."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from pathlib import Path
from typing import Any

from auth.model.idnumbers import id_check_char

HEADERS = ["流水号", "区划代码", "批次号", "补贴类型", "所属期", "姓名", "身份证号", "发放金额",
           "一卡通账号", "发放时间", "发放结果", "是否公示"]
SUBSIDY_FIELDS: dict[str, Any] = {
    "id": "流水号", "regionCode": "区划代码", "batchNo": "批次号", "subsidyType": "补贴类型",
    "period": "所属期", "recipientName": "姓名", "recipientIdNumber": "身份证号",
    "amount": "发放金额", "bankCard": "一卡通账号", "paidAt": "发放时间",
    "result": {"column": "发放结果",
               "values": {"SUCCESS": "成功", "FAILED": "失败", "RETURNED": "退回"}},
    "published": {"column": "是否公示", "values": {"true": "是", "false": "否"}},
}
RESIDENT_FIELDS: dict[str, Any] = {
    "id": "编号", "regionCode": "区划代码", "name": "姓名", "idNumber": "身份证号",
    "deceasedOn": "死亡日期", "lowIncome": {"column": "低保户", "values": {"true": "是",
                                                                       "false": "否"}},
}
REGIONS = ("330108001001", "330108001002", "330108002001", "330110001001")
NAMES = ("张三", "李四", "王五", "赵六", "钱七", "孙八", "周九", "吴十")
TIME_FORMS = ("{d:%Y-%m-%d %H:%M:%S}", "{d:%Y-%m-%d %H:%M}", "{d:%Y/%m/%d %H:%M:%S}",
              "{d:%Y-%m-%dT%H:%M:%S}")
DATE_FORMS = ("{d.year}/{d.month}/{d.day}", "{d:%Y%m%d}", "{d:%Y-%m-%d}",
              "{d.year}年{d.month}月{d.day}日")
MONEY_FORMS = ("{a}", "{a:,}", "¥{a}", "{a}元")


def id_number(seed: int) -> str:
    first17 = f"330108{1950 + seed % 50:04d}{1 + seed % 12:02d}{1 + seed % 28:02d}" \
              f"{seed % 1000:03d}"
    return first17 + id_check_char(first17)


def subsidy(i: int, batch: str = "2024-03") -> dict[str, Any]:
    """One canonical subsidy (what a valid row must load as)."""
    paid = dt.datetime(2024, 3, 1 + i % 28, 9 + i % 8, 0) if i % 2 else \
        dt.datetime(2024, 3, 1 + i % 28)
    return {
        "id": f"BT{i:05d}", "regionCode": REGIONS[i % len(REGIONS)], "batchNo": f"PC{batch}",
        "subsidyType": "耕地地力保护补贴" if i % 3 else "城乡居民最低生活保障",
        "period": batch, "recipientName": NAMES[i % len(NAMES)],
        "recipientIdNumber": id_number(i),
        "amount": Decimal(100 + i * 37 % 1900) + Decimal(i % 100) / 100,
        "bankCard": f"6230{i:012d}", "paidAt": paid,
        "result": ("SUCCESS", "SUCCESS", "FAILED", "RETURNED")[i % 4],
        "published": i % 5 != 0,
    }


def subsidy_cells(row: dict[str, Any], i: int) -> list[str]:
    """A canonical subsidy as the export writes it (formats vary from row to row)."""
    paid = row["paidAt"]
    forms = TIME_FORMS if paid.hour else DATE_FORMS
    when = forms[(i // 2) % len(forms)]
    money = MONEY_FORMS[(i // 3) % len(MONEY_FORMS)]
    amount = row["amount"]
    return [row["id"], row["regionCode"], row["batchNo"], row["subsidyType"], row["period"],
            row["recipientName"], row["recipientIdNumber"].lower(), money.format(a=amount),
            row["bankCard"], when.format(d=paid),
            {"SUCCESS": "成功", "FAILED": "失败", "RETURNED": "退回"}[row["result"]],
            "是" if row["published"] else "否"]


def bad_rows() -> list[tuple[list[str], str, str]]:
    """(cells, column, reason fragment): one problem each."""
    base = subsidy_cells(subsidy(900), 0)

    def with_(column: str, value: str, new_id: str) -> list[str]:
        cells = list(base)
        cells[HEADERS.index(column)] = value
        cells[0] = new_id
        return cells

    return [
        (with_("发放金额", "12.345", "BAD01"), "发放金额", "more than 2 decimal places"),
        (with_("发放金额", "一百元", "BAD02"), "发放金额", "is not an amount"),
        (with_("发放时间", "2024-13-01", "BAD03"), "发放时间", "is not a date"),
        (with_("发放时间", "03/05/2024", "BAD04"), "发放时间", "is not a date"),
        (with_("区划代码", "33010800100", "BAD05"), "区划代码", "not a 12-digit region code"),
        (with_("区划代码", "0001080010O1", "BAD06"), "区划代码", "not a 12-digit region code"),
        (with_("身份证号", id_number(5)[:17] + ("0" if id_number(5)[17] != "0" else "1"),
               "BAD07"), "身份证号", "not a valid ID number"),
        (with_("发放结果", "成", "BAD08"), "发放结果", "unknown code '成'"),
        (with_("姓名", "", "BAD09"), "姓名", "required value missing"),
        (with_("是否公示", "也许", "BAD10"), "是否公示", "unknown code '也许'"),
    ]


def write_csv(path: Path, rows: list[list[str]], encoding: str, *, title: bool = False,
              delimiter: str = ",") -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    if title:
        writer.writerow(["2024年3月惠民惠农补贴发放名单"])
    writer.writerow(HEADERS)
    writer.writerows(rows)
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def write_xlsx(path: Path, subsidies: list[list[Any]], residents: list[list[Any]]) -> Path:
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "补贴发放"
    sheet.append(["2024年3月惠民惠农补贴发放名单"])
    sheet.append(HEADERS)
    for row in subsidies:
        sheet.append(row)
    people = book.create_sheet("居民")
    people.append(["编号", "区划代码", "姓名", "身份证号", "死亡日期", "低保户"])
    for row in residents:
        people.append(row)
    book.save(path)
    return path
