"""The SQL compiler through the front door: one statement per request for whole selections
(lists with their pages and counts, lookups, relations both ways, region subtrees), the same
bytes and the same audited reads as the per-request loaders, and the general path for what it
does not take. On SQLite and PostgreSQL sources."""

from __future__ import annotations

import pytest

from tests.hub_harness import DemoHub
from tests.resolvers.test_reads import DEEP, INSPECTOR, counting_statements, loaders_only

CIVIL = "civil_affairs"
OFFICER = "finance_officer"

# (role, query, variables): what a portal or an inspector sends, one statement each.
COMPILED = [
    (INSPECTOR, DEEP, {"first": 30}),
    (INSPECTOR, """query($code: RegionCode!) { region(code: $code) { name level children {
        code name disclosures(first: 3) { totalCount nodes { id title status publishedAt } }
        residents(first: 2, orderBy: [{name: ASC}]) { edges { cursor node { name } } } } } }""",
     {"code": "330108001000"}),
    (INSPECTOR, """{ payments(first: 7, orderBy: [{amount: DESC}]) { totalCount __typename
        pageInfo { hasNextPage hasPreviousPage startCursor endCursor __typename }
        edges { __typename cursor node { __typename id amount status method } } } }""", None),
    (CIVIL, """{ payments(first: 25) { nodes { id payeeName payeeIdNumber amount
        } } subsidies(first: 25) { nodes { recipientName recipientIdNumber } } }""",
     None),
    (OFFICER, """{ budgetIndicators(first: 5) { nodes { name amount
        payments(first: 2) { id amount reimbursement { claimNo invoices { total } } } } } }""",
     None),
    (CIVIL, """{ region(code: "330108000000") { code parent { name } children { code
        children { code name } disclosures(first: 1) { totalCount } } } }""", None),
    (INSPECTOR, """fragment P on Payment { id amount }
        { a: payments(first: 2) { nodes { ...P } } b: payments(first: 2, orderBy: [{paidAt: DESC}])
        { nodes { ... on Payment { paymentNo } ...P } } __typename }""", None),
]


@pytest.mark.parametrize(("role", "query", "variables"), COMPILED,
                         ids=[f"case{i}" for i in range(len(COMPILED))])
async def test_a_selection_is_one_statement(demo_hub: DemoHub, role: str, query: str,
                                            variables: dict[str, object] | None) -> None:
    await demo_hub.post_on_both_paths(query, variables, role=role)  # warm, and the same
    with counting_statements(demo_hub) as compiled:
        response = await demo_hub.post(query, variables, role=role)
    with loaders_only(demo_hub), counting_statements(demo_hub) as loaders:
        general = await demo_hub.post(query, variables, role=role)
    assert response.status_code == 200 and "errors" not in response.json(), response.text
    assert response.content == general.content
    assert len(compiled) == 1, compiled
    assert len(loaders) > 1


async def test_responses_are_utf8_and_not_escaped(demo_hub: DemoHub) -> None:
    response = await demo_hub.post('{ region(code: "330108001000") { name } }', role=INSPECTOR)
    assert response.headers["content-type"].startswith("application/json")
    assert "西兴街道".encode() in response.content and b"\\u" not in response.content


async def test_the_general_path_answers_what_the_compiler_does_not_take(
        demo_hub: DemoHub) -> None:
    # A link-entity relation, node(id:), a directive, a refused argument, and relations
    # across sources (regions are civil affairs', payments the finance system's).
    payment = (await demo_hub.data("{ payments(first: 1) { nodes { id } } }",
                                   role=INSPECTOR))["payments"]["nodes"][0]["id"]
    for query in (
        "{ inspectionCases(first: 3) { nodes { subject payments { amount } } } }",
        f'{{ node(id: "{payment}") {{ id ... on Payment {{ amount }} }} }}',
        "query($x: Boolean!) { payments(first: 2) { nodes { id amount @include(if: $x) } } }",
        "{ payments(first: 100000) { nodes { id } } }",
        '{ region(code: "330108001000") { children { payments(first: 3) { totalCount } } } }',
    ):
        variables = {"x": True} if "$x" in query else None
        response = await demo_hub.post_on_both_paths(query, variables, role=INSPECTOR)
        assert response.status_code == 200


async def test_a_cursor_walk_is_the_same_on_both_paths(demo_hub: DemoHub) -> None:
    query = """query($after: String) { region(code: "330108000000") {
        payments(first: 40, after: $after, orderBy: [{amount: DESC}]) {
        pageInfo { hasNextPage endCursor } nodes { id amount } } } }"""
    after = None
    for _ in range(4):
        body = (await demo_hub.post_on_both_paths(query, {"after": after},
                                                  role=INSPECTOR)).json()
        page = body["data"]["region"]["payments"]
        assert len(page["nodes"]) == 40
        after = page["pageInfo"]["endCursor"]
