"""Leak suite, the schema itself: what a role is not granted does not exist for it.

Through the front door, per role: introspection shows exactly the granted entities, fields,
relations, filter inputs, order inputs and root fields (derived here from the policy and the
catalog); every field a role lacks is refused however it is asked for — directly, under an
alias, in a named or inline fragment, through `node`, or down a relation from another
entity — and no error ever says "Did you mean", for hidden names or for typos of visible ones.
"""

from __future__ import annotations

from typing import Any

import pytest

from auth.model.catalog import ENTITIES
from tests.leaks.canaries import PLANTS, POLICY, ROLES
from tests.leaks.hub import (
    LeakHub,
    global_id,
    inputs_of,
    lookup_field,
    readable_entities,
    role_entity_pairs,
)

INTROSPECTION = """{ __schema {
  queryType { fields { name args { name } } }
  types { name kind fields { name args { name } } inputFields { name } enumValues { name } }
  directives { name }
} }"""
STANDARD_DIRECTIVES = {"include", "skip", "deprecated", "specifiedBy", "oneOf"}


def granted(role: str, entity: str) -> set[str]:
    grant = POLICY.roles[role].grant(entity)
    assert grant is not None
    outputs = {f.name for f in ENTITIES[entity].fields.values() if f.output}
    return {"id"} | (set(grant.fields) & outputs) | set(grant.relations)


def hidden(role: str, entity: str) -> list[str]:
    everything = {f.name for f in ENTITIES[entity].fields.values()} | set(
        ENTITIES[entity].relations)
    return sorted(everything - granted(role, entity))


@pytest.mark.parametrize("role", ROLES)
async def test_introspection_shows_exactly_the_grants(hub: LeakHub, role: str) -> None:
    schema = (await hub.data(INTROSPECTION, role=role))["__schema"]
    types: dict[str, dict[str, Any]] = {t["name"]: t for t in schema["types"]}
    readable = {e.name for e in readable_entities(role)}
    for spec in ENTITIES.values():
        names = {spec.name, f"{spec.name}Connection", f"{spec.name}Edge"}
        grant = POLICY.roles[role].grant(spec.name)
        if spec.name not in readable:
            assert not (names | {f"{spec.name}OrderBy"}) & set(types), spec.name
            # Only an aggregate grant (public's payments) keeps the filter input.
            aggregate = grant is not None and grant.aggregate
            assert (f"{spec.name}Filter" in types) == aggregate, spec.name
            if not aggregate:
                continue
        assert grant is not None
        if spec.name in readable:
            assert {f["name"] for f in types[spec.name]["fields"]} == granted(role, spec.name)
        filters = {n for f in spec.fields.values() if f.name != "id" and f.name in
                   grant.filterable for n, _ in inputs_of(f)}
        got = types.get(f"{spec.name}Filter")
        assert ({f["name"] for f in got["inputFields"]} if got else set()) == filters
        orders = {f for f in spec.fields if f in grant.orderable}
        got = types.get(f"{spec.name}OrderBy")
        assert ({f["name"] for f in got["inputFields"]} if got else set()) == orders
    # Root fields about entities: exactly the readable ones (other roots, such as the
    # audit-trail queries, are operations, not entity reads, and are tested on their own).
    roots = {f["name"] for f in schema["queryType"]["fields"]} & ENTITY_ROOTS
    want = {"node"} | {ENTITIES[e].plural for e in readable} | {
        lookup_field(e) if e != "Region" else "region" for e in readable}
    payment = POLICY.roles[role].grant("Payment")
    if payment is not None and payment.aggregate:
        want.add("spendingSummary")
    assert roots == want
    assert {d["name"] for d in schema["directives"]} <= STANDARD_DIRECTIVES
    assert arguments(schema, types) == expected_arguments(role)


ENTITY_ROOTS = {"node", "spendingSummary", "region"} | {e.plural for e in ENTITIES.values()} | {
    lookup_field(e) for e in ENTITIES}


def arguments(schema: dict[str, Any], types: dict[str, Any]) -> dict[str, set[str]]:
    """Every argument of every root and entity field, as `Type.field` → names."""
    out = {f"Query.{f['name']}": {a["name"] for a in f["args"]}
           for f in schema["queryType"]["fields"] if f["name"] in ENTITY_ROOTS}
    for name in ENTITIES:
        for field in (types.get(name) or {}).get("fields") or []:
            out[f"{name}.{field['name']}"] = {a["name"] for a in field["args"]}
    return out


def expected_arguments(role: str) -> dict[str, set[str]]:
    """The arguments the policy implies: filters, orders, dimensions only where granted."""
    out: dict[str, set[str]] = {"Query.node": {"id"}}

    def paged(entity: str) -> set[str]:
        grant = POLICY.roles[role].grant(entity)
        assert grant is not None
        return {"first", "after"} | ({"filter"} if grant.filterable - {"id"} else set()) \
            | ({"orderBy"} if grant.orderable else set())

    for spec in readable_entities(role):
        out[f"Query.{spec.plural}"] = paged(spec.name)
        lookup = "region" if spec.name == "Region" else lookup_field(spec.name)
        out[f"Query.{lookup}"] = {"code"} if spec.name == "Region" else {"id"}
        for field in granted(role, spec.name):
            rel = spec.relations.get(field)
            out[f"{spec.name}.{field}"] = set() if rel is None or not rel.many else \
                paged(rel.target) if rel.subtree else {"first"}
    payment = POLICY.roles[role].grant("Payment")
    if payment is not None and payment.aggregate:
        out["Query.spendingSummary"] = {"groupBy"} \
            | ({"filter"} if payment.filterable - {"id"} else set()) \
            | ({"regionLevel"} if "regionCode" in payment.groupable else set())
    return out


