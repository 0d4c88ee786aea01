"""Leak suite, the audit trail: its queries must not become a way around the policy.

Principals inside and outside the 滨江 inspector's jurisdiction read canary rows first (an
inspector of 上城区 reads its own district, the 西兴 finance officer searches by a payee's
name, the public reads published subsidies anywhere). Then `auditRecords` shows the 滨江
inspector only records of principals inside its jurisdiction, ids only of rows it may see,
no canary it may not see (variables under sensitive keys are redacted), and `accessHistory`
of a row it may not see answers exactly like that of a row that does not exist. Roles without
the grant (`operations`) have neither query.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from typing import Any

import pytest

from auth.model.catalog import ENTITIES
from tests.conftest import BACKENDS, PostgresDatabases
from tests.leaks.canaries import BOOK, MISSING_ID, PLANT, POLICY, ROLES, prefix_of
from tests.leaks.hub import LeakHub, global_id, leak_hub_for

INSPECTOR = "discipline_inspector"
OTHER_DISTRICT = "330102000000"
READ = "fragment P on Payment { id paymentNo purpose }"
RECORDS = """query($before: ID) { auditRecords(first: 100, before: $before) {
  seq at subject role agency regionCode client purpose operationName outcome operationType
  documentHash variables durationMs errors hash prevHash
  reads { entity count listed ids idsWithheld digest clearFields maskedFields aggregates } } }"""
HISTORY = """query($entity: AuditedEntity!, $id: ID!) { accessHistory(entity: $entity, id: $id) {
  seq subject role agency regionCode client purpose operationName outcome clearFields
  maskedFields listed } }"""


@pytest.fixture(scope="module", params=BACKENDS)
async def hub(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
    pg_databases: PostgresDatabases,
) -> AsyncIterator[LeakHub]:
    async with leak_hub_for(request.param, tmp_path_factory, pg_databases) as leak_hub:
        await activity(leak_hub)
        yield leak_hub


def _token(key: str, field: str) -> str:
    return BOOK.tokens(key)[field]


async def activity(hub: LeakHub) -> None:
    """Reads by principals inside and outside the 滨江 inspector's jurisdiction, each sent
    once (through one path), so that the trail holds one record per read."""
    lookup = "query($id: ID!) { payment(id: $id) { ...P } } " + READ
    by_no = "query($f: PaymentFilter) { payments(filter: $f) { nodes { ...P } } } " + READ
    other = {"role": INSPECTOR, "region": OTHER_DISTRICT}
    await hub.hub.data(lookup, {"id": global_id("Payment", PLANT["P_OOS"].raw_id)}, **other)
    await hub.hub.data(by_no, {"f": {"paymentNo": _token("P_OOS", "paymentNo")}}, **other)
    fo = {"role": "finance_officer"}
    await hub.hub.data(lookup, {"id": global_id("Payment", PLANT["P_FO"].raw_id)}, **fo)
    await hub.hub.data(by_no, {"f": {"payeeName": _token("P_FO", "payeeName")}}, **fo)
    await hub.hub.data(by_no, {"f": {"payeeName": _token("P_OOS", "payeeName")}}, **fo)
    await hub.hub.data("{ residents(first: 5) { nodes { id name idNumber } } }",
                       role="civil_affairs")
    await hub.hub.data("""query($f: SubsidyFilter) { subsidies(filter: $f) {
      nodes { id batchNo subsidyType } } }""", {"f": {"batchNo": _token("S_OOS_PUB", "batchNo")}},
                       role="public")
    await hub.hub.data(lookup, {"id": global_id("Payment", PLANT["P_FO"].raw_id)}, role=INSPECTOR)


async def all_records(hub: LeakHub, role: str, region: str | None = None) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    before = None
    for _ in range(100):
        page = (await hub.data(RECORDS, {"before": before}, role=role, region=region))[
            "auditRecords"]
        records += page
        if len(page) < 100:
            return records
        before = page[-1]["seq"]
    raise AssertionError("auditRecords did not end")


def _raw(gid: str) -> tuple[str, str]:
    entity, _, raw = base64.urlsafe_b64decode(gid + "=" * (-len(gid) % 4)).decode().partition(":")
    return entity, raw


@pytest.mark.parametrize("region", [None, OTHER_DISTRICT])
async def test_audit_records_stay_inside_the_callers_jurisdiction(
    hub: LeakHub, region: str | None
) -> None:
    records = await all_records(hub, INSPECTOR, region)
    own = prefix_of(region or "330108000000")
    assert records, "the activity must have left records"
    for record in records:
        assert record["regionCode"] and record["regionCode"].startswith(own), record
        for read in record["reads"]:
            for gid in read["ids"] or []:
                if read["entity"] not in ENTITIES:
                    continue  # the trail's own entity: record seqs
                entity, raw = _raw(gid)
                assert entity == read["entity"]
                assert raw in hub.truth.visible_ids(INSPECTOR, entity, region), (record, gid)
    roles = {(r["role"], r["regionCode"]) for r in records}
    if region is None:
        assert ("finance_officer", "330108001000") in roles
        assert (INSPECTOR, OTHER_DISTRICT) not in roles
        assert all(r["role"] != "public" for r in records)


async def test_sensitive_variables_are_redacted_in_the_trail(hub: LeakHub) -> None:
    records = await all_records(hub, INSPECTOR)
    searches = [r for r in records if r["role"] == "finance_officer" and "payeeName" in
                r["variables"]]
    assert len(searches) == 2, searches
    for record in searches:
        assert '"payeeName":"[redacted]"' in record["variables"].replace(" ", ""), record
        assert "CNRY" not in record["variables"]


@pytest.mark.parametrize("key", ["P_OOS", "P_DIST", "S_OOS_PUB", "S_OOS_UNPUB", "D_OOS_DRAFT",
                                 "C_OOS", "R_OOS", "RF_OOS"])
async def test_access_history_of_a_hidden_row_answers_like_a_missing_one(
    hub: LeakHub, key: str
) -> None:
    plant = PLANT[key]
    region = "330108001000" if key == "P_DIST" else None  # P_DIST: outside 西兴 only
    missing = await hub.post(HISTORY, {"entity": plant.entity, "id": global_id(
        plant.entity, MISSING_ID)}, role=INSPECTOR, region=region)
    assert missing.json() == {"data": {"accessHistory": []}}
    got = await hub.post(HISTORY, {"entity": plant.entity, "id": global_id(
        plant.entity, plant.raw_id)}, role=INSPECTOR, region=region)
    assert not BOOK.row_visible(INSPECTOR, plant.entity, BOOK.rows[key], region)
    assert got.content == missing.content, got.text


async def test_access_history_of_a_visible_row_names_its_readers(hub: LeakHub) -> None:
    data = await hub.data(HISTORY, {"entity": "Payment", "id": global_id(
        "Payment", PLANT["P_FO"].raw_id)}, role=INSPECTOR)
    readers = {(e["role"], e["regionCode"]) for e in data["accessHistory"]}
    assert {("finance_officer", "330108001000"), (INSPECTOR, "330108000000")} <= readers
    # The other district's inspector read only its own rows; the public reads no payments.
    assert (INSPECTOR, OTHER_DISTRICT) not in readers
    assert all(role != "public" for role, _ in readers)


@pytest.mark.parametrize("role", ROLES)
async def test_roles_without_the_grant_have_no_audit_queries(hub: LeakHub, role: str) -> None:
    granted = POLICY.roles[role].operations
    for name, query in (("auditRecords", "{ auditRecords { seq } }"),
                        ("accessHistory", '{ accessHistory(entity: Payment, id: "x") { seq } }')):
        if name in granted:
            await hub.data(query, role=role)
        else:
            await hub.refused(query, role=role)
