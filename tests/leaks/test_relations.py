"""Leak suite, nested relations: every relation a role is granted, followed three levels deep.

Planted rows link across scopes (a 西兴 payment settling a 上城区 claim, a case naming an
out-of-scope payment, a subsidy paid to a resident of another district …). For each role ×
entity, the whole relation tree under each planted row and under the first demo rows must
be exactly what the source databases say the role may see (computed here from the sources:
the relation's keys, then the target's row rule), and a relation to a hidden row answers
like a relation to a row that does not exist.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from auth.model.catalog import ENTITIES, RelationSpec
from tests.leaks.canaries import BOOK, PLANT, PLANTS, POLICY
from tests.leaks.hub import LeakHub, global_id, lookup_field, role_entity_pairs
from tests.leaks.sources import SourceTruth

FIRST = 4  # per to-many relation, so that trees stay small
DEPTH = 3


def relations(role: str, entity: str) -> list[RelationSpec]:
    grant = POLICY.roles[role].grant(entity)
    assert grant is not None
    return [r for r in ENTITIES[entity].relations.values() if r.name in grant.relations]


def tree(role: str, entity: str, depth: int) -> str:
    """`id`, every visible scalar, and every granted relation down to `depth`."""
    grant = POLICY.roles[role].grant(entity)
    assert grant is not None
    parts = ["id", *(f.name for f in ENTITIES[entity].fields.values()
                     if f.output and f.name != "id" and f.name in grant.fields)]
    if depth > 0:
        for rel in relations(role, entity):
            args = f"(first: {FIRST})" if rel.many else ""
            parts.append(f"{rel.name}{args} {{ {tree(role, rel.target, depth - 1)} }}")
    return " ".join(parts)


def _sort_key(row: dict[str, Any]) -> int:
    return int(row["id"])


def related(truth: SourceTruth, role: str, rel: RelationSpec,
            row: dict[str, Any]) -> list[dict[str, Any]]:
    """The rows a relation should give, from the sources: keys first, then the row rule."""
    value = row.get(rel.local)
    if value is None:
        return []
    if rel.via is None:
        found = sorted(truth.visible_by(role, rel.target, rel.remote, value), key=_sort_key)
        return found[:FIRST] if rel.many else found[:1]
    assert rel.via_local and rel.via_remote
    links = sorted(truth.visible_by(role, rel.via, rel.via_local, value), key=_sort_key)
    return [t for link in links[:FIRST]
            for t in truth.visible_by(role, rel.target, rel.remote, link[rel.via_remote])]


def expected(truth: SourceTruth, role: str, entity: str, row: dict[str, Any],
             depth: int) -> dict[str, Any]:
    out: dict[str, Any] = {"id": global_id(entity, row["id"])}
    if depth > 0:
        for rel in relations(role, entity):
            rows = [expected(truth, role, rel.target, r, depth - 1)
                    for r in related(truth, role, rel, row)]
            out[rel.name] = rows if rel.many else (rows[0] if rows else None)
    return out


def project(value: Any, role: str, entity: str, depth: int) -> Any:
    """The response cut down to ids and relations, the shape `expected` builds."""
    if value is None:
        return None
    out: dict[str, Any] = {"id": value["id"]}
    if depth > 0:
        for rel in relations(role, entity):
            child = value[rel.name]
            out[rel.name] = [project(c, role, rel.target, depth - 1) for c in child] \
                if rel.many else project(child, role, rel.target, depth - 1)
    return out


PAIRS = [(r, e) for r, e in role_entity_pairs() if relations(r, e) and e != "Region"]


@pytest.mark.parametrize(("role", "entity"), PAIRS)
async def test_relation_trees_under_planted_rows(hub: LeakHub, role: str, entity: str) -> None:
    query = f"query($id: ID!) {{ obj: {lookup_field(entity)}(id: $id) {{ " \
            f"{tree(role, entity, DEPTH)} }} }}"
    source = {str(r["id"]): r for r in hub.truth.rows[entity]}
    checked = 0
    for plant in PLANTS:
        if plant.entity != entity or not BOOK.row_visible(role, entity, BOOK.rows[plant.key]):
            continue
        data = await hub.data(query, {"id": global_id(entity, plant.raw_id)}, role=role)
        row = source[str(plant.raw_id)]
        assert project(data["obj"], role, entity, DEPTH) == expected(
            hub.truth, role, entity, row, DEPTH), plant.key
        checked += 1
    assert checked


@pytest.mark.parametrize(("role", "entity"), PAIRS)
async def test_relation_trees_under_demo_rows(hub: LeakHub, role: str, entity: str) -> None:
    plural = ENTITIES[entity].plural
    data = await hub.data(f"{{ {plural}(first: 25) {{ nodes {{ {tree(role, entity, 2)} }} }} }}",
                          role=role)
    source = {str(r["id"]): r for r in hub.truth.rows[entity]}
    first = sorted(hub.truth.visible(role, entity), key=_sort_key)[:25]
    got = [project(n, role, entity, 2) for n in data[plural]["nodes"]]
    assert got == [expected(hub.truth, role, entity, source[str(r["id"])], 2) for r in first]


@pytest.mark.parametrize("role", sorted(POLICY.roles))
async def test_region_tree_is_whole_for_everyone(hub: LeakHub, role: str) -> None:
    query = """query($code: RegionCode!) { region(code: $code) {
      id code parent { code parent { code } } children { code children { code } } } }"""
    regions = {r["code"]: r for r in hub.truth.rows["Region"]}
    for code in ("330108000000", "330102001000", "330603107000", "330000000000"):
        data = (await hub.data(query, {"code": code}, role=role))["region"]
        assert data["code"] == code
        parent = regions[code]["parentCode"]
        assert (data["parent"] or {}).get("code") == parent
        assert [c["code"] for c in data["children"]] == sorted(
            r["code"] for r in regions.values() if r["parentCode"] == code)


@pytest.mark.parametrize("role", sorted(POLICY.roles))
async def test_relation_to_a_hidden_row_answers_like_a_missing_one(
    hub: LeakHub, role: str
) -> None:
    """Every to-one relation of every visible planted row whose target exists at the source
    but is hidden answers exactly like P_LOOSE's relations, whose targets do not exist."""
    compared = 0
    for entity in {p.entity for p in PLANTS}:
        if not POLICY.roles[role].readable(entity) or not ENTITIES[entity].exposed:
            continue
        source = {str(r["id"]): r for r in hub.truth.rows[entity]}
        for rel in (r for r in relations(role, entity) if not r.many):
            query = f"query($id: ID!) {{ obj: {lookup_field(entity)}(id: $id) {{ " \
                    f"{rel.name} {{ id }} }} }}"
            targets = {str(r[rel.remote]) for r in hub.truth.rows[rel.target]}
            missing = {"data": {"obj": {rel.name: None}}}
            for plant in PLANTS:
                row = source.get(str(plant.raw_id)) if plant.entity == entity else None
                if row is None or not BOOK.row_visible(role, entity, BOOK.rows[plant.key]):
                    continue
                if str(row[rel.local]) not in targets or related(hub.truth, role, rel, row):
                    continue
                got = await hub.post(query, {"id": global_id(entity, plant.raw_id)}, role=role)
                assert got.json() == missing, (plant.key, rel.name, got.text)
                if entity == "Payment":
                    absent = await hub.post(
                        query, {"id": global_id(entity, PLANT["P_LOOSE"].raw_id)}, role=role)
                    assert absent.content == got.content
                compared += 1
    if role != "public":
        assert compared, f"no hidden relation target planted for {role}"


async def test_concurrent_requests_of_different_roles_do_not_share_anything(
    hub: LeakHub
) -> None:
    """Loaders, selections and caches are per request: interleaved roles get their own."""
    calls = []
    for role, entity in PAIRS:
        plural = ENTITIES[entity].plural
        calls.append((role, f"{{ {plural}(first: 8) {{ nodes {{ {tree(role, entity, 2)} }} }} }}"))
    alone = [await hub.post(q, role=r) for r, q in calls]
    together = await asyncio.gather(*(hub.post(q, role=r) for r, q in calls * 2))
    for i, response in enumerate(together):
        assert response.content == alone[i % len(calls)].content, calls[i % len(calls)]
