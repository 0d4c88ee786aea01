"""A wrong policy stops start-up, naming the role, the entity and the field."""

from __future__ import annotations

from typing import Any

import pytest

from auth.access.policy import PolicyError, parse_policy


def _policy(entity: dict[str, Any], name: str = "Payment", **role: Any) -> dict[str, Any]:
    return {"roles": {"clerk": {"entities": {name: entity}, **role}}}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (_policy({"fields": ["amount"]}, name="Paymnt"), "roles.clerk.entities.Paymnt: unknown"),
        (_policy({"fields": ["amout"]}), "roles.clerk.entities.Payment.fields: Payment has no "
                                         "field 'amout'"),
        (_policy({"fields": ["payeeName"], "masked": {"payeeName": "blur"}}),
         "masked.payeeName: unknown masker 'blur'"),
        (_policy({"fields": ["amount"], "masked": {"payeeName": "name"}}),
         "masked.payeeName: field is not granted"),
        (_policy({"fields": ["payeeName"], "masked": {"payeeName": "name"},
                  "filter": ["payeeName"]}), "filter.payeeName: a masked field cannot"),
        (_policy({"fields": ["payeeName"], "masked": {"payeeName": "name"},
                  "order": ["payeeName"]}), "order.payeeName: a masked field cannot"),
        (_policy({"fields": ["amount"], "order": ["paidAt"]}),
         "order.paidAt: Payment.paidAt is not a granted field"),
        (_policy({"fields": ["payeeIdNumber"], "order": ["payeeIdNumber"]}),
         "order.payeeIdNumber: nullable fields cannot"),
        (_policy({"fields": ["amount"], "masked": {"amount": "name"}}),
         "masked.amount: only string fields"),
        (_policy({"fields": ["amount", "reimbursement"]}),
         "fields.reimbursement: relation to Reimbursement, which the role cannot read"),
        (_policy({"fields": ["amount"], "filter": ["budgetIndicatorId"]}),
         "filter.budgetIndicatorId: key of BudgetIndicator"),
        (_policy({"fields": ["amount"], "rows": "mine"}), "rows: expected one of"),
        (_policy({"fields": ["amount"], "where": {"status": "DONE"}}),
         "where.status: 'DONE' is not a PaymentStatus value"),
        (_policy({"fields": ["amount"], "colour": 1}), "Payment.colour: unknown key"),
        (_policy({"fields": ["amount"]}, limits={"max_first": 0}),
         "limits.max_first: expected a positive integer"),
        (_policy({"fields": "*"}, name="Region"), "rows: Region has no regionCode"),
        (_policy({"fields": ["payeeName"], "masked": {"payeeName": "name"},
                  "write": ["payeeName"]}), "write.payeeName: a masked field cannot"),
        (_policy({"fields": ["amount"], "write": ["purpose"]}),
         "write.purpose: Payment.purpose is not a granted field"),
        (_policy({"fields": ["amount"], "write": ["id"]}), "write.id: Payment.id is not"),
        (_policy({"fields": ["amount"], "read": False, "write": ["amount"]}),
         "write: a role writes only rows it can read"),
        ({"roles": {"public": {"entities": {"Payment": {"fields": ["amount"],
                                                        "write": ["amount"]}}}}},
         "roles.public.entities: the public role cannot be granted writes"),
        ({"roles": {}}, "expected [roles.<name>] tables"),
    ],
)
def test_wrong_policy_names_role_entity_field(raw: dict[str, Any], expected: str) -> None:
    with pytest.raises(PolicyError) as info:
        parse_policy(raw, "policy.toml")
    assert "policy.toml" in str(info.value)
    assert expected in str(info.value)


def test_default_deny() -> None:
    policy = parse_policy(_policy({"fields": ["amount"]}), "policy.toml")
    role = policy.roles["clerk"]
    grant = role.grant("Payment")
    assert grant is not None
    assert grant.fields == {"id", "amount"}
    assert not grant.filterable and not grant.orderable and not grant.groupable
    assert not grant.aggregate and not grant.masked
    assert role.grant("Subsidy") is None and not role.readable("Subsidy")


def test_suppressed_aggregates_cannot_be_filtered_by_ranges() -> None:
    raw = _policy({"fields": ["amount", "paidAt", "regionCode"], "read": False,
                   "aggregate": True, "group": ["regionCode"], "filter": ["paidAt"]},
                  min_group_size=5)
    with pytest.raises(PolicyError, match=r"Payment\.filter\.paidAt: a role whose aggregates"):
        parse_policy(raw, "policy.toml")
    raw["roles"]["clerk"]["min_group_size"] = 1
    assert parse_policy(raw, "policy.toml").roles["clerk"].grant("Payment") is not None


def test_write_grants_name_clear_fields_and_keys() -> None:
    raw = _policy({"fields": ["amount", "payeeName", "purpose"], "masked": {
        "payeeName": "name"}, "write": "*"})
    grant = parse_policy(raw, "policy.toml").roles["clerk"].grant("Payment")
    assert grant is not None
    # Every clear field it sees and every key, never the id or a masked field.
    assert grant.writable == {"amount", "purpose", "budgetIndicatorId", "reimbursementId"}
    plain = parse_policy(_policy({"fields": ["amount"]}), "policy.toml")
    assert plain.roles["clerk"].entities["Payment"].writable == frozenset()
