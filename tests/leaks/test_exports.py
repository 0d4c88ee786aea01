"""Leak suite, exports: every role exports every list it has, and probes the parameters.

The rows of `/export/<list>.ndjson` are exactly those the role's row rule admits (computed from
the sources), no response holds a canary the role may not see (masked fields never in clear,
absent fields never at all), and a hidden field as a column or a filter — or a list the role
cannot read — is refused with exactly the answer an absent one gets.
"""

from __future__ import annotations

import csv
import io
import json

import pytest

from auth.model.catalog import ENTITIES
from auth.model.filters import filter_fields
from auth.model.ids import from_global_id
from tests.leaks.canaries import POLICY
from tests.leaks.hub import LeakHub, role_entity_pairs, visible_scalars


async def export(hub: LeakHub, role: str, path: str, **params: str) -> tuple[int, str]:
    headers = {} if role == "public" else {"Authorization": f"Bearer {hub.hub.token(role)}"}
    response = await hub.hub.client.get(path, params=params, headers=headers)
    hub.check(role, response)
    return response.status_code, response.content.decode("utf-8-sig")


@pytest.mark.parametrize(("role", "entity"), role_entity_pairs())
async def test_an_export_holds_exactly_the_rows_the_role_may_see(hub: LeakHub, role: str,
                                                                 entity: str) -> None:
    plural = ENTITIES[entity].plural
    status, body = await export(hub, role, f"/export/{plural}.ndjson")
    assert status == 200, body
    rows = [json.loads(line) for line in body.splitlines()]
    assert {from_global_id(r["id"])[1] for r in rows} == hub.truth.visible_ids(role, entity)  # type: ignore[index]
    assert all(list(r) == ["id", *[f for f in visible_scalars(role, entity) if f != "id"]]
               for r in rows)
    status, text = await export(hub, role, f"/export/{plural}.csv")
    assert status == 200
    assert len(list(csv.DictReader(io.StringIO(text)))) == len(rows)


def _probes() -> list[tuple[str, str, str, str]]:
    """(role, entity, kind, name) of every field a role has not, as a column or a filter."""
    found = []
    for role, entity in role_entity_pairs():
        grant = POLICY.roles[role].grant(entity)
        assert grant is not None
        spec = ENTITIES[entity]
        for name in spec.fields:
            if spec.fields[name].output and name not in grant.fields:
                found.append((role, entity, "fields", name))
        allowed = {ff.input_name for ff in filter_fields(entity, grant.filterable)}
        for ff in filter_fields(entity, spec.fields):
            if ff.input_name not in allowed:
                found.append((role, entity, "filter", ff.input_name))
    return found


@pytest.mark.parametrize(("role", "entity", "kind", "name"), _probes())
async def test_hidden_columns_and_filters_answer_like_absent_ones(
        hub: LeakHub, role: str, entity: str, kind: str, name: str) -> None:
    path = f"/export/{ENTITIES[entity].plural}.csv"
    absent = name + "Zz"
    if kind == "fields":
        hidden = await export(hub, role, path, fields=name)
        missing = await export(hub, role, path, fields=absent)
    else:
        hidden = await export(hub, role, path, **{name: "1"})
        missing = await export(hub, role, path, **{absent: "1"})
    assert hidden[0] == missing[0] == 400
    assert hidden[1] == missing[1].replace(absent, name)


@pytest.mark.parametrize("role", sorted(POLICY.roles))
async def test_lists_a_role_cannot_read_answer_like_missing_ones(hub: LeakHub, role: str) -> None:
    unreadable = [e for e in ENTITIES.values()
                  if e.exposed and not POLICY.roles[role].readable(e.name)]
    missing = await export(hub, role, "/export/nothings.csv")
    assert missing[0] == 404
    for spec in unreadable:
        answer = await export(hub, role, f"/export/{spec.plural}.csv")
        assert answer == (404, missing[1].replace("nothings", spec.plural))
