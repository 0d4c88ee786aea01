"""Every operation through the front door leaves exactly one verifiable audit record.

On SQLite and PostgreSQL, per query path (list, lookup, node, nested relation, count,
aggregate, introspection, a validation error, a bad input error): who (subject, role, agency,
region), which client (jwt:<jti>, apikey:<id>, anonymous), the purpose (header or token claim),
operation name, document hash, redacted variables, the entities and row ids returned (compared
with the response), masked and clear fields, outcome and duration. The chain verifies after a
burst of concurrent requests. Failing closed and purpose rules are in
tests/audit/test_fail_closed.py; the audit-trail queries in tests/audit/test_trail_front_door.py.
"""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any

import pytest
from graphql import GraphQLError, parse, print_ast
from strawberry.types import ExecutionResult

from auth.audit import REDACTED
from auth.identity.apikeys import ApiKeyStore
from huitong.audit_recorder import outcome_of
from tests.audit.front_door import Caller, caller, one_record, post, raw_ids, store_of
from tests.hub_harness import DemoHub

INSPECTOR = "discipline_inspector"


def doc_hash(query: str) -> str:
    return hashlib.sha256(print_ast(parse(query)).encode()).hexdigest()


def nodes(data: Any, *path: str) -> list[dict[str, Any]]:
    for key in path:
        data = data[key]
    return list(data)


async def some_payment(hub: DemoHub, who: Caller) -> str:
    body = (await post(hub, who, "{ payments(first: 1) { nodes { id } } }")).json()
    return str(body["data"]["payments"]["nodes"][0]["id"])


def check_who(record: Any, who: Caller, *, client: str | None = None) -> None:
    p = record.entry.principal
    assert (p.subject, p.role, p.region_code) == (who.subject, who.role, who.region)
    assert p.credential == (client or f"jwt:{who.jti}")


async def test_a_list_records_principal_client_purpose_variables_ids_and_fields(
    demo_hub: DemoHub,
) -> None:
    who = caller("civil_affairs")
    query = """query Payees($first: Int, $region: RegionCode) {
      payments(first: $first, filter: {regionCode: $region}) {
        nodes { id amount payeeName payeeIdNumber } } }"""
    got = await one_record(demo_hub, lambda: post(
        demo_hub, who, query, {"first": 7, "region": "330108001000"}, operation_name="Payees",
        purpose="三务公开-2025-Q1 核对"))
    assert got.response.status_code == 200
    entry = got.record.entry
    check_who(got.record, who)
    assert entry.principal.purpose == "三务公开-2025-Q1 核对"
    assert (entry.operation, entry.operation_type) == ("Payees", "query")
    assert entry.document_hash == doc_hash(query) and entry.document_normalised
    assert entry.variables == {"first": 7, "region": "330108001000"}
    shown = nodes(got.body["data"], "payments", "nodes")
    assert len(shown) == 7 and all("*" in p["payeeName"] for p in shown)
    reads = entry.reads["Payment"]
    assert reads["ids"] == raw_ids([p["id"] for p in shown], "Payment")
    assert reads["count"] == 7 and reads["ids_mode"] == "listed"
    assert reads["masked_fields"] == ["payeeIdNumber", "payeeName"]
    assert set(reads["clear_fields"]) == {"id", "amount"}
    assert entry.outcome == "ok" and entry.errors == ()
    assert 0 <= entry.duration_ms <= got.elapsed_ms + 1
    assert set(entry.reads) == {"Payment"}


async def test_sensitive_variables_are_redacted_in_the_record(demo_hub: DemoHub) -> None:
    who = caller("finance_officer")
    body = (await post(demo_hub, who, "{ payments(first: 1) { nodes { payeeName } } }")).json()
    name = body["data"]["payments"]["nodes"][0]["payeeName"]
    query = """query($payeeName: String, $note: String) {
      payments(first: 50, filter: {payeeName: $payeeName}) { nodes { id payeeName } }
      other: payments(first: 1, filter: {paymentNo: $note}) { totalCount } }"""
    card = "6222 0212 3456 7890 123"
    got = await one_record(demo_hub, lambda: post(demo_hub, who, query,
                                                  {"payeeName": name, "note": card}))
    assert got.record.entry.variables == {"payeeName": REDACTED, "note": REDACTED}
    assert name not in got.record.entry.body and "6222" not in got.record.entry.body
    shown = nodes(got.body["data"], "payments", "nodes")
    assert shown and all(p["payeeName"] == name for p in shown)
    assert got.record.entry.reads["Payment"]["ids"] == raw_ids([p["id"] for p in shown],
                                                               "Payment")


