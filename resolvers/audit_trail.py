"""The audit-trail queries: `auditRecords` and `accessHistory`, read from the hub's trail.

Scope comes from `auth.audit.TrailScope` (whose records, which ids, which digest reads);
`accessHistory` first looks the row up through the scoped gateway, so a row the caller cannot
see answers exactly like a missing one. Reading the audit trail is itself a read: the seqs
returned are noted in the request's access log as entity `AuditRecord`, so the caller's own
record says which records it saw.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from graphql import GraphQLError
from strawberry import UNSET
from strawberry.types.info import Info

from auth.audit import (
    AUDIT_ENTITY,
    IDS_LISTED,
    OPTIONAL_FACTS,
    AccessEvent,
    AuditSearch,
    AuditUnavailable,
    StoredRecord,
    TrailScope,
    canonical_json,
)
from auth.model.catalog import ENTITIES
from auth.model.query import Condition, EntityQuery, Op

from .context import RequestContext
from .errors import bad_input
from .filters import check_first
from .gateway import caller_errors
from .ids import from_global_id, to_global_id
from .selection import current_selections, flatten

MAX_PAGE: Final = 100


@dataclass(frozen=True, slots=True)
class AuditReadView:
    entity: str
    count: int
    listed: bool
    ids: list[str] | None
    ids_withheld: bool
    digest: str | None
    clear_fields: list[str]
    masked_fields: list[str]
    aggregates: int


@dataclass(frozen=True, slots=True)
class AuditRecordView:
    seq: str
    at: datetime
    subject: str
    role: str
    agency: str | None
    region_code: str | None
    client: str
    purpose: str | None
    operation_name: str | None
    operation_type: str | None
    document_hash: str
    variables: str
    outcome: str
    duration_ms: int
    errors: list[str]
    reads: list[AuditReadView]
    hash: str
    prev_hash: str


@dataclass(frozen=True, slots=True)
class AccessEventView:
    seq: str
    at: datetime
    subject: str
    role: str
    agency: str | None
    region_code: str | None
    client: str
    purpose: str | None
    operation_name: str | None
    outcome: str
    clear_fields: list[str]
    masked_fields: list[str]
    listed: bool


def _unavailable() -> GraphQLError:
    return GraphQLError("The audit trail cannot be read right now; try again later.",
                        extensions={"code": AuditUnavailable.code})


def _prepare(info: Info[Any, Any]) -> tuple[RequestContext, AuditSearch, TrailScope]:
    ctx: RequestContext = info.context
    if ctx.audit is None or ctx.policy is None:
        raise _unavailable()
    with caller_errors():
        ctx.purpose.require(ctx.principal)
    return ctx, ctx.audit, TrailScope(ctx.policy, ctx.role, ctx.principal)


def _before(value: str | None) -> int | None:
    if value is None:
        return None
    if not value.isascii() or not value.isdigit() or len(value) > 18:
        raise bad_input(f"before: expected the seq of a record (digits), got {value[:40]!r}")
    return int(value)


def _note(ctx: RequestContext, info: Info[Any, Any], seqs: list[int]) -> None:
    fields = sorted({f.name for f in flatten(current_selections(info))})
    ctx.access_log.note_rows(AUDIT_ENTITY, (str(s) for s in seqs), fields, ())


def _read_view(scope: TrailScope, entity: str, item: Any, role: str,
               region: str | None) -> AuditReadView:
    listed = item.get("ids_mode") == IDS_LISTED
    shown = listed and scope.ids_disclosed(entity, role, region)
    withheld = listed and not shown
    ids = None
    if shown:
        raw = item.get("ids", [])
        ids = list(raw) if entity == AUDIT_ENTITY else [to_global_id(entity, i) for i in raw]
    return AuditReadView(
        entity=entity, count=item["count"], listed=listed, ids=ids, ids_withheld=withheld,
        # A digest of a few small ids is found by trying them all: withheld with the ids.
        digest=None if withheld else item["digest"],
        clear_fields=list(item.get("clear_fields", ())),
        masked_fields=list(item.get("masked_fields", ())),
        aggregates=item.get("aggregates", 0),
    )


def record_view(scope: TrailScope, record: StoredRecord) -> AuditRecordView:
    entry = record.entry
    p = entry.principal
    return AuditRecordView(
        seq=str(record.seq), at=entry.at, subject=p.subject, role=p.role, agency=p.agency,
        region_code=p.region_code, client=p.credential, purpose=p.purpose,
        operation_name=entry.operation, operation_type=entry.operation_type,
        document_hash=entry.document_hash, variables=canonical_json(entry.variables),
        outcome=entry.outcome, duration_ms=entry.duration_ms, errors=list(entry.errors),
        reads=[_read_view(scope, name, item, p.role, p.region_code)
               for name, item in sorted(entry.reads.items())],
        hash=record.hash, prev_hash=record.prev_hash,
    )


def _event_view(event: AccessEvent) -> AccessEventView:
    return AccessEventView(
        seq=str(event.seq), at=event.at, subject=event.subject, role=event.role,
        agency=event.agency, region_code=event.region_code, client=event.client,
        purpose=event.purpose, operation_name=event.operation, outcome=event.outcome,
        clear_fields=list(event.clear_fields), masked_fields=list(event.masked_fields),
        listed=event.listed,
    )


def _value(enum_value: Any) -> Any:
    return getattr(enum_value, "value", enum_value)


_RECORD_FILTERS = ("subject", "role", "agency", "purpose", "outcome", "since", "until",
                   "entity", "region_code")


def _record_filter(filter: Any) -> tuple[dict[str, Any], list[str]]:
    """The given conditions, and the optional facts asked to be absent (given as null)."""
    wanted: dict[str, Any] = {}
    without: list[str] = []
    for name in _RECORD_FILTERS if filter is not None else ():
        value = getattr(filter, name, UNSET)
        if value is UNSET:
            continue
        if value is None:
            if name not in OPTIONAL_FACTS:
                raise bad_input(f"filter.{_camel(name)}: every record has one, so null "
                                "matches nothing; leave the condition out instead")
            without.append(name)
            continue
        wanted[name] = _value(value)
    return wanted, without


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


async def audit_records(
    info: Info[Any, Any], filter: Any, first: int | None, before: str | None
) -> list[AuditRecordView]:
    """Records of principals inside the caller's jurisdiction, newest first."""
    ctx, store, scope = _prepare(info)
    limit = check_first(first, MAX_PAGE)
    before_seq = _before(before)
    wanted, without = _record_filter(filter)
    narrowed_to = wanted.pop("region_code", None)
    prefix = scope.records_prefix(narrowed_to)
    records: list[StoredRecord] = []
    if prefix is not None and limit > 0:
        try:
            records = await store.query(**wanted, region_prefix=prefix, before_seq=before_seq,
                                        limit=limit, without=without)
        except AuditUnavailable:
            raise _unavailable() from None
    _note(ctx, info, [r.seq for r in records])
    return [record_view(scope, r) for r in records]


