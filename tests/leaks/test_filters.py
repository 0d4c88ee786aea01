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
from tests.leaks.hub import (
    LeakHub,
    assert_refused_without_rows,
    global_id,
    inputs_of,
    role_entity_pairs,
)

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


# -- explicit null --------------------------------------------------------------------------
@pytest.mark.parametrize(("role", "entity"), role_entity_pairs())
async def test_null_in_a_filter_means_no_value_or_is_refused(
    hub: LeakHub, role: str, entity: str
) -> None:
    """`{field: null}` is never ignored: on a nullable field it is exactly the visible rows
    without a value; on a field that always has one it is BAD_USER_INPUT naming the input."""
    specs = _filterable(role, entity)
    if not specs:
        pytest.skip(f"{role} cannot filter {entity}")
    nullable = [(spec, name) for spec in specs if spec.nullable for name, _ in inputs_of(spec)]
    if nullable:
        pages = await filtered(hub, role, entity, [{name: None} for _, name in nullable],
                               "totalCount nodes { id }")
        for (spec, name), page in zip(nullable, pages, strict=True):
            want = [r for r in hub.truth.visible(role, entity) if r.get(spec.name) is None]
            assert page["totalCount"] == len(want), name
            if len(want) <= FIRST:
                assert {n["id"] for n in page["nodes"]} == {
                    global_id(entity, r["id"]) for r in want}, name
    plural = ENTITIES[entity].plural
    query = f"query($f: {entity}Filter) {{ {plural}(filter: $f) {{ totalCount }} }}"
    for spec in specs:
        if spec.nullable:
            continue
        for name, _ in inputs_of(spec):
            literal = f"{{ {plural}(filter: {{ {name}: null }}) {{ totalCount }} }}"
            for result in (await hub.query(literal, role=role),
                           await hub.query(query, {"f": {name: None}}, role=role)):
                assert_refused_without_rows(result, "BAD_USER_INPUT")
                assert result["data"] == {plural: None}, result
                assert f"filter.{name}: {entity}.{spec.name}" in \
                    result["errors"][0]["message"], result


@pytest.mark.parametrize(("role", "entity"), role_entity_pairs())
async def test_null_on_a_field_not_granted_for_filtering_is_still_refused(
    hub: LeakHub, role: str, entity: str
) -> None:
    """The input field does not exist for the role, null or not."""
    grant = POLICY.roles[role].grant(entity)
    assert grant is not None
    plural = ENTITIES[entity].plural
    hidden = [name for f in ENTITIES[entity].fields.values()
              if f.name != "id" and f.name not in grant.filterable for name, _ in inputs_of(f)]
    for name in hidden:
        errors = await hub.refused(f"{{ {plural}(filter: {{ {name}: null }}) {{ totalCount }} }}",
                                   role=role)
        assert all(name in e["message"] or "filter" in e["message"] for e in errors)
        await hub.refused(f"query($f: {entity}Filter) {{ {plural}(filter: $f) {{ totalCount }} }}",
                          {"f": {name: None}}, role=role,
                          code=("BAD_USER_INPUT", "GRAPHQL_VALIDATION_FAILED"))
    assert hidden or all(f.name in grant.filterable for f in ENTITIES[entity].fields.values()
                         if f.name != "id")


async def test_a_variable_left_out_adds_no_condition_a_null_one_means_no_value(
    hub: LeakHub,
) -> None:
    """The difference between leaving a filter out and saying null, through variables."""
    query = ("query($b: ID) { payments(filter: {budgetIndicatorId: $b}) { totalCount } "
             "all: payments { totalCount } }")
    role = "discipline_inspector"
    left_out = (await hub.data(query, {}, role=role))
    given_null = (await hub.data(query, {"b": None}, role=role))
    visible = hub.truth.visible(role, "Payment")
    assert left_out["payments"]["totalCount"] == left_out["all"]["totalCount"] == len(visible)
    without = [r for r in visible if r.get("budgetIndicatorId") is None]
    assert 0 < given_null["payments"]["totalCount"] == len(without) < len(visible)


async def test_a_list_where_a_filter_takes_one_value_is_refused(hub: LeakHub) -> None:
    """Filters take one value each: `[null]` (or any list) is an error, not "no condition"."""
    role = "discipline_inspector"
    await hub.refused("{ payments(filter: {budgetIndicatorId: [null]}) { totalCount } }",
                      role=role)
    await hub.refused("query($f: PaymentFilter) { payments(filter: $f) { totalCount } }",
                      {"f": {"budgetIndicatorId": [None]}}, role=role, code="BAD_USER_INPUT")
    await hub.refused("query($f: PaymentFilter) { payments(filter: $f) { totalCount } }",
                      {"f": {"method": [None, "CASH"]}}, role=role, code="BAD_USER_INPUT")
