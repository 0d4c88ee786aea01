"""Leak suite, filters: hidden fields cannot be filtered on, allowed ones reveal nothing hidden.

The filter oracle: a filter on a field a role may not filter (absent, masked, or just not
granted) is a validation error with no "Did you mean"; a filter on a granted field returns
exactly the rows the role may see that match (checked against the sources), and a filter
whose only matches are hidden rows answers byte for byte like a filter matching nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from auth.model.catalog import ENTITIES, FieldSpec, Kind
from tests.leaks.canaries import BOOK, IN_DIST, IN_FO, OOS, PLANTS, POLICY, prefix_of
from tests.leaks.hub import LeakHub, global_id, inputs_of, role_entity_pairs

# Values no row holds: a nonexistent string, id, year, and a village with no records.
NO_MATCH: dict[Kind, Any] = {Kind.STRING: "NOPE-0000", Kind.ID: 999_998, Kind.INT: 1900,
                             Kind.REGION_CODE: "330603107299"}


def _wire(spec: FieldSpec, value: Any) -> Any:
    """A canonical value as a GraphQL variable."""
    if spec.kind is Kind.ID:
        return global_id(spec.references or "", value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def matches(spec: FieldSpec, op: str, row_value: Any, value: Any) -> bool:
    if row_value is None:
        return False
    if op == "within":
        return str(row_value).startswith(prefix_of(str(value)))
    if op == "eq":
        return str(row_value) == str(value) if spec.kind is not Kind.BOOL else row_value == value
    if spec.kind is Kind.DATETIME and isinstance(value, dt.date) and \
            not isinstance(value, dt.datetime):
        value = dt.datetime.combine(value, dt.time())
    return bool(row_value >= value) if op == "gte" else bool(row_value <= value)


def probe_values(entity: str, spec: FieldSpec) -> Iterator[Any]:
    """Values to filter on: those of the planted rows, and region prefixes around them."""
    seen: list[Any] = []
    if spec.kind is Kind.REGION_CODE:
        seen += [IN_FO, IN_DIST, OOS, "330108000000", "330102000000", "330108001000"]
    for plant in PLANTS:
        if plant.entity == entity:
            value = BOOK.rows[plant.key].get(spec.name)
            if value is not None and value not in seen:
                seen.append(value)
    yield from seen


def _filterable(role: str, entity: str) -> list[FieldSpec]:
    grant = POLICY.roles[role].grant(entity)
    assert grant is not None
    return [f for f in ENTITIES[entity].fields.values()
            if f.name != "id" and f.name in grant.filterable]


async def filtered(hub: LeakHub, role: str, entity: str, filters: list[dict[str, Any]],
                   selection: str, raw: list[bytes] | None = None) -> list[Any]:
    """Several filtered lists in one request (aliases, one variable each), in order; the
    response bodies go to `raw` when given."""
    plural = ENTITIES[entity].plural
    pages: list[Any] = []
    for start in range(0, len(filters), BATCH):
        chunk = filters[start:start + BATCH]
        params = ", ".join(f"$f{i}: {entity}Filter" for i in range(len(chunk)))
        lists = " ".join(f"l{i}: {plural}(first: {FIRST}, filter: $f{i}) {{ {selection} }}"
                         for i in range(len(chunk)))
        response = await hub.post(f"query({params}) {{ {lists} }}",
                                  {f"f{i}": f for i, f in enumerate(chunk)}, role=role)
        if raw is not None:
            raw.append(response.content)
        body = response.json()
        assert "errors" not in body, body
        pages += [body["data"][f"l{i}"] for i in range(len(chunk))]
    return pages


BATCH = 8  # aliases per request: under every role's max_aliases
FIRST = 40  # ids compared when the matches fit one page; totalCount always


@pytest.mark.parametrize(("role", "entity"), role_entity_pairs())
async def test_filters_return_exactly_the_visible_matches(
    hub: LeakHub, role: str, entity: str
) -> None:
    specs = _filterable(role, entity)
    if not specs:
        pytest.skip(f"{role} cannot filter {entity}")
    probes = [(spec, name, op, value) for spec in specs for name, op in inputs_of(spec)
              for value in probe_values(entity, spec)]
    pages = await filtered(hub, role, entity,
                           [{name: _wire(spec, value)} for spec, name, _, value in probes],
                           "totalCount nodes { id }")
    for (spec, name, op, value), page in zip(probes, pages, strict=True):
        want = [r for r in hub.truth.visible(role, entity)
                if matches(spec, op, r.get(spec.name), value)]
        assert page["totalCount"] == len(want), (name, value)
        if len(want) <= FIRST:
            assert {n["id"] for n in page["nodes"]} == {
                global_id(entity, r["id"]) for r in want}, (name, value)
    assert probes


@pytest.mark.parametrize(("role", "entity"), role_entity_pairs())
async def test_a_filter_matching_only_hidden_rows_answers_like_one_matching_nothing(
    hub: LeakHub, role: str, entity: str
) -> None:
    """Values only hidden rows hold, against values no row holds: the same bytes."""
    hidden_only: list[dict[str, Any]] = []
    nothing: list[dict[str, Any]] = []
    for spec in _filterable(role, entity):
        if spec.kind not in NO_MATCH:
            continue
        name, op = inputs_of(spec)[0]
        for value in probe_values(entity, spec):
            everywhere = any(matches(spec, op, r.get(spec.name), value)
                             for r in hub.truth.rows[entity])
            visible = any(matches(spec, op, r.get(spec.name), value)
                          for r in hub.truth.visible(role, entity))
            if everywhere and not visible:
                hidden_only.append({name: _wire(spec, value)})
                nothing.append({name: _wire(spec, NO_MATCH[spec.kind])})
    if entity == "Region" or not _filterable(role, entity):
        assert not hidden_only
        return
    assert hidden_only, "no filter value held only by hidden rows"
    selection = "totalCount pageInfo { hasNextPage endCursor } nodes { id }"
    got_bytes: list[bytes] = []
    reference_bytes: list[bytes] = []
    got = await filtered(hub, role, entity, hidden_only, selection, got_bytes)
    reference = await filtered(hub, role, entity, nothing, selection, reference_bytes)
    assert got_bytes == reference_bytes
    assert got == reference == [
        {"totalCount": 0, "pageInfo": {"hasNextPage": False, "endCursor": None}, "nodes": []}
    ] * len(got), hidden_only


@pytest.mark.parametrize(("role", "entity"), role_entity_pairs())
async def test_filtering_on_a_field_not_granted_for_filtering_is_refused(
    hub: LeakHub, role: str, entity: str
) -> None:
    grant = POLICY.roles[role].grant(entity)
    assert grant is not None
    plural = ENTITIES[entity].plural
    specs = [f for f in ENTITIES[entity].fields.values() if f.name != "id"]
    allowed = {name for f in specs if f.name in grant.filterable for name, _ in inputs_of(f)}
    refused = 0
    for spec in specs:
        for name, _ in inputs_of(spec):
            if name in allowed:
                continue
            value = {Kind.BOOL: "true", Kind.INT: "1", Kind.ENUM: "PAID"}.get(spec.kind, '"1"')
            errors = await hub.refused(
                f"{{ {plural}(filter: {{ {name}: {value} }}) {{ totalCount }} }}", role=role)
            assert all(name in e["message"] or "filter" in e["message"] for e in errors)
            refused += 1
    assert refused or all(f.name in grant.filterable for f in specs), "nothing refused"


@pytest.mark.parametrize("role", sorted(POLICY.roles))
async def test_spending_summary_filters_follow_the_same_grants(hub: LeakHub, role: str) -> None:
    grant = POLICY.roles[role].grant("Payment")
    if grant is None or not grant.aggregate:
        pytest.skip(f"{role} has no spendingSummary")
    allowed = {n for f in ENTITIES["Payment"].fields.values() if f.name in grant.filterable
               for n, _ in inputs_of(f)}
    for spec in ENTITIES["Payment"].fields.values():
        for name, _ in inputs_of(spec):
            if name not in allowed:
                value = {Kind.ENUM: "PAID"}.get(spec.kind, '"1"')
                await hub.refused(f"{{ spendingSummary(groupBy: [REGION], filter: "
                                  f"{{ {name}: {value} }}) {{ count }} }}", role=role)


@pytest.mark.parametrize(("role", "entity"), role_entity_pairs())
async def test_hidden_filter_and_order_fields_are_refused_in_variables_too(
    hub: LeakHub, role: str, entity: str
) -> None:
    """Variables are coerced after validation: the same refusal, as BAD_USER_INPUT."""
    grant = POLICY.roles[role].grant(entity)
    assert grant is not None
    plural = ENTITIES[entity].plural
    specs = [f for f in ENTITIES[entity].fields.values() if f.name != "id"]
    allowed = {name for f in specs if f.name in grant.filterable for name, _ in inputs_of(f)}
    codes = ("BAD_USER_INPUT", "GRAPHQL_VALIDATION_FAILED")  # the latter: no such input type
    filter_query = f"query($f: {entity}Filter) {{ {plural}(filter: $f) {{ totalCount }} }}"
    order_query = f"query($o: [{entity}OrderBy!]) {{ {plural}(orderBy: $o) {{ totalCount }} }}"
    for spec in specs:
        for name, _ in inputs_of(spec):
            if name not in allowed:
                await hub.refused(filter_query, {"f": {name: "1"}}, role=role, code=codes)
        if spec.name not in grant.orderable:
            await hub.refused(order_query, {"o": [{spec.name: "ASC"}]}, role=role, code=codes)
