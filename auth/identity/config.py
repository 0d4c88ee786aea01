"""Authentication settings: the HS256 development secret, the JWKS source and the claims checked.

Built by the settings loader from `huitong.toml`'s `[auth]` table with `AuthConfig.from_table`;
the secret itself never sits in the file, only the name of the environment variable holding it
and, failing that, of a file beside it that holds it (as `huitong demo` keeps its own).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

DEFAULT_SECRET_ENV: Final = "HUITONG_JWT_SECRET"
# RFC 7518 §3.2: an HS256 key must be at least as long as the hash output (256 bits).
MIN_SECRET_BYTES: Final = 32
ASYMMETRIC_ALGORITHMS: Final = ("RS256", "ES256")

_KEYS: Final = (
    "hs256_secret_env",
    "hs256_secret_file",
    "jwks",
    "issuer",
    "audience",
    "leeway_seconds",
    "jwks_cache_seconds",
    "max_token_lifetime_seconds",
)
# A bearer token is a password that cannot be revoked: one living longer is refused.
DEFAULT_MAX_TOKEN_LIFETIME: Final = 24 * 3600


def check_secret(secret: str, *, source: str = "the HS256 secret") -> str:
    """The secret unchanged, or ValueError if it is too short to be a safe HS256 key."""
    if len(secret.encode("utf-8")) < MIN_SECRET_BYTES:
        raise ValueError(
            f"{source} is shorter than {MIN_SECRET_BYTES} bytes; "
            "generate one with: python -c 'import secrets; print(secrets.token_urlsafe(48))'"
        )
    return secret


def is_jwks_url(jwks: str) -> bool:
    return jwks.startswith(("https://", "http://"))


@dataclass(frozen=True)
class AuthConfig:
    """What bearer tokens this hub accepts. No secret and no JWKS: no bearer tokens at all."""

    hs256_secret: str | None = field(default=None, repr=False)
    # A JWKS file path or an http(s) URL.
    jwks: str | None = None
    issuer: str = "huitong"
    audience: str = "huitong"
    leeway_seconds: int = 30
    jwks_cache_seconds: int = 300
    # exp − iat (exp − now without iat) above this is refused (TOKEN_LIFETIME_TOO_LONG).
    max_token_lifetime_seconds: int = DEFAULT_MAX_TOKEN_LIFETIME
    # Kept only to name the variable in messages ("set HUITONG_JWT_SECRET").
    hs256_secret_env: str = DEFAULT_SECRET_ENV

    def __post_init__(self) -> None:
        if self.hs256_secret is not None:
            check_secret(self.hs256_secret)
        if self.leeway_seconds < 0 or self.jwks_cache_seconds < 0:
            raise ValueError("leeway_seconds and jwks_cache_seconds must not be negative")
        if self.max_token_lifetime_seconds < 1:
            raise ValueError("max_token_lifetime_seconds must be positive")

    @property
    def algorithms(self) -> tuple[str, ...]:
        """The `alg` values a token may carry: never chosen by the token itself."""
        allowed: tuple[str, ...] = ()
        if self.hs256_secret is not None:
            allowed += ("HS256",)
        if self.jwks is not None:
            allowed += ASYMMETRIC_ALGORITHMS
        return allowed

    @classmethod
    def from_table(
        cls,
        table: Mapping[str, Any],
        where: str,
        environ: Mapping[str, str],
        *,
        base_dir: Path | None = None,
    ) -> AuthConfig:
        """Validate an `[auth]` table; `where` names the file in every error message.

        A relative JWKS path is resolved against `base_dir` (the config file's folder) when
        given. The secret variable may be unset: HS256 is then simply not accepted.
        """

        def fail(key: str, expected: str) -> ValueError:
            return ValueError(f"{where}: [auth].{key}: {expected}")

        if not isinstance(table, Mapping):
            raise ValueError(f"{where}: [auth]: expected a table")
        unknown = sorted(set(table) - set(_KEYS))
        if unknown:
            raise fail(unknown[0], f"unknown key; expected one of {', '.join(_KEYS)}")

        def text(key: str, default: str) -> str:
            value = table.get(key, default)
            if not isinstance(value, str) or not value.strip():
                raise fail(key, "expected a non-empty string")
            return value.strip()

        def seconds(key: str, default: int) -> int:
            value = table.get(key, default)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise fail(key, "expected a whole number of seconds, 0 or more")
            return value

        lifetime = seconds("max_token_lifetime_seconds", DEFAULT_MAX_TOKEN_LIFETIME)
        if lifetime < 1:
            raise fail("max_token_lifetime_seconds", "expected a positive number of seconds")
        secret_env = text("hs256_secret_env", DEFAULT_SECRET_ENV)
        secret = environ.get(secret_env) or None
        if secret is not None:
            try:
                check_secret(secret, source=f"the secret in ${secret_env}")
            except ValueError as exc:
                raise fail("hs256_secret_env", str(exc)) from None
        elif "hs256_secret_file" in table:
            # Only when the variable is unset: the environment always wins.
            path = Path(text("hs256_secret_file", "")).expanduser()
            if base_dir is not None and not path.is_absolute():
                path = base_dir / path
            try:
                secret = path.read_text(encoding="utf-8").strip() or None
            except (OSError, UnicodeDecodeError) as exc:
                raise fail("hs256_secret_file", f"cannot read {path} "
                           f"({type(exc).__name__}); or set ${secret_env}") from None
            try:
                check_secret(secret or "", source=f"the secret in {path}")
            except ValueError as exc:
                raise fail("hs256_secret_file", str(exc)) from None

        jwks: str | None = None
        if "jwks" in table:
            jwks = text("jwks", "")
            if not is_jwks_url(jwks):
                path = Path(jwks).expanduser()
                if base_dir is not None and not path.is_absolute():
                    path = base_dir / path
                if not path.is_file():
                    raise fail("jwks", f"expected a JWKS file or an http(s) URL; no file {path}")
                jwks = str(path)

        return cls(
            hs256_secret=secret,
            jwks=jwks,
            issuer=text("issuer", "huitong"),
            audience=text("audience", "huitong"),
            leeway_seconds=seconds("leeway_seconds", 30),
            jwks_cache_seconds=seconds("jwks_cache_seconds", 300),
            max_token_lifetime_seconds=lifetime,
            hs256_secret_env=secret_env,
        )
