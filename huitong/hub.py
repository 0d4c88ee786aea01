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
from typing import Any

import strawberry
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from auth.access.policy import Policy, load_policy
from auth.audit import AuditConfig, AuditStore
from auth.identity.apikeys import ApiKeyStore
from auth.identity.authenticate import Authenticator
from auth.identity.tokens import TokenVerifier
from connectors.base import Connector, Services
from connectors.gateway import Sources
from publishing.change_follower import ChangeFollower
from publishing.change_journal import ChangeJournal
from publishing.changes import ChangeFeed
from resolvers.cursors import CursorCodec
from schema.build import build_schemas

from .audit_recorder import AuditRecorder
from .housekeeping import Housekeeping
from .settings import ConfigError, Settings
from .sources import build_connectors

log = logging.getLogger("huitong")


def open_store(url: str) -> AsyncEngine:
    """The hub's own database (audit, API keys, file imports); SQLite folders are created."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(url, pool_pre_ping=True)
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers go on while the audit chain appends; the busy timeout stays under the
    # audit timeout, since a blocked SQLite statement cannot be cancelled.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


@dataclass
class Hub:
    settings: Settings
    policy: Policy
    schemas: dict[str, strawberry.Schema]
    sources: Sources
    cursors: CursorCodec
    audit_config: AuditConfig = field(default_factory=AuditConfig)
    store: AsyncEngine | None = None
    authenticator: Authenticator = field(default_factory=Authenticator)
    recorder: AuditRecorder | None = None
    # Query selections over sql sources answered by one statement (`resolvers.compiled`);
    # off, every read takes the per-request loaders. Tests switch it to compare the two.
    sql_compiler: bool = True
    compiled_answers: int = 0  # requests the compiled path answered (the rest: the loaders)
    changes: ChangeFeed | None = None
    housekeeping: Housekeeping | None = None

    @classmethod
    def build(cls, settings: Settings) -> Hub:
        policy = load_policy(settings.policy_path)  # roles and purpose rules, read once
        audit_config = settings.audit_config
        if settings.production and audit_config.hmac_key is None:
            raise ConfigError(f"{settings.path}: [audit].hmac_key_env: production mode needs "
                              "a keyed audit chain (an environment variable with the key)")
        schemas = build_schemas(policy, production=settings.production)
        connectors = build_connectors(settings.sources)
        secret = settings.cursor_secret
        if not secret:
            log.warning("no cursor secret configured: cursors will not survive a restart")
            secret = secrets.token_hex(32)
        return cls(settings, policy, schemas, Sources(connectors), CursorCodec(secret.encode()),
                   audit_config, sql_compiler=settings.sql_compiler)

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
        audit = AuditStore(self.store, secret=self.audit_config.hmac_key,
                           previous=self.audit_config.previous_keys,
                           timeout=self.audit_config.timeout_seconds)
        await audit.ensure_schema()
        self.recorder = AuditRecorder(audit, self.audit_config)
        journal = ChangeJournal(self.store)
        await journal.ensure_schema()
        self.changes = ChangeFeed(journal, ChangeFollower(
            journal, self.policy, self.sources, audit,
            max_listed_ids=self.audit_config.max_listed_ids))
        self.housekeeping = Housekeeping(audit, self.recorder.refusals, self.audit_config)
        self.housekeeping.start()
        services = Services(store=self.store)
        for connector in self.connectors.values():
            await connector.attach(services)
            await connector.open()

    async def close(self) -> None:
        if self.housekeeping is not None:
            await self.housekeeping.stop()  # the last refusal counts and head checkpoint
            self.housekeeping = None
        for connector in self.connectors.values():
            await connector.close()
        self.changes = None
        if self.store is not None:
            await self.store.dispose()
            self.store = None
