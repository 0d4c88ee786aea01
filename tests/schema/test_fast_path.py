"""The fast path through rows' plain fields answers exactly as graphql-core's general path,
errors included."""

from __future__ import annotations

import json
from typing import Any

import pytest

from auth.identity.principal import Principal
from resolvers.context import RequestContext
from schema.build import build_role_schema
from tests.hub_harness import DemoHub

QUERIES = [
    """{ payments(first: 30, orderBy: [{amount: DESC}]) { totalCount nodes {
        id __typename paymentNo amount a2: amount paidAt method payeeIdNumber
        ... on Payment { regionCode purpose } ...more
        budgetIndicator { id name fiscalYear } reimbursement { claimNo invoices { total } } }
        edges { cursor node { id } } pageInfo { hasNextPage endCursor } } }
       fragment more on Payment { economicCode functionCode status payeeKind }""",
    """{ region(code: "330108000000") { id code name level children { code name level
        subsidies(first: 3) { nodes { id amount recipientName published } } } } }""",
    """{ inspectionCases(first: 10) { nodes { id subject closedAt status
        payments { id amount } rectifications { deadline feedback } } } }""",
    """query($id: ID!) { node(id: $id) { id __typename ... on Payment { amount } } }""",
]


async def _both(hub: DemoHub, role: str, query: str,
                variables: dict[str, Any] | None = None) -> tuple[str, str]:
    core = hub.app.state.hub
    fast = core.schemas[role]
    general = build_role_schema(core.policy.roles[role], fast_rows=False)
    answers = []
    for schema in (fast, general):
        context = RequestContext(
            Principal(subject="t", role=role, region_code="330108000000"),
            core.policy.roles[role], core.sources, core.cursors)
        result = await schema.execute(query, variable_values=variables, context_value=context)
        answers.append(json.dumps({"data": result.data, "errors": [
            {"message": e.message, "path": e.path} for e in result.errors or ()]},
            ensure_ascii=False, default=str))
    return answers[0], answers[1]


@pytest.mark.parametrize("query", QUERIES)
async def test_fast_and_general_paths_agree(demo_hub: DemoHub, query: str) -> None:
    variables = None
    if "$id" in query:
        first = await demo_hub.data("{ payments(first: 1) { nodes { id } } }",
                                    role="discipline_inspector")
        variables = {"id": first["payments"]["nodes"][0]["id"]}
    fast, general = await _both(demo_hub, "discipline_inspector", query, variables)
    assert fast == general
    assert '"errors": []' in fast


async def test_a_null_in_a_non_null_field_is_reported_the_same(demo_hub: DemoHub,
                                                                monkeypatch: Any) -> None:
    """A source row breaking the catalog's non-null promise takes the general path."""
    connector = demo_hub.app.state.hub.sources.for_entity("Disclosure")
    original = connector.fetch

    async def with_a_hole(query: Any) -> list[dict[str, Any]]:
        rows = await original(query)
        if rows and "title" in rows[0]:
            rows[0]["title"] = None
        return rows

    monkeypatch.setattr(connector, "fetch", with_a_hole)
    fast, general = await _both(demo_hub, "civil_affairs",
                                "{ disclosures(first: 3) { nodes { id title period } } }")
    assert fast == general
    # Bad source data is the hub's problem, not the caller's: masked, at its exact path.
    assert '"message": "Unexpected error.", "path": ["disclosures", "nodes", 0, "title"]' in fast