async def access_history(
    info: Info[Any, Any], entity: Any, id: str, first: int | None, before: str | None
) -> list[AccessEventView]:
    """Who read this row, newest first; empty for a row the caller cannot see or that
    does not exist."""
    ctx, store, scope = _prepare(info)
    name = str(_value(entity))
    limit = check_first(first, MAX_PAGE)
    before_seq = _before(before)
    decoded = from_global_id(id)
    if decoded is None or decoded[0] != name or limit == 0:
        return []
    grant = ctx.role.grant(name)
    with_region = grant is not None and grant.visible("regionCode") \
        and "regionCode" in ENTITIES[name].fields
    fields = ("id", "regionCode") if with_region else ("id",)
    rows = await ctx.gateway.fetch(
        EntityQuery(name, fields, (Condition("id", Op.EQ, decoded[1]),), limit=1)
    )
    if not rows:
        return []
    codes, roles = scope.digest_readers(name, rows[0].get("regionCode"))
    try:
        events = await store.access_history(
            name, decoded[1], digest_region_codes=codes, digest_roles=roles,
            before_seq=before_seq, limit=limit,
        )
    except AuditUnavailable:
        raise _unavailable() from None
    _note(ctx, info, [e.seq for e in events])
    return [_event_view(e) for e in events]
