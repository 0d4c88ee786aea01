"""Leak suite, edge inputs: a value no row can hold answers like a value no row holds.

"A hidden row and a missing row answer the same" only holds if every missing row answers the
same: ids beyond the source's integer range, filter values beyond a column's range and
date-times given with a UTC offset must give the plain empty (or correct) answer on every
backend, never a source error that depends on how the source stores the column.
"""

from __future__ import annotations

import datetime as dt

import pytest

from tests.leaks.canaries import MISSING_ID, ROLES
from tests.leaks.hub import LeakHub, global_id, lookup_field, readable_entities

OUT_OF_RANGE = ("2147483648", "99999999999999999999", "-2147483649")
CHINA = dt.timedelta(hours=8)


@pytest.mark.parametrize("role", ROLES)
async def test_ids_beyond_the_integer_range_answer_like_missing(hub: LeakHub, role: str) -> None:
    entities = [e for e in readable_entities(role) if e.name != "Region"]
    failures = []
    for entity in entities:
        query = f"query($id: ID!) {{ one: {lookup_field(entity.name)}(id: $id) {{ id }} " \
                f"any: node(id: $id) {{ id }} }}"
        missing = await hub.post(query, {"id": global_id(entity.name, MISSING_ID)}, role=role)
        for raw in OUT_OF_RANGE:
            got = await hub.post(query, {"id": global_id(entity.name, raw)}, role=role)
            if got.content != missing.content:
                failures.append((entity.name, raw, got.text[:160]))
    assert not failures, failures


async def test_key_filters_beyond_the_integer_range_match_nothing(hub: LeakHub) -> None:
    query = """query($f: PaymentFilter) { payments(first: 5, filter: $f) {
      totalCount nodes { id } } }"""
    missing = await hub.post(query, {"f": {"budgetIndicatorId": global_id(
        "BudgetIndicator", 999_998)}}, role="finance_officer")
    assert missing.json()["data"]["payments"]["totalCount"] == 0
    for raw in OUT_OF_RANGE:
        got = await hub.post(query, {"f": {"budgetIndicatorId": global_id(
            "BudgetIndicator", raw)}}, role="finance_officer")
        assert got.content == missing.content, (raw, got.text)


async def test_int_filters_beyond_the_column_range_match_nothing(
    hub: LeakHub, request: pytest.FixtureRequest
) -> None:
    query = """query($f: BudgetIndicatorFilter) { budgetIndicators(filter: $f) {
      totalCount } }"""
    for role in ("discipline_inspector", "finance_officer"):
        none = await hub.post(query, {"f": {"fiscalYear": 1900}}, role=role)
        assert none.json()["data"]["budgetIndicators"]["totalCount"] == 0
        for year in (40000, -40000, 2147483647):
            got = await hub.post(query, {"f": {"fiscalYear": year}}, role=role)
            assert got.content == none.content, (role, year, got.text)


async def test_datetime_filters_with_an_offset_mean_that_instant(hub: LeakHub) -> None:
    """Sources keep China wall-clock time; 08:00Z is 16:00 there."""
    rows = hub.truth.visible("discipline_inspector", "Payment")
    # An instant with payments between its UTC and its China wall-clock reading, so that
    # dropping the offset would change the answer.
    at = next(r["paidAt"].replace(minute=0, second=0) for r in sorted(
        rows, key=lambda r: r["paidAt"]) if r["paidAt"].hour >= 16)
    assert any(at - CHINA <= r["paidAt"] < at for r in rows)
    want = sum(1 for r in rows if r["paidAt"] >= at)
    query = "query($f: PaymentFilter) { payments(filter: $f) { totalCount } }"
    results = {}
    for text in (at.isoformat(), (at - CHINA).isoformat() + "Z",
                 at.isoformat() + "+08:00", (at - CHINA).isoformat() + "+00:00"):
        body = (await hub.post(query, {"f": {"paidFrom": text}},
                               role="discipline_inspector")).json()
        results[text] = body["data"]["payments"]["totalCount"] if body.get("data") else \
            body["errors"][0]["extensions"]["code"]
    assert set(results.values()) == {want}, (want, results)
