"""One audit entry: who ran which GraphQL operation, with what, and what came back.

An entry is built once per operation (queries included) and serialised to canonical JSON —
sorted keys, UTF-8, compact separators, no floats — so the same entry always hashes the same.
Reads are summarised per entity; up to `max_listed_ids` distinct row ids are listed
(``ids_mode = "listed"``), larger reads keep only the count and the sha256 digest of every id
(``ids_mode = "digest"``, ``truncated = true``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property, lru_cache
from typing import Any, Final

from graphql import GraphQLError, OperationDefinitionNode, parse, print_ast

from auth.audit.access_log import MAX_IDS_PER_ENTITY, ReadLog
from auth.identity.principal import Principal

from .redaction import redact

FORMAT_VERSION: Final = 1
OUTCOMES: Final = ("ok", "partial", "denied", "error")
IDS_LISTED: Final = "listed"
IDS_DIGEST: Final = "digest"
# Index rows of the audit_reads side table: one per listed row id, one per entity read.
INDEX_ROW: Final = "row"
_CACHED_DOCUMENT_CHARS: Final = 16_384
_MAX_DOCUMENT_TOKENS: Final = 100_000


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"),
                      allow_nan=False)


def _iso(at: datetime) -> str:
    if at.tzinfo is None:
        raise ValueError("audit timestamps must be timezone-aware")
    return at.astimezone(UTC).isoformat(timespec="microseconds")


@dataclass(frozen=True, slots=True)
class DocumentInfo:
    hash: str
    normalised: bool
    operations: tuple[tuple[str | None, str], ...] = ()

    def operation(self, name: str | None) -> tuple[str | None, str | None]:
        """(name, type) of the operation that runs: the named one, else the only one."""
        for op_name, op_type in self.operations:
            if name is not None and op_name == name:
                return op_name, op_type
        if name is None and len(self.operations) == 1:
            return self.operations[0]
        return name, None


def _document_info(document: str) -> DocumentInfo:
    try:
        ast = parse(document, no_location=True, max_tokens=_MAX_DOCUMENT_TOKENS)
    except GraphQLError:
        return DocumentInfo(hashlib.sha256(document.encode()).hexdigest(), normalised=False)
    ops = tuple(
        (d.name.value if d.name else None, d.operation.value)
        for d in ast.definitions
        if isinstance(d, OperationDefinitionNode)
    )
    return DocumentInfo(hashlib.sha256(print_ast(ast).encode()).hexdigest(), True, ops)


_cached_document_info = lru_cache(maxsize=1024)(_document_info)


def document_info(document: str) -> DocumentInfo:
    """The hash of the normalised document (whitespace and comments do not count).

    A document that does not parse is hashed as sent (`normalised` False). Clients repeat the
    same few documents, so small ones are cached.
    """
    if len(document) <= _CACHED_DOCUMENT_CHARS:
        return _cached_document_info(document)
    return _document_info(document)


def summarise_reads(
    log: ReadLog | None, max_listed_ids: int = MAX_IDS_PER_ENTITY
) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    if log is None:
        return summary
    for name, reads in sorted(log.entities.items()):
        listed = not reads.truncated and reads.count <= max_listed_ids
        item: dict[str, Any] = {
            "count": reads.count,
            "digest": reads.digest,
            "truncated": not listed,
            "ids_mode": IDS_LISTED if listed else IDS_DIGEST,
            "clear_fields": sorted(reads.clear_fields),
            "masked_fields": sorted(reads.masked_fields),
            "aggregates": reads.aggregates,
        }
        if listed:
            item["ids"] = list(reads.ids)
        summary[name] = item
    return summary


def _variables(variables: Any) -> dict[str, Any]:
    # A malformed request still gets its record: building one must not fail on odd input.
    if variables is None:
        return {}
    if isinstance(variables, Mapping):
        return redact(variables)
    return {"$not_an_object": redact(variables)}


@dataclass(frozen=True, eq=False)
class AuditEntry:
    """What one operation did; `body` is its canonical JSON, the part the chain hashes."""

    at: datetime
    principal: Principal
    operation: str | None
    operation_type: str | None
    document_hash: str
    document_normalised: bool
    variables: Mapping[str, Any]
    reads: Mapping[str, Mapping[str, Any]]
    outcome: str
    duration_ms: int
    errors: tuple[str, ...] = ()
    request_id: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.outcome not in OUTCOMES:
            raise ValueError(f"outcome must be one of {', '.join(OUTCOMES)}, not {self.outcome!r}")
        _iso(self.at)

    @classmethod
    def build(
        cls,
        principal: Principal,
        *,
        document: str,
        operation_name: str | None = None,
        variables: Mapping[str, Any] | None = None,
        reads: ReadLog | None = None,
        outcome: str,
        duration_ms: float,
        errors: Iterable[str] = (),
        at: datetime | None = None,
        request_id: str | None = None,
        extra: Mapping[str, Any] | None = None,
        max_listed_ids: int = MAX_IDS_PER_ENTITY,
    ) -> AuditEntry:
        info = document_info(document)
        name, op_type = info.operation(operation_name)
        return cls(
            at=at or datetime.now(UTC),
            principal=principal,
            operation=name,
            operation_type=op_type,
            document_hash=info.hash,
            document_normalised=info.normalised,
            variables=_variables(variables),
            reads=summarise_reads(reads, max_listed_ids),
            outcome=outcome,
            duration_ms=max(0, round(duration_ms)),
            errors=tuple(sorted(set(errors))),
            request_id=request_id,
            extra=redact(dict(extra or {})),
        )

    def to_dict(self) -> dict[str, Any]:
        p = self.principal
        return {
            "v": FORMAT_VERSION,
            "at": _iso(self.at),
            "principal": {"subject": p.subject, "role": p.role, "agency": p.agency,
                          "region_code": p.region_code},
            "client": p.credential,
            "purpose": p.purpose,
            "operation": {"name": self.operation, "type": self.operation_type,
                          "document_hash": self.document_hash,
                          "normalised": self.document_normalised},
            "variables": self.variables,
            "reads": self.reads,
            "outcome": self.outcome,
            "duration_ms": self.duration_ms,
            "errors": list(self.errors),
            "request_id": self.request_id,
            **({"extra": self.extra} if self.extra else {}),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AuditEntry:
        p, op = data["principal"], data["operation"]
        return cls(
            at=datetime.fromisoformat(data["at"]),
            principal=Principal(subject=p["subject"], role=p["role"], agency=p["agency"],
                                region_code=p["region_code"], purpose=data["purpose"],
                                credential=data["client"]),
            operation=op["name"],
            operation_type=op["type"],
            document_hash=op["document_hash"],
            document_normalised=op["normalised"],
            variables=data["variables"],
            reads=data["reads"],
            outcome=data["outcome"],
            duration_ms=data["duration_ms"],
            errors=tuple(data["errors"]),
            request_id=data["request_id"],
            extra=data.get("extra", {}),
        )

    @cached_property
    def body(self) -> str:
        return canonical_json(self.to_dict())

    def columns(self) -> dict[str, Any]:
        """The searchable copies kept beside the hashed content (verify checks they agree)."""
        p = self.principal
        return {
            "at": self.at.astimezone(UTC),
            "subject": p.subject,
            "role": p.role,
            "agency": p.agency,
            "region_code": p.region_code,
            "client": p.credential,
            "purpose": p.purpose,
            "operation": self.operation,
            "outcome": self.outcome,
            "duration_ms": self.duration_ms,
        }

    def index_rows(self) -> list[tuple[str, str | None, str]]:
        """(entity, row id or None, mode) rows of the audit_reads side table."""
        rows: list[tuple[str, str | None, str]] = []
        for entity, item in sorted(self.reads.items()):
            rows.append((entity, None, item["ids_mode"]))
            rows.extend((entity, row_id, INDEX_ROW) for row_id in item.get("ids", ()))
        return rows


@dataclass(frozen=True, slots=True)
class StoredRecord:
    """An entry as a record of the chain."""

    seq: int
    prev_hash: str
    hash: str
    entry: AuditEntry
