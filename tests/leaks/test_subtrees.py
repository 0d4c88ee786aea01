"""Leak suite, region subtrees: `region(code:) { payments(…) { … } }` and its siblings.

Every role may read every region, and each region offers a paged connection per entity the
role can read. The rows behind it must be the role's own rows inside that region's subtree —
an out-of-jurisdiction district shows nothing, not even a count — whether one region is asked
for, many under aliases, or every village at once (one windowed statement for siblings);
with filters, orders and cursors as on the root lists.
"""

from __future__ import annotations

from typing import Any

import pytest

from auth.model.catalog import ENTITIES, Kind
from tests.leaks.canaries import BOOK, IN_DIST, IN_FO, OOS, POLICY, prefix_of
from tests.leaks.hub import (
    LeakHub,
    assert_refused_without_rows,
    global_id,
    selection,
)

FIRST = 20
WALK = 200  # page size of the cursor walks: several pages on the large subtrees
CODES = ("330000000000", "330108000000", "330108001000", "330108002000", "330102000000",
         "330603107200", IN_FO, IN_DIST, OOS)


def subtree_pairs() -> list[tuple[str, str]]:
    """(role, relation name) for every subtree connection a role has on Region."""
    pairs = []
    for role in sorted(POLICY.roles):
        grant = POLICY.roles[role].grant("Region")
        assert grant is not None
        for rel in ENTITIES["Region"].relations.values():
            if rel.subtree and rel.name in grant.relations:
                pairs.append((role, rel.name))
    return pairs


PAIRS = subtree_pairs()


def target(relation: str) -> str:
    return ENTITIES["Region"].relations[relation].target


def inside(hub: LeakHub, role: str, entity: str, code: str) -> list[dict[str, Any]]:
    prefix = prefix_of(code)
    rows = [r for r in hub.truth.visible(role, entity) if str(r["regionCode"]).startswith(prefix)]
    return sorted(rows, key=lambda r: int(r["id"]))


def test_every_role_has_subtrees_and_only_of_readable_entities() -> None:
    for role in POLICY.roles:
        names = {rel for r, rel in PAIRS if r == role}
        readable = {e.plural for e in ENTITIES.values() if e.exposed and "regionCode" in e.fields
                    and POLICY.roles[role].readable(e.name)}
        assert names == readable, role


@pytest.mark.parametrize(("role", "relation"), PAIRS)
async def test_each_regions_rows_are_the_roles_rows_inside_it(
    hub: LeakHub, role: str, relation: str
) -> None:
    entity = target(relation)
    fields = selection(role, entity)
    parts = [f'r{i}: region(code: "{code}") {{ code {relation}(first: {FIRST}) {{ totalCount '
             f"nodes {{ id {fields} }} }} }}" for i, code in enumerate(CODES)]
    response = await hub.post("{ " + " ".join(parts) + " }", role=role)
    data = response.json()["data"]
    for i, code in enumerate(CODES):
        want = inside(hub, role, entity, code)
        page = data[f"r{i}"][relation]
        assert page["totalCount"] == len(want), code
        assert [n["id"] for n in page["nodes"]] == [
            global_id(entity, r["id"]) for r in want[:FIRST]], code
    # Positive control: the canaries of the planted rows this role may see are all there.
    expected = {t for t, cells in BOOK.cells.items()
                if any(c.plant.entity == entity and BOOK.cell_visible(role, c) for c in cells)}
    assert all(t in response.text for t in expected), expected


@pytest.mark.parametrize(("role", "relation"), PAIRS)
async def test_sibling_regions_batched_together_keep_their_own_rows(
    hub: LeakHub, role: str, relation: str
) -> None:
    """Every village in one request: one windowed statement for all, scoped for each."""
    entity = target(relation)
    limit = POLICY.roles[role].limits.max_first
    data = await hub.data(f"""{{ regions(first: {limit}, filter: {{ level: VILLAGE }}) {{
      nodes {{ code {relation}(first: 3) {{ totalCount nodes {{ id }} }} }} }} }}""", role=role)
    villages = data["regions"]["nodes"]
    assert {v["code"] for v in villages} >= {IN_FO, IN_DIST, OOS}
    for village in villages:
        want = inside(hub, role, entity, village["code"])
        assert village[relation]["totalCount"] == len(want), village["code"]
        assert [n["id"] for n in village[relation]["nodes"]] == [
            global_id(entity, r["id"]) for r in want[:3]], village["code"]


