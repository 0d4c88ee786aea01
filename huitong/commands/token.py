"""`huitong token`: mint an HS256 development token from the configured secret.

The secret is the one the hub checks tokens with: `[auth].hs256_secret_env`, else the file
named by `[auth].hs256_secret_file` (where `huitong demo` keeps its own). Only roles of the
configured policy are minted.
"""

from __future__ import annotations

import re
from pathlib import Path

import click

from auth.access.policy import PolicyError, load_policy
from auth.identity.tokens import mint_token
from auth.model.regions import BadRegionCode, check_region_code

from ..settings import ConfigError, IdentitySettings, load_identity_settings
from .config_lookup import config_option

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


def check_role(settings: IdentitySettings, role: str) -> None:
    """Refuse a role the configured policy does not have (the hub would refuse it anyway)."""
    try:
        roles = list(load_policy(settings.policy_path).roles)
    except PolicyError as exc:
        raise click.ClickException(str(exc)) from None
    if role not in roles:
        raise click.BadParameter(f"{role!r} is not a role of the policy "
                                 f"{settings.policy_path}; roles: {', '.join(roles)}",
                                 param_hint="--role")


@click.command()
@click.option("--role", required=True,
              help="A role of the configured policy, e.g. civil_affairs.")
@click.option(
    "--region", "region_code", required=True, metavar="CODE",
    help="12-digit region code of the jurisdiction, e.g. 330108001000.",
)
@click.option("--ttl", default="1h", show_default=True, help="Lifetime: 3600, 90s, 30m, 12h, 7d.")
@click.option("--agency", help="Agency the caller acts for.")
@click.option("--subject", help="Token subject (default: dev-<role>).")
@click.option("--purpose", help="Purpose recorded in the audit trail.")
@config_option
def token(
    role: str,
    region_code: str,
    ttl: str,
    agency: str | None,
    subject: str | None,
    purpose: str | None,
    config: Path,
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
    try:
        settings = load_identity_settings(config)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    check_role(settings, role)
    auth = settings.auth
    if ttl_seconds > auth.max_token_lifetime_seconds:
        raise click.BadParameter(
            f"{ttl!r} is longer than the hub accepts ([auth].max_token_lifetime_seconds = "
            f"{auth.max_token_lifetime_seconds})", param_hint="--ttl")
    if auth.hs256_secret is None:
        raise click.ClickException(
            f"{config}: no HS256 secret: set the environment variable {auth.hs256_secret_env} "
            "to at least 32 random bytes (named by [auth].hs256_secret_env), or name a file "
            "holding it with [auth].hs256_secret_file"
        )
    try:
        minted = mint_token(
            auth.hs256_secret,
            subject=subject or f"dev-{role}",
            role=role,
            region_code=region_code,
            agency=agency,
            purpose=purpose,
            ttl_seconds=ttl_seconds,
            issuer=auth.issuer,
            audience=auth.audience,
        )
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(minted)
