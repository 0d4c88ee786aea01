"""GraphQL-level refusals stay readable and carry stable codes, through the real front door.

Syntax and validation errors (never a "Did you mean", for literals and variables alike), the
choice of the operation to run, and each role's depth, alias and token limits from the policy,
on SQLite and PostgreSQL demo sources. Codes are documented in `huitong.graphql_view`.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.http.test_hardening import INSPECTOR, assert_refused, only_error
from tests.hub_harness import DemoHub

# -- syntax and validation -------------------------------------------------------------------

async def test_syntax_errors_are_readable(demo_hub: DemoHub) -> None:
    error = only_error(await demo_hub.query("{ disclosures { nodes { title }"),
                       "GRAPHQL_PARSE_FAILED")
    assert error["message"].startswith("Syntax Error: Expected Name, found <EOF>")
    assert error["locations"]


MISSPELLED = {
    "field": ("{ disclosures { nodes { titel } } }", "titel"),
    "hidden field": ("{ subsidies { nodes { bankCar } } }", "bankCar"),
    "argument": ("{ disclosures(frist: 1) { nodes { title } } }", "frist"),
    "input field": ("{ disclosures(filter: {perid: \"2024Q1\"}) { nodes { title } } }", "perid"),
    "hidden input field": ('{ spendingSummary(groupBy: [MONTH], filter: {payeeNam: "x"}) '
                           "{ count } }", "payeeNam"),
    "enum value": ("{ disclosures(filter: {domain: FINANCES}) { nodes { title } } }",
                   "FINANCES"),
    "dimension": ("{ spendingSummary(groupBy: [PAYEE]) { count } }", "PAYEE"),
    "type name": ("query($f: DisclosureFiltr) { disclosures(filter: $f) { nodes { title } } }",
                  "DisclosureFiltr"),
    "hidden type": ("{ node(id: \"x\") { ... on Paymen { id } } }", "Paymen"),
}


@pytest.mark.parametrize("kind", list(MISSPELLED))
async def test_validation_errors_are_readable_without_suggestions(demo_hub: DemoHub,
                                                                  kind: str) -> None:
    query, name = MISSPELLED[kind]
    body = await demo_hub.query(query)
    for error in body["errors"]:
        assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED", body
        assert "Did you mean" not in error["message"]
    assert any(name in error["message"] for error in body["errors"]), body


VARIABLE_MISSPELLED: dict[str, tuple[str, dict[str, Any]]] = {
    "input field": ("query($f: DisclosureFilter) { disclosures(filter: $f) { nodes { title } } }",
                    {"f": {"perod": "2024Q1"}}),
    "enum value": ("query($f: DisclosureFilter) { disclosures(filter: $f) { nodes { title } } }",
                   {"f": {"domain": "FINANCES"}}),
    "dimension": ("query($g: [SpendingDimension!]!) { spendingSummary(groupBy: $g) { count } }",
                  {"g": ["PAYEE_NAME"]}),
}


@pytest.mark.parametrize("kind", list(VARIABLE_MISSPELLED))
async def test_variable_errors_are_readable_without_suggestions(demo_hub: DemoHub,
                                                                kind: str) -> None:
    query, variables = VARIABLE_MISSPELLED[kind]
    body = await demo_hub.query(query, variables)
    error = only_error(body, "BAD_USER_INPUT")
    assert error["message"].startswith("Variable '$")
    assert "Did you mean" not in error["message"]


# -- choosing the operation ------------------------------------------------------------------

TWO = "query A { __typename } query B { disclosures(first: 1) { nodes { title } } }"


async def test_several_operations_need_an_operation_name(demo_hub: DemoHub) -> None:
    response = await demo_hub.post(TWO)
    assert response.status_code == 200, response.text
    error = only_error(response.json(), "OPERATION_RESOLUTION_FAILURE")
    assert "operationName" in error["message"]


async def test_several_operations_over_get_run_none(demo_hub: DemoHub) -> None:
    query = "query A { __typename } mutation B { __typename }"
    response = await demo_hub.client.get("/graphql", params={"query": query})
    assert response.status_code == 200, response.text
    assert response.json()["data"] is None and response.json()["errors"]
    response = await demo_hub.client.get("/graphql", params={"query": TWO})
    only_error(response.json(), "OPERATION_RESOLUTION_FAILURE")
    response = await demo_hub.client.get("/graphql", params={"query": query,
                                                             "operationName": "B"})
    assert_refused(response, 405, "METHOD_NOT_ALLOWED")


async def test_the_named_operation_runs(demo_hub: DemoHub) -> None:
    data = await demo_hub.data(TWO, operation_name="B")
    assert len(data["disclosures"]["nodes"]) == 1
    assert await demo_hub.data(TWO, operation_name="A") == {"__typename": "Query"}


async def test_an_unknown_operation_name_is_an_error(demo_hub: DemoHub) -> None:
    response = await demo_hub.post(TWO, operation_name="C")
    assert response.status_code == 200, response.text
    error = only_error(response.json(), "OPERATION_RESOLUTION_FAILURE")
    assert "'C'" in error["message"]
    body = await demo_hub.query("fragment F on Query { __typename }")
    only_error(body, "OPERATION_RESOLUTION_FAILURE")


# -- per-role limits -------------------------------------------------------------------------

def nested_regions(depth: int) -> str:
    """A query of `depth` in strawberry's counting (root fields are at 0): region, parents, code."""
    return ('{ region(code: "330108001001") { ' + "parent { " * (depth - 1) + "code"
            + " }" * depth + " }")


