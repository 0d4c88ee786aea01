"""`GET /export/{root}.{ndjson|csv|xlsx}`: a list streamed whole, under the caller's policy.

Authentication, role, scope, masking and purpose rules are GraphQL's (`huitong.downloads`,
`connectors.gateway`); the parameters are read by `publishing.export_request` and the rows
streamed by `publishing.export`. One audit record per export is appended when the stream ends,
saying how many rows and bytes were sent (with their digests), whether it completed, and if
not why (the client disconnected, or a source failed) and after which id to resume.

Refusals before the first byte (JSON, GraphQL's error shape): 401 `UNAUTHENTICATED`, 404
`NOT_FOUND` (no such list, or one the role cannot read: the same answer), 400
`UNKNOWN_FIELD` / `UNKNOWN_PARAMETER` (a field or filter the role has not, hidden or absent
alike), `BAD_PARAMETER`, `BAD_USER_INPUT`, `INVALID_CURSOR`, `TOO_MANY_ROWS` (XLSX), 403
`PURPOSE_REQUIRED`, 503 `SOURCE_UNAVAILABLE` / `AUDIT_UNAVAILABLE`, 504 `SOURCE_TIMEOUT`.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from auth.access.purpose import PurposeRequired
from auth.access.scope import AccessDenied
from auth.audit import AccessLog, AuditUnavailable
from connectors.base import SourceError
from connectors.gateway import Gateway, InvalidQuery
from publishing.export import ExportStream, export_entry
from publishing.export_formats import file_name
from publishing.export_request import ExportRefused, parse_export

from .downloads import DISCONNECTED, Download, Refusal, caller
from .hub import Hub

log = logging.getLogger("huitong.export")


def refusal_of(exc: BaseException) -> Refusal | None:
    """A domain error from below as the caller's refusal (None: not one of ours)."""
    if isinstance(exc, ExportRefused):
        return Refusal(exc.code, exc.message)
    if isinstance(exc, PurposeRequired):
        return Refusal("PURPOSE_REQUIRED", exc.message)
    if isinstance(exc, AccessDenied):
        return Refusal("FORBIDDEN", "This export is not permitted for your role.")
    if isinstance(exc, InvalidQuery):
        return Refusal("BAD_USER_INPUT", str(exc))
    if isinstance(exc, SourceError):
        return Refusal(exc.code, f"The source {exc.source!r} could not answer this export; "
                       "try again later.")
    return None


def _failure_code(exc: BaseException) -> str:
    refusal = refusal_of(exc)
    return refusal.code if refusal is not None else "INTERNAL_SERVER_ERROR"


async def export(request: Request) -> Response:
    hub: Hub = request.app.state.hub
    started_at, started = datetime.now(UTC), time.perf_counter()
    try:
        who = await caller(hub, request)
        root = request.path_params["root"]
        fmt = request.path_params["format"]
        export_request = parse_export(who.role, root, fmt, request.query_params.multi_items())
        access_log = AccessLog(distinct=True)
        gateway = Gateway.for_principal(hub.policy, who.principal, hub.sources, access_log)
        stream = ExportStream(gateway, export_request)
        await stream.prepare()
        assert hub.recorder is not None
        await hub.recorder.store.head()  # the trail answers: fail closed before any data
    except Refusal as exc:
        return exc.response()
    except AuditUnavailable as exc:
        return Refusal(exc.code, exc.message).response()
    except Exception as exc:
        refusal = refusal_of(exc)
        if refusal is None:
            raise
        return refusal.response()
    recorder = hub.recorder
    document = f"GET {request.url.path}?{request.url.query}"

    async def finished(stopped: str | None) -> None:
        if stopped is not None:
            stream.run.stopped = stopped
        entry = export_entry(
            who.principal, stream, access_log, document=document, started_at=started_at,
            duration_ms=(time.perf_counter() - started) * 1000,
            max_listed_ids=recorder.config.max_listed_ids)
        try:
            await recorder.store.append(entry)
        except Exception:
            log.exception("the audit record of an export could not be written")
        if stopped == DISCONNECTED:
            log.info("export %s stopped by the client after %d rows", root, stream.run.rows)

    headers: dict[str, Any] = {
        "content-disposition": f'attachment; filename="{file_name(root, fmt)}"',
    }
    return Download(stream.chunks(), stream.media_type, headers, finished,  # type: ignore[return-value]
                    _failure_code)
