"""Every refusal leaves a record, a flood leaves few, and no record grows with the request
(issue 16, point 4), through the front door on SQLite and PostgreSQL hub stores (`demo_hub`).

A signed token whose role the policy lacks (403), refusals at the HTTP layer (400, 405, 413,
a mutation over GET) and bad credentials (401) are recorded as denied, with the status, the
code and the client's fingerprint (address and a digest of the credential, never the
credential). Repeated refusals of one client in one minute are one record now and one with
their count at the next flush. Variables and operation names are bounded in a record.
"""

from __future__ import annotations

import uuid
from typing import Any

from auth.audit import StoredRecord
from auth.identity.tokens import mint_token
from huitong.refusals import client_fingerprint
from tests.hub_harness import SECRET, DemoHub

JSON = {"Content-Type": "application/json"}


async def refusals_of(hub: DemoHub, client: str) -> list[StoredRecord]:
    store = hub.app.state.hub.recorder.store
    records = await store.query(outcome="denied", limit=5000)
    return [r for r in records if r.entry.extra.get("refused", {}).get("client") == client]


def refused(record: StoredRecord) -> dict[str, Any]:
    info: dict[str, Any] = record.entry.extra["refused"]
    return info


async def test_a_signed_token_of_an_unknown_role_is_refused_and_recorded(
        demo_hub: DemoHub) -> None:
    token = mint_token(SECRET, subject=f"who-{uuid.uuid4().hex[:6]}", role="auditor_general",
                       region_code="330108000000")
    header = f"Bearer {token}"
    response = await demo_hub.client.post("/graphql", json={"query": "{ __typename }"},
                                          headers={"Authorization": header})
    assert response.status_code == 403
    assert response.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    [record] = await refusals_of(demo_hub, client_fingerprint("127.0.0.1", header))
    assert record.entry.principal.role == "auditor_general"  # it verified: who it names
    assert record.entry.principal.subject.startswith("who-")
    assert list(record.entry.errors) == ["FORBIDDEN"]
    assert refused(record)["status"] == 403 and refused(record)["count"] == 1


async def test_http_layer_refusals_leave_records(demo_hub: DemoHub) -> None:
    limit = demo_hub.settings.max_body_bytes
    cases = [
        (400, "BAD_REQUEST", "POST", {"content": b"{not json", "headers": JSON}),
        (405, "METHOD_NOT_ALLOWED", "GET", {"params": {"query": "mutation { x }"}}),
        (405, "METHOD_NOT_ALLOWED", "PUT", {"content": b"{}", "headers": JSON}),
        (413, "PAYLOAD_TOO_LARGE", "POST", {"content": b" " * (limit + 1), "headers": JSON}),
    ]
    for status, code, method, kwargs in cases:
        # A credential of its own per case: the same client's repeats would be counted.
        marker = uuid.uuid4().hex
        header = f"Bearer {demo_hub.token('finance_officer', agency=marker)}"
        headers = {**kwargs.pop("headers", {}), "Authorization": header,
                   "X-Huitong-Purpose": marker}
        response = await demo_hub.client.request(method, "/graphql", headers=headers,
                                                 **kwargs)
        assert response.status_code == status, (code, response.text[:200])
        records = [r for r in await refusals_of(demo_hub, client_fingerprint("127.0.0.1",
                                                                            header))
                   if r.entry.principal.purpose == marker]
        assert len(records) == 1, (status, code)
        assert records[0].entry.principal.role == "finance_officer"
        assert refused(records[0])["status"] == status
        assert list(records[0].entry.errors) == [code]


async def test_a_flood_of_refusals_is_counted_not_written_one_by_one(demo_hub: DemoHub) -> None:
    header = f"ApiKey hk_{uuid.uuid4().hex}"
    client = client_fingerprint("127.0.0.1", header)
    store = demo_hub.app.state.hub.recorder.store
    before = (await store.head())[0]
    for _ in range(150):
        response = await demo_hub.client.post("/graphql", json={"query": "{ __typename }"},
                                              headers={"Authorization": header})
        assert response.status_code == 401
    assert len(await refusals_of(demo_hub, client)) <= 2  # one per minute boundary crossed
    await demo_hub.app.state.hub.housekeeping.once()  # what the hub does every interval
    records = await refusals_of(demo_hub, client)
    assert sum(refused(r)["count"] for r in records) == 150
    assert len(records) <= 4
    assert all(r.entry.principal.subject == "unauthenticated" for r in records)
    assert header not in str([r.entry.to_dict() for r in records])
    assert (await store.head())[0] - before < 150
    assert (await store.verify()).ok


async def test_records_are_bounded_whatever_the_request(demo_hub: DemoHub) -> None:
    store = demo_hub.app.state.hub.recorder.store
    name = "Op" + "x" * 100_000
    response = await demo_hub.post(
        f"query {name}($pad: String) {{ __typename }}",
        {"pad": "y" * 600_000, "more": ["z" * 1000] * 200}, operation_name=name)
    assert response.status_code == 200
    seq, _ = await store.head()
    [raw] = [r async for r in store.stream(seq, seq)]
    assert len(raw.content) < 16_000, len(raw.content)
    [record] = await store.query(limit=1)
    assert record.entry.operation is not None and len(record.entry.operation) < 300
    assert "$too_large" in record.entry.variables or all(
        len(str(v)) < 2000 for v in record.entry.variables.values())
