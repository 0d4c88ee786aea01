"""`huitong token`: mint an HS256 development token from the configured secret."""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path

import click

from auth.identity.config import AuthConfig
from auth.identity.tokens import mint_token
from auth.model.regions import BadRegionCode, check_region_code

DEFAULT_CONFIG = Path("huitong.toml")
MAX_TTL_SECONDS = 30 * 24 * 3600
_TTL = re.compile(r"([0-9]+)\s*([smhd]?)")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_ttl(text: str) -> int:
    """Seconds from `3600`, `90s`, `30m`, `12h` or `7d`; ValueError otherwise."""
    match = _TTL.fullmatch(text.strip().lower())
    if match is None:
        raise ValueError(f"{text!r} is not a duration; use e.g. 3600, 30m, 12h or 7d")
    seconds = int(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if not 0 < seconds <= MAX_TTL_SECONDS:
        raise ValueError(f"{text!r} must be more than 0 and at most 30 days")
    return seconds


def load_auth_config(config_path: Path | None) -> AuthConfig:
    """`[auth]` of the given huitong.toml, or of ./huitong.toml if present, else the defaults.

    Stand-in until huitong.settings exists; then this should call the settings loader.
    """
    path = config_path if config_path is not None else DEFAULT_CONFIG
    table: object = {}
    base_dir: Path | None = None
    if config_path is not None or path.is_file():
        try:
            with path.open("rb") as handle:
                document = tomllib.load(handle)
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise click.ClickException(f"{path}: {exc}") from None
        table = document.get("auth", {})
        base_dir = path.parent
    if not isinstance(table, dict):
        raise click.ClickException(f"{path}: [auth]: expected a table")
    try:
        return AuthConfig.from_table(table, str(path), os.environ, base_dir=base_dir)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None


@click.command()
@click.option("--role", required=True, help="Role name from the policy, e.g. civil_affairs.")
@click.option(
    "--region", "region_code", required=True, metavar="CODE",
    help="12-digit region code of the jurisdiction, e.g. 330108001000.",
)
@click.option("--ttl", default="1h", show_default=True, help="Lifetime: 3600, 90s, 30m, 12h, 7d.")
@click.option("--agency", help="Agency the caller acts for.")
@click.option("--subject", help="Token subject (default: dev-<role>).")
@click.option("--purpose", help="Purpose recorded in the audit trail.")
@click.option(
    "--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
    help="huitong.toml to read [auth] from (default: ./huitong.toml if it exists).",
)
def token(
    role: str,
    region_code: str,
    ttl: str,
    agency: str | None,
    subject: str | None,
    purpose: str | None,
    config_path: Path | None,
) -> None:
    """Mint a development bearer token (HS256) and print only the token."""
    try:
        ttl_seconds = parse_ttl(ttl)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--ttl") from None
    try:
        check_region_code(region_code)
    except BadRegionCode as exc:
        raise click.BadParameter(str(exc), param_hint="--region") from None
    if not role.strip():
        raise click.BadParameter("must not be empty", param_hint="--role")
    config = load_auth_config(config_path)
    if config.hs256_secret is None:
        raise click.ClickException(
            f"no HS256 secret: set the environment variable {config.hs256_secret_env} "
            "to at least 32 random bytes (named by [auth].hs256_secret_env)"
        )
    try:
        minted = mint_token(
            config.hs256_secret,
            subject=subject or f"dev-{role}",
            role=role,
            region_code=region_code,
            agency=agency,
            purpose=purpose,
            ttl_seconds=ttl_seconds,
            issuer=config.issuer,
            audience=config.audience,
        )
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(minted)
