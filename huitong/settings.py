"""Read and check `huitong.toml`: the hub store, the sources, the policy file and auth.

Secrets never live in the file: it names environment variables (`*_env` keys). A file that
does not fit stops start-up with a `ConfigError` naming the file, the key and what was expected.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auth.audit import AuditConfig
from auth.identity.config import AuthConfig

MODES = ("development", "production")
DEFAULT_STORE = "sqlite+aiosqlite:///huitong-data/hub.db"


class ConfigError(ValueError):
    """`huitong.toml` does not fit; the message names file, key and expectation."""


@dataclass(frozen=True)
class SourceSettings:
    name: str
    kind: str
    options: Mapping[str, Any]
    base_dir: Path
    where: str

    def resolve_path(self, value: str) -> Path:
        path = Path(value)
        return path if path.is_absolute() else self.base_dir / path


@dataclass(frozen=True)
class Settings:
    path: Path
    store_url: str
    policy_path: Path
    mode: str
    max_body_bytes: int
    cursor_secret: str | None
    auth: AuthConfig
    sources: Mapping[str, SourceSettings]
    audit: Mapping[str, Any] = field(default_factory=dict)
    audit_config: AuditConfig = field(default_factory=AuditConfig)
    # Answer query selections over sql sources with one statement each (else the loaders).
    sql_compiler: bool = True
    # How long a client may take to send a request body (HTTP 408 after that).
    body_timeout_seconds: float = 10.0

    @property
    def production(self) -> bool:
        return self.mode == "production"


@dataclass(frozen=True)
class IdentitySettings:
    """What the identity commands (`token`, `apikey`) need: `[auth]`, the policy file (its
    roles) and the hub store; the sources are neither read nor required to be set."""

    path: Path
    auth: AuthConfig
    policy_path: Path
    store_url: str


def load_settings(path: Path, environ: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if environ is None else environ
    return parse_settings(_read(path), path, env)


def load_identity_settings(path: Path, environ: Mapping[str, str] | None = None
                           ) -> IdentitySettings:
    env = os.environ if environ is None else environ
    raw, where = _read(path), str(path)
    try:
        auth = AuthConfig.from_table(_table(raw, "auth", where), where, env, base_dir=path.parent)
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
    hub = _table(raw, "hub", where)
    store_url = _secretish(hub, "store_url", where, "hub", env) or DEFAULT_STORE
    return IdentitySettings(path, auth, _policy_path(hub, where, path.parent), store_url)


def _read(path: Path) -> Mapping[str, Any]:
    where = str(path)
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, IsADirectoryError) as exc:
        raise ConfigError(f"{where}: configuration file not found") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{where}: expected a UTF-8 text file") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where}: not valid TOML ({exc})") from exc


def _policy_path(hub: Mapping[str, Any], where: str, base: Path) -> Path:
    policy = hub.get("policy")
    if not isinstance(policy, str) or not policy:
        raise ConfigError(f"{where}: [hub].policy: expected the path of the policy file")
    return Path(policy) if Path(policy).is_absolute() else base / policy


def parse_settings(raw: Mapping[str, Any], path: Path, env: Mapping[str, str]) -> Settings:
    where = str(path)
    base = path.parent
    for key in raw:
        if key not in ("hub", "auth", "audit", "sources"):
            raise ConfigError(
                f"{where}: [{key}]: unknown table; expected hub, auth, audit, sources"
            )
    hub = _table(raw, "hub", where)
    _only(hub, where, "[hub].", {"store_url", "store_url_env", "policy", "mode", "max_body_bytes",
                               "cursor_secret_env", "sql_compiler", "body_timeout_seconds"})
    store_url = _secretish(hub, "store_url", where, "hub", env) or DEFAULT_STORE
    policy_path = _policy_path(hub, where, base)
    mode = hub.get("mode", "development")
    if mode not in MODES:
        raise ConfigError(f"{where}: [hub].mode: expected one of {', '.join(MODES)}, got {mode!r}")
    max_body = hub.get("max_body_bytes", 1_048_576)
    if not isinstance(max_body, int) or isinstance(max_body, bool) or max_body < 1024:
        raise ConfigError(f"{where}: [hub].max_body_bytes: expected an integer ≥ 1024")
    sql_compiler = hub.get("sql_compiler", True)
    if not isinstance(sql_compiler, bool):
        raise ConfigError(f"{where}: [hub].sql_compiler: expected true or false")
    body_timeout = hub.get("body_timeout_seconds", 10)
    if not isinstance(body_timeout, int | float) or isinstance(body_timeout, bool) or not (
            0 < body_timeout <= 600):
        raise ConfigError(f"{where}: [hub].body_timeout_seconds: expected a number of seconds "
                          "from 0 (exclusive) to 600")
    cursor_env = hub.get("cursor_secret_env", "HUITONG_CURSOR_SECRET")
    if not isinstance(cursor_env, str):
        raise ConfigError(f"{where}: [hub].cursor_secret_env: expected an environment variable")
    try:
        auth = AuthConfig.from_table(_table(raw, "auth", where), where, env, base_dir=base)
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
    sources_raw = _table(raw, "sources", where)
    if not sources_raw:
        raise ConfigError(f"{where}: [sources]: expected at least one [sources.<name>] table")
    sources = {}
    for name, spec in sources_raw.items():
        at = f"[sources.{name}]"
        if not isinstance(spec, Mapping):
            raise ConfigError(f"{where}: {at}: expected a table")
        kind = spec.get("kind")
        if not isinstance(kind, str):
            raise ConfigError(f"{where}: {at}.kind: expected one of sql, rest, file")
        options = dict(spec)
        for key in [k for k in spec if k.endswith("_env")]:
            value = _secretish(spec, key.removesuffix("_env"), where, f"sources.{name}", env)
            options[key.removesuffix("_env")] = value
        sources[name] = SourceSettings(name, kind, options, base, f"{where}: {at}")
    return Settings(
        path=path,
        store_url=store_url,
        policy_path=policy_path,
        mode=mode,
        max_body_bytes=max_body,
        body_timeout_seconds=float(body_timeout),
        cursor_secret=env.get(cursor_env) or auth.hs256_secret,
        auth=auth,
        sources=sources,
        audit=_table(raw, "audit", where),
        audit_config=_audit_config(_table(raw, "audit", where), where, env, base),
        sql_compiler=sql_compiler,
    )


def _audit_config(
    table: Mapping[str, Any], where: str, env: Mapping[str, str], base: Path
) -> AuditConfig:
    try:
        return AuditConfig.from_table(table, where, env, base_dir=base)
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc


def _table(raw: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any]:
    value = raw.get(key, {})
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where}: [{key}]: expected a table")
    return value


def _secretish(
    table: Mapping[str, Any], key: str, where: str, section: str, env: Mapping[str, str]
) -> str | None:
    """`key` given inline, or `key_env` naming the environment variable that holds it."""
    env_name = table.get(f"{key}_env")
    if env_name is not None:
        if not isinstance(env_name, str) or not env_name:
            raise ConfigError(f"{where}: [{section}].{key}_env: expected a variable name")
        value = env.get(env_name)
        if not value:
            raise ConfigError(
                f"{where}: [{section}].{key}_env: environment variable {env_name} is not set"
            )
        return value
    value = table.get(key)
    if value is not None and not isinstance(value, str):
        raise ConfigError(f"{where}: [{section}].{key}: expected a string")
    return value


def _only(table: Mapping[str, Any], where: str, prefix: str, allowed: set[str]) -> None:
    for key in table:
        if key not in allowed:
            raise ConfigError(
                f"{where}: {prefix}{key}: unknown key; expected one of {', '.join(sorted(allowed))}"
            )
