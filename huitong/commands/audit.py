"""`huitong audit`: verify the hash-chained audit trail, export it, and check exports offline.

Exit status: 0 when the chain or export checks out, 1 when it is broken or cannot be checked
(the message names the first broken record and why).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import TypeVar

import click
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from auth.audit import (
    AuditConfig,
    AuditEntry,
    AuditStore,
    AuditUnavailable,
    DocumentInfo,
    export_records,
    generate_signing_key,
    load_key,
    verify_export,
)
from auth.audit.chain import ChainHasher
from auth.audit.checkpoints import CheckKey, checkpoint_hmac_key, last_checkpoint
from auth.audit.config import MIN_KEY_CHARS
from auth.audit.errors import brief
from auth.audit.export import public_path
from auth.audit.verify import VerifyReport
from auth.identity.principal import Principal
from huitong.settings import ConfigError, Settings, load_settings

from .config_lookup import config_option

ROTATION = Principal(subject="huitong audit rotate-key", role="operator", credential="cli")
_ASYNC_DRIVERS = (
    ("postgresql://", "postgresql+asyncpg://"),
    ("postgres://", "postgresql+asyncpg://"),
    ("sqlite://", "sqlite+aiosqlite://"),
)

T = TypeVar("T")

_config_option = config_option(name="config_path")


def _load(config_path: Path) -> tuple[Settings, AuditConfig]:
    try:
        settings = load_settings(config_path)
        audit_config = AuditConfig.from_table(settings.audit, str(config_path), os.environ,
                                              base_dir=config_path.parent)
    except (ConfigError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    return settings, audit_config


def _with_store(config_path: Path, action: Callable[[AuditStore], Awaitable[T]]) -> T:
    from huitong.hub import open_store  # heavy (schema, strawberry): only when needed

    settings, audit_config = _load(config_path)
    url = settings.store_url
    for plain, with_driver in _ASYNC_DRIVERS:
        if url.startswith(plain):
            url = with_driver + url[len(plain):]

    async def main() -> T:
        engine = open_store(url)
        try:
            return await action(AuditStore(engine, secret=audit_config.hmac_key,
                                           previous=audit_config.previous_keys))
        finally:
            await engine.dispose()

    try:
        return asyncio.run(main())
    except AuditUnavailable as exc:
        raise click.ClickException(exc.message) from None
    except Exception as exc:  # the store URL or the database itself
        raise click.ClickException(f"hub store: {brief(exc)}") from None


async def _against_checkpoint(store: AuditStore, config: AuditConfig, head_seq: int
                              ) -> str | None:
    """What is wrong with the store against the last signed checkpoint, or None."""
    if config.checkpoint_file is None:
        return None
    key: CheckKey | None = None
    if config.signing_key is not None and config.signing_key.exists():
        key = load_key(config.signing_key)
    elif config.hmac_key is not None:
        key = checkpoint_hmac_key(config.hmac_key)
    if key is None:
        return None
    checkpoint = last_checkpoint(config.checkpoint_file, key)
    if checkpoint is None:
        return None
    where = f"{checkpoint} in {config.checkpoint_file}"
    if head_seq < checkpoint.seq:
        return (f"the store's head is at seq {head_seq}, behind the {where}: records after "
                f"seq {head_seq} were cut and the head rewound")
    async for record in store.stream(checkpoint.seq, checkpoint.seq):
        if record.hash != checkpoint.hash:
            return f"record {checkpoint.seq} is not the one of the {where}: the chain was rewritten"
        return None
    return f"record {checkpoint.seq} of the {where} is missing from the store"


def _when(text: str, *, end: bool) -> datetime:
    """An ISO date or date-time; naive values are local time; a bare --to date means its end."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(f"{text!r} is not a date or date-time (e.g. 2025-03-01 or "
                                 "2025-03-01T08:00+08:00)") from None
    if end and len(text.strip()) == 10:
        value += timedelta(days=1, microseconds=-1)
    return value.astimezone()


@click.group()
def audit() -> None:
    """Verify and export the tamper-evident audit trail."""


@audit.command()
@_config_option
@click.option("--from-seq", type=click.IntRange(min=1), help="First record to check.")
@click.option("--to-seq", type=click.IntRange(min=1), help="Last record to check.")
def verify(config_path: Path, from_seq: int | None, to_seq: int | None) -> None:
    """Walk the hash chain and report the first broken or missing record."""
    _, audit_config = _load(config_path)

    async def check(store: AuditStore) -> tuple[VerifyReport, str | None]:
        report = await store.verify(from_seq, to_seq)
        return report, await _against_checkpoint(store, audit_config, report.head_seq)

    report, behind = _with_store(config_path, check)
    if behind is not None:
        click.echo(f"Audit chain BROKEN: {behind}.", err=True)
        raise SystemExit(1)
    if report.problem is not None:
        click.echo(f"Audit chain BROKEN at seq {report.problem.seq}: {report.problem.reason}: "
                   f"{report.problem.detail}.", err=True)
        click.echo(f"{report.checked} record(s) before it verified ({report.alg}).", err=True)
        raise SystemExit(1)
    span = f"seq {report.first_seq}–{report.last_seq}" if report.checked else "none in range"
    click.echo(f"Audit chain OK: {report.checked} record(s) ({span}), {report.alg}; head seq "
               f"{report.head_seq} {report.head_hash}.")


@audit.command()
@_config_option
@click.option("--from", "since", required=True, metavar="DATETIME",
              help="Start (ISO 8601; local time unless an offset is given).")
@click.option("--to", "until", required=True, metavar="DATETIME",
              help="End, inclusive (a bare date means the whole day).")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The JSON-lines file to write.")
