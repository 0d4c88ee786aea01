"""Turning one drop into valid canonical rows and rejects, before anything is written.

Parsing is pure (no database): it runs in a worker thread, and the store is only touched
afterwards in one short transaction. Every data row ends up either valid or rejected with a
reason per bad cell; blank rows are counted, rows above the header are titles, not data.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

from auth.model.catalog import ENTITIES

from .config import EntityFiles, FileSource
from .read import (
    FileRefused,
    Rows,
    Workbook,
    csv_rows,
    detect_encoding,
    find_header,
    is_blank,
    sniff_delimiter,
)
from .validate import BadValue, cell_text, convert

# (phase, done, total): phase "read" counts rows parsed, "load" rows written.
Progress = Callable[[str, int, int | None], None]
_PROGRESS_EVERY = 500


@dataclass(frozen=True)
class Reject:
    entity: str
    line: int
    column: str | None
    reason: str
    sheet: str | None = None
    raw: Mapping[str, str] = field(default_factory=dict)

    def raw_json(self) -> str:
        return json.dumps(dict(self.raw), ensure_ascii=False)


@dataclass
class ParsedPart:
    """What one file (or sheet) holds for one entity."""

    target: EntityFiles
    sheet: str | None = None
    rows: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    rows_read: int = 0
    rows_rejected: int = 0
    blank_rows: int = 0


@dataclass
class Parsed:
    parts: list[ParsedPart]
    encoding: str | None = None
    delimiter: str | None = None


def parse_file(source: FileSource, name: str, data: bytes,
               progress: Progress | None = None) -> Parsed:
    targets = source.targets(name)
    if not targets:
        patterns = ", ".join(f"{e.entity}: {e.pattern}" for e in source.entities.values())
        raise FileRefused(f"no entity of source {source.name!r} takes this file ({patterns})")
    if PurePath(name).suffix.lower() == ".xlsx":
        book = Workbook.load(data)
        try:
            parts = []
            for target in targets:
                sheet, rows, total = book.sheet(target.sheet)
                parts.append(parse_rows(target, rows, total, sheet, progress))
            return Parsed(parts)
        finally:
            book.close()
    if len(targets) > 1:
        raise FileRefused("the file name matches entities "
                          + ", ".join(t.entity for t in targets)
                          + "; give them distinct `file` patterns")
    encoding = detect_encoding(data, source.encoding)
    delimiter = sniff_delimiter(data, encoding, source.delimiter)
    total = data.count(b"\n") if not encoding.startswith("utf_16") else None
    part = parse_rows(targets[0], csv_rows(data, encoding, delimiter), total, None, progress)
    return Parsed([part], encoding, delimiter)


def parse_rows(target: EntityFiles, rows: Rows, total: int | None, sheet: str | None,
               progress: Progress | None) -> ParsedPart:
    fields = target.mapping.fields
    specs = ENTITIES[target.entity].fields
    header_line, headers, index = find_header(
        rows, [fm.source for fm in fields.values()], target.header_row)
    part = ParsedPart(target, sheet)
    first_seen: dict[str, int] = {}
    id_header = fields["id"].source
    for line, cells in rows:
        if is_blank(cells):
            part.blank_rows += 1
            continue
        part.rows_read += 1
        values: dict[str, Any] = {}
        problems: list[tuple[str | None, str]] = []
        extra = [c for c in cells[len(headers):] if cell_text(c)]
        if extra:
            problems.append((None, f"{len(headers) + len(extra)} cells but {len(headers)} "
                                   "headers (an unquoted delimiter in a value?)"))
        for name, fm in fields.items():
            i = index[fm.source]
            try:
                values[name] = convert(specs[name], fm, cells[i] if i < len(cells) else None)
            except BadValue as exc:
                problems.append((fm.source, str(exc)))
        row_id = values.get("id")
        if not problems and row_id in first_seen:
            problems.append((id_header, f"duplicate id {row_id!r}: already on line "
                                        f"{first_seen[row_id]}"))
        if problems:
            part.rows_rejected += 1
            raw = raw_row(headers, cells)
            part.rejects += [Reject(target.entity, line, column, reason, sheet, raw)
                             for column, reason in problems]
        else:
            first_seen[str(row_id)] = line
            part.rows.append((line, values))
        if progress is not None and part.rows_read % _PROGRESS_EVERY == 0:
            progress("read", line, total)
    if progress is not None:
        progress("read", total or header_line + part.rows_read, total)
    return part


def raw_row(headers: Sequence[str], cells: Sequence[Any]) -> dict[str, str]:
    """The row as the file had it, by header (extra cells by position), for the rejects."""
    raw = {}
    for i, cell in enumerate(cells):
        key = headers[i] if i < len(headers) and headers[i] else f"#{i + 1}"
        raw[key] = cell_text(cell)
    return raw
