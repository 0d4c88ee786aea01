"""Audit records of refused requests, one per client, refusal and minute however many arrive.

Every refusal is recorded: a credential that does not verify (401), a verified token whose role
the policy does not have (403), and refusals at the HTTP layer (400, 405, 408, 413, a mutation
over GET). A flood of them (guessed API keys, a scanner) must not fill the hub store, so they
are counted per key — the client (its IP address and a fingerprint of the credential it sent,
never the credential), the principal, the status and the code — and minute: the first refusal of
a key in a minute is written at once (count 1), the rest of that minute only counted, and one
record carries their count (`extra.refused.count`) when the minute is over, at the next flush
(the hub's housekeeping runs every `[audit].checkpoint_interval_seconds`, and at shutdown).

Nothing is served on a refusal, so a store failure here is logged, not raised.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from auth.audit import AuditEntry, DocumentInfo
from auth.identity.principal import Principal

log = logging.getLogger("huitong.audit")

# Who a refused credential claimed to be is not known, and must not be taken from it.
REFUSED = Principal(subject="unauthenticated", role="none", credential="refused")


def client_fingerprint(host: str | None, authorization: str | None) -> str:
    """The client as the audit knows it: its address, and a short digest of its credential."""
    who = host or "unknown"
    if authorization:
        digest = hashlib.sha256(authorization.encode("utf-8", "replace")).hexdigest()[:16]
        who += f" cred:{digest}"
    return who


@dataclass(frozen=True, slots=True)
class RefusalKey:
    minute: str
    client: str
    subject: str
    role: str
    status: int
    code: str


@dataclass(slots=True)
class _Pending:
    principal: Principal
    first_at: datetime
    count: int = 0


class RefusalLog:
    """Counts refusals per key and minute; writes the first at once and the rest as one."""

    def __init__(self, append: Callable[[AuditEntry], Awaitable[object]]) -> None:
        self._append = append
        self._seen: dict[RefusalKey, _Pending] = {}

    async def refused(self, principal: Principal, *, status: int, code: str, client: str,
                      at: datetime, duration_ms: float) -> None:
        minute = at.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ")
        key = RefusalKey(minute, client, principal.subject, principal.role, status, code)
        await self.flush(before=minute)
        pending = self._seen.get(key)
        if pending is not None:
            pending.count += 1
            return
        self._seen[key] = _Pending(principal, at)
        await self._write(key, principal, at, 1, duration_ms)

    async def flush(self, before: str | None = None) -> None:
        """Write the counts of minutes before `before` (every minute when None)."""
        done = [k for k in self._seen if before is None or k.minute < before]
        for key in done:
            pending = self._seen.pop(key)
            if pending.count:
                await self._write(key, pending.principal, pending.first_at, pending.count, 0)

    async def _write(self, key: RefusalKey, principal: Principal, at: datetime, count: int,
                     duration_ms: float) -> None:
        try:
            entry = AuditEntry.build(
                principal, document=DocumentInfo.of_text(""), outcome="denied",
                duration_ms=duration_ms, errors=[key.code], at=at,
                extra={"refused": {"status": key.status, "client": key.client,
                                   "minute": key.minute, "count": count}},
            )
            await self._append(entry)
        except Exception:
            log.exception("audit record of a refused request could not be written")
