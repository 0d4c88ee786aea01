"""The audit trail: who read what, hash-chained in the hub store, with no read unrecorded.

Per operation the request path builds an `AuditEntry` and awaits `AuditStore.append` before
the response leaves; `AuditUnavailable` means the record could not be made durable and the
data must not be served (HTTP 503). `PurposeRules` says when a stated purpose is required.
"""

from __future__ import annotations

from auth.access.purpose import NO_RULES, PurposeRuleError, PurposeRules, purpose_rules

from .chain import ALG_HMAC, ALG_SHA256, GENESIS, ChainHasher
from .config import AuditConfig
from .errors import AuditUnavailable
from .export import ExportReport, export_records, generate_signing_key, load_key, verify_export
from .records import IDS_DIGEST, IDS_LISTED, OUTCOMES, AuditEntry, StoredRecord, canonical_json
from .redaction import REDACTED, redact
from .search import AccessEvent, AuditSearch
from .store import AuditStore
from .trail_scope import AUDIT_ENTITY, OversightScope
from .verify import ChainProblem, VerifyReport

__all__ = [
    "ALG_HMAC",
    "ALG_SHA256",
    "AUDIT_ENTITY",
    "GENESIS",
    "IDS_DIGEST",
    "IDS_LISTED",
    "NO_RULES",
    "OUTCOMES",
    "REDACTED",
    "AccessEvent",
    "AuditConfig",
    "AuditEntry",
    "AuditSearch",
    "AuditStore",
    "AuditUnavailable",
    "ChainHasher",
    "ChainProblem",
    "ExportReport",
    "OversightScope",
    "PurposeRuleError",
    "PurposeRules",
    "StoredRecord",
    "VerifyReport",
    "canonical_json",
    "export_records",
    "generate_signing_key",
    "load_key",
    "purpose_rules",
    "redact",
    "verify_export",
]
