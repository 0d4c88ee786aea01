"""`GET /reports/{kind}.{xlsx|csv}`: a one-click report (`publishing.reports`) for the caller.

Same front door as the exports (`huitong.downloads`): authentication, the role's policy (the
report kind is an operation the role must be granted; one it lacks answers like one that does
not exist: 404 `NOT_FOUND`), scope and masking through the gateway. The report is built
whole, its audit record written (503 `AUDIT_UNAVAILABLE` and nothing sent when it cannot be),
then sent. `?encoding=gb18030` gives CSV in GB18030.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import Response

from auth.audit import AccessLog, AuditEntry, AuditUnavailable, DocumentInfo
from connectors.gateway import Gateway
from publishing.export_request import ENCODINGS, ExportRefused
from publishing.report_formats import MEDIA_TYPES, to_csv, to_xlsx
from publishing.reports import ReportBuilder

from .downloads import Refusal, caller
from .export_route import refusal_of
from .hub import Hub


async def report(request: Request) -> Response:
    hub: Hub = request.app.state.hub
    started_at, started = datetime.now(UTC), time.perf_counter()
    kind, fmt = request.path_params["kind"], request.path_params["format"]
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "encoding"]
    try:
        who = await caller(hub, request)
        if fmt not in MEDIA_TYPES:
            raise ExportRefused("NOT_FOUND", f"There is no report {kind[:60]!r}; reports are "
                                "/reports/<kind>.<xlsx|csv> of the kinds your role may run.")
        encoding = ENCODINGS.get((request.query_params.get("encoding") or "utf-8").lower())
        if encoding is None or (fmt != "csv" and "encoding" in request.query_params):
            raise ExportRefused("BAD_PARAMETER", "encoding: csv reports are utf-8 (with a BOM, "
                                "the default) or gb18030.")
        log = AccessLog()
        gateway = Gateway.for_principal(hub.policy, who.principal, hub.sources, log)
        built = await ReportBuilder(gateway, who.role).build(kind, params)
        body = to_xlsx(built) if fmt == "xlsx" else to_csv(built, encoding)
        recorder = hub.recorder
        assert recorder is not None
        await recorder.store.append(AuditEntry.build(
            who.principal, document=DocumentInfo.of_text(f"GET {request.url.path}?"
                                                         f"{request.url.query}"),
            operation_name=f"report {kind}.{fmt}", variables=dict(params), log=log,
            outcome="ok", duration_ms=(time.perf_counter() - started) * 1000, at=started_at,
            extra={"report": {"kind": kind, "sheets": [s.name for s in built.sheets],
                              "rows": sum(len(s.rows) for s in built.sheets),
                              "bytes": len(body)}},
            max_listed_ids=recorder.config.max_listed_ids))
    except Refusal as exc:
        return exc.response()
    except AuditUnavailable as exc:
        return Refusal(exc.code, exc.message).response()
    except Exception as exc:
        refusal = refusal_of(exc)
        if refusal is None:
            raise
        return refusal.response()
    name = f"{kind}-{dict(params).get('regionCode', '')}-{dict(params).get('period', '')}.{fmt}"
    return Response(body, media_type=MEDIA_TYPES[fmt] if fmt == "xlsx" or encoding ==
                    "utf-8-sig" else "text/csv; charset=gb18030",
                    headers={"content-disposition": f'attachment; filename="{name}"',
                             "cache-control": "no-store"})
