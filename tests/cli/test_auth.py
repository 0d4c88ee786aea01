"""`huitong token` and `huitong apikey` through the real CLI entry point."""

from __future__ import annotations

import asyncio
import json
import secrets
from pathlib import Path

import jwt
import pytest
from click.testing import CliRunner, Result
from sqlalchemy.ext.asyncio import create_async_engine

from auth.identity.apikeys import ApiKeyStore
from auth.identity.authenticate import InvalidCredentials
from auth.identity.config import AuthConfig
from auth.identity.principal import Principal
from auth.identity.tokens import TokenVerifier
from huitong.cli import main
from huitong.commands.token import parse_ttl
from huitong.demo.config import POLICY_PATH

SECRET = secrets.token_urlsafe(48)
REGION = "330108001000"


@pytest.fixture(autouse=True)
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    # No stray ./huitong.toml, and the default store lands in the temp folder.
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HUITONG_JWT_SECRET", raising=False)
    return tmp_path


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner(env=env).invoke(main, list(args), catch_exceptions=False)


def write_config(path: Path, text: str = "") -> Path:
    """A huitong.toml with the demo policy (its roles) and `text` appended."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"[hub]\npolicy = {json.dumps(str(POLICY_PATH))}\n{text}", encoding="utf-8")
    return path


def verify(token: str, config: AuthConfig) -> Principal:
    return asyncio.run(TokenVerifier(config).verify(token))


def test_token_from_environment_secret_verifies(tmp_path: Path) -> None:
    write_config(tmp_path / "huitong.toml")
    result = run("token", "--role", "civil_affairs", "--region", REGION, "--ttl", "30m",
                 "--agency", "滨江区民政局", "--purpose", "核对",
                 env={"HUITONG_JWT_SECRET": SECRET})
    assert result.exit_code == 0, result.output
    token = result.stdout.strip()
    assert result.stdout == token + "\n" and SECRET not in result.output
    principal = verify(token, AuthConfig(hs256_secret=SECRET))
    assert principal.role == "civil_affairs" and principal.region_code == REGION
    assert principal.subject == "dev-civil_affairs" and principal.agency == "滨江区民政局"
    assert principal.purpose == "核对"
    payload = jwt.decode(token, SECRET, algorithms=["HS256"], audience="huitong")
    assert payload["exp"] - payload["iat"] == 1800


def test_token_reads_auth_table_of_config(tmp_path: Path) -> None:
    config = tmp_path / "conf" / "hub.toml"
    write_config(config, '[auth]\nhs256_secret_env = "MY_SECRET"\nissuer = "idp"\n'
                 'audience = "hub"\n')
    result = run("token", "--role", "finance_officer", "--region", "330108001001",
                 "--subject", "zhang", "--config", str(config), env={"MY_SECRET": SECRET})
    assert result.exit_code == 0, result.output
    principal = verify(result.stdout.strip(), AuthConfig(SECRET, issuer="idp", audience="hub"))
    assert principal.subject == "zhang" and principal.role == "finance_officer"
    # ./huitong.toml is picked up without --config.
    (tmp_path / "huitong.toml").write_text(config.read_text())
    result = run("token", "--role", "public", "--region", REGION, env={"MY_SECRET": SECRET})
    assert verify(result.stdout.strip(), AuthConfig(SECRET, issuer="idp", audience="hub")).role
    assert "config: huitong.toml (./huitong.toml)" in result.stderr


def test_token_errors_are_clear_and_never_echo_secrets(tmp_path: Path) -> None:
    result = run("token", "--role", "public", "--region", REGION)
    assert result.exit_code == 1 and "no configuration: looked for ./huitong.toml" in \
        result.stderr
    write_config(tmp_path / "huitong.toml")
    result = run("token", "--role", "public", "--region", REGION)
    assert result.exit_code == 1 and "HUITONG_JWT_SECRET" in result.stderr
    result = run("token", "--role", "auditor", "--region", REGION,
                 env={"HUITONG_JWT_SECRET": SECRET})
    assert result.exit_code == 2 and result.stdout == ""
    assert "'auditor' is not a role of the policy" in result.stderr
    assert "roles: discipline_inspector, civil_affairs, finance_officer, public" in \
        result.stderr
    assert result.stdout == ""
    result = run("token", "--role", "public", "--region", REGION,
                 env={"HUITONG_JWT_SECRET": "too-short-value"})
    assert result.exit_code == 1 and "32 bytes" in result.stderr
    assert "too-short-value" not in result.output
    result = run("token", "--role", "r", "--region", "33010800100",
                 env={"HUITONG_JWT_SECRET": SECRET})
    assert result.exit_code == 2 and "--region" in result.stderr
    result = run("token", "--role", "public", "--region", REGION, "--ttl", "forever",
                 env={"HUITONG_JWT_SECRET": SECRET})
    assert result.exit_code == 2 and "--ttl" in result.stderr
    result = run("token", "--role", "public", "--region", REGION, "--agency", "",
                 env={"HUITONG_JWT_SECRET": SECRET})
    assert result.exit_code == 2 and "agency" in result.stderr
    bad = tmp_path / "bad.toml"
    write_config(bad, "[auth]\nissuer = 3\n")
    result = run("token", "--role", "public", "--region", REGION, "--config", str(bad),
                 env={"HUITONG_JWT_SECRET": SECRET})
    assert result.exit_code == 1 and f"{bad}: [auth].issuer" in result.stderr


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("3600", 3600), ("90s", 90), ("30m", 1800), ("12h", 43200), ("7d", 604800)],
)
def test_parse_ttl(text: str, seconds: int) -> None:
    assert parse_ttl(text) == seconds


@pytest.mark.parametrize("text", ["0", "-5m", "1w", "31d", "", "1.5h"])
def test_parse_ttl_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_ttl(text)


def check_key(url: str, plaintext: str) -> Principal:
    async def go() -> Principal:
        engine = create_async_engine(url)
        try:
            return await ApiKeyStore(engine).verify(plaintext)
        finally:
            await engine.dispose()

    return asyncio.run(go())


def test_apikey_create_list_revoke(tmp_path: Path) -> None:
    store = f"sqlite+aiosqlite:///{tmp_path / 'store' / 'hub.db'}"
    result = run("apikey", "create", "--name", "mz-sync", "--role", "civil_affairs",
                 "--region", REGION, "--agency", "民政局", "--store", store)
    assert result.exit_code == 0, result.output
    plaintext = result.stdout.strip()
    assert plaintext.startswith("ht_") and "\n" not in plaintext
    assert "cannot be shown again" in result.stderr
    key_id = plaintext.split("_")[1]
    assert check_key(store, plaintext).credential == f"apikey:{key_id}"

    listed = run("apikey", "list", "--store", store)
    assert listed.exit_code == 0 and key_id in listed.stdout and "mz-sync" in listed.stdout
    assert "active" in listed.stdout and plaintext.split("_", 2)[2] not in listed.stdout

    revoked = run("apikey", "revoke", key_id, "--store", store)
    assert revoked.exit_code == 0 and f"Revoked API key {key_id}" in revoked.stdout
    assert "revoked" in run("apikey", "list", "--store", store).stdout
    again = run("apikey", "revoke", plaintext, "--store", store)
    assert again.exit_code == 1 and "no active API key" in again.stderr
    with pytest.raises(InvalidCredentials, match="revoked"):
        check_key(store, plaintext)


def test_apikey_store_from_config_and_default(tmp_path: Path) -> None:
    config = write_config(tmp_path / "huitong.toml",
                          f'store_url = "sqlite:///{tmp_path / "cfg.db"}"\n')
    result = run("apikey", "create", "--name", "n", "--role", "r", "--region", REGION)
    assert result.exit_code == 2 and "'r' is not a role of the policy" in result.stderr
    result = run("apikey", "create", "--name", "n", "--role", "public", "--region", REGION)
    assert result.exit_code == 0, result.output
    assert check_key(f"sqlite+aiosqlite:///{tmp_path / 'cfg.db'}", result.stdout.strip()).role
    config.unlink()
    assert "No API keys." in run("apikey", "list").stdout
    assert (tmp_path / "huitong-data" / "hub.db").is_file()


def test_apikey_errors() -> None:
    result = run("apikey", "create", "--name", "n", "--role", "r", "--region", "123")
    assert result.exit_code == 2 and "--region" in result.stderr
    result = run("apikey", "create", "--name", " ", "--role", "r", "--region", REGION)
    assert result.exit_code == 2 and "name" in result.stderr
    result = run("apikey", "revoke", "not-an-id")
    assert result.exit_code == 2
    result = run("apikey", "list", "--store", "not a url")
    assert result.exit_code == 1 and "not a database URL" in result.stderr