def ways_to_ask(role: str, entity: str, fields: list[str]) -> list[str]:
    """Every way to ask an entity's fields: list, alias, fragments, lookup, node, relation.
    Each document asks for all `fields` at once; validation reports each of them."""
    plural = ENTITIES[entity].plural
    plant = next((p for p in PLANTS if p.entity == entity), None)
    gid = global_id(entity, plant.raw_id if plant else 1)
    sub = " ".join(f"{f} {{ id }}" if f in ENTITIES[entity].relations else f for f in fields)
    aliased = " ".join(f"x{i}: {f} {{ id }}" if f in ENTITIES[entity].relations else
                       f"x{i}: {f}" for i, f in enumerate(fields))
    lookup = "region(code: \"330108000000\")" if entity == "Region" else \
        f'{lookup_field(entity)}(id: "{gid}")'
    ways = [
        f"{{ {plural} {{ nodes {{ id {sub} }} }} }}",
        f"{{ {plural} {{ edges {{ node {{ {aliased} }} }} }} }}",
        f"{{ {plural} {{ nodes {{ ...F }} }} }} fragment F on {entity} {{ {sub} }}",
        f"{{ {lookup} {{ ... on {entity} {{ {sub} }} }} }}",
        f'{{ node(id: "{gid}") {{ ... on {entity} {{ {aliased} }} }} }}',
        f'{{ node(id: "{gid}") {{ ...F }} }} fragment F on {entity} {{ id {sub} }}',
    ]
    for source in readable_entities(role):
        grant = POLICY.roles[role].grant(source.name)
        assert grant is not None
        for rel in source.relations.values():
            if rel.target == entity and rel.name in grant.relations:
                inner = f"{rel.name}(first: 1) {{ nodes {{ {sub} }} }}" if rel.subtree else \
                    f"{rel.name}(first: 1) {{ {sub} }}" if rel.many else f"{rel.name} {{ {sub} }}"
                ways.append(f"{{ {source.plural}(first: 1) {{ nodes {{ {inner} }} }} }}")
    return ways


@pytest.mark.parametrize(("role", "entity"), role_entity_pairs())
async def test_fields_a_role_lacks_cannot_be_reached_any_way(
    hub: LeakHub, role: str, entity: str
) -> None:
    fields = hidden(role, entity)
    if not fields:
        pytest.skip(f"{role} sees every field of {entity}")
    for query in ways_to_ask(role, entity, fields):
        errors = await hub.refused(query, role=role)
        named = {m.split("'")[1] for e in errors if (m := e["message"]).startswith(
            "Cannot query field '")}
        assert named == set(fields), (query, errors)


@pytest.mark.parametrize(("role", "entity"), role_entity_pairs())
async def test_typos_never_get_a_did_you_mean(hub: LeakHub, role: str, entity: str) -> None:
    plural = ENTITIES[entity].plural
    names = sorted({f.name for f in ENTITIES[entity].fields.values()} | set(
        ENTITIES[entity].relations))
    typos = sorted({t for n in names for t in (n[:-1], n + "s", n.upper())}
                   - granted(role, entity))
    errors = await hub.refused(f"{{ {plural} {{ nodes {{ {' '.join(typos)} }} }} }}", role=role)
    assert sorted(e["message"] for e in errors) == sorted(
        f"Cannot query field '{t}' on type '{entity}'." for t in typos)
    roots = [plural[:-1] + "x", ENTITIES[entity].name, "nod", "spendingSumary"]
    errors = await hub.refused("{ " + " ".join(f"{t} {{ __typename }}" for t in roots) + " }",
                               role=role)
    assert len(errors) == len(roots)
    await hub.refused(f"{{ {plural}(frist: 1) {{ totalCount }} }}", role=role)
    await hub.refused(f'{{ {plural}(orderBy: [{{ idd: ASC }}]) {{ totalCount }} }}', role=role)
    await hub.refused(f'{{ {plural}(filter: {{ regionCod: "1" }}) {{ totalCount }} }}',
                      role=role)


@pytest.mark.parametrize("role", ROLES)
async def test_introspection_of_hidden_types_finds_nothing(hub: LeakHub, role: str) -> None:
    readable = {e.name for e in readable_entities(role)}
    for spec in ENTITIES.values():
        if spec.name in readable:
            continue
        for name in (spec.name, f"{spec.name}Connection", f"{spec.name}OrderBy"):
            data = await hub.data(f'{{ __type(name: "{name}") {{ name fields {{ name }} }} }}',
                                  role=role)
            assert data == {"__type": None}, name
