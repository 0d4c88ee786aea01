"""A request turned away at authentication still leaves a record (who tried is unknown)."""

from __future__ import annotations

from tests.hub_harness import DemoHub


async def test_a_bad_credential_is_recorded_as_denied(demo_hub: DemoHub) -> None:
    store = demo_hub.app.state.hub.recorder.store
    before = await store.head()
    response = await demo_hub.client.post(
        "/graphql", json={"query": "{ payments(first: 1) { totalCount } }"},
        headers={"Authorization": "Bearer not.a.token"})
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    records = await store.query(outcome="denied", limit=5)
    newest = records[0]
    head = await store.head()
    assert newest.seq == head[0] > before[0]
    assert newest.entry.principal.subject == "unauthenticated"
    assert newest.entry.principal.credential == "refused"
    assert list(newest.entry.errors) == ["UNAUTHENTICATED"]
    assert newest.entry.reads == {}
    report = await store.verify()
    assert report.ok, report.problem
