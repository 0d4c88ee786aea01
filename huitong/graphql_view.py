"""The GraphQL view: strawberry's ASGI view, hardened: strict request parsing, GraphQL-shaped
refusals.

`HardenedGraphQL` is strawberry's ASGI view with its request-parsing hooks made strict. A body
over the size limit (declared in Content-Length or streamed in chunks) is refused before it is
read whole; a POST must be `application/json` (UTF-8), an object with a string `query`;
`variables` and `extensions` are objects or null, `operationName` a string or null; nothing in
the request may hold a NUL or an unpaired surrogate (PostgreSQL cannot store or compare them);
mutations never run over GET; and anything unexpected is masked. Every refusal, whatever its
status, has the body `{"errors": [{"message": "...", "extensions": {"code": "..."}}]}`.

Codes of refused requests (the HTTP status is not 200):

- `PAYLOAD_TOO_LARGE` (413): the body is over `[hub].max_body_bytes`.
- `REQUEST_TIMEOUT` (408): the body did not arrive whole within `[hub].body_timeout_seconds`
  of the request's start (a client trickling its body would otherwise hold a connection and
  its buffers for as long as it likes).
- `BAD_REQUEST` (400): not a usable GraphQL request: a POST that is not `application/json`
  (form and multipart bodies included), a body that is not UTF-8 or not JSON, `NaN`/`Infinity`
  or an over-long integer, JSON nested deeper than `max_json_depth`, a body that is not an
  object, no `query`, a field of the wrong JSON type, a NUL or unpaired surrogate anywhere.
- `METHOD_NOT_ALLOWED` (405): a mutation sent over GET (answered with `Allow: POST`), or a
  method other than GET and POST.
- `NOT_FOUND` (404): a GET without a query when the IDE is off (production).
- `INTERNAL_SERVER_ERROR` (500): anything unexpected; the detail goes to the log only.

Codes inside a normal (200) GraphQL response, set here or by the schema's extensions
(`schema.extensions.errors` and `.validation`):

- `OPERATION_RESOLUTION_FAILURE`: several operations and no `operationName`, no operation of
  that name, or no operation at all.
- `GRAPHQL_PARSE_FAILED`: syntax errors, and documents over the role's token limit.
- `GRAPHQL_VALIDATION_FAILED`: unknown names (never with a "Did you mean"), and documents over
  the role's depth, alias or field limit counted with fragments expanded (`max_depth`,
  `max_aliases`, `max_fields`), documents repeating one selection so often that checking them
  would be quadratic, and documents that take longer than `validation_ms` to validate (see
  `schema.extensions.validation`). Depth counts nesting below the root fields, as strawberry's
  limiter did: `{ region { parent { code } } }` has depth 2.
- `BAD_USER_INPUT`: values that do not fit (variables included, without hints).
- the resolvers' own codes (`INVALID_CURSOR`, `SOURCE_UNAVAILABLE`, …).
- `INTERNAL_SERVER_ERROR`: the message is always "Unexpected error.".
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping
from typing import Any

from cross_web import AsyncHTTPRequestAdapter, HTTPException
from graphql import GraphQLError
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send
from strawberry.asgi import GraphQL
from strawberry.exceptions import MissingQueryError
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.http.parse_content_type import parse_content_type
from strawberry.http.typevars import Context, RootValue
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType

from schema.extensions.errors import bounded, public_error

from .request_json import JSONRefused, decode_json, unsafe_text_at
from .responses import JSONResponse, encode_json

log = logging.getLogger("huitong.http")

DEFAULT_MAX_BODY_BYTES = 1_048_576
DEFAULT_MAX_JSON_DEPTH = 32
DEFAULT_BODY_TIMEOUT = 10.0
_STATUS_CODES = {400: "BAD_REQUEST", 404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED",
                 408: "REQUEST_TIMEOUT", 413: "PAYLOAD_TOO_LARGE"}


def graphql_error_response(status: int, message: str, code: str,
                           headers: Mapping[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"errors": [{"message": bounded(message), "extensions": {"code": code}}]},
                        status_code=status, headers=dict(headers or {}) or None)


class Refused(HTTPException):
    """A request refused before execution, with its HTTP status and stable code."""

    def __init__(self, status: int, code: str, message: str,
                 headers: Mapping[str, str] | None = None) -> None:
        super().__init__(status, message)
        self.code = code
        self.headers = dict(headers or {})

    def response(self) -> JSONResponse:
        return graphql_error_response(self.status_code, self.reason, self.code, self.headers)


def bad_request(message: str) -> Refused:
    return Refused(400, "BAD_REQUEST", message)


def _too_large(limit: int) -> Refused:
    return Refused(413, "PAYLOAD_TOO_LARGE", f"The request body is larger than {limit} bytes.")


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _capped(receive: Receive, limit: int, timeout: float) -> Receive:
    """`receive` that refuses once more than `limit` body bytes have arrived (chunked too), or
    when the body is still incomplete `timeout` seconds after the first call."""
    total = 0
    deadline: float | None = None

    async def receive_capped() -> Message:
        nonlocal total, deadline
        loop = asyncio.get_running_loop()
        deadline = deadline if deadline is not None else loop.time() + timeout
        try:
            async with asyncio.timeout_at(deadline):
                message = await receive()
        except TimeoutError:
            raise Refused(408, "REQUEST_TIMEOUT", f"The request body did not arrive within "
                          f"{timeout:g} seconds.", {"Connection": "close"}) from None
        if message["type"] == "http.request":
            total += len(message.get("body", b""))
            if total > limit:
                raise _too_large(limit)
        return message

    return receive_capped


class HardenedGraphQL(GraphQL[Context, RootValue]):
    """strawberry's ASGI GraphQL view, strict about what it accepts and what it tells."""

    def __init__(self, schema: Any, *, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
                 max_json_depth: int = DEFAULT_MAX_JSON_DEPTH,
                 body_timeout: float = DEFAULT_BODY_TIMEOUT, **kwargs: Any) -> None:
        super().__init__(schema, **kwargs)
        self.max_body_bytes = max_body_bytes
        self.max_json_depth = max_json_depth
        self.body_timeout = body_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        response: Response
        try:
            declared = _declared_length(scope)
            if declared is not None and declared > self.max_body_bytes:
                raise _too_large(self.max_body_bytes)
            response = await self.run(Request(scope, _capped(receive, self.max_body_bytes,
                                                                self.body_timeout)))
        except Refused as exc:
            response = exc.response()
            if exc.status_code < 500:
                await self.refused(scope, exc.status_code, exc.code)
        except HTTPException as exc:
            code = _STATUS_CODES.get(exc.status_code, "BAD_REQUEST")
            message = exc.reason if exc.status_code != 404 else \
                "The request has no GraphQL `query` (and the IDE is off)."
            allow = {"Allow": "GET, POST"} if exc.status_code == 405 else None
            response = graphql_error_response(exc.status_code, message, code, allow)
            await self.refused(scope, exc.status_code, code)
        except ClientDisconnect:
            return
        except Exception:
            log.exception("unexpected error while serving %s %s", scope.get("method"),
                          scope.get("path"))
            response = graphql_error_response(500, "Unexpected error.", "INTERNAL_SERVER_ERROR")
        await response(scope, receive, send)

    async def refused(self, scope: Scope, status: int, code: str) -> None:
        """A request refused at the HTTP layer (4xx); subclasses record it."""

    def decode_json(self, data: str | bytes) -> object:
        return decode_json(data, self.max_json_depth)

    def encode_json(self, data: object) -> str:
        return encode_json(data)

    def parse_json(self, data: str | bytes) -> Any:
        try:
            return self.decode_json(data)
        except JSONRefused as exc:
            raise bad_request(exc.msg) from None
        except json.JSONDecodeError as exc:
            raise bad_request(f"The request is not valid JSON: {exc.msg} (line {exc.lineno}, "
                              f"column {exc.colno}).") from None

    async def parse_http_body(
        self, request: AsyncHTTPRequestAdapter
    ) -> GraphQLRequestData | list[GraphQLRequestData]:
        transport = self._get_stream_transport_from_headers(request.headers)
        protocol = transport.protocol if transport else "http"
        if request.method == "GET":
            data: object = self.parse_query_params(request.query_params)
        else:
            data = await self._parse_post_body(request)
        return self._request_data(data, protocol)

    async def _parse_post_body(self, request: AsyncHTTPRequestAdapter) -> object:
        content_type, params = parse_content_type(request.content_type or "")
        content_type = content_type.lower()
        if content_type == "application/json":
            charset = params.get("charset", "utf-8").lower()
            if charset not in ("utf-8", "utf8"):
                raise bad_request(f"The request must be UTF-8 JSON, not {charset}.")
            return self.parse_json(await request.get_body())
        if self.multipart_uploads_enabled and content_type == "multipart/form-data":
            return await self.parse_multipart(request)
        raise bad_request(
            "Send the GraphQL request as a JSON object with Content-Type: application/json "
            f"(got {content_type or 'no content type'})."
        )

    def _request_data(self, data: object, protocol: Any) -> GraphQLRequestData:
        if not isinstance(data, dict):
            raise bad_request('The request must be a JSON object such as {"query": "{ … }"}.')
        where = unsafe_text_at(data)
        if where is not None:
            raise bad_request(f"The request holds a NUL character or an unpaired surrogate at "
                              f"{where}; such text cannot be stored or searched.")
        query = data.get("query")
        if query is None:
            raise bad_request("The request has no `query`.")
        if not isinstance(query, str):
            raise bad_request("`query` must be a string holding a GraphQL document.")
        for key in ("variables", "extensions"):
            if not isinstance(data.get(key), (dict, type(None))):
                raise bad_request(f"`{key}` must be a JSON object or null.")
        operation_name = data.get("operationName")
        if not isinstance(operation_name, (str, type(None))):
            raise bad_request("`operationName` must be a string or null.")
        return GraphQLRequestData(query=query, variables=data.get("variables"),
                                  operation_name=operation_name,
                                  extensions=data.get("extensions"), protocol=protocol)

    async def execute_single(
        self, request: Request, request_adapter: AsyncHTTPRequestAdapter, sub_response: Response,
        context: Context, root_value: RootValue | None, request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        method = request_adapter.method
        allowed = OperationType.from_http(method)
        if not self.allow_queries_via_get and method == "GET":
            allowed = allowed - {OperationType.QUERY}
        try:
            return await self.schema.execute(
                request_data.query, root_value=root_value, variable_values=request_data.variables,
                context_value=context, operation_name=request_data.operation_name,
                allowed_operation_types=allowed, operation_extensions=request_data.extensions,
            )
        except CannotGetOperationTypeError:
            # A request error inside a well-formed request: a GraphQL result, like the
            # several-operations case that the schema's validation reports.
            name = request_data.operation_name
            message = (f"The document has no operation named {name!r}." if name is not None
                       else "The document holds no operation to run.")
            return ExecutionResult(data=None, errors=[GraphQLError(
                message, extensions={"code": "OPERATION_RESOLUTION_FAILURE"})])
        except InvalidOperationTypeError as exc:
            kind = exc.operation_type.value
            raise Refused(405, "METHOD_NOT_ALLOWED",
                          f"A {kind} cannot be sent with {method}; use POST.",
                          {"Allow": "POST"}) from exc
        except MissingQueryError as exc:
            raise bad_request("The request has no `query`.") from exc

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        # The schema's masking extension does not run when an exception escapes another
        # extension; this is the last point before the response, so mask here as well.
        if result.errors:
            result.errors = [public_error(error) for error in result.errors]
        return await super().process_result(request, result)
