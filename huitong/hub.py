"""The assembled hub: policy, per-role schemas, connectors and the hub store, opened once.

`Hub.build` does everything that can fail on a bad configuration before the server listens
(so a wrong policy or mapping stops start-up with its message); `open`/`close` run in the
app's lifespan.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, field
from pathlib import Path

import strawberry
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from auth.apikeys import ApiKeyStore
from auth.authenticate import Authenticator
from auth.policy import Policy, load_policy
from auth.tokens import TokenVerifier
from connectors.base import Connector
from resolvers.context import Sources
from resolvers.cursors import CursorCodec
from schema.build import build_schemas

from .settings import Settings
from .sources import build_connectors

log = logging.getLogger("huitong")


def open_store(url: str) -> AsyncEngine:
    """The hub's own database (audit, API keys, file imports); SQLite folders are created."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    return create_async_engine(url, pool_pre_ping=True)


@dataclass
class Hub:
    settings: Settings
    policy: Policy
    schemas: dict[str, strawberry.Schema]
    sources: Sources
    cursors: CursorCodec
    store: AsyncEngine | None = None
    authenticator: Authenticator = field(default_factory=Authenticator)

    @classmethod
    def build(cls, settings: Settings) -> Hub:
        policy = load_policy(settings.policy_path)
        schemas = build_schemas(policy, production=settings.production)
        connectors = build_connectors(settings.sources)
        secret = settings.cursor_secret
        if not secret:
            log.warning("no cursor secret configured: cursors will not survive a restart")
            secret = secrets.token_hex(32)
        return cls(settings, policy, schemas, Sources(connectors), CursorCodec(secret.encode()))

    @property
    def connectors(self) -> dict[str, Connector]:
        return self.sources.connectors

    async def open(self) -> None:
        self.store = open_store(self.settings.store_url)
        api_keys = ApiKeyStore(self.store)
        await api_keys.ensure_schema()
        tokens = TokenVerifier(self.settings.auth) \
            if self.settings.auth.hs256_secret or self.settings.auth.jwks else None
        self.authenticator = Authenticator(tokens=tokens, api_keys=api_keys)
        for connector in self.connectors.values():
            await connector.open()

    async def close(self) -> None:
        for connector in self.connectors.values():
            await connector.close()
        if self.store is not None:
            await self.store.dispose()
            self.store = None
