"""The change feed a caller reads: the journal's entries, in order, as that caller may see them.

For each journal entry the caller's row predicate (`auth.access.scope.Scoper.row_conditions`:
jurisdiction and static conditions such as `status = PUBLISHED`) is tested against the row's
recorded scope attributes after and before the change:

- inside the caller's scope after the change: `UPSERT`;
- outside it after, but inside before: `DELETE` (the row left the caller's scope — a
  withdrawn disclosure for the public, a payment moved to another unit);
- outside both: not shown. A caller never learns of a row it could not have seen.

Positions are journal sequence numbers: resuming from any entry gives the same sequence as
one pass. Before reading, the feed catches the journal up with the source (bounded in time;
`has_next` stays true while the follower has not caught up).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from auth.access.scope import Scoper
from auth.audit import AccessLog
from auth.model.query import Op
from connectors import in_memory

from .change_follower import ChangeFollower
from .change_journal import ChangeJournal, Entry

UPSERT: Final = "UPSERT"
DELETE: Final = "DELETE"
# Entries scanned at most per call (entries the caller may not see are skipped).
SCAN_BUDGET: Final = 20_000


@dataclass(frozen=True, slots=True)
class Change:
    seq: int
    op: str
    entity: str
    row_id: str
    at: object


@dataclass(frozen=True, slots=True)
class ChangePage:
    changes: list[Change]
    has_next: bool
    # Where the next page starts: the last change shown, or how far the scan got.
    position: int


class ChangeFeed:
    def __init__(self, journal: ChangeJournal, follower: ChangeFollower) -> None:
        self.journal = journal
        self.follower = follower

    def follows(self, entity: str) -> bool:
        return self.follower.follows(entity)

    async def read(self, scoper: Scoper, entity: str, after: int, first: int,
                   log: AccessLog) -> ChangePage:
        """Up to `first` changes after position `after`, as `scoper`'s principal sees them."""
        conditions = scoper.row_conditions(entity)
        caught_up = await self.follower.catch_up(entity)
        visible = in_memory.compile_conditions(entity, conditions)
        prefix = next((str(c.value) for c in conditions
                       if c.field == "regionCode" and c.op is Op.WITHIN), None)
        found: list[Change] = []
        position, scanned, exhausted = after, 0, False
        batch = max(4 * first, 200)
        while len(found) <= first and scanned < SCAN_BUDGET:
            entries = await self.journal.entries(entity, position, batch, prefix)
            for entry in entries:
                change = _as_seen(entry, visible)
                if change is not None:
                    found.append(change)
                    if len(found) > first:
                        break
                position = entry.seq
            scanned += len(entries)
            if len(entries) < batch:
                exhausted = True
                break
        shown = found[:first]
        more = len(found) > first or not exhausted or not caught_up
        log.note_rows(entity, (c.row_id for c in shown), ("id",), ())
        # Continue after the last change shown: the entries skipped after it are scanned
        # again next time rather than their positions told. Only a scan that found nothing
        # and stopped at its budget moves on past what it skipped.
        end = shown[-1].seq if shown else after if exhausted else position
        return ChangePage(shown, more, end)


def _as_seen(entry: Entry, visible: in_memory.Predicate) -> Change | None:
    def state(region: str | None, attrs: object) -> dict[str, object]:
        return {"id": entry.row_id, "regionCode": region, **(attrs or {})}  # type: ignore[dict-item]

    if visible(state(entry.region_code, entry.attrs)):
        return Change(entry.seq, UPSERT, entry.entity, entry.row_id, entry.at)
    if entry.prev_attrs is not None and visible(state(entry.prev_region_code,
                                                      entry.prev_attrs)):
        return Change(entry.seq, DELETE, entry.entity, entry.row_id, entry.at)
    return None


