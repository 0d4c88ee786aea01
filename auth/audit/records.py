"""One audit entry: who ran which operation, with what, and what it read and wrote.

An entry is built once per operation (queries included) and serialised to canonical JSON —
sorted keys, UTF-8, compact separators, no floats — so the same entry always hashes the same.
Reads are summarised per entity; up to `max_listed_ids` distinct row ids are listed
(``ids_mode = "listed"``), larger reads keep only the count and the sha256 digest of every id
(``ids_mode = "digest"``, ``truncated = true``). Writes are listed in the order they were made,
each with the sha256 digests of the row before and after (``writes``; left out of entries that
wrote nothing, so records made before writes existed keep their exact content and verify).

What was asked comes as a `DocumentInfo`: the caller (the GraphQL recorder in `huitong`)
normalises and hashes the document; nothing here parses GraphQL. A record's size is bounded
whatever the request: the document is kept as its hash, the operation name and every string in
the (redacted) variables are cut to `MAX_TEXT` characters, and variables whose canonical JSON is
still over `MAX_VARIABLES_BYTES` are kept as their size and sha256 only.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import Any, Final

from auth.identity.principal import Principal

from .access_log import MAX_IDS_PER_ENTITY, AccessLog
from .chain import canonical_json
from .redaction import redact

FORMAT_VERSION: Final = 1
OUTCOMES: Final = ("ok", "partial", "denied", "error")
IDS_LISTED: Final = "listed"
IDS_DIGEST: Final = "digest"
# Index rows of the audit_reads side table: one per listed row id, one per entity read.
INDEX_ROW: Final = "row"
MAX_TEXT: Final = 256
MAX_VARIABLES_BYTES: Final = 8192


def _iso(at: datetime) -> str:
    if at.tzinfo is None:
        raise ValueError("audit timestamps must be timezone-aware")
    return at.astimezone(UTC).isoformat(timespec="microseconds")


@dataclass(frozen=True, slots=True)
class DocumentInfo:
    """What an operation asked: the hash of its document, whether that hash is of the
    normalised form, and the (name, type) of each operation the document holds."""

    hash: str
    normalised: bool
    operations: tuple[tuple[str | None, str], ...] = ()

    @classmethod
    def of_text(cls, document: str) -> DocumentInfo:
        """A document hashed as sent (one that does not parse, or is not GraphQL)."""
        return cls(hashlib.sha256(document.encode()).hexdigest(), normalised=False)

    def operation(self, name: str | None) -> tuple[str | None, str | None]:
        """(name, type) of the operation that runs: the named one, else the only one."""
        for op_name, op_type in self.operations:
            if name is not None and op_name == name:
                return op_name, op_type
        if name is None and len(self.operations) == 1:
            return self.operations[0]
        return name, None


def summarise_reads(
    log: AccessLog | None, max_listed_ids: int = MAX_IDS_PER_ENTITY
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


def summarise_writes(log: AccessLog | None) -> tuple[Mapping[str, Any], ...]:
    if log is None:
        return ()
    return tuple({"entity": w.entity, "id": w.id, "op": w.op, "before": w.before,
                  "after": w.after} for w in log.writes)


def _cut(value: Any) -> Any:
    if isinstance(value, str):
        return value if len(value) <= MAX_TEXT else value[:MAX_TEXT] + "…"
    if isinstance(value, Mapping):
        return {_cut(str(k)): _cut(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_cut(v) for v in value]
    return value


def _variables(variables: Any) -> dict[str, Any]:
    # A malformed request still gets its record: building one must not fail on odd input.
    if variables is None:
        return {}
    kept = redact(variables) if isinstance(variables, Mapping) else \
        {"$not_an_object": redact(variables)}
    text = canonical_json(kept)
    if len(text.encode()) <= MAX_VARIABLES_BYTES:
        return kept
    kept = _cut(kept)
    if len(canonical_json(kept).encode()) <= MAX_VARIABLES_BYTES:
        return kept
    return {"$too_large": {"bytes": len(text.encode()),
                           "sha256": hashlib.sha256(text.encode()).hexdigest()}}


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
    writes: tuple[Mapping[str, Any], ...] = ()

    def __post_init__(self) -> None:
        if self.outcome not in OUTCOMES:
            raise ValueError(f"outcome must be one of {', '.join(OUTCOMES)}, not {self.outcome!r}")
        _iso(self.at)

    @classmethod
    def build(
        cls,
        principal: Principal,
        *,
        document: DocumentInfo,
        operation_name: str | None = None,
        variables: Mapping[str, Any] | None = None,
        log: AccessLog | None = None,
        outcome: str,
        duration_ms: float,
        errors: Iterable[str] = (),
        at: datetime | None = None,
        request_id: str | None = None,
        extra: Mapping[str, Any] | None = None,
        max_listed_ids: int = MAX_IDS_PER_ENTITY,
    ) -> AuditEntry:
        name, op_type = document.operation(operation_name)
        if name is not None and len(name) > MAX_TEXT:
            name = name[:MAX_TEXT] + "…"
        return cls(
            at=at or datetime.now(UTC),
            principal=principal,
            operation=name,
            operation_type=op_type,
            document_hash=document.hash,
            document_normalised=document.normalised,
            variables=_variables(variables),
            reads=summarise_reads(log, max_listed_ids),
            outcome=outcome,
            duration_ms=max(0, round(duration_ms)),
            errors=tuple(sorted(set(errors))),
            request_id=request_id,
            extra=redact(dict(extra or {})),
            writes=summarise_writes(log),
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
            **({"writes": [dict(w) for w in self.writes]} if self.writes else {}),
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
            writes=tuple(data.get("writes", ())),
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
