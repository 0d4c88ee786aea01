"""Reports as files: XLSX with one sheet per section (openpyxl), or CSV with the sections one
after another, each under its title row (UTF-8 with a BOM, or GB18030)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from typing import Any, Final

from openpyxl import Workbook
from openpyxl.styles import Font

from .reports import Report

MEDIA_TYPES: Final = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
}


def to_xlsx(report: Report) -> bytes:
    book = Workbook()
    book.remove(book.active)
    for section in report.sheets:
        sheet = book.create_sheet(title=section.name[:31])
        sheet.append([report.title])
        sheet["A1"].font = Font(bold=True)
        sheet.append(section.columns)
        for row in section.rows:
            sheet.append([_cell(v) for v in row])
        for cell in sheet[2]:
            cell.font = Font(bold=True)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def to_csv(report: Report, encoding: str = "utf-8-sig") -> bytes:
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\r\n")
    writer.writerow([report.title])
    for section in report.sheets:
        writer.writerow([])
        writer.writerow([section.name])
        writer.writerow(section.columns)
        writer.writerows([[_text(v) for v in row] for row in section.rows])
    codec = "utf-8" if encoding == "utf-8-sig" else encoding
    bom = b"\xef\xbb\xbf" if encoding == "utf-8-sig" else b""
    return bom + text.getvalue().encode(codec, errors="replace")


def _cell(value: Any) -> Any:
    return value


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
