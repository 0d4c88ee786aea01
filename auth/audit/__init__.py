"""The audit trail: who read and wrote what, hash-chained in the hub store, nothing unrecorded.

Per operation the request path keeps an `AccessLog` (`access_log`), builds an `AuditEntry`
from it (`records`) and awaits `AuditStore.append` (`store`, `writer`, `chain`, `tables`)
before the response leaves; `AuditUnavailable` (`errors`) means the record could not be made
durable and the data must not be served (HTTP 503). `verify` walks the chain, `export` writes
signed exports and checks them offline, `search` answers the audit-trail queries within what
`trail_scope` lets a caller see, `redaction` keeps personal data out of recorded variables,
`checkpoints` anchors the head outside the store and `config` reads `[audit]`.
"""

from __future__ import annotations

from .access_log import AccessLog, row_digest
from .chain import ALG_HMAC, ALG_SHA256, GENESIS, ChainHasher, canonical_json
from .config import AuditConfig
from .errors import AuditUnavailable
from .export import ExportReport, export_records, generate_signing_key, load_key, verify_export
from .records import IDS_DIGEST, IDS_LISTED, OUTCOMES, AuditEntry, DocumentInfo, StoredRecord
from .redaction import REDACTED, redact
from .search import OPTIONAL_FACTS, AccessEvent, AuditSearch
from .store import AuditStore
from .trail_scope import AUDIT_ENTITY, TrailScope
from .verify import ChainProblem, VerifyReport

__all__ = [
    "ALG_HMAC",
    "ALG_SHA256",
    "AUDIT_ENTITY",
    "GENESIS",
    "IDS_DIGEST",
    "IDS_LISTED",
    "OPTIONAL_FACTS",
    "OUTCOMES",
    "REDACTED",
    "AccessEvent",
    "AccessLog",
    "AuditConfig",
    "AuditEntry",
    "AuditSearch",
    "AuditStore",
    "AuditUnavailable",
    "ChainHasher",
    "ChainProblem",
    "DocumentInfo",
    "ExportReport",
    "StoredRecord",
    "TrailScope",
    "VerifyReport",
    "canonical_json",
    "export_records",
    "generate_signing_key",
    "load_key",
    "redact",
    "row_digest",
    "verify_export",
]
