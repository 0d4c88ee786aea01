"""Leak suite, cursors: a cursor the hub did not issue for this very list is refused.

Garbage, truncated, re-signed-by-hand and edited cursors, and real cursors issued for another
entity or another order, all answer `INVALID_CURSOR` with no rows; a cursor from another
role must not work either. Cursors the hub does issue carry only values the role can see.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from auth.model.catalog import ENTITIES
from tests.leaks.canaries import POLICY
from tests.leaks.hub import LeakHub, assert_refused_without_rows, role_entity_pairs


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _raw(cursor: str) -> bytes:
    return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))


def _order(role: str, entity: str) -> list[str]:
    grant = POLICY.roles[role].grant(entity)
    assert grant is not None
    return [f for f in ENTITIES[entity].fields if f in grant.orderable]


def list_query(entity: str, order: str | None = None, extra: str = "") -> str:
    plural = ENTITIES[entity].plural
    order_arg = f", orderBy: [{{ {order}: DESC }}]" if order else ""
    return f"""query($after: String) {{ {plural}(first: 3, after: $after{order_arg}{extra}) {{
      totalCount pageInfo {{ endCursor }} nodes {{ id }} }} }}"""


async def a_cursor(hub: LeakHub, role: str, entity: str, order: str | None = None,
                   extra: str = "") -> str:
    data = await hub.data(list_query(entity, order, extra), {"after": None}, role=role)
    cursor: str = data[ENTITIES[entity].plural]["pageInfo"]["endCursor"]
    assert cursor
    return cursor


async def assert_invalid(hub: LeakHub, role: str, query: str, cursor: str) -> None:
    result = await hub.query(query, {"after": cursor}, role=role)
    assert len(result["errors"]) == 1, result
    assert_refused_without_rows(result, "INVALID_CURSOR")


def edits(cursor: str) -> list[str]:
    """Hand-made variations of a real cursor: truncated, bit-flipped, body edited."""
    raw = _raw(cursor)
    signature, body = raw[:16], raw[16:]
    entity, order, values = json.loads(body)
    out = [cursor[:-1], cursor[:-4], cursor + "A", _b64(bytes([raw[0] ^ 1]) + raw[1:]),
           _b64(raw[:-1] + bytes([raw[-1] ^ 1])), _b64(body), _b64(signature),
           _b64(b"\0" * 16 + body), "", "abc", "!!!!", "a" * 3000, _b64(b"x" * 40)]
    edited_values: list[Any] = [*values[:-1], str(int(values[-1]) + 1)]
    for new_body in ([entity, order, edited_values], ["Payment" if entity != "Payment"
                     else "Subsidy", order, values], [entity, [["id", False]], values[-1:]],
                     [entity, order, []]):
        out.append(_b64(signature + json.dumps(new_body, separators=(",", ":"),
                                               ensure_ascii=False).encode()))
    return out


FULLY_FORGED = ("Payment", "Subsidy", "Disclosure", "Region")  # every edit; others a sample


@pytest.mark.parametrize(("role", "entity"), role_entity_pairs())
async def test_forged_and_edited_cursors_are_refused(hub: LeakHub, role: str, entity: str) -> None:
    orders = _order(role, entity)
    order = orders[0] if orders else None
    cursor = await a_cursor(hub, role, entity, order)
    ok = await hub.data(list_query(entity, order), {"after": cursor}, role=role)
    assert ok[ENTITIES[entity].plural]["nodes"], "the real cursor must work"
    forged = edits(cursor)
    for bad in forged if entity in FULLY_FORGED else forged[3::4]:
        await assert_invalid(hub, role, list_query(entity, order), bad)


@pytest.mark.parametrize(("role", "entity"), role_entity_pairs())
async def test_cursors_of_another_order_or_entity_are_refused(
    hub: LeakHub, role: str, entity: str
) -> None:
    orders = _order(role, entity)
    query = list_query(entity, orders[0] if orders else None)
    for other in [None, *orders[1:]] if orders else []:
        await assert_invalid(hub, role, query, await a_cursor(hub, role, entity, other))
    others = [e for r, e in role_entity_pairs() if r == role and e != entity]
    for other_entity in others[:2]:
        cursor = await a_cursor(hub, role, other_entity)
        await assert_invalid(hub, role, list_query(entity), cursor)


CROSS_ROLE = [(a, b, e) for a, e in role_entity_pairs() for b, e2 in role_entity_pairs()
              if e2 == e and a != b and e != "Region"]


async def test_a_cursor_issued_to_another_role_is_refused(hub: LeakHub) -> None:
    accepted = []
    for issuer, user, entity in CROSS_ROLE:
        common = set(_order(issuer, entity)) & set(_order(user, entity))
        order = sorted(common)[0] if common else None
        cursor = await a_cursor(hub, issuer, entity, order)
        result = await hub.query(list_query(entity, order), {"after": cursor}, role=user)
        if "errors" not in result:
            accepted.append((issuer, user, entity))
        else:
            assert_refused_without_rows(result, "INVALID_CURSOR")
    assert not accepted, accepted


@pytest.mark.parametrize(("issuer", "user", "entity"), CROSS_ROLE)
async def test_a_cursor_from_another_role_never_yields_rows_outside_scope(
    hub: LeakHub, issuer: str, user: str, entity: str
) -> None:
    common = set(_order(issuer, entity)) & set(_order(user, entity))
    order = sorted(common)[0] if common else None
    cursor = await a_cursor(hub, issuer, entity, order)
    result = await hub.query(list_query(entity, order), {"after": cursor}, role=user)
    if "errors" in result:
        assert_refused_without_rows(result, "INVALID_CURSOR")
        return
    page = result["data"][ENTITIES[entity].plural]
    visible = hub.truth.visible_ids(user, entity)
    assert page["totalCount"] == len(visible)
    for node in page["nodes"]:
        raw = _raw(node["id"]).decode().split(":", 1)[1]
        assert raw in visible


@pytest.mark.parametrize(("role", "entity"), role_entity_pairs())
async def test_a_cursor_from_a_filtered_list_stays_inside_scope(
    hub: LeakHub, role: str, entity: str
) -> None:
    if entity == "Region":
        extra = ', filter: { level: VILLAGE }'
    elif "regionCode" in POLICY.roles[role].grant(entity).filterable:  # type: ignore[union-attr]
        extra = ', filter: { regionCode: "330108001000" }'
    else:
        pytest.skip(f"{role} cannot filter {entity} by region")
    cursor = await a_cursor(hub, role, entity, extra=extra)
    result = await hub.query(list_query(entity), {"after": cursor}, role=role)
    if "errors" in result:
        assert_refused_without_rows(result, "INVALID_CURSOR")
        return
    nodes = result["data"][ENTITIES[entity].plural]["nodes"]
    visible = hub.truth.visible_ids(role, entity)
    assert all(_raw(n["id"]).decode().split(":", 1)[1] in visible for n in nodes)
