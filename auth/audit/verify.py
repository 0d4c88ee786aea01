"""Walking the audit chain and naming the first record that is broken, missing or out of place.

Records are read in seq order, a batch at a time, each batch on its own short connection (so
a long verify never holds locks the request path needs). For every record: its seq follows the
previous one (else records were deleted), its hash matches its content (else the content or the
hash was edited), the seq and previous hash inside the hashed content match the row (else it was
moved or relinked), its previous hash is the previous record's hash, the searchable columns
agree with the content, and its read-index rows are exactly those its content implies. Finally
the last record must be the chain head.

What verification cannot see on its own: records deleted from the very end together with a
matching rewind of the head row. Exported files (whose stamps carry the head) anchor that.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC
from typing import Any, Final

from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from .chain import GENESIS, ChainHasher, ParsedContent, parse_content
from .records import AuditEntry
from .tables import HEAD_ID, head_table, reads_table, records_table

CONTENT_EDITED: Final = "content edited"
HASH_MISMATCH: Final = "hash mismatch"
MISSING: Final = "missing record"
REORDERED: Final = "reordered"
PREV_LINK: Final = "prev link broken"
INDEX_MISMATCH: Final = "read index mismatch"
HEAD_MISMATCH: Final = "chain head mismatch"
KEY_UNKNOWN: Final = "unknown chain key"

_COLUMNS: Final = ("at", "subject", "role", "agency", "region_code", "client", "purpose",
                   "operation", "outcome", "duration_ms")


@dataclass(frozen=True, slots=True)
class ChainProblem:
    seq: int
    reason: str
    detail: str

    def __str__(self) -> str:
        return f"seq {self.seq}: {self.reason}: {self.detail}"


@dataclass(frozen=True, slots=True)
class VerifyReport:
    checked: int
    first_seq: int | None
    last_seq: int | None
    head_seq: int
    head_hash: str
    alg: str
    problem: ChainProblem | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None


async def _scalar(engine: AsyncEngine, column: Any, seq: int) -> Any:
    async with engine.connect() as conn:
        return await conn.scalar(select(column).where(records_table.c.seq == seq))


async def _index(conn: AsyncConnection, low: int, high: int) -> dict[int, Counter[tuple[Any, ...]]]:
    r = reads_table.c
    rows = await conn.execute(
        select(r.seq, r.entity, r.row_id, r.mode).where(r.seq >= low, r.seq <= high)
    )
    found: dict[int, Counter[tuple[Any, ...]]] = {}
    for seq, entity, row_id, mode in rows:
        found.setdefault(seq, Counter())[(entity, row_id, mode)] += 1
    return found


class _Walk:
    def __init__(self, engine: AsyncEngine, hasher: ChainHasher, start: int, prev: str,
                 ring: Mapping[str, ChainHasher]) -> None:
        self.engine, self.hasher, self.ring = engine, hasher, ring
        self.start, self.expected_seq, self.expected_prev = start, start, prev
        self.checked = 0

    def _first_key(self, row: Row[Any]) -> str:
        """The first record checked may be keyed with any key of the ring (an older one
        when the key has been rotated since)."""
        for hasher in self.ring.values():
            digest = hasher(row.content)
            if digest == row.hash:
                self.hasher = hasher
                return digest
        return self.hasher(row.content)

    async def row(self, row: Row[Any]) -> tuple[ChainProblem | None, AuditEntry | None]:
        seq = self.expected_seq
        if row.seq != seq:
            gap = f"records {seq}–{row.seq - 1} are" if row.seq - 1 > seq else "the record is"
            return ChainProblem(seq, MISSING, f"{gap} missing (deleted)"), None
        try:
            parsed: ParsedContent | None = parse_content(row.content)
        except ValueError:
            parsed = None
        digest = self.hasher(row.content) if self.checked else self._first_key(row)
        if parsed is None or digest != row.hash:
            return await self._mismatch(seq, digest), None
        if parsed.seq != seq:
            return ChainProblem(seq, REORDERED, f"the record written as seq {parsed.seq} is "
                                f"stored at seq {seq}"), None
        if parsed.prev != row.prev_hash:
            return ChainProblem(seq, PREV_LINK, "prev_hash differs from the previous hash "
                                "inside the hashed content"), None
        if row.prev_hash != self.expected_prev:
            what = "the genesis hash" if seq == 1 else f"record {seq - 1}'s hash"
            return ChainProblem(seq, PREV_LINK, f"prev_hash is not {what} (that record or "
                                "this link was rewritten)"), None
        try:
            entry = AuditEntry.from_dict(parsed.entry)
        except (KeyError, TypeError, ValueError) as exc:
            return ChainProblem(seq, CONTENT_EDITED, f"the entry is malformed ({exc})"), None
        expected = entry.columns()
        for name in _COLUMNS:
            value = getattr(row, name)
            if name == "at" and value.tzinfo is None:
                value = value.replace(tzinfo=UTC)
            if value != expected[name]:
                return ChainProblem(seq, CONTENT_EDITED, f"column {name} was changed: "
                                    "it differs from the hashed content"), None
        rotation = entry.extra.get("key_rotation")
        if isinstance(rotation, Mapping):
            target = self.ring.get(str(rotation.get("to")))
            if target is None:
                return ChainProblem(seq, KEY_UNKNOWN, f"the chain is keyed with key "
                                    f"{rotation.get('to')} after this record, which is not "
                                    "configured ([audit].hmac_key_env or "
                                    "previous_hmac_keys_env)"), None
            self.hasher = target
        self.expected_seq, self.expected_prev = seq + 1, row.hash
        self.checked += 1
        return None, entry

    async def _mismatch(self, seq: int, digest: str) -> ChainProblem:
        # If the next record links to the recomputed hash, the content is intact and only the
        # stored hash was overwritten; otherwise the content changed.
        if await _scalar(self.engine, records_table.c.prev_hash, seq + 1) == digest:
            return ChainProblem(seq, HASH_MISMATCH, "the stored hash was altered; the content "
                                "still matches the next record's link")
        hint = " (or the chain was written with another audit key)" if seq == self.start else ""
        return ChainProblem(seq, CONTENT_EDITED, f"the content no longer matches its hash{hint}")


async def verify_chain(
    engine: AsyncEngine,
    hasher: ChainHasher,
    from_seq: int | None = None,
    to_seq: int | None = None,
    batch: int = 500,
    ring: Mapping[str, ChainHasher] | None = None,
) -> VerifyReport:
    async with engine.connect() as conn:
        head = (await conn.execute(
            select(head_table.c.seq, head_table.c.hash).where(head_table.c.id == HEAD_ID)
        )).first()
    if head is None:
        missing = ChainProblem(0, HEAD_MISMATCH, "the chain head row is missing")
        return VerifyReport(0, None, None, 0, GENESIS, hasher.alg, missing)
    start = max(from_seq or 1, 1)
    end = head.seq if to_seq is None else min(to_seq, head.seq)

    def report(walk: _Walk | None, problem: ChainProblem | None) -> VerifyReport:
        checked = walk.checked if walk else 0
        last = start + checked - 1 if checked else None
        return VerifyReport(checked, start if checked else None, last, head.seq, head.hash,
                            hasher.alg, problem)

    prev = GENESIS
    if start > 1 and start <= end:
        prev = await _scalar(engine, records_table.c.hash, start - 1)
        if prev is None:
            return report(None, ChainProblem(start - 1, MISSING, "the record before the "
                                             "range is missing (deleted)"))
    walk = _Walk(engine, hasher, start, prev, ring or {hasher.key_id: hasher})
    c = records_table.c
    while walk.expected_seq <= end:
        async with engine.connect() as conn:
            rows = (await conn.execute(
                select(records_table).where(c.seq >= walk.expected_seq, c.seq <= end)
                .order_by(c.seq).limit(batch)
            )).all()
            index = await _index(conn, rows[0].seq, rows[-1].seq) if rows else {}
        if not rows:
            break
        for row in rows:
            problem, entry = await walk.row(row)
            if problem is None and entry is not None:
                wanted = Counter(entry.index_rows())
                if index.get(row.seq, Counter()) != wanted:
                    walk.checked -= 1
                    problem = ChainProblem(row.seq, INDEX_MISMATCH, "the read index "
                                           "(hub_audit_reads) differs from the record's reads")
            if problem is not None:
                return report(walk, problem)
    if walk.expected_seq <= end:
        seq = walk.expected_seq
        return report(walk, ChainProblem(seq, MISSING, f"records {seq}–{end} are missing "
                                         f"(the head says the chain reaches {head.seq})"))
    if end == head.seq and walk.expected_prev != head.hash and (start <= end or end == 0):
        return report(walk, ChainProblem(head.seq, HEAD_MISMATCH, "the chain head's hash is "
                                         "not the last record's hash"))
    return report(walk, None)
