"""API keys for system-to-system clients, kept hashed in the hub store.

A key reads `ht_<id>_<secret>`: the id finds the row, the secret is checked against its hash.
The plaintext exists only in the answer to `create`; the store never holds it.
"""

from __future__ import annotations

import builtins
import hashlib
import hmac
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from sqlalchemy import Column, DateTime, MetaData, String, Table, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from auth.identity.authenticate import AuthenticationUnavailable, InvalidCredentials
from auth.identity.principal import Principal
from auth.model.regions import check_region_code

log = logging.getLogger(__name__)

INVALID_KEY: Final = "The API key is not valid or has been revoked."
_KEY: Final = re.compile(r"ht_([0-9a-f]{16})_([A-Za-z0-9_-]{43})")
_SHOWN_SECRET_CHARS: Final = 4
# Writing last_used_at on every request would turn each read into a write.
_LAST_USED_RESOLUTION: Final = timedelta(minutes=1)

metadata = MetaData()

api_keys_table = Table(
    "hub_api_keys",
    metadata,
    Column("id", String(16), primary_key=True),
    # "ht_<id>_" plus the first characters of the secret, so people can tell their keys apart.
    Column("prefix", String(40), nullable=False),
    Column("hash", String(64), nullable=False),
    Column("name", String(200), nullable=False),
    Column("role", String(100), nullable=False),
    Column("region_code", String(12), nullable=False),
    Column("agency", String(200), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
    Column("last_used_at", DateTime(timezone=True), nullable=True),
)


@dataclass(frozen=True, slots=True)
class ApiKeyRecord:
    """One stored key, without its hash."""

    id: str
    prefix: str
    name: str
    role: str
    region_code: str
    agency: str | None
    created_at: datetime
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None


def _digest(key_id: str, secret: str) -> str:
    # The secret is 256 random bits, so a fast hash is as strong as a slow one here: nobody can
    # guess it, and scrypt would only add tens of milliseconds to every request. Binding the id
    # in means a hash copied onto another row does not verify there.
    return hashlib.sha256(f"huitong-apikey:v1:{key_id}:{secret}".encode()).hexdigest()


def _aware(value: datetime | None) -> datetime | None:
    # SQLite hands timestamps back without a zone; they were written in UTC.
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def _record(row: Any) -> ApiKeyRecord:
    created_at = _aware(row.created_at)
    assert created_at is not None
    return ApiKeyRecord(
        id=row.id,
        prefix=row.prefix,
        name=row.name,
        role=row.role,
        region_code=row.region_code,
        agency=row.agency,
        created_at=created_at,
        revoked_at=_aware(row.revoked_at),
        last_used_at=_aware(row.last_used_at),
    )


def _text(name: str, value: str | None, limit: int) -> str:
    if value is None or not value.strip():
        raise ValueError(f"{name} must be a non-empty string")
    value = value.strip()
    if len(value) > limit or not value.isprintable():
        raise ValueError(f"{name} must be printable and at most {limit} characters")
    return value


class ApiKeyStore:
    """Create, list, revoke and verify API keys in the hub store (SQLite or PostgreSQL)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def ensure_schema(self) -> None:
        async with self._engine.begin() as conn:
            await conn.run_sync(metadata.create_all)

    async def create(
        self, name: str, role: str, region_code: str, agency: str | None = None
    ) -> tuple[ApiKeyRecord, str]:
        """A new key: its record and the plaintext, which cannot be recovered later."""
        record_name = _text("name", name, 200)
        record_role = _text("role", role, 100)
        check_region_code(region_code)
        record_agency = None if agency is None else _text("agency", agency, 200)
        key_id = secrets.token_hex(8)
        secret = secrets.token_urlsafe(32)
        plaintext = f"ht_{key_id}_{secret}"
        record = ApiKeyRecord(
            id=key_id,
            prefix=f"ht_{key_id}_{secret[:_SHOWN_SECRET_CHARS]}",
            name=record_name,
            role=record_role,
            region_code=region_code,
            agency=record_agency,
            created_at=datetime.now(UTC),
        )
        async with self._engine.begin() as conn:
            await conn.execute(
                api_keys_table.insert().values(
                    id=record.id,
                    prefix=record.prefix,
                    hash=_digest(key_id, secret),
                    name=record.name,
                    role=record.role,
                    region_code=record.region_code,
                    agency=record.agency,
                    created_at=record.created_at,
                )
            )
        return record, plaintext

    async def list(self) -> builtins.list[ApiKeyRecord]:
        query = select(api_keys_table).order_by(
            api_keys_table.c.created_at, api_keys_table.c.id
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [_record(row) for row in rows]

    async def revoke(self, key_id: str) -> bool:
        """True if an active key was revoked; False if there is no such key or it was already."""
        statement = (
            update(api_keys_table)
            .where(api_keys_table.c.id == key_id, api_keys_table.c.revoked_at.is_(None))
            .values(revoked_at=datetime.now(UTC))
        )
        async with self._engine.begin() as conn:
            result = await conn.execute(statement)
        return result.rowcount > 0

    async def verify(self, plaintext: str) -> Principal:
        match = _KEY.fullmatch(plaintext)
        if match is None:
            raise InvalidCredentials(INVALID_KEY)
        key_id, secret = match.groups()
        query = select(api_keys_table).where(api_keys_table.c.id == key_id)
        try:
            async with self._engine.connect() as conn:
                row = (await conn.execute(query)).first()
        except (SQLAlchemyError, OSError) as exc:
            log.error("could not read API keys from the hub store: %s", type(exc).__name__)
            raise AuthenticationUnavailable(
                "API keys cannot be checked right now; try again later."
            ) from None
        if row is None or not hmac.compare_digest(row.hash, _digest(key_id, secret)):
            raise InvalidCredentials(INVALID_KEY)
        record = _record(row)
        if record.revoked:
            raise InvalidCredentials(INVALID_KEY)
        await self._touch(record)
        return Principal(
            subject=record.name,
            role=record.role,
            agency=record.agency,
            region_code=record.region_code,
            credential=f"apikey:{record.id}",
        )

    async def _touch(self, record: ApiKeyRecord) -> None:
        now = datetime.now(UTC)
        if record.last_used_at is not None and now - record.last_used_at < _LAST_USED_RESOLUTION:
            return
        statement = (
            update(api_keys_table)
            .where(api_keys_table.c.id == record.id)
            .values(last_used_at=now)
        )
        try:
            async with self._engine.begin() as conn:
                await conn.execute(statement)
        except (SQLAlchemyError, OSError) as exc:
            # A usage timestamp is not worth failing an otherwise valid request.
            log.warning("could not record API key use: %s", type(exc).__name__)
