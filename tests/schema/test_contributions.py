"""Root fields beyond the entities' come from contributions, only where `operations` grant them.

The audit trail is today's contribution; a test-only one exercises mutations and
subscriptions: a role not granted them has no Mutation or Subscription type at all, in
introspection and in validation, and a contribution offering what a role was not granted
stops the build.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from types import SimpleNamespace
from typing import Any

import pytest
import strawberry
from graphql import parse, validate

from auth.access.policy import RolePolicy, parse_policy
from auth.model.operations import OPERATIONS, Operation, OperationKind, registry
from schema.build import ContributionError, build_role_schema
from schema.contributions import audit_trail
from schema.namespace import RoleNamespace

TEST_OPERATIONS = registry(OPERATIONS.values(), [
    Operation("ping", OperationKind.MUTATION, "Answers pong."),
    Operation("pings", OperationKind.SUBSCRIPTION, "Pong, once."),
])


def _role(**spec: Any) -> dict[str, Any]:
    return {"entities": {"Payment": {"fields": ["amount"]}}, **spec}


def _roles(**roles: dict[str, Any]) -> dict[str, RolePolicy]:
    return dict(parse_policy({"roles": roles}, "p.toml", TEST_OPERATIONS).roles)


def _ping_fields(ns: RoleNamespace, role: RolePolicy) -> dict[str, Any]:
    async def ping() -> str:
        return "pong"

    return {"ping": strawberry.field(resolver=ping)} if "ping" in role.operations else {}


def _pings_fields(ns: RoleNamespace, role: RolePolicy) -> dict[str, Any]:
    async def pings() -> AsyncGenerator[str, None]:
        yield "pong"

    return ({"pings": strawberry.subscription(resolver=pings)}
            if "pings" in role.operations else {})


PING = SimpleNamespace(__name__="ping", query_fields=lambda ns, role: {},
                       mutation_fields=_ping_fields, subscription_fields=_pings_fields)


def _type_names(role: RolePolicy) -> tuple[set[str], set[str]]:
    schema = build_role_schema(role)._schema
    assert schema.query_type is not None
    return set(schema.query_type.fields), set(schema.type_map)


def test_the_schema_has_only_the_granted_audit_trail_fields() -> None:
    roles = _roles(none=_role(), history=_role(operations=["accessHistory"]),
                   both=_role(operations=["auditRecords", "accessHistory"]))
    roots, types = _type_names(roles["none"])
    assert not {"auditRecords", "accessHistory"} & roots
    assert not {"AuditRecord", "AuditRead", "AuditRecordFilter", "AccessEvent", "AuditOutcome",
                "AuditedEntity"} & types
    roots, types = _type_names(roles["history"])
    assert "accessHistory" in roots and "auditRecords" not in roots
    assert {"AccessEvent", "AuditedEntity"} <= types
    assert not {"AuditRecord", "AuditRecordFilter"} & types
    roots, types = _type_names(roles["both"])
    assert {"auditRecords", "accessHistory"} <= roots


def test_accessible_entities_are_the_roles_own() -> None:
    role = _roles(r=_role(operations=["accessHistory"]))["r"]
    entity_enum = build_role_schema(role)._schema.type_map["AuditedEntity"]
    assert set(entity_enum.values) == {"Payment"}  # type: ignore[attr-defined]


async def test_a_granted_mutation_and_subscription_exist_for_that_role_only() -> None:
    roles = _roles(writer=_role(operations=["ping", "pings"]), reader=_role())
    writer = build_role_schema(roles["writer"], contributions=(audit_trail, PING))
    reader = build_role_schema(roles["reader"], contributions=(audit_trail, PING))
    roots = "{ __schema { mutationType { name fields { name } } subscriptionType { name } } }"

    seen = await writer.execute(roots)
    assert seen.errors is None and seen.data == {"__schema": {
        "mutationType": {"name": "Mutation", "fields": [{"name": "ping"}]},
        "subscriptionType": {"name": "Subscription"}}}
    done = await writer.execute("mutation { ping }")
    assert done.errors is None and done.data == {"ping": "pong"}

    hidden = await reader.execute(roots)
    assert hidden.errors is None
    assert hidden.data == {"__schema": {"mutationType": None, "subscriptionType": None}}
    assert "Mutation" not in reader._schema.type_map
    assert "Subscription" not in reader._schema.type_map
    for document in ("mutation { ping }", "subscription { pings }", "mutation { png }"):
        errors = validate(reader._schema, parse(document), hide_suggestions=True)
        assert errors, document
        assert all("ping" not in e.message.replace(document, "") for e in errors)
        assert not any("Did you mean" in e.message for e in errors)
    refused = await reader.execute("mutation { ping }")
    assert refused.errors and refused.data is None


def test_a_contribution_offering_what_is_not_granted_stops_the_build() -> None:
    roles = _roles(reader=_role(), history=_role(operations=["accessHistory"]))
    with pytest.raises(ContributionError, match="ping offers the mutation ping to role reader"):
        build_role_schema(roles["reader"], contributions=(
            SimpleNamespace(__name__="ping", query_fields=lambda ns, role: {},
                            mutation_fields=lambda ns, role: {"ping": object()}),))
    # Granted, but as a query: offering it as a mutation is refused too.
    with pytest.raises(ContributionError, match="not granted it as a mutation"):
        build_role_schema(roles["history"], contributions=(
            SimpleNamespace(__name__="odd", query_fields=lambda ns, role: {},
                            mutation_fields=lambda ns, role: {"accessHistory": object()}),))
