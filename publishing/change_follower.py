"""Following the sources: read each followed entity's rows changed since the last mark, and
journal those whose content changed.

The follower is background work of the hub: it reads through `connectors.gateway` as the
system principal `system:change-follower`, in the policy's role `change_follower` (without
that role there is no feed), in watermark order (`auth.model.query.Since`), a page at a time.
A row whose digest equals its head's (re-read at a boundary, or touched without change) is not
journaled. Each page read is audited like any read. Rows a source deletes outright are never
seen: a source must keep tombstones or a status (WITHDRAWN, RETURNED …) for the journal to
learn that a row went.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final

from auth.access.policy import Policy
from auth.audit import AccessLog, AuditEntry, AuditStore, DocumentInfo, row_digest
from auth.identity.principal import system_principal
from auth.model.catalog import ENTITIES
from auth.model.query import EntityQuery, Since
from auth.model.time import local_naive
from connectors.gateway import Gateway, Sources
from connectors.rows import KEYS, WATERMARK, Row

from .change_journal import ChangeJournal, Version, encode_attrs, scope_fields

FOLLOWER_ROLE: Final = "change_follower"
FOLLOWER = system_principal("change-follower", role=FOLLOWER_ROLE)
# The entities of `changes(entity: ChangeEntity!)`, by their enum name.
FEEDS: Final[Mapping[str, str]] = {"DISCLOSURE": "Disclosure", "SUBSIDY": "Subsidy",
                                   "PAYMENT": "Payment"}
PAGE_SIZE: Final = 1000


class ChangeFollower:
    def __init__(self, journal: ChangeJournal, policy: Policy, sources: Sources,
                 audit: AuditStore | None = None, *, max_listed_ids: int = 1000) -> None:
        self.journal = journal
        self.policy = policy
        self.sources = sources
        self.audit = audit
        self.max_listed_ids = max_listed_ids
        self._locks: dict[str, asyncio.Lock] = {}

    def follows(self, entity: str) -> bool:
        """The policy lets the follower read `entity` and its source offers a watermark."""
        role = self.policy.role(FOLLOWER_ROLE)
        connector = self.sources.for_entity(entity)
        return role is not None and role.readable(entity) and connector is not None \
            and connector.follows(entity)

    def _fields(self, entity: str) -> tuple[str, ...]:
        role = self.policy.role(FOLLOWER_ROLE)
        grant = role.grant(entity) if role is not None else None
        assert grant is not None
        return tuple(f.name for f in ENTITIES[entity].fields.values()
                     if f.output and f.name in grant.fields)

    async def catch_up(self, entity: str, budget_seconds: float = 3.0) -> bool:
        """Follow `entity` until no change is left unread, or the budget is spent (then
        False). Callers at the same time wait for the one follow under way."""
        lock = self._locks.setdefault(entity, asyncio.Lock())
        deadline = time.monotonic() + budget_seconds
        async with lock:
            while True:
                if await self.step(entity):
                    return True
                if time.monotonic() > deadline:
                    return False

    async def step(self, entity: str, page_size: int = PAGE_SIZE) -> bool:
        """Read and journal one page of changes; True when it was the last one for now."""
        started_at, started = datetime.now(UTC), time.perf_counter()
        begun, position = await self.journal.mark(entity)
        log = AccessLog(distinct=True)
        gateway = Gateway.for_principal(self.policy, FOLLOWER, self.sources, log)
        rows = await gateway.fetch(EntityQuery(entity, self._fields(entity),
                                               since=Since(position), limit=page_size))
        heads = await self.journal.heads(entity, (str(r["id"]) for r in rows))
        attrs = scope_fields(entity, self.policy)
        versions = []
        for row in rows:
            version = _version(row, attrs)
            head = heads.get(version.row_id)
            if head is None or head.digest != version.digest:
                versions.append(version)
        if not rows and begun:
            return True  # nothing changed since the mark: nothing to write
        last = (rows[-1][WATERMARK], str(rows[-1]["id"])) if rows else position
        if rows:
            await self._audit(entity, log, started_at, started, len(versions))
        moved = await self.journal.append(entity, begun, position, last, versions, heads)
        return moved and len(rows) < page_size

    async def _audit(self, entity: str, log: AccessLog, started_at: datetime, started: float,
                     journaled: int) -> None:
        if self.audit is None:
            return
        await self.audit.append(AuditEntry.build(
            FOLLOWER, document=DocumentInfo.of_text(f"follow {entity}"),
            operation_name=f"follow {entity}", log=log, outcome="ok",
            duration_ms=(time.perf_counter() - started) * 1000, at=started_at,
            extra={"follow": {"entity": entity, "journaled": journaled}},
            max_listed_ids=self.max_listed_ids))


def _version(row: Row, attrs: tuple[str, ...]) -> Version:
    content = {k: v for k, v in row.items() if k not in (WATERMARK, KEYS)}
    mark: Any = row[WATERMARK]
    at = local_naive(mark) if isinstance(mark, dt.datetime) else local_naive(datetime.now(UTC))
    return Version(str(row["id"]), at, row_digest(content) or "", row.get("regionCode"),
                   encode_attrs(row, attrs))
