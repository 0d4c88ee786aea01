"""`huitong apikey`: create, list and revoke API keys for system-to-system clients."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.table import Table
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.ext.asyncio import create_async_engine

from auth.identity.apikeys import ApiKeyRecord, ApiKeyStore
from auth.model.regions import BadRegionCode, check_region_code

from ..settings import DEFAULT_STORE, ConfigError, IdentitySettings, load_identity_settings
from .config_lookup import config_option
from .token import check_role

_ASYNC_DRIVERS = (
    ("postgresql://", "postgresql+asyncpg://"),
    ("postgres://", "postgresql+asyncpg://"),
    ("sqlite://", "sqlite+aiosqlite://"),
)
_KEY_ID = re.compile(r"(?:ht_)?([0-9a-f]{16})(?:_.*)?", re.DOTALL)

T = TypeVar("T")


def _settings(config: Path | None) -> IdentitySettings | None:
    if config is None:
        return None
    try:
        return load_identity_settings(config)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


def store_url(option: str | None, settings: IdentitySettings | None) -> str:
    """--store, else the configuration's hub store, else the default."""
    url = option or (settings.store_url if settings is not None else None)
    url = (url or DEFAULT_STORE).strip()
    for plain, with_driver in _ASYNC_DRIVERS:
        if url.startswith(plain):
            url = with_driver + url[len(plain):]
    return url


def _run(url: str, action: Callable[[ApiKeyStore], Awaitable[T]]) -> T:
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise click.ClickException("the hub store URL is not a database URL") from None
    database = parsed.database
    if parsed.get_backend_name() == "sqlite" and database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)

    async def main() -> T:
        engine = create_async_engine(parsed)
        try:
            store = ApiKeyStore(engine)
            await store.ensure_schema()
            return await action(store)
        finally:
            await engine.dispose()

    try:
        return asyncio.run(main())
    except (SQLAlchemyError, OSError) as exc:
        where = parsed.render_as_string(hide_password=True)
        raise click.ClickException(f"hub store {where}: {type(exc).__name__}: {exc}") from None


def _store_options(command: Callable[..., Any]) -> Callable[..., Any]:
    command = config_option(required=False, name="config_path")(command)
    return click.option(
        "--store", "store", metavar="URL",
        help=f"Hub store database URL (default: the configuration's [hub] store, else "
        f"{DEFAULT_STORE}).",
    )(command)


@click.group()
def apikey() -> None:
    """Create, list and revoke API keys (Authorization: ApiKey <key>)."""


@apikey.command()
@click.option("--name", required=True, help="Who uses the key, e.g. civil-affairs-sync.")
@click.option("--role", required=True, help="A role of the configured policy.")
@click.option("--region", "region_code", required=True, metavar="CODE",
              help="12-digit region code of the key's jurisdiction.")
@click.option("--agency", help="Agency the client acts for.")
@_store_options
def create(
    name: str,
    role: str,
    region_code: str,
    agency: str | None,
    store: str | None,
    config_path: Path | None,
) -> None:
    """Create a key and print it once; only its hash is stored."""
    try:
        check_region_code(region_code)
    except BadRegionCode as exc:
        raise click.BadParameter(str(exc), param_hint="--region") from None
    settings = _settings(config_path)
    if settings is not None:
        check_role(settings, role)
    else:
        click.echo("No configuration, so the role is not checked against a policy.", err=True)
    url = store_url(store, settings)

    async def action(keys: ApiKeyStore) -> tuple[ApiKeyRecord, str]:
        return await keys.create(name, role, region_code, agency)

    try:
        record, plaintext = _run(url, action)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(plaintext)
    click.echo(
        f"Created API key {record.id} ({record.name}, role {record.role}, "
        f"region {record.region_code}). Store it now: it cannot be shown again.",
        err=True,
    )


def _when(value: datetime | None) -> str:
    return "-" if value is None else value.strftime("%Y-%m-%d %H:%M UTC")


@apikey.command(name="list")
@_store_options
def list_keys(store: str | None, config_path: Path | None) -> None:
    """List keys (never their secrets), revoked ones included."""

    async def action(keys: ApiKeyStore) -> list[ApiKeyRecord]:
        return await keys.list()

    records = _run(store_url(store, _settings(config_path)), action)
    console = Console()
    if not console.is_terminal:
        # Piped or captured output has no width to fit; don't squeeze ids into 80 columns.
        console = Console(width=200)
    if not records:
        console.print("No API keys.")
        return
    table = Table("ID", "Name", "Role", "Region", "Agency", "Created", "Last used", "Status")
    for column in table.columns[:4]:
        column.no_wrap = True
    for record in records:
        table.add_row(
            record.id,
            record.name,
            record.role,
            record.region_code,
            record.agency or "-",
            _when(record.created_at),
            _when(record.last_used_at),
            f"revoked {_when(record.revoked_at)}" if record.revoked else "active",
        )
    console.print(table)


@apikey.command()
@click.argument("key_id")
@_store_options
def revoke(key_id: str, store: str | None, config_path: Path | None) -> None:
    """Revoke a key by its id (or by the key itself, or its shown prefix)."""
    match = _KEY_ID.fullmatch(key_id.strip())
    if match is None:
        raise click.BadParameter("expected a 16-character key id", param_hint="KEY_ID")
    found_id = match.group(1)

    async def action(keys: ApiKeyStore) -> bool:
        return await keys.revoke(found_id)

    if not _run(store_url(store, _settings(config_path)), action):
        raise click.ClickException(f"no active API key with id {found_id}")
    click.echo(f"Revoked API key {found_id}.")
