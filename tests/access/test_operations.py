"""Operations (root fields beyond the entities'): granted per role by `operations = [...]`,
checked against the registry, denied by default, some never to the public role."""

from __future__ import annotations

from typing import Any

import pytest

from auth.access.policy import PolicyError, load_policy, parse_policy
from auth.model.operations import OPERATIONS, Operation, OperationKind, registry
from huitong.demo.config import POLICY_PATH

DEMO = load_policy(POLICY_PATH)


def _role(**spec: Any) -> dict[str, Any]:
    return {"entities": {"Payment": {"fields": ["amount"]}}, **spec}


@pytest.mark.parametrize(
    ("operations", "expected"),
    [
        (["auditRecords", "whoSawWhat"], "roles.clerk.operations: role clerk is granted "
                                         "'whoSawWhat', which is not an operation of this hub; "
                                         "expected a list of operation names ("
                                         + ", ".join(sorted(OPERATIONS)) + ")"),
        ("auditRecords", "roles.clerk.operations: expected a list of operation names"),
        ([1], "roles.clerk.operations: expected a list of operation names"),
    ],
)
def test_a_wrong_operations_key_names_role_and_operation(operations: Any, expected: str) -> None:
    with pytest.raises(PolicyError) as info:
        parse_policy({"roles": {"clerk": _role(operations=operations)}}, "p.toml")
    assert str(info.value).startswith("p.toml: ") and expected in str(info.value)


def test_the_old_oversight_key_says_it_was_renamed() -> None:
    with pytest.raises(PolicyError) as info:
        parse_policy({"roles": {"clerk": _role(oversight=["auditRecords"])}}, "p.toml")
    assert str(info.value) == ('p.toml: roles.clerk.oversight: renamed to operations; write '
                               'operations = ["auditRecords"]')


def test_operations_are_denied_by_default_and_the_trail_never_public() -> None:
    policy = parse_policy({"roles": {"clerk": _role(), "audit": _role(operations=[
        "accessHistory"])}}, "p.toml")
    assert dict(policy.roles["clerk"].operations) == {}
    assert set(policy.roles["audit"].operations) == {"accessHistory"}
    assert policy.roles["audit"].operations["accessHistory"].kind is OperationKind.QUERY
    for name in ("auditRecords", "accessHistory"):
        with pytest.raises(PolicyError,
                           match=rf"roles\.public\.operations: the public role cannot be "
                                 rf"granted {name}"):
            parse_policy({"roles": {"public": _role(operations=[name])}}, "p.toml")
    # The audit trail is the inspectors' alone; the change feed every caller role's.
    assert {name for name, role in DEMO.roles.items()
            if {"auditRecords", "accessHistory"} & set(role.operations)} == \
        {"discipline_inspector"}
    assert {"auditRecords", "accessHistory", "changes", "readiness"} <= \
        set(DEMO.roles["discipline_inspector"].operations)
    assert {name for name, role in DEMO.roles.items() if "changes" in role.operations} == \
        {name for name, role in DEMO.roles.items() if not role.system}


def test_a_registry_declares_each_operation_once() -> None:
    assert {"auditRecords", "accessHistory", "changes", "readiness"} <= set(OPERATIONS)
    assert all(not OPERATIONS[name].public for name in ("auditRecords", "accessHistory"))
    assert OPERATIONS["changes"].public
    assert OPERATIONS["readiness"].kind is OperationKind.ENDPOINT
    assert not OPERATIONS["readiness"].public
    ping = Operation("ping", OperationKind.MUTATION, "Answers pong.")
    extended = registry(OPERATIONS.values(), [ping])
    assert extended["ping"] is ping
    with pytest.raises(ValueError, match="operation ping is declared twice"):
        registry([ping], [ping])
    # A policy is checked against the registry it is given.
    role = parse_policy({"roles": {"r": _role(operations=["ping"])}}, "p", extended).roles["r"]
    assert role.operations == {"ping": ping}
    with pytest.raises(PolicyError, match="'ping', which is not an operation"):
        parse_policy({"roles": {"r": _role(operations=["ping"])}}, "p")