async def test_the_purpose_can_come_from_the_token(demo_hub: DemoHub) -> None:
    who = caller(INSPECTOR, purpose="案-2025-001")
    got = await one_record(demo_hub, lambda: post(demo_hub, who,
                                                  "{ regions(first: 2) { nodes { id } } }"))
    assert got.record.entry.principal.purpose == "案-2025-001"
    assert got.record.entry.operation is None  # anonymous operation


async def test_lookup_and_node_record_the_one_row(demo_hub: DemoHub) -> None:
    who = caller(INSPECTOR)
    pid = await some_payment(demo_hub, who)
    for query in ("query($id: ID!) { payment(id: $id) { id paymentNo payeeName } }",
                  "query($id: ID!) { node(id: $id) { id ... on Payment { paymentNo } } }"):
        got = await one_record(demo_hub, lambda q=query: post(demo_hub, who, q, {"id": pid}))
        found = next(iter(got.body["data"].values()))
        assert found["id"] == pid
        reads = got.record.entry.reads
        assert list(reads) == ["Payment"] and reads["Payment"]["ids"] == raw_ids([pid],
                                                                                  "Payment")
        assert reads["Payment"]["masked_fields"] == []  # the inspector reads in clear
        assert got.record.entry.variables == {"id": pid}


async def test_a_nested_relation_records_every_entity_it_returned(demo_hub: DemoHub) -> None:
    who = caller("finance_officer")
    query = """{ payments(first: 20, orderBy: [{paidAt: DESC}]) { nodes { id
      reimbursement { id claimNo invoices { id invoiceNumber } } } } }"""
    got = await one_record(demo_hub, lambda: post(demo_hub, who, query))
    shown = nodes(got.body["data"], "payments", "nodes")
    claims = [p["reimbursement"] for p in shown if p["reimbursement"]]
    invoices = [i for c in claims for i in c["invoices"]]
    assert claims and invoices
    expected = {"Payment": shown, "Reimbursement": claims, "Invoice": invoices}
    reads = got.record.entry.reads
    assert set(reads) == set(expected)
    for entity, rows in expected.items():
        assert set(reads[entity]["ids"]) == set(raw_ids([r["id"] for r in rows], entity))
    assert "payeeIdNumber" not in reads["Payment"]["masked_fields"]  # not asked for


async def test_count_aggregate_and_introspection(demo_hub: DemoHub) -> None:
    who = caller("civil_affairs")
    got = await one_record(demo_hub, lambda: post(
        demo_hub, who, '{ payments(filter: {amountMin: "1000.00"}) { totalCount } }'))
    assert got.body["data"]["payments"]["totalCount"] > 0
    counted = got.record.entry.reads["Payment"]
    assert counted["count"] == 0 and counted["aggregates"] == 1
    assert counted["clear_fields"] == ["amount"]  # what the count reveals something about
    got = await one_record(demo_hub, lambda: post(
        demo_hub, who, "{ spendingSummary(groupBy: [MONTH]) { month count totalAmount } }"))
    assert got.body["data"]["spendingSummary"]
    summed = got.record.entry.reads["Payment"]
    assert summed["aggregates"] == 1 and summed["ids"] == [] and "amount" in \
        summed["clear_fields"]
    got = await one_record(demo_hub, lambda: post(
        demo_hub, who, "query Intro { __schema { queryType { name } } }"))
    assert got.record.entry.reads == {} and got.record.entry.outcome == "ok"
    assert got.record.entry.operation == "Intro"


