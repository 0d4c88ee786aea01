"""JSON responses are UTF-8 with Chinese as itself, never `\\uXXXX` escapes: GraphQL results,
refusals before execution and the other JSON routes alike."""

from __future__ import annotations

import httpx

from tests.hub_harness import DemoHub


def _assert_plain_utf8(response: httpx.Response, text: str) -> None:
    assert response.headers["content-type"].startswith("application/json")
    assert text.encode("utf-8") in response.content, response.content[:300]
    assert b"\\u" not in response.content, response.content[:300]


async def test_graphql_results_are_utf8(demo_hub: DemoHub) -> None:
    response = await demo_hub.post('{ region(code: "330108000000") { name children { name } } }')
    assert response.status_code == 200
    _assert_plain_utf8(response, "滨江区")
    assert "西兴街道" in response.text


async def test_graphql_errors_are_utf8(demo_hub: DemoHub) -> None:
    # A value that does not fit is quoted back in the message.
    response = await demo_hub.post('{ region(code: "西兴街道") { name } }')
    assert response.status_code == 200
    assert response.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    _assert_plain_utf8(response, "西兴街道")


async def test_refusals_are_utf8(demo_hub: DemoHub) -> None:
    response = await demo_hub.post("{ regions { totalCount } }", role="审计员")
    assert response.status_code == 403
    _assert_plain_utf8(response, "审计员")