@pytest.mark.parametrize(("role", "relation"), PAIRS)
async def test_a_subtree_walked_by_cursor_and_sorted_stays_inside(
    hub: LeakHub, role: str, relation: str
) -> None:
    entity = target(relation)
    grant = POLICY.roles[role].grant(entity)
    assert grant is not None
    code = "330108000000" if role != "public" else "330102000000"
    order = next((f for f in ENTITIES[entity].fields if f in grant.orderable), None)
    order_arg = f", orderBy: [{{ {order}: DESC }}]" if order else ""
    walk = min(WALK, POLICY.roles[role].limits.max_first)
    query = f"""query($after: String) {{ region(code: "{code}") {{
      {relation}(first: {walk}, after: $after{order_arg}) {{
        totalCount pageInfo {{ hasNextPage endCursor }} nodes {{ id }} }} }} }}"""
    seen: list[str] = []
    after = None
    for _ in range(100):
        page = (await hub.data(query, {"after": after}, role=role))["region"][relation]
        seen += [n["id"] for n in page["nodes"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    want = inside(hub, role, entity, code)
    assert len(seen) == len(set(seen)) == page["totalCount"] == len(want)
    assert set(seen) == {global_id(entity, r["id"]) for r in want}
    if after is None:
        return
    # A cursor of this subtree, used on another region's subtree or on the root list: refused,
    # or at most rows the role may see there anyway.
    plural = ENTITIES[entity].plural
    page_args = f"(first: {walk}, after: $after{order_arg}) {{ nodes {{ id }} }}"
    for where, other in ((OOS, f'region(code: "{OOS}") {{ {relation}{page_args} }}'),
                         ("", f"{plural}{page_args}")):
        result = await hub.query(f"query($after: String) {{ {other} }}", {"after": after},
                                 role=role)
        if "errors" in result:
            assert_refused_without_rows(result, "INVALID_CURSOR")
            continue
        nodes = result["data"]["region"][relation]["nodes"] if where else \
            result["data"][plural]["nodes"]
        allowed = inside(hub, role, entity, where) if where else hub.truth.visible(role, entity)
        assert {n["id"] for n in nodes} <= {global_id(entity, r["id"]) for r in allowed}


@pytest.mark.parametrize(("role", "relation"), PAIRS)
async def test_a_subtree_filtered_to_another_region_is_empty(
    hub: LeakHub, role: str, relation: str
) -> None:
    entity = target(relation)
    grant = POLICY.roles[role].grant(entity)
    assert grant is not None
    spec = ENTITIES[entity].fields.get("regionCode")
    if spec is None or spec.kind is not Kind.REGION_CODE or "regionCode" not in grant.filterable:
        pytest.skip(f"{role} cannot filter {entity} by region")
    query = f"""query($code: RegionCode!, $inner: RegionCode) {{ region(code: $code) {{
      {relation}(first: 10, filter: {{ regionCode: $inner }}) {{ totalCount nodes {{ id }} }}
    }} }}"""
    for code, inner in (("330108000000", "330102000000"), ("330102000000", "330108000000"),
                        ("330108001000", IN_DIST), ("330000000000", OOS)):
        page = (await hub.data(query, {"code": code, "inner": inner}, role=role))["region"][
            relation]
        want = [r for r in inside(hub, role, entity, code)
                if str(r["regionCode"]).startswith(prefix_of(inner))]
        assert page["totalCount"] == len(want), (code, inner)
        assert [n["id"] for n in page["nodes"]] == [
            global_id(entity, r["id"]) for r in want[:10]], (code, inner)