def export(config_path: Path, since: str, until: str, out: Path) -> None:
    """Export the records of a time window to a signed, offline-verifiable file."""
    start, end = _when(since, end=False), _when(until, end=True)
    if end < start:
        raise click.BadParameter("--to is before --from", param_hint="--to")
    _, audit_config = _load(config_path)
    key: Ed25519PrivateKey | bytes | None = None
    if audit_config.signing_key is not None:
        if not audit_config.signing_key.exists():
            generate_signing_key(audit_config.signing_key)
            click.echo(f"Created signing key {audit_config.signing_key}; give "
                       f"{public_path(audit_config.signing_key)} to whoever checks exports.",
                       err=True)
        try:
            loaded = load_key(audit_config.signing_key)
        except (OSError, ValueError) as exc:
            raise click.ClickException(f"[audit].signing_key: {exc}") from None
        if not isinstance(loaded, Ed25519PrivateKey):
            raise click.ClickException("[audit].signing_key: expected a private key")
        key = loaded
    elif audit_config.export_hmac_key is not None:
        key = audit_config.export_hmac_key
    else:
        click.echo("Warning: no [audit].signing_key or hmac_key_env configured: the export "
                   "carries a digest only, which shows damage but not deliberate edits.",
                   err=True)
    report = _with_store(config_path, lambda store: export_records(
        store, out, since=start, until=end, key=key))
    span = f"seq {report.first_seq}–{report.last_seq}" if report.count else "no records"
    click.echo(f"Exported {report.count} record(s) ({span}) to {out}, stamp {report.alg}.")


@audit.command("verify-export")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--public-key", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Ed25519 public key (PEM) of the exporting hub.")
@click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False,
                                                         path_type=Path),
              help="huitong.toml whose [audit] keys to use (the database is not opened).")
@click.option("--allow-unsigned", is_flag=True, help="Accept a digest-only (unsigned) file.")
def verify_export_command(
    file: Path, public_key: Path | None, config_path: Path | None, allow_unsigned: bool
) -> None:
    """Check an exported file offline: digest, signature and chain links."""
    key_path, hmac_key, chain_key = public_key, None, None
    if config_path is not None:
        _, audit_config = _load(config_path)
        key_path = key_path or audit_config.signing_key
        hmac_key, chain_key = audit_config.export_hmac_key, audit_config.hmac_key
    key = None
    if key_path is not None:
        try:
            key = load_key(key_path)
        except (OSError, ValueError) as exc:
            raise click.ClickException(f"{key_path}: {exc}") from None
    report = verify_export(file, key, hmac_key=hmac_key, chain_key=chain_key)
    if not report.ok:
        click.echo(f"Export BROKEN: {report.problem}.", err=True)
        raise SystemExit(1)
    span = f"seq {report.first_seq}–{report.last_seq}" if report.count else "no records"
    if not report.signed:
        click.echo(f"Export intact but NOT SIGNED ({report.count} record(s), {span}): anyone "
                   "could have rewritten it.", err=True)
        if not allow_unsigned:
            raise SystemExit(1)
        return
    click.echo(f"Export OK: {report.count} record(s) ({span}), {report.alg} key "
               f"{report.key_id}; chain head at export: seq {report.chain_head_seq} "
               f"{report.chain_head_hash}.")


@audit.command("rotate-key")
@_config_option
@click.option("--new-key-env", required=True, metavar="NAME",
              help="Environment variable holding the new chain key (at least 16 characters).")
def rotate_key(config_path: Path, new_key_env: str) -> None:
    """Switch the chain to a new HMAC key, with the hub stopped.

    Appends a rotation record, keyed with the current key ([audit].hmac_key_env), that names
    the new key by its id; records after it are keyed with the new key. Then set
    hmac_key_env to the new variable and add the old one to previous_hmac_keys_env (verify
    needs both), and start the hub again.
    """
    _, audit_config = _load(config_path)
    if audit_config.hmac_key is None:
        raise click.UsageError("[audit].hmac_key_env is not set: there is no key to rotate")
    new = os.environ.get(new_key_env, "")
    if len(new) < MIN_KEY_CHARS:
        raise click.BadParameter(f"environment variable {new_key_env} must hold a key of at "
                                 f"least {MIN_KEY_CHARS} characters", param_hint="--new-key-env")
    if new.encode() == audit_config.hmac_key:
        raise click.BadParameter("the new key is the current key", param_hint="--new-key-env")
    new_id = ChainHasher(new.encode()).key_id

    async def rotate(store: AuditStore) -> int:
        entry = AuditEntry.build(
            ROTATION, document=DocumentInfo.of_text(""), outcome="ok", duration_ms=0,
            extra={"key_rotation": {"from": store.key_id, "to": new_id}})
        return (await store.append(entry)).seq

    seq = _with_store(config_path, rotate)
    click.echo(f"Rotation record seq {seq}: the chain continues with key {new_id}. Now set "
               f"[audit].hmac_key_env = \"{new_key_env}\", add the old variable to "
               "previous_hmac_keys_env, and start the hub.")


@audit.command()
@_config_option
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the private key (default: [audit].signing_key).")
def keygen(config_path: Path, out: Path | None) -> None:
    """Create the Ed25519 key that signs exports (and its .pub for verifiers)."""
    if out is None:
        _, audit_config = _load(config_path)
        out = audit_config.signing_key
        if out is None:
            raise click.UsageError("give --out or set [audit].signing_key in the config")
    if out.exists():
        raise click.ClickException(f"{out} exists; not overwriting a signing key")
    generate_signing_key(out)
    click.echo(f"Created {out} (keep it secret) and {public_path(out)} (give it to verifiers).")
