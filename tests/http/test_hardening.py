"""The HTTP front refuses what it cannot serve with a GraphQL-shaped error, and never a 500.

Through the real front door (`demo_hub`, SQLite and PostgreSQL sources): body size, malformed
bodies, unsafe text, masking of unexpected errors, and GET and form bodies that cannot mutate;
then the view on its own over a tiny schema. GraphQL-level errors (syntax, validation,
operation choice, per-role limits) are in tests/http/test_errors.py.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import strawberry
from strawberry.extensions import SchemaExtension

from huitong.graphql_view import HardenedGraphQL
from huitong.request_json import decode_json
from schema.extensions.errors import MaskUnexpectedErrors
from tests.hub_harness import DemoHub

INSPECTOR = "discipline_inspector"
JSON = {"Content-Type": "application/json"}


def assert_refused(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """A GraphQL-shaped refusal: one error with a message and the stable code."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    assert set(body) == {"errors"}, body
    [error] = body["errors"]
    assert isinstance(error["message"], str) and error["message"]
    assert error["extensions"]["code"] == code, body
    assert "Traceback" not in response.text
    return error


def only_error(body: dict[str, Any], code: str) -> dict[str, Any]:
    assert body.get("data") is None, body
    [error] = body["errors"]
    assert error["extensions"]["code"] == code, body
    return error


async def raw_post(hub: DemoHub, content: bytes | AsyncIterator[bytes],
                   headers: dict[str, str] | None = None) -> httpx.Response:
    return await hub.client.post("/graphql", content=content,
                                 headers=JSON if headers is None else headers)


# -- body size -------------------------------------------------------------------------------

def padded_body(size: int) -> bytes:
    head = b'{"query": "{ __typename }", "variables": {"pad": "'
    tail = b'"}}'
    return head + b"x" * (size - len(head) - len(tail)) + tail


async def test_body_at_the_limit_is_served(demo_hub: DemoHub) -> None:
    body = padded_body(demo_hub.settings.max_body_bytes)
    response = await raw_post(demo_hub, body)
    assert response.status_code == 200, response.text
    assert response.json() == {"data": {"__typename": "Query"}}


async def test_body_over_the_limit_with_content_length(demo_hub: DemoHub) -> None:
    body = padded_body(demo_hub.settings.max_body_bytes + 1)
    error = assert_refused(await raw_post(demo_hub, body), 413, "PAYLOAD_TOO_LARGE")
    assert str(demo_hub.settings.max_body_bytes) in error["message"]


async def test_body_over_the_limit_chunked_without_content_length(demo_hub: DemoHub) -> None:
    body = padded_body(demo_hub.settings.max_body_bytes + 1)

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 65536):
            yield body[start:start + 65536]

    response = await raw_post(demo_hub, chunks())
    assert "content-length" not in response.request.headers
    assert_refused(response, 413, "PAYLOAD_TOO_LARGE")


