"""Searching the audit trail: records by who/what/when, and the access history of one row.

For the audit-trail queries (auditRecords, accessHistory). Row lookups use the read index
(`hub_audit_reads`): reads whose ids were listed are found by row id; reads kept only as a
digest are found by entity, and come back marked `listed=False` (the row may be among them).
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Row, and_, exists, or_, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from .chain import parse_content
from .errors import AuditUnavailable, brief
from .records import IDS_DIGEST, AuditEntry, StoredRecord
from .tables import reads_table, records_table

# Facts of a record that may be absent (a principal without an agency, a read without a
# stated purpose): a search may ask for their absence.
OPTIONAL_FACTS = ("agency", "purpose")

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class AccessEvent:
    """One operation that read a row: `listed` False means the entity was read in digest mode
    (too many rows to list), so the row may or may not have been among them."""

    seq: int
    at: datetime
    subject: str
    role: str
    agency: str | None
    region_code: str | None
    client: str
    purpose: str | None
    operation: str | None
    outcome: str
    clear_fields: tuple[str, ...]
    masked_fields: tuple[str, ...]
    listed: bool


def _aware(value: datetime) -> datetime:
    # SQLite hands timestamps back without a zone; they were written in UTC.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def _stored(row: Row[Any]) -> StoredRecord:
    return StoredRecord(row.seq, row.prev_hash, row.hash,
                        AuditEntry.from_dict(parse_content(row.content).entry))


class AuditSearch:
    """The read side of `AuditStore`."""

    _engine: AsyncEngine

    async def _rows(self, query: Any) -> list[Row[Any]]:
        try:
            async with self._engine.connect() as conn:
                return list((await conn.execute(query)).all())
        except (DBAPIError, OSError) as exc:
            log.error("audit trail not readable: %s", brief(exc))
            raise AuditUnavailable("The audit trail cannot be read right now; try again later."
                                   ) from exc

    async def query(
        self,
        *,
        subject: str | None = None,
        role: str | None = None,
        agency: str | None = None,
        entity: str | None = None,
        purpose: str | None = None,
        outcome: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        region_prefix: str | None = None,
        before_seq: int | None = None,
        limit: int = 100,
        without: Collection[str] = (),
    ) -> list[StoredRecord]:
        """Records matching every given filter, newest first; page on with `before_seq`.

        `region_prefix` keeps the records of principals whose region code starts with it;
        `without` names the optional facts (`agency`, `purpose`) that must be absent.
        """
        c = records_table.c
        conditions: list[Any] = [
            column == value
            for column, value in ((c.subject, subject), (c.role, role), (c.agency, agency),
                                  (c.purpose, purpose), (c.outcome, outcome))
            if value is not None
        ]
        for name in without:
            if name not in OPTIONAL_FACTS:
                raise ValueError(f"{name} is always recorded")
            conditions.append(c[name].is_(None))
        if since is not None:
            conditions.append(c.at >= since.astimezone(UTC))
        if until is not None:
            conditions.append(c.at <= until.astimezone(UTC))
        if region_prefix is not None:
            conditions.append(c.region_code.startswith(region_prefix, autoescape=True))
        if before_seq is not None:
            conditions.append(c.seq < before_seq)
        if entity is not None:
            r = reads_table.c
            conditions.append(exists().where(r.seq == c.seq, r.entity == entity,
                                             r.row_id.is_(None)))
        query = select(records_table).where(*conditions).order_by(c.seq.desc()).limit(limit)
        return [_stored(row) for row in await self._rows(query)]

    async def access_history(
        self,
        entity: str,
        row_id: str,
        *,
        include_digest: bool = True,
        digest_region_codes: Collection[str] | None = None,
        digest_roles: Collection[str] = (),
        since: datetime | None = None,
        until: datetime | None = None,
        before_seq: int | None = None,
        limit: int = 100,
    ) -> list[AccessEvent]:
        """Who read this row, when, masked or clear and why — newest first.

        Reads whose ids were listed are found by row id. Reads too large to list are kept as a
        digest and found by entity only: with `include_digest` they come back with
        `listed=False`, meaning the row may have been among them. `digest_region_codes`, when
        given, keeps only the digest reads of principals at those region codes or in
        `digest_roles` (readers who could have seen the row).
        """
        r, c = reads_table.c, records_table.c
        match = r.row_id == row_id
        if include_digest:
            digest = and_(r.row_id.is_(None), r.mode == IDS_DIGEST)
            if digest_region_codes is not None:
                digest = and_(digest, or_(c.region_code.in_(list(digest_region_codes)),
                                          c.role.in_(list(digest_roles))))
            match = or_(match, digest)
        conditions: list[Any] = [r.entity == entity, match]
        if since is not None:
            conditions.append(c.at >= since.astimezone(UTC))
        if until is not None:
            conditions.append(c.at <= until.astimezone(UTC))
        if before_seq is not None:
            conditions.append(r.seq < before_seq)
        query = (
            select(records_table, r.row_id.label("read_row_id"))
            .join(records_table, c.seq == r.seq)
            .where(*conditions)
            .order_by(r.seq.desc())
            .limit(limit)
        )
        events = []
        for row in await self._rows(query):
            entry = AuditEntry.from_dict(parse_content(row.content).entry)
            reads = entry.reads.get(entity, {})
            events.append(AccessEvent(
                seq=row.seq, at=_aware(row.at), subject=row.subject, role=row.role,
                agency=row.agency, region_code=row.region_code, client=row.client,
                purpose=row.purpose, operation=row.operation, outcome=row.outcome,
                clear_fields=tuple(reads.get("clear_fields", ())),
                masked_fields=tuple(reads.get("masked_fields", ())),
                listed=row.read_row_id is not None,
            ))
        return events
