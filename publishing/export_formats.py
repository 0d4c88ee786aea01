"""The export formats: canonical rows (already scoped and masked) as NDJSON, CSV or XLSX bytes.

Each encoder turns one page of rows at a time into bytes, so an export holds one page in
memory whatever its size. Values are written as the GraphQL API serialises them: ids as
global ids, money as decimal strings with two places (numbers in XLSX), times in ISO 8601
China wall-clock time. CSV is UTF-8 with a BOM (what Excel needs to read Chinese text) or
GB18030 for legacy systems; XLSX uses openpyxl's write-only mode, whose sheet is spooled to a
temporary file and sent once complete (a sheet holds at most `XLSX_MAX_ROWS` rows).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import tempfile
from collections.abc import Callable, Iterator, Sequence
from decimal import Decimal
from typing import Any, Final, Protocol

from openpyxl import Workbook

from auth.model.catalog import ENTITIES, Kind
from auth.model.ids import to_global_id
from connectors.rows import Row

XLSX_MAX_ROWS: Final = 1_048_575  # a sheet's rows, less the header
_CHUNK: Final = 256 * 1024


class Encoder(Protocol):
    media_type: str

    def start(self) -> bytes: ...
    def page(self, rows: Sequence[Row]) -> bytes: ...
    def finish(self) -> Iterator[bytes]: ...


def _id_writer(entity: str) -> Callable[[Any], str]:
    return lambda raw: to_global_id(entity, raw)


def _money(value: Decimal) -> str:
    # Canonical amounts already hold two places (connectors quantize them); str() is much
    # cheaper than formatting, and the format is the fallback for any that do not.
    text = str(value)
    return text if text[-3:-2] == "." else f"{value:.2f}"


def _json_value(kind: Kind) -> Callable[[Any], Any]:
    if kind is Kind.MONEY:
        return lambda v: None if v is None else _money(v)
    if kind in (Kind.DATETIME, Kind.DATE):
        return lambda v: None if v is None else v.isoformat()
    return lambda v: v


def _text_value(kind: Kind) -> Callable[[Any], str]:
    if kind is Kind.MONEY:
        return lambda v: "" if v is None else _money(v)
    if kind is Kind.DATETIME:
        return lambda v: "" if v is None else v.isoformat(sep=" ")
    if kind is Kind.DATE:
        return lambda v: "" if v is None else v.isoformat()
    if kind is Kind.BOOL:
        return lambda v: "" if v is None else ("true" if v else "false")
    return lambda v: "" if v is None else str(v)


def _cell_value(kind: Kind) -> Callable[[Any], Any]:
    if kind is Kind.MONEY:
        return lambda v: None if v is None else Decimal(v)
    return lambda v: v


class _Columns:
    def __init__(self, entity: str, fields: Sequence[str],
                 of_kind: Callable[[Kind], Callable[[Any], Any]]) -> None:
        specs = ENTITIES[entity].fields
        self.names = list(fields)
        self.writers = [_id_writer(entity) if name == "id" else of_kind(specs[name].kind)
                        for name in fields]
        self.plan = list(zip(self.names, self.writers, strict=True))


class NdjsonEncoder:
    """One JSON object per line, keys in the order of the columns."""

    media_type = "application/x-ndjson"

    def __init__(self, entity: str, fields: Sequence[str]) -> None:
        self.columns = _Columns(entity, fields, _json_value)
        self._dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode

    def start(self) -> bytes:
        return b""

    def page(self, rows: Sequence[Row]) -> bytes:
        plan, dumps = self.columns.plan, self._dumps
        lines = [dumps({name: write(row.get(name)) for name, write in plan}) for row in rows]
        return ("\n".join(lines) + "\n").encode() if lines else b""

    def finish(self) -> Iterator[bytes]:
        return iter(())


class CsvEncoder:
    """A header of field names, then one line per row (RFC 4180, CRLF)."""

    media_type = "text/csv"

    def __init__(self, entity: str, fields: Sequence[str], encoding: str) -> None:
        self.columns = _Columns(entity, fields, _text_value)
        self.encoding = encoding
        self.media_type = f"text/csv; charset={'utf-8' if encoding == 'utf-8-sig' else encoding}"
        self._buffer = io.StringIO()
        self._writer = csv.writer(self._buffer, lineterminator="\r\n")

    def _take(self) -> bytes:
        text = self._buffer.getvalue()
        self._buffer.seek(0)
        self._buffer.truncate()
        # Text a legacy codec cannot hold (none for GB18030, which covers Unicode) or lone
        # surrogates from a source become "?" rather than breaking the stream mid-way.
        codec = "utf-8" if self.encoding == "utf-8-sig" else self.encoding
        return text.encode(codec, errors="replace")

    def start(self) -> bytes:
        self._writer.writerow(self.columns.names)
        bom = b"\xef\xbb\xbf" if self.encoding == "utf-8-sig" else b""
        return bom + self._take()

    def page(self, rows: Sequence[Row]) -> bytes:
        plan = self.columns.plan
        self._writer.writerows([[write(row.get(name)) for name, write in plan] for row in rows])
        return self._take()

    def finish(self) -> Iterator[bytes]:
        return iter(())


class XlsxEncoder:
    """One sheet in openpyxl's write-only mode; the workbook is sent once it is complete."""

    media_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

    def __init__(self, entity: str, fields: Sequence[str], title: str) -> None:
        self.columns = _Columns(entity, fields, _cell_value)
        self.workbook = Workbook(write_only=True)
        self.sheet = self.workbook.create_sheet(title=title[:31])
        self.rows = 0

    def start(self) -> bytes:
        self.sheet.append(self.columns.names)
        return b""

    def page(self, rows: Sequence[Row]) -> bytes:
        self.rows += len(rows)
        if self.rows > XLSX_MAX_ROWS:
            raise ValueError("more rows than an XLSX sheet holds")
        plan = self.columns.plan
        for row in rows:
            self.sheet.append([write(row.get(name)) for name, write in plan])
        return b""

    def finish(self) -> Iterator[bytes]:
        with tempfile.TemporaryFile() as spool:
            self.workbook.save(spool)
            spool.seek(0)
            while chunk := spool.read(_CHUNK):
                yield chunk


def encoder_for(fmt: str, entity: str, fields: Sequence[str], *, encoding: str = "utf-8-sig",
                title: str = "export") -> Encoder:
    if fmt == "ndjson":
        return NdjsonEncoder(entity, fields)
    if fmt == "csv":
        return CsvEncoder(entity, fields, encoding)
    if fmt == "xlsx":
        return XlsxEncoder(entity, fields, title)
    raise ValueError(f"unknown export format {fmt!r}")


def file_name(root: str, fmt: str, when: dt.datetime | None = None) -> str:
    """`payments-20240131-1015.csv`: what the download is saved as."""
    stamp = (when or dt.datetime.now()).strftime("%Y%m%d-%H%M")
    return f"{root}-{stamp}.{fmt}"