async def test_a_lying_content_length_is_refused_before_reading(demo_hub: DemoHub) -> None:
    headers = {**JSON, "Content-Length": str(demo_hub.settings.max_body_bytes * 10)}
    scope_headers = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        raise AssertionError("the body must not be read")

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    view = next(iter(_views(demo_hub).values()))
    scope = {"type": "http", "method": "POST", "path": "/graphql", "headers": scope_headers,
             "query_string": b"", "huitong.principal": None}
    await view(scope, receive, send)
    assert sent[0]["status"] == 413
    assert json.loads(sent[1]["body"])["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"


def _views(hub: DemoHub) -> dict[str, Any]:
    route = next(r for r in hub.app.routes if getattr(r, "path", "") == "/graphql")
    views: dict[str, Any] = route.endpoint.views  # type: ignore[attr-defined]
    return views


# -- malformed bodies ------------------------------------------------------------------------

MALFORMED: dict[str, tuple[bytes, dict[str, str]]] = {
    "null": (b"null", JSON),
    "string": (b'"abc"', JSON),
    "number": (b"123", JSON),
    "array": (b"[]", JSON),
    "batch": (b'[{"query": "{ __typename }"}]', JSON),
    "true": (b"true", JSON),
    "empty": (b"", JSON),
    "truncated": (b'{"query": "{ __typename }"', JSON),
    "non-utf8": (b'{"query": "{ __typename }", "x": "\xe9\xff"}', JSON),
    "utf16": ('{"query": "{ __typename }"}'.encode("utf-16"), JSON),
    "gbk charset": (b'{"query": "{ __typename }"}',
                    {"Content-Type": "application/json; charset=gbk"}),
    "deep arrays": (b"[" * 50_000 + b"]" * 50_000, JSON),
    "deep variables": (b'{"query": "{ __typename }", "variables": {"a": ' + b"[" * 50_000
                       + b"]" * 50_000 + b"}}", JSON),
    "moderately deep": (b'{"query": "{ __typename }", "variables": {"a": ' + b"[" * 100
                        + b"]" * 100 + b"}}", JSON),
    "NaN": (b'{"query": "{ __typename }", "variables": {"a": NaN}}', JSON),
    "huge integer": (b'{"query": "{ __typename }", "variables": {"a": ' + b"9" * 5000
                     + b"}}", JSON),
    "text/plain": (b'{"query": "{ __typename }"}', {"Content-Type": "text/plain"}),
    "no content type": (b'{"query": "{ __typename }"}', {}),
    "application/graphql": (b"{ __typename }", {"Content-Type": "application/graphql"}),
    "form": (b"query=%7B__typename%7D", {"Content-Type": "application/x-www-form-urlencoded"}),
    "variables list": (b'{"query": "{ __typename }", "variables": []}', JSON),
    "variables string": (b'{"query": "{ __typename }", "variables": "{}"}', JSON),
    "variables number": (b'{"query": "{ __typename }", "variables": 1}', JSON),
    "query number": (b'{"query": 123}', JSON),
    "query object": (b'{"query": {"a": 1}}', JSON),
    "query missing": (b'{"variables": {}}', JSON),
    "query null": (b'{"query": null}', JSON),
    "operationName number": (b'{"query": "{ __typename }", "operationName": 1}', JSON),
    "extensions string": (b'{"query": "{ __typename }", "extensions": "x"}', JSON),
    "NUL in variables": (b'{"query": "{ __typename }", "variables": {"p": "a\\u0000b"}}', JSON),
    "lone surrogate": (b'{"query": "{ __typename }", "variables": {"p": ["\\ud800"]}}', JSON),
    "NUL in a key": (b'{"query": "{ __typename }", "variables": {"p\\u0000": 1}}', JSON),
    "NUL in query": (b'{"query": "{ __typename \\u0000 }"}', JSON),
}


@pytest.mark.parametrize("kind", list(MALFORMED))
async def test_malformed_requests_get_400(demo_hub: DemoHub, kind: str) -> None:
    content, headers = MALFORMED[kind]
    for role in ("public", INSPECTOR):
        auth = {} if role == "public" else {"Authorization": f"Bearer {demo_hub.token(role)}"}
        assert_refused(await raw_post(demo_hub, content, {**headers, **auth}), 400,
                       "BAD_REQUEST")


async def test_unsafe_text_is_named_where_it_is(demo_hub: DemoHub) -> None:
    response = await demo_hub.post("query($f: DisclosureFilter) { disclosures(filter: $f) "
                                   "{ nodes { title } } }", {"f": {"period": "2024\x00Q1"}})
    error = assert_refused(response, 400, "BAD_REQUEST")
    assert "variables.f.period" in error["message"]


async def test_unsafe_text_in_a_literal_stops_before_the_database(demo_hub: DemoHub) -> None:
    body = await demo_hub.query('{ disclosures(filter: {period: "2024\\u0000Q1"}) '
                                "{ nodes { title } } }")
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", body


async def test_get_with_malformed_variables_gets_400(demo_hub: DemoHub) -> None:
    for variables in ("[", "null]", "[1]", '"x"', "[" * 5_000, '{"p": "a\\u0000"}'):
        response = await demo_hub.client.get(
            "/graphql", params={"query": "{ __typename }", "variables": variables})
        assert_refused(response, 400, "BAD_REQUEST")


async def test_multipart_cannot_reach_the_schema(demo_hub: DemoHub) -> None:
    operations = json.dumps({"query": "mutation { __typename }"})
    response = await demo_hub.client.post(
        "/graphql", data={"operations": operations, "map": "{}"},
        files={"0": ("a.txt", b"x")})
    assert_refused(response, 400, "BAD_REQUEST")


# -- masking ---------------------------------------------------------------------------------

async def test_unexpected_errors_are_masked(demo_hub: DemoHub,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError('secret SQL text: SELECT * FROM "payments" WHERE 1=1')

    for connector in demo_hub.app.state.hub.connectors.values():
        monkeypatch.setattr(connector, "fetch", broken)
        monkeypatch.setattr(connector, "fetch_tree", broken)  # the compiled path's too
        monkeypatch.setattr(connector, "aggregate", broken)
    for role, query in (("public", "{ disclosures { nodes { title } } }"),
                        (INSPECTOR, "{ payments { nodes { paymentNo } } }"),
                        ("public", "{ spendingSummary(groupBy: [MONTH]) { count } }")):
        response = await demo_hub.post(query, role=role)
        assert response.status_code == 200, response.text
        for needle in ("secret", "SELECT", "Traceback", "RuntimeError", "payments\\\""):
            assert needle not in response.text
        error = response.json()["errors"][0]
        assert error["message"] == "Unexpected error."
        assert error["extensions"] == {"code": "INTERNAL_SERVER_ERROR"}
        assert error["path"]


async def test_an_exception_outside_resolvers_is_masked_too(
        demo_hub: DemoHub, monkeypatch: pytest.MonkeyPatch) -> None:
    view = _views(demo_hub)["public"]

    async def broken_context(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("secret DSN postgresql://user:pw@db/finance")

    monkeypatch.setattr(view, "get_context", broken_context)
    response = await demo_hub.post("{ __typename }")
    error = assert_refused(response, 500, "INTERNAL_SERVER_ERROR")
    assert error["message"] == "Unexpected error."
    assert "secret" not in response.text


# -- GET, form bodies and mutations ----------------------------------------------------------

async def test_get_cannot_run_a_mutation(demo_hub: DemoHub) -> None:
    for query in ("mutation { __typename }", "mutation M { __typename }"):
        response = await demo_hub.client.get("/graphql", params={"query": query})
        error = assert_refused(response, 405, "METHOD_NOT_ALLOWED")
        assert "POST" in error["message"]
        assert response.headers["allow"] == "POST"


async def test_get_runs_queries(demo_hub: DemoHub) -> None:
    query = "query($n: Int) { disclosures(first: $n) { nodes { title } } }"
    response = await demo_hub.client.get("/graphql",
                                         params={"query": query, "variables": '{"n": 1}'})
    assert response.status_code == 200, response.text
    assert len(response.json()["data"]["disclosures"]["nodes"]) == 1


async def test_other_methods_get_a_graphql_shaped_405(demo_hub: DemoHub) -> None:
    for method in ("PUT", "DELETE", "PATCH"):
        response = await demo_hub.client.request(method, "/graphql",
                                                 json={"query": "{ __typename }"})
        assert_refused(response, 405, "METHOD_NOT_ALLOWED")
        assert response.headers["allow"] == "GET, POST"


async def test_post_mutation_is_a_clean_validation_error(demo_hub: DemoHub) -> None:
    body = await demo_hub.query("mutation { __typename }")
    error = only_error(body, "GRAPHQL_VALIDATION_FAILED")
    assert "mutation" in error["message"]


# -- the view on its own (no demo needed) ----------------------------------------------------

class _Explodes(SchemaExtension):
    def on_execute(self) -> Iterator[None]:
        raise RuntimeError("secret: connection string postgresql://u:pw@db")
        yield  # pragma: no cover


@strawberry.type
class _Query:
    @strawberry.field
    def hello(self) -> str:
        return "world"


async def _tiny(**kwargs: Any) -> httpx.AsyncClient:
    extensions = kwargs.pop("extensions", [MaskUnexpectedErrors])
    schema = strawberry.Schema(_Query, extensions=extensions)
    view: HardenedGraphQL[Any, Any] = HardenedGraphQL(schema, max_body_bytes=1024, **kwargs)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=view), base_url="http://t")


async def test_an_exception_in_an_extension_is_masked_by_the_view() -> None:
    async with await _tiny(extensions=[MaskUnexpectedErrors, _Explodes]) as client:
        response = await client.post("/", json={"query": "{ hello }"})
    assert response.status_code == 200, response.text
    [error] = response.json()["errors"]
    assert error == {"message": "Unexpected error.",
                     "extensions": {"code": "INTERNAL_SERVER_ERROR"}}


async def test_other_methods_and_a_closed_ide_are_graphql_shaped() -> None:
    async with await _tiny(graphql_ide=None) as client:
        assert_refused(await client.put("/", json={"query": "{ hello }"}), 405,
                       "METHOD_NOT_ALLOWED")
        assert_refused(await client.get("/", headers={"Accept": "text/html"}), 404,
                       "NOT_FOUND")
        assert_refused(await client.get("/", headers={"Accept": "application/json"}), 400,
                       "BAD_REQUEST")
        response = await client.post("/", content=b"x" * 1025, headers=JSON)
        assert_refused(response, 413, "PAYLOAD_TOO_LARGE")
        assert (await client.post("/", json={"query": "{ hello }"})).json() == {
            "data": {"hello": "world"}}


def test_refused_json_is_a_decoding_error_for_websocket_handlers() -> None:
    for data in (b"\xff", "[" * 50_000, '{"a": NaN}', "1" * 100, "[[[[[1]]]]]"):
        with pytest.raises(json.JSONDecodeError):
            decode_json(data, max_depth=4)
    assert decode_json('\ufeff{"a": [1]}', max_depth=4) == {"a": [1]}
