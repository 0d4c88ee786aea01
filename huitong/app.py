"""The ASGI app: authenticate, pick the caller's role schema, serve GraphQL.

`/graphql` first turns the request's credentials into a principal (401 when present but not
valid), then hands the request to the GraphQL view built for that principal's role, so a
caller can only ever validate and execute against its own role's schema.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send
from strawberry.http import GraphQLRequestData
from strawberry.types import ExecutionResult

from auth.identity.authenticate import PURPOSE_HEADER, InvalidCredentials
from auth.identity.principal import Principal
from resolvers.context import RequestContext
from schema.build import compiled_queries, introspectable

from .export_route import export
from .graphql_view import HardenedGraphQL, Refused, graphql_error_response
from .http_headers import SecurityHeaders
from .hub import Hub
from .readiness import readyz
from .refusals import client_fingerprint
from .report_route import report
from .responses import JSONResponse
from .settings import Settings

PRINCIPAL_KEY = "huitong.principal"
log = logging.getLogger("huitong")


class RoleGraphQL(HardenedGraphQL[RequestContext, None]):
    """The GraphQL view of one role's schema."""

    def __init__(self, hub: Hub, role: str, **kwargs: Any) -> None:
        super().__init__(hub.schemas[role], **kwargs)
        self.hub = hub
        self.role = hub.policy.roles[role]
        self.compiled = compiled_queries(hub.schemas[role], self.role)

    async def get_context(self, request: Any, response: Any) -> RequestContext:
        principal: Principal = request.scope[PRINCIPAL_KEY]
        return RequestContext(
            principal=principal,
            role=self.role,
            sources=self.hub.sources,
            cursors=self.hub.cursors,
            purpose=self.hub.policy.purpose,
            request=request,
            response=response,
            audit=self.hub.recorder.store if self.hub.recorder is not None else None,
            policy=self.hub.policy,
            changes=self.hub.changes,
        )

    async def refused(self, scope: Scope, status: int, code: str) -> None:
        await note_refusal(self.hub, scope, scope.get(PRINCIPAL_KEY), status, code,
                           datetime.now(UTC), time.perf_counter())

    async def execute_single(
        self, request: Any, request_adapter: Any, sub_response: Any, context: RequestContext,
        root_value: Any, request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        """Execute, then make the audit record durable before anything is sent."""
        recorder = self.hub.recorder
        if recorder is None:  # the lifespan opens it before any request; fail closed
            raise Refused(503, "AUDIT_UNAVAILABLE", "The audit trail is not open.")
        started_at = datetime.now(UTC)
        started = time.perf_counter()
        result = None
        if self.hub.sql_compiler and request_data.query:
            result = await self.compiled.execute(context, request_data.query,
                                                 request_data.variables,
                                                 request_data.operation_name)
        if result is not None:
            self.hub.compiled_answers += 1
        else:
            result = await super().execute_single(request, request_adapter, sub_response,
                                                  context, root_value, request_data)
        await recorder.record(
            context.principal, document=request_data.query or "",
            operation_name=request_data.operation_name, variables=request_data.variables,
            access_log=context.access_log, result=result, started_at=started_at,
            duration_ms=round((time.perf_counter() - started) * 1000, 3),
        )
        return result


async def note_refusal(hub: Hub, scope: Scope, principal: Principal | None, status: int,
                       code: str, started_at: datetime, started: float) -> None:
    if hub.recorder is None:
        return
    headers = dict(scope.get("headers") or ())
    authorization = headers.get(b"authorization")
    client = scope.get("client")
    await hub.recorder.refused(
        principal, status=status, code=code,
        client=client_fingerprint(client[0] if client else None,
                                  authorization.decode("latin-1") if authorization else None),
        started_at=started_at, duration_ms=round((time.perf_counter() - started) * 1000, 3))


async def authenticated(hub: Hub, scope: Scope, receive: Receive, send: Send
                        ) -> Principal | None:
    """The caller's principal, of a role of the policy; None once a refusal was sent (and
    noted in the audit trail)."""
    request = Request(scope, receive)
    started_at, started = datetime.now(UTC), time.perf_counter()
    try:
        principal = await hub.authenticator.authenticate(
            request.headers.get("authorization"), request.headers.get(PURPOSE_HEADER)
        )
    except InvalidCredentials as exc:
        await note_refusal(hub, scope, None, exc.status, exc.code, started_at, started)
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else {}
        await graphql_error_response(exc.status, exc.message, exc.code, headers)(
            scope, receive, send)
        return None
    except Exception:
        # Fail closed, and say nothing of why: the detail is for the log.
        log.exception("authentication failed unexpectedly")
        await graphql_error_response(
            503, "Authentication is unavailable right now.", "AUTHENTICATION_UNAVAILABLE"
        )(scope, receive, send)
        return None
    role = hub.policy.role(principal.role)
    if role is None or role.system:  # a system role is the hub's own, never a caller's
        # The token verified, so who it names is known: the record says who was refused.
        await note_refusal(hub, scope, principal, 403, "FORBIDDEN", started_at, started)
        message = f"The role {principal.role!r} is not in this hub's policy."
        await graphql_error_response(403, message, "FORBIDDEN")(scope, receive, send)
        return None
    return principal


class GraphQLEndpoint:
    """Authenticates, then dispatches to the role's view."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        graphiql = None if hub.settings.production else "graphiql"
        self.views = {
            role: RoleGraphQL(hub, role, graphql_ide=graphiql, allow_queries_via_get=True,
                              max_body_bytes=hub.settings.max_body_bytes,
                              body_timeout=hub.settings.body_timeout_seconds)
            for role in hub.schemas
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        principal = await authenticated(self.hub, scope, receive, send)
        if principal is None:
            return
        scope[PRINCIPAL_KEY] = principal
        await self.views[principal.role](scope, receive, send)


class SchemaEndpoint:
    """`GET /graphql/schema.graphql`: the caller's own role's schema as SDL (for codegen),
    where that role may introspect; the same text `huitong schema print` writes."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.sdl = {role: str(schema) + "\n" for role, schema in hub.schemas.items()
                    if introspectable(hub.policy.roles[role], production=hub.settings.production)}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["method"] not in ("GET", "HEAD"):
            await graphql_error_response(405, "Use GET.", "METHOD_NOT_ALLOWED",
                                         {"Allow": "GET"})(scope, receive, send)
            return
        principal = await authenticated(self.hub, scope, receive, send)
        if principal is None:
            return
        sdl = self.sdl.get(principal.role)
        if sdl is None:
            await graphql_error_response(
                403, "Introspection is off for your role, and so is its schema.",
                "INTROSPECTION_DISABLED")(scope, receive, send)
            return
        await PlainTextResponse(sdl)(scope, receive, send)


async def healthz(request: Request) -> JSONResponse:
    """The process is alive (it says nothing of the sources)."""
    return JSONResponse({"status": "ok"})


def create_app(settings: Settings, hub: Hub | None = None) -> Starlette:
    hub = hub or Hub.build(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await hub.open()
        try:
            yield
        finally:
            await hub.close()

    app = Starlette(
        routes=[
            Route("/graphql", GraphQLEndpoint(hub)),  # the view answers other methods: 405
            Route("/graphql/schema.graphql", SchemaEndpoint(hub), methods=None),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/export/{root}.{format}", export),
            Route("/reports/{kind}.{format}", report),
        ],
        lifespan=lifespan,
        middleware=[Middleware(SecurityHeaders)],
    )
    app.state.hub = hub
    return app
