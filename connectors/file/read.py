"""Reading CSV and XLSX drops into numbered rows of cells, and finding their header row.

Text encodings are told by charset-normalizer (UTF-8 with or without BOM, GB18030/GBK,
UTF-16 from Excel's "Unicode text"), the CSV dialect by `csv.Sniffer`; either can be fixed in
the source's configuration when a file fools them. Line numbers are those an operator sees:
the physical line a CSV row starts on, the row number of an XLSX sheet.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from charset_normalizer import from_bytes

# Exports from grass-roots systems come in these; narrowing the candidates keeps short
# Chinese files from being taken for Big5 or a Korean code page.
CANDIDATES = ["utf_8", "gb18030", "utf_16"]
HEADER_SEARCH_ROWS = 20
_SNIFF_BYTES = 64 * 1024

Rows = Iterator[tuple[int, Sequence[Any]]]


class FileRefused(Exception):
    """The whole file cannot be loaded (unreadable, wrong columns); nothing was changed."""


def detect_encoding(data: bytes, configured: str | None = None) -> str:
    if configured:
        return configured
    best = from_bytes(data, cp_isolation=CANDIDATES).best()
    if best is None:
        raise FileRefused("cannot tell the text encoding; set `encoding` (e.g. \"gb18030\") "
                          "in the source's configuration")
    if best.encoding == "utf_8":
        return "utf-8-sig" if best.bom else "utf-8"
    # GB18030 is a superset of GBK and GB2312: decode all three with it.
    return "gb18030" if best.encoding in ("gbk", "gb2312", "gb18030") else best.encoding


def sniff_delimiter(data: bytes, encoding: str, configured: str | None = None) -> str:
    if configured:
        return configured
    sample = data[:_SNIFF_BYTES].decode(encoding, errors="ignore")
    if len(data) > _SNIFF_BYTES and "\n" in sample:
        sample = sample[: sample.rindex("\n")]
    try:
        return csv.Sniffer().sniff(sample, delimiters=",\t;|").delimiter
    except csv.Error:
        return ","


def csv_rows(data: bytes, encoding: str, delimiter: str) -> Rows:
    """Rows with the line they start on; a decoding error surfaces as FileRefused."""
    stream = io.TextIOWrapper(io.BytesIO(data), encoding=encoding, newline="")
    reader = csv.reader(stream, delimiter=delimiter)
    start = 1
    try:
        for cells in reader:
            yield start, cells
            start = reader.line_num + 1
    except UnicodeDecodeError as exc:
        raise FileRefused(f"the file is not valid {encoding} text after line {start - 1}; "
                          "set `encoding` in the source's configuration") from exc
    except csv.Error as exc:
        raise FileRefused(f"line {start}: {exc}") from exc


@dataclass
class Workbook:
    """An XLSX file opened read-only; close it when done."""

    book: Any

    @classmethod
    def load(cls, data: bytes) -> Workbook:
        import openpyxl  # imported here: only XLSX drops pay for it
        from openpyxl.utils.exceptions import InvalidFileException

        try:
            book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError) as exc:
            raise FileRefused("not a readable XLSX workbook (an old .xls must be saved as "
                              ".xlsx first)") from exc
        return cls(book)

    def sheet(self, name: str | None) -> tuple[str, Rows, int | None]:
        """(sheet name, its rows numbered from 1, its row count if the file says)."""
        names = self.book.sheetnames
        if name is not None and name not in names:
            raise FileRefused(f"sheet {name!r} not found; the workbook has {', '.join(names)}")
        sheet = self.book[name] if name is not None else self.book.worksheets[0]
        rows = enumerate(sheet.iter_rows(min_row=1, values_only=True), start=1)
        return sheet.title, rows, sheet.max_row

    def close(self) -> None:
        self.book.close()


def normalise_header(value: Any) -> str:
    """Header text compared without any whitespace (full-width spaces too) or BOM."""
    return "".join(str(value if value is not None else "").replace("\ufeff", "").split())


def cell_text_of(value: Any) -> str:
    return "" if value is None else str(value).strip()


def is_blank(cells: Sequence[Any]) -> bool:
    return all(c is None or (isinstance(c, str) and not c.strip()) for c in cells)


def find_header(rows: Rows, wanted: Sequence[str], header_row: int | None
                ) -> tuple[int, list[str], dict[str, int]]:
    """Read up to the header row; return its line, its cells, and where each wanted header is.

    Rows above the header (a title such as 2024年3月补贴发放名单) are not data and are skipped.
    """
    wanted_norm = {normalise_header(w): w for w in wanted}
    best: tuple[int, int, list[str]] = (-1, 0, [])
    for seen, (line, cells) in enumerate(rows):
        if header_row is not None and line < header_row:
            continue
        found = [normalise_header(c) for c in cells]
        present = [w for w in wanted_norm if w in found]
        if len(present) == len(wanted_norm):
            dupes = [wanted_norm[w] for w in present if found.count(w) > 1]
            if dupes:
                raise FileRefused(f"line {line}: column(s) {', '.join(dupes)} appear twice")
            return line, [cell_text_of(c) for c in cells], \
                {wanted_norm[w]: found.index(w) for w in wanted_norm}
        if len(present) > best[0]:
            best = (len(present), line, [wanted_norm[w] for w in wanted_norm if w not in found])
        if header_row is not None or seen >= HEADER_SEARCH_ROWS:
            break
    if best[0] < 0:
        raise FileRefused("the file is empty")
    where = f"line {best[1]}" if header_row is not None else \
        f"the first {HEADER_SEARCH_ROWS} rows (best: line {best[1]})"
    raise FileRefused(f"missing column(s) {', '.join(best[2])} in {where}; "
                      "check the mapping's header names")
