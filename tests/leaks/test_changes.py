"""Leak suite, the change feed: every role pulls every feed it has, from the start.

The ids a role's feed names are exactly the rows its row rule admits (computed from the
source databases, not by the hub), each an UPSERT whose node is that row; no response holds a
canary the role may not see. Feeds the role cannot read are not in its `ChangeEntity`; a role
whose policy does not grant `changes` has none of it; a system role cannot be reached at all.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from auth.access.policy import load_policy
from auth.model.catalog import ENTITIES
from auth.model.ids import from_global_id
from huitong.demo.config import POLICY_PATH
from publishing.change_follower import FEEDS
from schema.build import build_role_schema
from tests.leaks.canaries import POLICY
from tests.leaks.hub import LeakHub, selection

FEED = """query($after: String) {
  changes(entity: %s, after: $after, first: %d) {
    nodes { cursor op entity id at node { id ... on %s { %s } } }
    pageInfo { hasNextPage endCursor } } }"""


def feeds() -> list[tuple[str, str]]:
    return [(role, name) for role in sorted(POLICY.roles) for name, entity in FEEDS.items()
            if POLICY.roles[role].readable(entity) and "changes" in POLICY.roles[role].operations]


@pytest.mark.parametrize(("role", "feed"), feeds())
async def test_a_feed_names_exactly_the_rows_the_role_may_see(hub: LeakHub, role: str,
                                                              feed: str) -> None:
    entity = FEEDS[feed]
    first = POLICY.roles[role].limits.max_first
    query = FEED % (feed, first, entity, selection(role, entity))
    changes: list[dict[str, Any]] = []
    after = None
    for _ in range(100):
        data = await hub.data(query, {"after": after}, role=role)
        changes += data["changes"]["nodes"]
        after = data["changes"]["pageInfo"]["endCursor"]
        if not data["changes"]["pageInfo"]["hasNextPage"]:
            break
    ids = [from_global_id(c["id"])[1] for c in changes]  # type: ignore[index]
    assert len(ids) == len(set(ids))  # the sources did not change: one UPSERT a row
    assert set(ids) == hub.truth.visible_ids(role, entity)
    assert {c["op"] for c in changes} == {"UPSERT"}
    assert all(c["node"] is not None and c["node"]["id"] == c["id"] for c in changes)


async def test_feeds_a_role_cannot_read_are_not_in_its_enum(hub: LeakHub) -> None:
    assert not POLICY.roles["public"].readable("Payment")
    errors = await hub.refused("{ changes(entity: PAYMENT) { nodes { id } } }", role="public")
    assert "PAYMENT" in errors[0]["message"]


def test_a_role_without_the_grant_has_no_feed() -> None:
    civil = POLICY.roles["civil_affairs"]
    schema = build_role_schema(replace(civil, operations={}))
    assert schema.get_type_by_name("ChangeEntity") is None
    assert schema.get_type_by_name("Change") is None
    result = schema.execute_sync("{ changes(entity: PAYMENT) { nodes { id } } }")
    assert result.errors and "Did you mean" not in result.errors[0].message


async def test_a_system_role_cannot_be_reached(hub: LeakHub) -> None:
    system = [name for name, role in load_policy(POLICY_PATH).roles.items() if role.system]
    assert system == ["change_follower"]
    token = hub.hub.token("change_follower", "330000000000")
    auth = {"Authorization": f"Bearer {token}"}
    graphql = await hub.hub.client.post("/graphql", json={"query": "{ __typename }"},
                                        headers=auth)
    export = await hub.hub.client.get("/export/payments.ndjson", headers=auth)
    for response in (graphql, export):
        assert response.status_code == 403
        assert response.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert all(ENTITIES[e].exposed for e in FEEDS.values())
