"""Leak suite, ordering: hidden fields cannot be sorted on; sorting never ranks hidden rows.

The order oracle: sorting on a field a role may not sort on (absent, masked, or not granted)
is a validation error with no "Did you mean"; sorting on a granted field, either way, gives
exactly the first rows of the role's own scope in that order (recomputed from the sources,
ties by id), so a hidden row can never push a visible one off a page or show where it
would sit.
"""

from __future__ import annotations

from typing import Any

import pytest

from auth.model.catalog import ENTITIES, Kind
from tests.leaks.canaries import POLICY
from tests.leaks.hub import LeakHub, global_id, role_entity_pairs

PAGE = 60


def _id_key(row: dict[str, Any]) -> int:
    return int(row["id"])


def expected_page(rows: list[dict[str, Any]], entity: str, field: str, descending: bool,
                  got: list[str]) -> list[str]:
    """The first rows of the role's own, sorted by `field` then id ascending.

    Enums sort in an order the hub chooses (a lifecycle, or the source's codes); it is read
    off the page itself — the order in which its values first appear — and must then hold
    for every row: a value not on the page sorts after it.
    """
    kind = ENTITIES[entity].fields[field].kind
    if kind is Kind.ENUM:
        by_id = {global_id(entity, r["id"]): r[field] for r in rows}
        rank = {v: i for i, v in enumerate(dict.fromkeys(by_id.get(g) for g in got))}
        ordered = sorted(rows, key=lambda r: (rank.get(r[field], len(rank)), int(r["id"])))
    else:
        ordered = sorted(sorted(rows, key=_id_key), key=lambda r: r[field], reverse=descending)
    return [global_id(entity, r["id"]) for r in ordered[:PAGE]]


@pytest.mark.parametrize(("role", "entity"), role_entity_pairs())
async def test_sorting_ranks_only_the_roles_own_rows(hub: LeakHub, role: str, entity: str) -> None:
    grant = POLICY.roles[role].grant(entity)
    assert grant is not None
    fields = [f for f in ENTITIES[entity].fields if f in grant.orderable]
    if not fields:
        pytest.skip(f"{role} cannot sort {entity}")
    plural = ENTITIES[entity].plural
    visible = hub.truth.visible(role, entity)
    parts = []
    for i, name in enumerate(fields):
        for direction in ("ASC", "DESC"):
            parts.append(f"{name}_{direction}: {plural}(first: {PAGE}, orderBy: "
                         f"[{{ {name}: {direction} }}]) {{ nodes {{ id }} }}")
        if len(parts) >= 8 or i == len(fields) - 1:
            data = await hub.data("{ " + " ".join(parts) + " }", role=role)
            for alias, page in data.items():
                name_, direction = alias.rsplit("_", 1)
                got = [n["id"] for n in page["nodes"]]
                assert got == expected_page(visible, entity, name_, direction == "DESC",
                                            got), alias
            parts = []


@pytest.mark.parametrize(("role", "entity"), role_entity_pairs())
async def test_sorting_on_a_field_not_granted_for_sorting_is_refused(
    hub: LeakHub, role: str, entity: str
) -> None:
    grant = POLICY.roles[role].grant(entity)
    assert grant is not None
    plural = ENTITIES[entity].plural
    names = [f for f in [*ENTITIES[entity].fields, *ENTITIES[entity].relations]
             if f not in grant.orderable]
    # One element per field, both directions, in one list: each element is refused.
    items = [f"{{ {name}: {d} }}" for name in names for d in ("ASC", "DESC")]
    errors = await hub.refused(f"{{ {plural}(orderBy: [{', '.join(items)}]) {{ totalCount }} }}",
                               role=role)
    if grant.orderable:
        named = {e["message"].split("unknown field '")[1].split("'")[0] for e in errors}
        assert named == set(names), errors
        assert len(errors) == len(items)
    else:
        assert any("orderBy" in e["message"] for e in errors), errors


@pytest.mark.parametrize(("role", "entity"), role_entity_pairs())
async def test_masked_fields_are_never_sortable(hub: LeakHub, role: str, entity: str) -> None:
    """Sorting by a masked field would rank rows by the clear value: always refused."""
    grant = POLICY.roles[role].grant(entity)
    assert grant is not None
    assert not set(grant.masked) & grant.orderable
    plural = ENTITIES[entity].plural
    for name in grant.masked:
        await hub.refused(f"{{ {plural}(orderBy: [{{ {name}: ASC }}]) {{ totalCount }} }}",
                          role=role)
        await hub.refused(f"{{ {plural}(filter: {{ {name}: \"x\" }}) {{ totalCount }} }}",
                          role=role)
