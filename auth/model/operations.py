"""The hub's operations: root fields that are not an entity's list, lookup or summary.

Entity reads (lists, lookups, `node`, relations, `spendingSummary`) are granted per entity in
the policy. Everything else a role can call is an operation, named here once with its kind
and what it does, and granted per role by the policy's `operations = [...]` (default: none).
The policy refuses names that are not in `OPERATIONS`; the schema builder adds an operation's
root field only for roles granted it. Later domains add their queries, mutations and
subscriptions as groups of their own below.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Final


class OperationKind(StrEnum):
    QUERY = "query"
    MUTATION = "mutation"
    SUBSCRIPTION = "subscription"
    # A document served beside GraphQL (`GET /reports/<name>.<xlsx|csv>`), not a root field.
    REPORT = "report"
    # Served by an HTTP route of its own beside /graphql, not as a root field.
    ENDPOINT = "endpoint"


@dataclass(frozen=True, slots=True)
class Operation:
    name: str
    kind: OperationKind
    description: str
    # Some operations are for accountable staff only: the policy refuses them to `public`.
    public: bool = True


# The audit trail: who read what (for discipline inspectors, inside their jurisdiction).
AUDIT_TRAIL: Final = (
    Operation("auditRecords", OperationKind.QUERY,
              "Audit records of principals inside the caller's jurisdiction.", public=False),
    Operation("accessHistory", OperationKind.QUERY,
              "Who read one row the caller can see, when, why, masked or clear.", public=False),
)


# Publishing and pulls: the change feed for incremental pulls (public too: published items).
PULLS: Final = (
    Operation("changes", OperationKind.QUERY,
              "What was inserted, updated or withdrawn since a cursor, in the caller's scope."),
)


# One-click reports (publishing.reports), each granted on its own.
REPORTS: Final = (
    Operation("finance-disclosure", OperationKind.REPORT,
              "A community's quarterly finance disclosure (XLSX sheets: income, expenditure, "
              "major payments, subsidies).", public=False),
    Operation("subsidy-list", OperationKind.REPORT,
              "A village's subsidy payouts for a period, masked.", public=False),
    Operation("spending-by-category", OperationKind.REPORT,
              "A street's paid spending by economic class and community.", public=False),
)


# Operating the hub: the detail of GET /readyz (sources' kinds, status, latency and codes).
OPERATING: Final = (
    Operation("readiness", OperationKind.ENDPOINT,
              "The detail of GET /readyz: each source's kind, status, latency and failure "
              "code (others get the status only).", public=False),
)


def registry(*groups: Iterable[Operation]) -> Mapping[str, Operation]:
    """Operations by name; a name may be declared once only."""
    found: dict[str, Operation] = {}
    for group in groups:
        for operation in group:
            if operation.name in found:
                raise ValueError(f"operation {operation.name} is declared twice")
            found[operation.name] = operation
    return MappingProxyType(found)


OPERATIONS: Final = registry(AUDIT_TRAIL, PULLS, REPORTS, OPERATING)
