"""Commands find their configuration alike: `--config`, else ./huitong.toml, else
$HUITONG_CONFIG, else the demo's ./huitong-data/huitong.toml; they say which on stderr. After
`huitong demo`, `huitong token` reads the secret the demo keeps and mints only policy roles."""

from __future__ import annotations

import asyncio
import secrets
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from auth.identity.tokens import TokenVerifier
from huitong.cli import main
from huitong.commands.config_lookup import find_config
from huitong.demo.config import SECRET_ENV, write_demo_config
from huitong.settings import load_identity_settings, load_settings

REGION = "330108001000"
URLS = {name: f"sqlite+aiosqlite:///{name}.db" for name in
        ("finance", "civil_affairs", "inspection")}


@pytest.fixture(autouse=True)
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(SECRET_ENV, raising=False)
    monkeypatch.delenv("HUITONG_CONFIG", raising=False)
    return tmp_path


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner(env=env).invoke(main, list(args), catch_exceptions=False)


def demo_folder(base: Path) -> Path:
    """What `huitong demo` leaves in its data folder: its config and its secret file."""
    data = base / "huitong-data"
    data.mkdir(parents=True, exist_ok=True)
    (data / ".jwt-secret").write_text(secrets.token_urlsafe(48), encoding="utf-8")
    return write_demo_config(data, URLS, "sqlite+aiosqlite:///hub.db",
                             secret_file=Path(".jwt-secret"))


def test_lookup_order(tmp_path: Path) -> None:
    with pytest.raises(Exception, match=r"looked for \./huitong\.toml, \$HUITONG_CONFIG"):
        find_config(None, {}, tmp_path)
    demo = demo_folder(tmp_path)
    assert find_config(None, {}, tmp_path) == (Path("huitong-data/huitong.toml"),
                                              "the demo's, written by `huitong demo`")
    named = tmp_path / "elsewhere.toml"
    shutil.copy(demo, named)
    assert find_config(None, {"HUITONG_CONFIG": str(named)}, tmp_path) == (
        named, "$HUITONG_CONFIG")
    (tmp_path / "huitong.toml").write_text("", encoding="utf-8")
    assert find_config(None, {"HUITONG_CONFIG": str(named)}, tmp_path) == (
        Path("huitong.toml"), "./huitong.toml")
    assert find_config(demo, {}, tmp_path) == (demo, "--config")


def test_token_after_the_demo_reads_its_secret_and_refuses_unknown_roles(tmp_path: Path) -> None:
    config = demo_folder(tmp_path)
    result = run("token", "--role", "finance_officer", "--region", REGION)
    assert result.exit_code == 0, result.output
    assert "config: huitong-data/huitong.toml (the demo's" in result.stderr
    token = result.stdout.strip()
    assert result.stdout == token + "\n"
    # The hub reading the same configuration accepts it: the secret is the demo's file.
    auth = load_settings(config, environ={}).auth
    principal = asyncio.run(TokenVerifier(auth).verify(token))
    assert (principal.role, principal.region_code) == ("finance_officer", REGION)
    refused = run("token", "--role", "finance", "--region", REGION)
    assert refused.exit_code == 2 and refused.stdout == ""
    assert "'finance' is not a role of the policy" in refused.stderr
    # The environment still wins over the file.
    other = secrets.token_urlsafe(48)
    assert load_identity_settings(config, {SECRET_ENV: other}).auth.hs256_secret == other


def test_a_missing_or_bad_secret_file_is_named(tmp_path: Path) -> None:
    config = demo_folder(tmp_path)
    secret = tmp_path / "huitong-data" / ".jwt-secret"
    secret.write_text("tiny-secret", encoding="utf-8")
    result = run("token", "--role", "public", "--region", REGION)
    assert result.exit_code == 1 and "[auth].hs256_secret_file" in result.stderr
    assert "32 bytes" in result.stderr and "tiny-secret" not in result.output
    secret.unlink()
    result = run("token", "--role", "public", "--region", REGION, "--config", str(config))
    assert result.exit_code == 1
    assert f"[auth].hs256_secret_file: cannot read {secret}" in result.stderr


@pytest.mark.parametrize("command", [
    ["serve"], ["check"], ["policy", "show", "--role", "public"],
    ["import", "--source", "subsidy_export"], ["audit", "verify"],
])
def test_every_command_looks_for_the_config_the_same_way(command: list[str]) -> None:
    result = run(*command)
    assert result.exit_code == 1, result.output
    assert "no configuration: looked for ./huitong.toml, $HUITONG_CONFIG (not set) and " \
        "./huitong-data/huitong.toml" in result.stderr
    assert "Traceback" not in result.output