def aliased(count: int) -> str:
    return "{ " + " ".join(f"a{i}: __typename" for i in range(count)) + " }"


def many_tokens(count: int) -> str:
    """A document of exactly `count` tokens; it parses, and fails validation on `$pad`."""
    return "query($pad: [Int] = [" + "0 " * (count - 15) + "]) { __typename }"


LIMITS = {"public": (6, 10, 1500), "civil_affairs": (8, 20, 4000),
          "finance_officer": (10, 30, 4000), INSPECTOR: (12, 40, 6000)}


@pytest.mark.parametrize("role", list(LIMITS))
async def test_depth_limit_per_role(demo_hub: DemoHub, role: str) -> None:
    depth, _, _ = LIMITS[role]
    assert demo_hub.app.state.hub.policy.roles[role].limits.max_depth == depth
    body = await demo_hub.query(nested_regions(depth), role=role)
    assert "errors" not in body, body
    error = only_error(await demo_hub.query(nested_regions(depth + 1), role=role),
                       "GRAPHQL_VALIDATION_FAILED")
    assert f"maximum operation depth of {depth}" in error["message"]


@pytest.mark.parametrize("role", list(LIMITS))
async def test_alias_limit_per_role(demo_hub: DemoHub, role: str) -> None:
    _, aliases, _ = LIMITS[role]
    assert "errors" not in await demo_hub.query(aliased(aliases), role=role)
    error = only_error(await demo_hub.query(aliased(aliases + 1), role=role),
                       "GRAPHQL_VALIDATION_FAILED")
    assert str(aliases) in error["message"] and "alias" in error["message"].lower()


@pytest.mark.parametrize("role", list(LIMITS))
async def test_token_limit_per_role(demo_hub: DemoHub, role: str) -> None:
    _, _, tokens = LIMITS[role]
    error = only_error(await demo_hub.query(many_tokens(tokens), role=role),
                       "GRAPHQL_VALIDATION_FAILED")
    assert error["message"] == "Variable '$pad' is never used."
    error = only_error(await demo_hub.query(many_tokens(tokens + 1), role=role),
                       "GRAPHQL_PARSE_FAILED")
    assert f"more than {tokens} tokens" in error["message"]
