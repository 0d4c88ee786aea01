"""Leak suite, single objects: `<entity>(id:)`, `node(id:)`, aliases and fragments.

For each role × readable entity and every planted row (in scope, in the district only, out of
every jurisdiction, unpublished …): a lookup, `node` with an inline fragment, `node` with a
named fragment and an aliased lookup all agree — the object when the role's row rule admits
it, null otherwise — and a hidden row answers byte for byte like a row that does not exist.
Entities a role cannot read are unreachable through `node`, and their types and lookups do
not exist for it.
"""

from __future__ import annotations

import pytest

from auth.model.catalog import ENTITIES
from tests.leaks.canaries import BOOK, MISSING_ID, PLANTS, ROLES
from tests.leaks.hub import (
    LeakHub,
    global_id,
    lookup_field,
    readable_entities,
    role_entity_pairs,
    selection,
)


def four_ways(role: str, entity: str) -> str:
    """The same object by lookup, `node` + inline fragment, `node` + named fragment, alias."""
    fields = selection(role, entity)
    lookup = lookup_field(entity)
    return f"""query($id: ID!) {{
      direct: {lookup}(id: $id) {{ id {fields} }}
      viaNode: node(id: $id) {{ id ... on {entity} {{ {fields} }} }}
      viaFragment: node(id: $id) {{ ...Row }}
      again: {lookup}(id: $id) {{ ...Row }}
    }}
    fragment Row on {entity} {{ id {fields} }}"""


PAIRS = [(r, e) for r, e in role_entity_pairs() if e != "Region"]


@pytest.mark.parametrize(("role", "entity"), PAIRS)
async def test_every_path_to_one_row_agrees_with_the_row_rule(
    hub: LeakHub, role: str, entity: str
) -> None:
    query = four_ways(role, entity)
    missing = await hub.post(query, {"id": global_id(entity, MISSING_ID)}, role=role)
    assert missing.json() == {"data": dict.fromkeys(
        ("direct", "viaNode", "viaFragment", "again"))}
    plants = [p for p in PLANTS if p.entity == entity]
    assert plants
    for plant in plants:
        gid = global_id(entity, plant.raw_id)
        response = await hub.post(query, {"id": gid}, role=role)
        data = response.json()["data"]
        if BOOK.row_visible(role, entity, BOOK.rows[plant.key]):
            assert {v["id"] for v in data.values()} == {gid}, data
            expected = {t for f, t in BOOK.tokens(plant.key).items()
                        if any(c.plant is plant and c.field == f and BOOK.cell_visible(role, c)
                               for c in BOOK.cells[t])}
            assert all(t in response.text for t in expected), (expected, response.text)
        else:
            # Hidden answers exactly like missing: same status, headers and bytes.
            assert response.status_code == missing.status_code
            assert response.content == missing.content, (plant.key, response.text)
            assert sorted(response.headers.items()) == sorted(missing.headers.items())


@pytest.mark.parametrize(("role", "entity"), PAIRS)
async def test_source_rows_out_of_scope_are_null_and_in_scope_are_found(
    hub: LeakHub, role: str, entity: str
) -> None:
    """Beyond the planted rows: a sample of the demo's own rows on both sides of the rule."""
    visible = sorted(hub.truth.visible_ids(role, entity), key=int)
    hidden = sorted(hub.truth.ids(entity) - set(visible), key=int)
    sample = [*visible[:4], *visible[-2:], *hidden[:4], *hidden[-2:]]
    lookup = lookup_field(entity)
    for chunk_start in range(0, len(sample), 4):
        chunk = sample[chunk_start:chunk_start + 4]
        parts = [f'r{i}: {lookup}(id: "{global_id(entity, raw)}") {{ id }} '
                 f'n{i}: node(id: "{global_id(entity, raw)}") {{ id }}'
                 for i, raw in enumerate(chunk)]
        data = await hub.data("{ " + " ".join(parts) + " }", role=role)
        for i, raw in enumerate(chunk):
            want = {"id": global_id(entity, raw)} if raw in visible else None
            assert data[f"r{i}"] == want, (raw, data)
            assert data[f"n{i}"] == want, (raw, data)


@pytest.mark.parametrize("role", ROLES)
async def test_node_never_reaches_entities_the_role_cannot_read(hub: LeakHub, role: str) -> None:
    readable = {e.name for e in readable_entities(role)}
    query = "query($id: ID!) { node(id: $id) { id } }"
    missing = await hub.post(query, {"id": global_id("Payment", MISSING_ID)}, role=role)
    assert missing.json() == {"data": {"node": None}}
    unreadable = [p for p in PLANTS if p.entity not in readable]
    for raw in ("", "x", "!!!", "UGF5bWVudA", global_id("Payment", ""),
                global_id("Nope", 1), global_id("CasePayment", 900001)):
        response = await hub.post(query, {"id": raw}, role=role)
        assert response.content == missing.content, (raw, response.text)
    for plant in unreadable:
        for raw_id in (plant.raw_id, 1):
            response = await hub.post(query, {"id": global_id(plant.entity, raw_id)}, role=role)
            assert response.content == missing.content, (plant.key, response.text)


@pytest.mark.parametrize("role", ROLES)
async def test_types_and_lookups_of_unreadable_entities_do_not_exist(
    hub: LeakHub, role: str
) -> None:
    readable = {e.name for e in readable_entities(role)}
    for spec in ENTITIES.values():
        if spec.name in readable:
            continue
        gid = global_id(spec.name, 900001)
        await hub.refused(f'{{ {lookup_field(spec.name)}(id: "{gid}") {{ id }} }}', role=role)
        await hub.refused(f"{{ {spec.plural} {{ totalCount }} }}", role=role)
        errors = await hub.refused(
            f'{{ node(id: "{gid}") {{ id ... on {spec.name} {{ id }} }} }}', role=role)
        assert any(f"Unknown type '{spec.name}'" in e["message"] for e in errors), errors
        errors = await hub.refused(
            f'{{ node(id: "{gid}") {{ ...F }} }} fragment F on {spec.name} {{ id }}', role=role)
        assert any(f"Unknown type '{spec.name}'" in e["message"] for e in errors), errors


@pytest.mark.parametrize(("role", "entity"), PAIRS)
async def test_a_lookup_given_another_types_id_answers_like_missing(
    hub: LeakHub, role: str, entity: str
) -> None:
    lookup = lookup_field(entity)
    # One visible row of every other entity (so the mismatch, not the scope, makes it null),
    # each under its own alias, against as many aliases given a missing id of this entity.
    others = list({p.entity: p for p in reversed(PLANTS) if p.entity != entity}.values())
    for start in range(0, len(others), 8):
        chunk = others[start:start + 8]
        params = ", ".join(f"$i{n}: ID!" for n in range(len(chunk)))
        query = f"query({params}) {{ " + " ".join(
            f"o{n}: {lookup}(id: $i{n}) {{ id }}" for n in range(len(chunk))) + " }"
        missing = await hub.post(query, {f"i{n}": global_id(entity, MISSING_ID)
                                         for n in range(len(chunk))}, role=role)
        assert missing.json() == {"data": {f"o{n}": None for n in range(len(chunk))}}
        response = await hub.post(query, {f"i{n}": global_id(o.entity, o.raw_id)
                                          for n, o in enumerate(chunk)}, role=role)
        assert response.content == missing.content, response.text
