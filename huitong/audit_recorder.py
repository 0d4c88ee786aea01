"""Make each GraphQL operation's audit record durable before its response may leave.

The view calls `AuditRecorder.record` after execution and before sending; when the record
cannot be written the caller gets HTTP 503 and none of the data (fail closed).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from strawberry.types import ExecutionResult

from auth.audit import AuditConfig, AuditEntry, AuditStore, AuditUnavailable
from auth.audit.access_log import ReadLog
from auth.identity.principal import Principal
from schema.extensions.errors import public_error

from .graphql_view import Refused

log = logging.getLogger("huitong.audit")

# Who a refused credential claimed to be is not known, and must not be taken from it.
REFUSED = Principal(subject="unauthenticated", role="none", credential="refused")
DENIED_CODES = frozenset({"FORBIDDEN", "PURPOSE_REQUIRED", "UNAUTHENTICATED"})


def error_codes(result: ExecutionResult) -> list[str]:
    return [str((e.extensions or {}).get("code", "UNKNOWN")) for e in result.errors or ()]


def outcome_of(result: ExecutionResult) -> str:
    codes = error_codes(result)
    if not codes:
        return "ok"
    if any(code in DENIED_CODES for code in codes):
        return "denied"
    # Partial only when something came back: an answer whose every root field is null
    # (nullable lists that failed) served nothing.
    served = any(value is not None for value in (result.data or {}).values())
    return "partial" if served else "error"


class AuditRecorder:
    def __init__(self, store: AuditStore, config: AuditConfig) -> None:
        self.store = store
        self.config = config

    async def record_refused(self, code: str, started_at: datetime, duration_ms: float) -> None:
        """Note a request turned away before any execution (a credential that did not
        verify): who tried cannot be known, but that someone did is worth keeping. Nothing is
        served either way, so a store failure here is only logged."""
        try:
            entry = AuditEntry.build(
                REFUSED, document="", outcome="denied", duration_ms=duration_ms,
                errors=[code], at=started_at,
            )
            await self.store.append(entry)
        except Exception:
            log.exception("audit record of a refused request could not be written")

    async def record(
        self,
        principal: Principal,
        *,
        document: str,
        operation_name: str | None,
        variables: Mapping[str, Any] | None,
        reads: ReadLog,
        result: ExecutionResult,
        started_at: datetime,
        duration_ms: float,
    ) -> None:
        """Append the operation's record, or refuse the response with 503."""
        if result.errors:
            # Record the codes the caller will see: errors raised before the schema's masking
            # extension ran (a syntax error) get theirs only here. Masking again is a no-op.
            result.errors = [public_error(error) for error in result.errors]
        try:
            entry = AuditEntry.build(
                principal, document=document, operation_name=operation_name,
                variables=variables, reads=reads, outcome=outcome_of(result),
                duration_ms=duration_ms, errors=error_codes(result), at=started_at,
                max_listed_ids=self.config.max_listed_ids,
            )
            await self.store.append(entry)
        except AuditUnavailable as exc:
            raise Refused(503, exc.code, exc.message) from exc
        except Exception as exc:
            log.exception("audit record could not be built")
            raise Refused(503, "AUDIT_UNAVAILABLE",
                          "The audit record could not be written; nothing was served.") from exc