@pytest.mark.parametrize(
    ("query", "outcome", "code"),
    [
        ("{ payments { nodes { nosuchField } } }", "error", "GRAPHQL_VALIDATION_FAILED"),
        ("{ payments(first: 100000) { nodes { id } } }", "error", "BAD_USER_INPUT"),
        ("{ payments(first: 2) { nodes { id } } region(code: \"330108000000\") { "
         "payments(first: 100000) { totalCount } } }", "partial", "BAD_USER_INPUT"),
        ("{ payments(", "error", "GRAPHQL_PARSE_FAILED"),
    ],
)
async def test_refused_and_failed_operations_are_recorded(
    demo_hub: DemoHub, query: str, outcome: str, code: str
) -> None:
    who = caller(INSPECTOR)
    got = await one_record(demo_hub, lambda: post(demo_hub, who, query))
    body = got.body
    assert [e["extensions"]["code"] for e in body["errors"]] == [code]
    entry = got.record.entry
    assert (entry.outcome, entry.errors) == (outcome, (code,))
    assert entry.document_hash == (doc_hash(query) if code != "GRAPHQL_PARSE_FAILED"
                                   else hashlib.sha256(query.encode()).hexdigest())
    if outcome == "partial":
        shown = body["data"]["payments"]["nodes"]
        assert entry.reads["Payment"]["ids"] == raw_ids([p["id"] for p in shown], "Payment")
    else:
        assert entry.reads == {}


def test_the_outcome_says_whether_anything_was_served() -> None:
    def error(code: str) -> GraphQLError:
        return GraphQLError("x", extensions={"code": code})

    assert outcome_of(ExecutionResult(data={"payments": {"nodes": []}}, errors=None)) == "ok"
    assert outcome_of(ExecutionResult(data={"payments": None, "invoices": None},
                                      errors=[error("SOURCE_UNAVAILABLE")])) == "error"
    assert outcome_of(ExecutionResult(data=None, errors=[error("BAD_USER_INPUT")])) == "error"
    assert outcome_of(ExecutionResult(data={"payments": None, "invoices": {"nodes": []}},
                                      errors=[error("SOURCE_UNAVAILABLE")])) == "partial"
    assert outcome_of(ExecutionResult(data={"residents": None, "invoices": {"nodes": []}},
                                      errors=[error("PURPOSE_REQUIRED")])) == "denied"


async def test_api_keys_and_anonymous_callers_are_named(demo_hub: DemoHub) -> None:
    hub = demo_hub.app.state.hub
    assert hub.store is not None
    record, plaintext = await ApiKeyStore(hub.store).create(
        "民政公开页面", "civil_affairs", "330108002000", agency="长河街道")
    got = await one_record(demo_hub, lambda: demo_hub.post(
        "{ disclosures(first: 3) { nodes { id title } } }",
        headers={"Authorization": f"ApiKey {plaintext}"}))
    p = got.record.entry.principal
    assert (p.subject, p.role, p.agency, p.region_code, p.credential) == (
        "民政公开页面", "civil_affairs", "长河街道", "330108002000", f"apikey:{record.id}")
    shown = nodes(got.body["data"], "disclosures", "nodes")
    assert got.record.entry.reads["Disclosure"]["ids"] == raw_ids([d["id"] for d in shown],
                                                                  "Disclosure")
    got = await one_record(demo_hub, lambda: demo_hub.post(
        "{ subsidies(first: 3) { nodes { id recipientName } } }"))
    p = got.record.entry.principal
    assert (p.subject, p.role, p.credential, p.region_code) == ("anonymous", "public",
                                                                "anonymous", None)
    assert got.record.entry.reads["Subsidy"]["masked_fields"] == ["recipientName"]


async def test_the_chain_verifies_after_a_burst_of_concurrent_requests(
    demo_hub: DemoHub,
) -> None:
    store = store_of(demo_hub)
    before, _ = await store.head()
    callers = [caller(role) for role in ("civil_affairs", INSPECTOR, "finance_officer")
               for _ in range(3)]
    queries = ["{ payments(first: 5) { nodes { id amount } } }",
               "{ regions(first: 3) { nodes { id name } } }",
               "{ payments(first: 100000) { totalCount } }"]
    responses = await asyncio.gather(*(
        post(demo_hub, callers[i % len(callers)], queries[i % len(queries)])
        for i in range(50)))
    assert all(r.status_code == 200 for r in responses)
    after, _ = await store.head()
    assert after - before == 50
    report = await store.verify(before + 1, after)
    assert report.ok and report.checked == 50, report
    records = await store.query(limit=50)
    subjects = {c.subject for c in callers}
    assert {r.seq for r in records} == set(range(before + 1, after + 1))
    assert {r.entry.principal.subject for r in records} == subjects
    assert sum(r.entry.outcome == "error" for r in records) == sum(
        1 for i in range(50) if i % 3 == 2)
    assert (await store.verify()).ok
