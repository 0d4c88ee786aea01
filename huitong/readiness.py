"""`GET /readyz`: whether every source can answer what queries use, told to each caller in
the measure it may know.

Each connector's `health()` checks what its queries touch (an sql source reads one row of each
mapped table within its timeout, a rest source calls its API's health path or one row, a file
source its loaded drops), all sources at once. The answer is 200 `{"status": "ready"}` or 503
`{"status": "degraded"}`. Only a caller whose role is granted the `readiness` operation (in the
policy's `operations`, by bearer token or API key) also gets `sources`: per source its `kind`,
`ok`, `latencyMs` and, when failing, its stable `code` — never the failure's text, which goes to
the log. A credential that is present but invalid gets 401, as on /graphql.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request

from auth.identity.authenticate import PURPOSE_HEADER, InvalidCredentials

from .graphql_view import graphql_error_response
from .hub import Hub
from .refusals import client_fingerprint
from .responses import JSONResponse

READINESS = "readiness"
log = logging.getLogger("huitong.readiness")


async def readyz(request: Request) -> JSONResponse:
    hub: Hub = request.app.state.hub
    detail = False
    if request.headers.get("authorization") is not None:
        started_at, started = datetime.now(UTC), time.perf_counter()
        try:
            principal = await hub.authenticator.authenticate(
                request.headers.get("authorization"), request.headers.get(PURPOSE_HEADER))
        except InvalidCredentials as exc:
            if hub.recorder is not None:
                await hub.recorder.refused(
                    None, status=exc.status, code=exc.code,
                    client=client_fingerprint(request.client.host if request.client else None,
                                              request.headers.get("authorization")),
                    started_at=started_at,
                    duration_ms=round((time.perf_counter() - started) * 1000, 3))
            headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else {}
            return graphql_error_response(exc.status, exc.message, exc.code, headers)
        role = hub.policy.role(principal.role)
        detail = role is not None and READINESS in role.operations
    checks = await asyncio.gather(*(c.health() for c in hub.connectors.values()))
    for health in checks:
        if not health.ok:
            log.warning("source %s (%s) is not ready: %s %s", health.source, health.kind,
                        health.code, health.detail)
    ready = all(h.ok for h in checks)
    body: dict[str, Any] = {"status": "ready" if ready else "degraded"}
    if detail:
        body["sources"] = {h.source: {"kind": h.kind, "ok": h.ok, "latencyMs": h.latency_ms,
                                      **({"code": h.code or "SOURCE_ERROR"} if not h.ok else {})}
                           for h in checks}
    return JSONResponse(body, status_code=200 if ready else 503)
