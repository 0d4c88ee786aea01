"""The per-request context resolvers receive: who asks, under which role, through what."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from auth.access.policy import Policy, RolePolicy
from auth.access.scope import Scoper
from auth.audit import NO_RULES, AuditSearch, PurposeRules
from auth.audit.access_log import ReadLog
from auth.identity.principal import Principal
from connectors.base import Connector

from .cursors import CursorCodec


@dataclass
class Sources:
    """Routes each entity to the connector serving it; shared by all requests."""

    connectors: dict[str, Connector]
    by_entity: dict[str, Connector] = field(init=False)

    def __post_init__(self) -> None:
        self.by_entity = {e: c for c in self.connectors.values() for e in c.entities}

    def for_entity(self, entity: str) -> Connector | None:
        return self.by_entity.get(entity)


@dataclass
class RequestContext:
    principal: Principal
    role: RolePolicy
    sources: Sources
    cursors: CursorCodec
    purpose: PurposeRules = NO_RULES
    reads: ReadLog = field(default_factory=ReadLog)
    loaders: dict[Any, Any] = field(default_factory=dict)
    request: Any = None
    response: Any = None
    # For the oversight queries: the audit trail, and every role's grants (readers' scopes).
    audit: AuditSearch | None = None
    policy: Policy | None = None
    scoper: Scoper = field(init=False)

    def __post_init__(self) -> None:
        self.scoper = Scoper(self.role, self.principal)
