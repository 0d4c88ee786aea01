"""The audit-trail root fields, for roles whose policy grants them (`operations = [...]`).

`auditRecords(filter, first, before)` pages the audit records of principals inside the
caller's jurisdiction, newest first (`before` is the `seq` of the last record seen);
`accessHistory(entity, id, first, before)` says who read one row the caller can see. What each
shows is decided in `auth.audit.trail_scope`; a role without the grant has none of these types.
"""

from __future__ import annotations

import datetime as dt
from enum import Enum
from typing import Any, Optional

import strawberry

from auth.access.policy import RolePolicy
from auth.audit import OUTCOMES
from resolvers.audit_trail import MAX_PAGE, access_history, audit_records

from ..entities import exposed_entities
from ..namespace import RoleNamespace, with_signature
from ..scalars import RegionCode

_OutcomeEnum: Any = Enum("AuditOutcome", {o.upper(): o for o in OUTCOMES}, type=str)  # type: ignore[misc]
AuditOutcome: Any = strawberry.enum(_OutcomeEnum, name="AuditOutcome",
                                    description="How an operation ended.")

_PAGE = (f"At most `first` (default 20, at most {MAX_PAGE}), newest first; page on with "
         "`before` = the `seq` of the last one seen.")


def _entity_enum(role: RolePolicy) -> Any:
    names = [spec.name for spec in exposed_entities(role)]
    functional: Any = Enum("AuditedEntity", {n: n for n in names}, type=str)  # type: ignore[misc]
    return strawberry.enum(functional, name="AuditedEntity",
                           description="An entity whose reads the audit trail indexes.")


def _f(kind: Any, description: str) -> Any:
    return strawberry.field(graphql_type=kind, description=description)


def _who(extra: dict[str, Any]) -> dict[str, Any]:
    return {
        "seq": _f(strawberry.ID, "The record's position in the audit chain (digits; may "
                  "exceed 32 bits)."),
        "at": _f(dt.datetime, "When the operation started (UTC)."),
        "subject": _f(str, "Who: the principal's subject."),
        "role": _f(str, "The role it acted in."),
        "agency": _f(Optional[str], "The agency it acted for."),  # noqa: UP045
        "region_code": _f(Optional[RegionCode], "Its jurisdiction."),  # noqa: UP045
        "client": _f(str, "How it authenticated: jwt:<jti>, apikey:<id> or anonymous."),
        "purpose": _f(Optional[str], "The purpose it stated (header or token claim)."),  # noqa: UP045
        "operation_name": _f(Optional[str], "The GraphQL operation's name."),  # noqa: UP045
        "outcome": _f(AuditOutcome, "How the operation ended."),
        **extra,
    }


def _audit_records_field(ns: RoleNamespace, entities: Any) -> Any:
    read = ns.add_type("AuditRead", {
        "entity": _f(str, "The entity read."),
        "count": _f(int, "How many distinct rows."),
        "listed": _f(bool, "True when the record lists the row ids; false when it keeps "
                     "only their digest (too many rows)."),
        "ids": _f(Optional[list[strawberry.ID]],  # noqa: UP045
                  "Global ids of the rows read (for AuditRecord: seqs); null when the read "
                  "was kept as a digest or its ids are withheld from you."),
        "ids_withheld": _f(bool, "True when the record lists ids that are not yours to see "
                           "(they may name rows outside what you may read)."),
        "digest": _f(Optional[str], "sha256 over every distinct id read, in read order; "  # noqa: UP045
                     "null when the ids are withheld."),
        "clear_fields": _f(list[str], "Fields returned in clear."),
        "masked_fields": _f(list[str], "Fields returned masked."),
        "aggregates": _f(int, "How many aggregates (GROUP BY) were read."),
    }, description="What one operation read of one entity.")
    record = ns.add_type("AuditRecord", _who({
        "operation_type": _f(Optional[str], "query, mutation or subscription."),  # noqa: UP045
        "document_hash": _f(str, "sha256 of the normalised GraphQL document."),
        "variables": _f(str, "The variables, redacted, as JSON text."),
        "duration_ms": _f(int, "How long the operation took."),
        "errors": _f(list[str], "The codes of the errors it answered with."),
        "reads": _f(list[read], "What it read, per entity."),  # type: ignore[valid-type]
        "hash": _f(str, "The record's chain hash."),
        "prev_hash": _f(str, "The previous record's chain hash."),
    }), description="One operation in the audit chain: who, with what purpose, what came back.")
    record_filter = ns.add_type("AuditRecordFilter", {
        # No default: null means "absent" (agency, purpose) or is refused, never ignored.
        name: strawberry.field(default=strawberry.UNSET,
                               graphql_type=Optional[kind],  # noqa: UP045
                               description=text)
        for name, kind, text in (
            ("subject", str, "The principal's subject."),
            ("role", str, "The principal's role."),
            ("agency", str, "The principal's agency; null: principals without one."),
            ("region_code", RegionCode, "Principals inside this region's subtree."),
            ("entity", entities, "Operations that read this entity."),
            ("purpose", str, "The stated purpose, exactly; null: none was stated."),
            ("outcome", AuditOutcome, "How the operation ended."),
            ("since", dt.datetime, "Operations at or after this time."),
            ("until", dt.datetime, "Operations at or before this time."),
        )
    }, decorator=strawberry.input, description="Conditions on audit records; all must hold.")

    async def resolve(info: strawberry.Info, filter: Any = None, first: Any = None,
                      before: Any = None) -> Any:
        return await audit_records(info, filter, first, before)

    args = {"filter": Optional[record_filter], "first": Optional[int],  # noqa: UP045
            "before": Optional[strawberry.ID]}  # noqa: UP045
    return strawberry.field(
        resolver=with_signature(resolve, args, dict.fromkeys(args)),
        graphql_type=list[record],  # type: ignore[valid-type]
        description="Audit records of principals inside your jurisdiction. " + _PAGE,
    )


def _access_history_field(ns: RoleNamespace, entities: Any) -> Any:
    event = ns.add_type("AccessEvent", _who({
        "clear_fields": _f(list[str], "Fields of the entity returned in clear."),
        "masked_fields": _f(list[str], "Fields of the entity returned masked."),
        "listed": _f(bool, "True when the row's id is in the record; false when the entity "
                     "was read in digest mode (too many rows to list) and the row may have "
                     "been among them."),
    }), description="One operation that read a row.")

    async def resolve(info: strawberry.Info, entity: Any, id: Any, first: Any = None,
                      before: Any = None) -> Any:
        return await access_history(info, entity, str(id), first, before)

    args = {"entity": entities, "id": strawberry.ID, "first": Optional[int],  # noqa: UP045
            "before": Optional[strawberry.ID]}  # noqa: UP045
    return strawberry.field(
        resolver=with_signature(resolve, args, {"first": None, "before": None}),
        graphql_type=list[event],  # type: ignore[valid-type]
        description="Who read this row (its global id), when, for what purpose, masked or "
        "clear; empty for a row you cannot see. " + _PAGE,
    )


def query_fields(ns: RoleNamespace, role: RolePolicy) -> dict[str, Any]:
    """The audit-trail queries the role's `operations` grant (none by default)."""
    granted = [name for name in ("auditRecords", "accessHistory") if name in role.operations]
    if not granted:
        return {}
    entities = _entity_enum(role)
    fields: dict[str, Any] = {}
    if "auditRecords" in granted:
        fields["auditRecords"] = _audit_records_field(ns, entities)
    if "accessHistory" in granted:
        fields["accessHistory"] = _access_history_field(ns, entities)
    return fields
