"""Error messages quote a bounded part of what the caller sent (issue 16, point 5).

A 500 KB literal used to come back twice in its error (graphql-core prints the literal, the
scalar's reason quotes it again): a 1 MB answer to a 500 KB question. Through the front door,
every kind of error that quotes input — validation of a literal, a variable that does not fit,
a syntax error, an unknown operation name, BAD_USER_INPUT from a resolver, an HTTP-level
refusal — stays small and still says what was wrong.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.hub_harness import DemoHub

BIG = "9" * 500_000
SMALL_ANSWER = 4_000  # bytes; the message names the problem and a short head of the input


def one_error(body: dict[str, Any], code: str) -> str:
    [error] = body["errors"]
    assert error["extensions"]["code"] == code, body
    message: str = error["message"]
    assert len(message) <= 700, len(message)
    return message


@pytest.mark.parametrize("document, variables, code, says", [
    (f'{{ region(code: "{BIG}") {{ code }} }}', None, "GRAPHQL_VALIDATION_FAILED",
     "RegionCode"),
    ("query($c: RegionCode!) { region(code: $c) { code } }", {"c": BIG}, "BAD_USER_INPUT",
     "$c"),
    (f'{{ region(code: "{BIG}) {{ code }} }}', None, "GRAPHQL_PARSE_FAILED", "Syntax Error"),
    (f"{{ region(code: 1{BIG}) {{ code }} }}", None, "GRAPHQL_VALIDATION_FAILED", "RegionCode"),
    ('query($f: SubsidyFilter) { subsidies(filter: $f) { totalCount } }',
     {"f": {"batchNo": "B" * 500_000}}, "BAD_USER_INPUT", "batchNo"),
])
async def test_a_huge_input_gives_a_small_error(demo_hub: DemoHub, document: str,
                                                variables: dict[str, Any] | None, code: str,
                                                says: str) -> None:
    response = await demo_hub.post(document, variables)
    assert response.status_code == 200, response.text[:300]
    assert len(response.content) < SMALL_ANSWER, len(response.content)
    assert says in one_error(response.json(), code)


async def test_a_huge_operation_name_is_not_echoed(demo_hub: DemoHub) -> None:
    response = await demo_hub.post("query A { __typename }", operation_name="N" * 500_000)
    assert len(response.content) < SMALL_ANSWER
    assert "no operation named" in one_error(response.json(), "OPERATION_RESOLUTION_FAILURE")


async def test_http_refusals_are_bounded_too(demo_hub: DemoHub) -> None:
    key = "k" * 400_000 + "\u0000"
    response = await demo_hub.client.post("/graphql", json={
        "query": "{ __typename }", "variables": {key: 1}})
    assert response.status_code == 400
    assert len(response.content) < SMALL_ANSWER
    assert "NUL" in one_error(response.json(), "BAD_REQUEST")
