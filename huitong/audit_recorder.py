"""Make each GraphQL operation's audit record durable before its response may leave.

The view calls `AuditRecorder.record` after execution and before sending; when the record
cannot be written the caller gets HTTP 503 and none of the data (fail closed). The GraphQL
side of a record is made here: the document's normalised hash and its operations
(`document_info`), the outcome and the error codes the caller sees.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from datetime import datetime
from functools import lru_cache
from typing import Any, Final

from graphql import GraphQLError, OperationDefinitionNode, parse, print_ast
from strawberry.types import ExecutionResult

from auth.audit import AccessLog, AuditConfig, AuditEntry, AuditStore, AuditUnavailable
from auth.audit.records import DocumentInfo
from auth.identity.principal import Principal
from schema.extensions.errors import public_error

from .graphql_view import Refused
from .refusals import REFUSED, RefusalLog

log = logging.getLogger("huitong.audit")

DENIED_CODES = frozenset({"FORBIDDEN", "PURPOSE_REQUIRED", "UNAUTHENTICATED"})
_CACHED_DOCUMENT_CHARS: Final = 16_384
# Above every role's token limit in practice: a longer document was refused at parsing, and is
# hashed as sent rather than parsed again here at a cost its sender chose.
_MAX_DOCUMENT_TOKENS: Final = 10_000


def _document_info(document: str) -> DocumentInfo:
    try:
        ast = parse(document, no_location=True, max_tokens=_MAX_DOCUMENT_TOKENS)
    except GraphQLError:
        return DocumentInfo.of_text(document)
    ops = tuple(
        (d.name.value if d.name else None, d.operation.value)
        for d in ast.definitions
        if isinstance(d, OperationDefinitionNode)
    )
    return DocumentInfo(hashlib.sha256(print_ast(ast).encode()).hexdigest(), True, ops)


_cached_document_info = lru_cache(maxsize=1024)(_document_info)


def document_info(document: str) -> DocumentInfo:
    """The hash of the normalised document (whitespace and comments do not count).

    A document that does not parse is hashed as sent (`normalised` False). Clients repeat the
    same few documents, so small ones are cached.
    """
    if len(document) <= _CACHED_DOCUMENT_CHARS:
        return _cached_document_info(document)
    return _document_info(document)


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
        self.refusals = RefusalLog(store.append)

    async def refused(self, principal: Principal | None, *, status: int, code: str,
                      client: str, started_at: datetime, duration_ms: float) -> None:
        """Note a request turned away before any execution (see `huitong.refusals`): who it
        was when the credential verified, else `REFUSED` (a claim that did not verify is not
        taken for anyone)."""
        await self.refusals.refused(principal or REFUSED, status=status, code=code,
                                    client=client, at=started_at, duration_ms=duration_ms)

    async def record(
        self,
        principal: Principal,
        *,
        document: str,
        operation_name: str | None,
        variables: Mapping[str, Any] | None,
        access_log: AccessLog,
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
                principal, document=document_info(document), operation_name=operation_name,
                variables=variables, log=access_log, outcome=outcome_of(result),
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
