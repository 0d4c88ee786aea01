"""Leak suite, lists and counts: every role walks every list it has, page by page.

For each role × readable entity, on SQLite and PostgreSQL sources with canaries planted: the
ids returned are exactly the rows the role's row rule admits (computed from the source
databases directly, not by the hub), `totalCount` equals their number, clear fields carry
the source's values, masked fields never the clear value, and no response byte holds a
canary the role may not see (checked on every response by `LeakHub`).
"""

from __future__ import annotations

import base64
from typing import Any

import pytest

from auth.model.catalog import ENTITIES, Kind
from tests.leaks.canaries import BOOK, POLICY, tokens_in_text
from tests.leaks.hub import LeakHub, role_entity_pairs, selection
from tests.leaks.sources import SourceTruth


def raw_id(global_id: str) -> str:
    text = base64.urlsafe_b64decode(global_id + "=" * (-len(global_id) % 4)).decode()
    return text.split(":", 1)[1]


async def walk(hub: LeakHub, role: str, entity: str, fields: str, args: str = "",
               region: str | None = None) -> tuple[list[dict[str, Any]], int, str]:
    """Every row of a list, following `endCursor`; the rows, totalCount and all the text."""
    plural = ENTITIES[entity].plural
    first = POLICY.roles[role].limits.max_first
    query = f"""query($after: String) {{
      {plural}(first: {first}, after: $after{args}) {{
        totalCount pageInfo {{ hasNextPage endCursor }} nodes {{ id {fields} }}
      }}
    }}"""
    rows: list[dict[str, Any]] = []
    texts: list[str] = []
    after = None
    total = -1
    for _ in range(200):
        response = await hub.post(query, {"after": after}, role=role, region=region)
        texts.append(response.text)
        body = response.json()
        assert "errors" not in body, body
        page = body["data"][plural]
        total = page["totalCount"] if total < 0 else total
        assert page["totalCount"] == total, "totalCount changed between pages"
        rows += page["nodes"]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    return rows, total, "\n".join(texts)


def _clear_strings(role: str, entity: str) -> tuple[list[str], list[str]]:
    grant = POLICY.roles[role].grant(entity)
    assert grant is not None
    strings = [f.name for f in ENTITIES[entity].fields.values()
               if f.output and f.kind is Kind.STRING and f.name in grant.fields]
    return ([f for f in strings if f not in grant.masked],
            [f for f in strings if f in grant.masked])


@pytest.mark.parametrize(("role", "entity"), role_entity_pairs())
async def test_list_shows_exactly_the_scoped_rows(hub: LeakHub, role: str, entity: str) -> None:
    rows, total, text = await walk(hub, role, entity, selection(role, entity))
    ids = [raw_id(r["id"]) for r in rows]
    expected = hub.truth.visible_ids(role, entity)
    assert len(ids) == len(set(ids)), "a row came twice"
    assert set(ids) == expected
    assert total == len(expected)
    # Positive control: the planted rows this role may see are there, with their canaries.
    for key in BOOK.visible_plants(role, entity):
        assert str(BOOK.rows[key]["id"]) in ids
    shown = set(tokens_in_text(text))
    assert shown == {t for t, cells in BOOK.cells.items()
                     if any(c.plant.entity == entity and BOOK.cell_visible(role, c)
                            for c in cells)}
    clear, masked = _clear_strings(role, entity)
    source = {str(r["id"]): r for r in hub.truth.rows[entity]}
    for row in rows:
        truth = source[raw_id(row["id"])]
        for name in clear:
            assert row[name] == truth[name], (name, row)
        for name in masked:
            if truth[name] is None:
                assert row[name] is None
            else:
                assert row[name] != truth[name] and "*" in row[name], (name, row)
                assert len(row[name]) == len(truth[name])


@pytest.mark.parametrize(("role", "entity"), role_entity_pairs())
async def test_totalcount_alone_matches_source(hub: LeakHub, role: str, entity: str) -> None:
    """`totalCount` without rows (a count-only query) counts the same scope."""
    plural = ENTITIES[entity].plural
    data = await hub.data(f"{{ {plural} {{ totalCount }} }}", role=role)
    assert data[plural]["totalCount"] == len(hub.truth.visible_ids(role, entity))


@pytest.mark.parametrize("role", sorted(POLICY.roles))
async def test_get_requests_are_scoped_like_posts(hub: LeakHub, role: str) -> None:
    entity = "Disclosure" if POLICY.roles[role].readable("Disclosure") else "Payment"
    plural = ENTITIES[entity].plural
    response = await hub.get(f"{{ {plural} {{ totalCount }} }}", role=role)
    assert response.status_code == 200, response.text
    assert response.json()["data"][plural]["totalCount"] == len(
        hub.truth.visible_ids(role, entity))


async def test_truth_has_rows_outside_every_scope(hub: LeakHub) -> None:
    """The suite means something only if every role has rows it must not see."""
    truth: SourceTruth = hub.truth
    for role, entity in role_entity_pairs():
        if entity == "Region":
            continue
        assert truth.visible_ids(role, entity) < truth.ids(entity), (role, entity)


# Principals over other jurisdictions: a province, another district, another street, and
# one community (the planted rows' own): prefixes of every length the rule cuts.
OTHER_REGIONS = ("330000000000", "330102000000", "330108002000", "330108001009")
SCOPED = [(r, e) for r, e in role_entity_pairs()
          if (g := POLICY.roles[r].grant(e)) is not None and g.rows == "jurisdiction"]


@pytest.mark.parametrize("region", OTHER_REGIONS)
@pytest.mark.parametrize(("role", "entity"), SCOPED)
async def test_scope_follows_the_principals_jurisdiction(
    hub: LeakHub, role: str, entity: str, region: str
) -> None:
    rows, total, _ = await walk(hub, role, entity, "", region=region)
    expected = hub.truth.visible_ids(role, entity, region)
    assert {raw_id(r["id"]) for r in rows} == expected
    assert total == len(expected)
