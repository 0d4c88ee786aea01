"""What one request read: entities, row ids, and which fields came back clear or masked.

The gateway notes every row set it hands to GraphQL; the audit recorder turns the log into the
request's durable record. Large reads keep a count and a digest instead of every id.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field

MAX_IDS_PER_ENTITY = 1000


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

    @property
    def truncated(self) -> bool:
        return self.count > len(self.ids)

    @property
    def digest(self) -> str:
        """sha256 over every distinct id read, in read order."""
        return self._digest.hexdigest()


class ReadLog:
    def __init__(self) -> None:
        self.entities: dict[str, EntityReads] = {}

    def _entry(self, entity: str) -> EntityReads:
        entry = self.entities.get(entity)
        if entry is None:
            entry = self.entities[entity] = EntityReads(entity)
        return entry

    def note_rows(
        self, entity: str, ids: Iterable[str], fields: Iterable[str], masked: Iterable[str]
    ) -> None:
        entry = self._entry(entity)
        masked_set = set(masked)
        entry.masked_fields |= masked_set
        entry.clear_fields |= set(fields) - masked_set
        for row_id in ids:
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
