"""Plain-HTTP downloads beside GraphQL (exports, reports): who is asking, refusals, streaming.

`caller` authenticates a request exactly as `/graphql` does (a bearer JWT or an API key, no
credential = public, a bad one = 401, never public) and finds the caller's role. Refusals have
GraphQL's error body (`{"errors": [{"message", "extensions": {"code"}}]}`) and a status per
code (`STATUS`). `Download` streams a body and watches the connection at the same time, so a
client that goes away mid-way stops the work, and calls its `finished` hook exactly once with
how it ended (uvicorn drops the writes of a closed connection silently: without the watch an
export would read the rest of its rows into the void).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Final

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import Receive, Scope, Send

from auth.access.policy import RolePolicy
from auth.identity.authenticate import PURPOSE_HEADER, InvalidCredentials
from auth.identity.principal import Principal

from .graphql_view import graphql_error_response
from .hub import Hub

log = logging.getLogger("huitong.downloads")

STATUS: Final[Mapping[str, int]] = {
    "NOT_FOUND": 404, "UNKNOWN_FIELD": 400, "UNKNOWN_PARAMETER": 400, "BAD_PARAMETER": 400,
    "BAD_USER_INPUT": 400, "INVALID_CURSOR": 400, "TOO_MANY_ROWS": 400,
    "FORBIDDEN": 403, "PURPOSE_REQUIRED": 403, "SOURCE_UNAVAILABLE": 503,
    "SOURCE_TIMEOUT": 504, "SOURCE_QUERY_TOO_BROAD": 400, "SOURCE_MISCONFIGURED": 503,
    "SOURCE_ERROR": 502, "AUDIT_UNAVAILABLE": 503,
}
DISCONNECTED: Final = "client disconnected"


class Refusal(Exception):
    """A download refused before its first byte, with a stable code."""

    def __init__(self, code: str, message: str, headers: Mapping[str, str] | None = None,
                 status: int | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.headers = code, message, dict(headers or {})
        self.status = status or STATUS.get(code, 400)

    def response(self) -> JSONResponse:
        return graphql_error_response(self.status, self.message, self.code, self.headers)


@dataclass(frozen=True)
class Caller:
    principal: Principal
    role: RolePolicy


async def caller(hub: Hub, request: Request) -> Caller:
    """The authenticated principal and its role; `Refusal` when it cannot be had."""
    try:
        principal = await hub.authenticator.authenticate(
            request.headers.get("authorization"), request.headers.get(PURPOSE_HEADER))
    except InvalidCredentials as exc:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else {}
        raise Refusal(exc.code, exc.message, headers, exc.status) from None
    role = hub.policy.role(principal.role)
    if role is None or role.system:
        raise Refusal("FORBIDDEN", f"The role {principal.role!r} is not in this hub's policy.")
    if hub.recorder is None:
        raise Refusal("AUDIT_UNAVAILABLE", "The audit trail is not open.")
    return Caller(principal, role)


Finished = Callable[[str | None], Awaitable[None]]


class Download:
    """An ASGI response that streams `body` while watching for the client leaving.

    `finished(None)` runs when the body was sent whole, `finished("client disconnected")`
    when the client left first, `finished(<code>)` when producing the body failed (the
    connection is then closed without the final chunk, so the client sees a broken transfer,
    never a complete-looking file)."""

    def __init__(self, body: AsyncIterator[bytes], media_type: str,
                 headers: Mapping[str, str], finished: Finished,
                 failure_code: Callable[[BaseException], str]) -> None:
        self.body = body
        self.headers = {"content-type": media_type, "cache-control": "no-store",
                        "x-content-type-options": "nosniff", **headers}
        self.finished = finished
        self.failure_code = failure_code

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        producer = asyncio.ensure_future(self._produce(send))
        watcher = asyncio.ensure_future(_disconnected(receive))
        outcome: str | None = None
        try:
            await asyncio.wait({producer, watcher}, return_when=asyncio.FIRST_COMPLETED)
            if not producer.done():
                producer.cancel()
                outcome = DISCONNECTED
            with contextlib.suppress(asyncio.CancelledError):
                await producer
        except Exception as exc:
            outcome = self.failure_code(exc)
            log.warning("download stopped: %s", outcome)
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
            # The record is written even when the server is cancelling this request.
            await asyncio.shield(self.finished(outcome))
        if outcome is not None and outcome != DISCONNECTED:
            raise _Broken(outcome)

    async def _produce(self, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(k.encode(), v.encode()) for k, v in self.headers.items()]})
        async for chunk in self.body:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})


class _Broken(Exception):
    """Raised to the server after a failure mid-stream, so that it closes the connection."""


async def _disconnected(receive: Receive) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
