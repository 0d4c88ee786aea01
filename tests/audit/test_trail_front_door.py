"""The audit-trail queries through the front door, on SQLite and PostgreSQL.

An inspector asks "who saw payment X": another role reads the payment, and `accessHistory`
shows that read with role, time, purpose, masked and clear fields. A row the inspector cannot
see answers exactly like a missing one. `auditRecords` shows only principals inside the
inspector's jurisdiction, pages newest first, and reading it is itself recorded. Roles without
the grant do not have the fields, and validation says nothing that would suggest them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from resolvers.ids import to_global_id
from tests.audit.front_door import Caller, caller, one_record, post, raw_ids
from tests.hub_harness import DemoHub

INSPECTOR = "discipline_inspector"
HISTORY = """query Who($id: ID!) { accessHistory(entity: Payment, id: $id) {
  seq at subject role agency regionCode client purpose operationName outcome
  clearFields maskedFields listed } }"""
RECORDS = """query Records($filter: AuditRecordFilter, $first: Int, $before: ID) {
  auditRecords(filter: $filter, first: $first, before: $before) {
    seq at subject role regionCode client purpose operationName outcome durationMs errors
    documentHash variables hash prevHash
    reads { entity count listed ids idsWithheld digest clearFields maskedFields aggregates }
  } }"""


async def data(hub: DemoHub, who: Caller, query: str, variables: dict[str, Any] | None = None,
               **kwargs: Any) -> dict[str, Any]:
    body = (await post(hub, who, query, variables, **kwargs)).json()
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"]
    return result


async def first_payment(hub: DemoHub, who: Caller) -> str:
    found = await data(hub, who, "{ payments(first: 1) { nodes { id } } }")
    return str(found["payments"]["nodes"][0]["id"])


async def test_an_inspector_sees_who_saw_a_payment(demo_hub: DemoHub) -> None:
    officer, civil = caller("finance_officer"), caller("civil_affairs")
    pid = await first_payment(demo_hub, officer)  # a payment of 西兴街道
    lookup = "query Look($id: ID!) { payment(id: $id) { id amount payeeName } }"
    started = datetime.now().astimezone()
    await data(demo_hub, civil, lookup, {"id": pid}, purpose="低保复核-2025-07")
    await data(demo_hub, officer, lookup, {"id": pid})
    inspector = caller(INSPECTOR)
    got = await one_record(demo_hub, lambda: post(demo_hub, inspector, HISTORY, {"id": pid},
                                                  purpose="案-2025-017"))
    events = got.body["data"]["accessHistory"]
    seen: dict[str, dict[str, Any]] = {}
    for event in events:  # newest first: keep each subject's latest read
        seen.setdefault(event["subject"], event)
    assert list(seen)[:2] == [officer.subject, civil.subject]  # newest first
    by_civil = seen[civil.subject]
    assert by_civil["role"] == "civil_affairs" and by_civil["purpose"] == "低保复核-2025-07"
    assert by_civil["maskedFields"] == ["payeeName"] and "amount" in by_civil["clearFields"]
    assert by_civil["client"] == f"jwt:{civil.jti}" and by_civil["listed"] is True
    assert by_civil["operationName"] == "Look" and by_civil["outcome"] == "OK"
    assert by_civil["regionCode"] == "330108000000"
    assert started <= datetime.fromisoformat(by_civil["at"]) <= datetime.now().astimezone()
    by_officer = seen[officer.subject]
    assert by_officer["maskedFields"] == [] and "payeeName" in by_officer["clearFields"]
    # The inspector's question is itself on the record: the row it asked about, and which
    # audit records it was shown.
    reads = got.record.entry.reads
    assert reads["Payment"]["ids"] == raw_ids([pid], "Payment")
    assert reads["AuditRecord"]["ids"] == [e["seq"] for e in events]
    assert got.record.entry.principal.purpose == "案-2025-017"


async def test_a_hidden_row_answers_like_a_missing_one(demo_hub: DemoHub) -> None:
    elsewhere = caller("civil_affairs", "330102000000")  # 上城区, outside the inspector's
    hidden = await first_payment(demo_hub, elsewhere)
    await data(demo_hub, elsewhere, "query($id: ID!) { payment(id: $id) { id } }",
               {"id": hidden})
    inspector = caller(INSPECTOR)
    answers = [(await post(demo_hub, inspector, HISTORY, {"id": gid})).content
               for gid in (hidden, to_global_id("Payment", "987654321"))]
    assert answers[0] == answers[1] == b'{"data":{"accessHistory":[]}}'
    upper = caller(INSPECTOR, "330100000000")  # the city's inspector can see it
    events = (await data(demo_hub, upper, HISTORY, {"id": hidden}))["accessHistory"]
    assert elsewhere.subject in {e["subject"] for e in events}
    for wrong in ("not-a-global-id", to_global_id("Invoice", "1")):
        assert (await data(demo_hub, inspector, HISTORY, {"id": wrong})) == {
            "accessHistory": []}


async def test_audit_records_are_scoped_to_principals_in_the_jurisdiction(
    demo_hub: DemoHub,
) -> None:
    inside, outside = caller("finance_officer"), caller("civil_affairs", "330102000000")
    for who in (inside, inside, inside, outside):
        await data(demo_hub, who, "{ payments(first: 3) { nodes { id amount } } }")
    shown = (await data(demo_hub, outside, "{ payments(first: 3) { nodes { id } } }"))
    inspector = caller(INSPECTOR)

    async def records(**filter: Any) -> list[dict[str, Any]]:
        found = await data(demo_hub, inspector, RECORDS, {"filter": filter})
        return list(found["auditRecords"])

    mine = await records(subject=inside.subject)
    assert len(mine) == 3 and [int(r["seq"]) for r in mine] == sorted(
        (int(r["seq"]) for r in mine), reverse=True)
    first = mine[0]
    assert first["role"] == "finance_officer" and first["regionCode"] == "330108001000"
    assert first["client"] == f"jwt:{inside.jti}" and first["outcome"] == "OK"
    [read] = first["reads"]
    assert read["entity"] == "Payment" and read["listed"] and not read["idsWithheld"]
    assert len(read["ids"]) == 3 and read["count"] == 3
    assert await records(subject=outside.subject) == []  # 上城区 is not the inspector's
    assert outside.subject in {r["subject"] for r in (await data(
        demo_hub, caller(INSPECTOR, "330102000000"), RECORDS,
        {"filter": {"subject": outside.subject}}))["auditRecords"]}
    assert shown["payments"]["nodes"]  # (the outside reads happened)
    await demo_hub.post("{ disclosures(first: 1) { nodes { id } } }")  # anonymous
    assert await records(role="public") == []
    assert await records(regionCode="330102000000") == []
    street = await records(regionCode="330108001000", subject=inside.subject)
    assert [r["seq"] for r in street] == [r["seq"] for r in mine]
    # The street's own inspector sees the street, not the district above it.
    street_inspector = caller(INSPECTOR, "330108001000")
    above = caller("civil_affairs")
    await data(demo_hub, above, "{ payments(first: 1) { nodes { id } } }")
    found = await data(demo_hub, street_inspector, RECORDS, {"filter": {"subject": above.subject}})
    assert found["auditRecords"] == []


async def test_audit_records_filter_and_page(demo_hub: DemoHub) -> None:
    who = caller("finance_officer")
    for first in (1, 2, 3):
        await data(demo_hub, who, "query P($first: Int) { payments(first: $first) { "
                   "nodes { id } } }", {"first": first}, purpose=f"月结-{first}")
    await post(demo_hub, who, "{ payments(first: 100000) { nodes { id } } }")
    await data(demo_hub, who, "{ invoices(first: 1) { nodes { id } } }")
    inspector = caller(INSPECTOR)

    async def seqs(variables: dict[str, Any]) -> list[str]:
        found = await data(demo_hub, inspector, RECORDS, variables)
        return [r["seq"] for r in found["auditRecords"]]

    everything = await seqs({"filter": {"subject": who.subject}})
    assert len(everything) == 5
    page = await seqs({"filter": {"subject": who.subject}, "first": 2})
    rest = await seqs({"filter": {"subject": who.subject}, "before": page[-1]})
    assert page + rest == everything
    assert len(await seqs({"filter": {"subject": who.subject, "outcome": "ERROR"}})) == 1
    assert len(await seqs({"filter": {"subject": who.subject, "entity": "Invoice"}})) == 1
    assert await seqs({"filter": {"subject": who.subject, "purpose": "月结-2"}}) == [
        everything[3]]
    assert await seqs({"filter": {"subject": who.subject, "role": "civil_affairs"}}) == []
    [latest] = (await data(demo_hub, inspector, RECORDS,
                           {"filter": {"subject": who.subject}, "first": 1}))["auditRecords"]
    moment = latest["at"]
    assert await seqs({"filter": {"subject": who.subject, "since": moment}}) == [latest["seq"]]
    assert len(await seqs({"filter": {"subject": who.subject, "until": moment}})) == 5
    body = (await post(demo_hub, inspector, RECORDS, {"before": "12x"})).json()
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


@pytest.mark.parametrize("role", ["civil_affairs", "finance_officer", "public"])
@pytest.mark.parametrize("query", [
    "{ auditRecords { seq } }",
    '{ accessHistory(entity: Payment, id: "x") { seq } }',
    "{ auditRecord { seq } }",
    "{ __type(name: \"AuditRecord\") { name } }",
])
async def test_roles_without_the_grant_do_not_have_the_fields(
    demo_hub: DemoHub, role: str, query: str,
) -> None:
    body = (await post(demo_hub, caller(role), query)).json()
    if "__type" in query:
        assert body == {"data": {"__type": None}}
        return
    assert body.get("data") is None
    for error in body["errors"]:
        assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
        assert "Did you mean" not in error["message"]


async def test_the_inspector_gets_no_suggestions_either(demo_hub: DemoHub) -> None:
    inspector = caller(INSPECTOR)
    for query in ("{ auditRecord { seq } }", "{ auditRecords { sequence } }",
                  '{ accessHistory(entity: Paymnt, id: "x") { seq } }',
                  "{ auditRecords(filter: {subjct: \"x\"}) { seq } }"):
        body = (await post(demo_hub, inspector, query)).json()
        assert body["errors"] and all("Did you mean" not in e["message"]
                                      for e in body["errors"]), body


async def test_null_in_the_record_filter_means_absent_or_is_refused(demo_hub: DemoHub) -> None:
    """`purpose: null` finds the reads without a stated purpose (an inspector's question);
    null on a fact every record has is refused, never ignored."""
    civil = caller("civil_affairs")
    await data(demo_hub, civil, "{ payments(first: 1) { totalCount } }", purpose="复核-1")
    await data(demo_hub, civil, "{ payments(first: 1) { totalCount } }")
    inspector = caller(INSPECTOR)
    stated = {"role": "civil_affairs", "purpose": "复核-1"}
    unstated = {"role": "civil_affairs", "purpose": None}
    with_purpose = (await data(demo_hub, inspector, RECORDS, {"filter": stated}))["auditRecords"]
    without = (await data(demo_hub, inspector, RECORDS, {"filter": unstated}))["auditRecords"]
    everyone = (await data(demo_hub, inspector, RECORDS,
                           {"filter": {"role": "civil_affairs"}}))["auditRecords"]
    assert with_purpose and all(r["purpose"] == "复核-1" for r in with_purpose)
    assert without and all(r["purpose"] is None for r in without)
    # Newest first: the read without a purpose, and just before it the one with.
    assert without[0]["seq"] == everyone[0]["seq"]
    assert with_purpose[0]["seq"] == everyone[1]["seq"]
    for name in ("role", "subject", "outcome", "since", "regionCode"):
        body = (await post(demo_hub, inspector, RECORDS, {"filter": {name: None}})).json()
        assert body["data"] is None, body  # auditRecords is not nullable
        [error] = body["errors"]
        assert error["extensions"]["code"] == "BAD_USER_INPUT"
        assert error["message"].startswith(f"filter.{name}: "), error
