"""What one request read and wrote: the access log its audit record is made from.

The gateway notes every row set it hands out (entities, row ids, which fields came back clear
or masked) and every write (entity, row id, operation, and sha256 digests of the row's
canonical JSON before and after — never the values, so the trail holds no second copy of the
data it protects). The audit recorder turns the log into the request's durable record. Large
reads keep a count and a digest instead of every id.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Final

from .chain import canonical_json

MAX_IDS_PER_ENTITY: Final = 1000
WRITE_OPS: Final = ("create", "update", "delete")


@dataclass
class EntityReads:
    entity: str
    ids: list[str] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)
    count: int = 0
    clear_fields: set[str] = field(default_factory=set)
    masked_fields: set[str] = field(default_factory=set)
    aggregates: int = 0
    _digest: hashlib._Hash = field(default_factory=hashlib.sha256)
    # The reader vouches that no id comes twice (a keyset scan): no set of every id seen is
    # kept, so a read of millions of rows (an export) notes them in constant memory.
    distinct: bool = False

    @property
    def truncated(self) -> bool:
        return self.count > len(self.ids)

    @property
    def digest(self) -> str:
        """sha256 over every distinct id read, in read order."""
        return self._digest.hexdigest()


@dataclass(frozen=True, slots=True)
class Write:
    """One row written: digests of its canonical JSON before and after (None: no row)."""

    entity: str
    id: str
    op: str
    before: str | None
    after: str | None


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return str(value)


def row_digest(row: Mapping[str, Any] | None) -> str | None:
    """sha256 of a row's canonical JSON (money and times as their text), None for no row."""
    if row is None:
        return None
    return hashlib.sha256(canonical_json(_plain(row)).encode()).hexdigest()


class AccessLog:
    def __init__(self, *, distinct: bool = False) -> None:
        """`distinct`: the reads noted are keyset scans, whose ids never repeat."""
        self.entities: dict[str, EntityReads] = {}
        self.writes: list[Write] = []
        self.distinct = distinct

    def _entry(self, entity: str) -> EntityReads:
        entry = self.entities.get(entity)
        if entry is None:
            entry = self.entities[entity] = EntityReads(entity, distinct=self.distinct)
        return entry

    def note_rows(
        self, entity: str, ids: Iterable[str], fields: Iterable[str], masked: Iterable[str]
    ) -> None:
        entry = self._entry(entity)
        masked_set = set(masked)
        entry.masked_fields |= masked_set
        entry.clear_fields |= set(fields) - masked_set
        for row_id in ids:
            if not entry.distinct:
                if row_id in entry.seen:
                    continue
                entry.seen.add(row_id)
            entry.count += 1
            entry._digest.update(row_id.encode() + b"\n")
            if len(entry.ids) < MAX_IDS_PER_ENTITY:
                entry.ids.append(row_id)

    def note_aggregate(self, entity: str, fields: Iterable[str]) -> None:
        entry = self._entry(entity)
        entry.aggregates += 1
        entry.clear_fields |= set(fields)

    def note_write(
        self, entity: str, id: str, op: str,
        before: Mapping[str, Any] | None, after: Mapping[str, Any] | None,
    ) -> Write:
        """Note one row written: `before` is None for a create, `after` None for a delete."""
        if op not in WRITE_OPS:
            raise ValueError(f"op must be one of {', '.join(WRITE_OPS)}, not {op!r}")
        if (op == "create") != (before is None) or (op == "delete") != (after is None):
            raise ValueError(f"a {op} has {'no' if op == 'create' else 'a'} row before and "
                             f"{'no' if op == 'delete' else 'a'} row after")
        write = Write(entity, str(id), op, row_digest(before), row_digest(after))
        self.writes.append(write)
        return write
