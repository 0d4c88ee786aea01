"""The per-request context resolvers receive: who asks, under which role, through what."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from auth.access.policy import Policy, RolePolicy
from auth.access.purpose import NO_RULES, PurposeRules
from auth.access.scope import Scoper
from auth.audit import AuditSearch
from auth.audit.access_log import AccessLog
from auth.identity.principal import Principal
from connectors.gateway import Gateway, Sources

from .cursors import CursorCodec
from .gateway import GraphQLGateway


@dataclass
class RequestContext:
    principal: Principal
    role: RolePolicy
    sources: Sources
    cursors: CursorCodec
    purpose: PurposeRules = NO_RULES
    # What the request read and wrote: the audit record is made from it.
    access_log: AccessLog = field(default_factory=AccessLog)
    loaders: dict[Any, Any] = field(default_factory=dict)
    request: Any = None
    response: Any = None
    # For the audit-trail queries: the trail, and every role's grants (readers' scopes).
    audit: AuditSearch | None = None
    policy: Policy | None = None
    # The change feed (`publishing.changes.ChangeFeed`), when the hub store is open.
    changes: Any = None
    scoper: Scoper = field(init=False)
    # The request's one road to the data, speaking GraphQL errors.
    gateway: GraphQLGateway = field(init=False)

    def __post_init__(self) -> None:
        self.scoper = Scoper(self.role, self.principal)
        self.gateway = GraphQLGateway(
            Gateway(self.scoper, self.sources, self.purpose, self.access_log))
