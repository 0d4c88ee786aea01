"""`huitong audit verify | export | verify-export | keygen` through the real CLI entry point."""

from __future__ import annotations

import asyncio
import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import create_async_engine

from auth.audit import AuditEntry, AuditStore, canonical_json, verify_export
from auth.audit.access_log import AccessLog
from auth.audit.tables import records_table
from auth.identity.principal import Principal
from huitong.audit_recorder import document_info
from huitong.cli import main

KEY = "audit-key-for-cli-tests-0123456789"
ENV = {"T_AUDIT_KEY": KEY}
DAY = datetime(2025, 3, 1, tzinfo=UTC)


@pytest.fixture(autouse=True)
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def config(tmp_path: Path, url: str, audit: str) -> Path:
    path = tmp_path / "huitong.toml"
    path.write_text(f"""
[hub]
store_url = "{url}"
policy = "policy.toml"

[sources.finance]
kind = "sql"
url = "sqlite+aiosqlite:///finance.db"

[audit]
{audit}
""", encoding="utf-8")
    return path


SIGNED = 'hmac_key_env = "T_AUDIT_KEY"\nsigning_key = "keys/audit.pem"'


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner(env=env).invoke(main, list(args), catch_exceptions=False)


def fill(url: str, key: str | None, days: int = 3, per_day: int = 4) -> None:
    async def go() -> None:
        engine = create_async_engine(url)
        store = AuditStore(engine, secret=key.encode() if key else None)
        await store.ensure_schema()
        for day in range(days):
            for n in range(per_day):
                log = AccessLog()
                log.note_rows("Resident", [f"r{day}-{n}"], ["id", "idNumber"], ["idNumber"])
                principal = Principal("li", "civil_affairs", purpose="核对", credential="apikey:k")
                await store.append(AuditEntry.build(
                    principal, document=document_info("{ residents { id idNumber } }"), log=log,
                    outcome="ok", duration_ms=n,
                    at=DAY + timedelta(days=day, hours=2 + n)))
        await engine.dispose()

    asyncio.run(go())


def delete_record(url: str, seq: int) -> None:
    async def go() -> None:
        engine = create_async_engine(url)
        async with engine.begin() as conn:
            await conn.execute(delete(records_table).where(records_table.c.seq == seq))
        await engine.dispose()

    asyncio.run(go())


def test_verify_reports_ok_then_the_first_broken_record(
    tmp_path: Path, database_url: str
) -> None:
    path = config(tmp_path, database_url, SIGNED)
    fill(database_url, KEY, days=1, per_day=5)
    ok = run("audit", "verify", "--config", str(path), env=ENV)
    assert ok.exit_code == 0, ok.output
    assert "Audit chain OK: 5 record(s) (seq 1–5), hmac-sha256" in ok.stdout
    delete_record(database_url, 3)
    bad = run("audit", "verify", "--config", str(path), env=ENV)
    assert bad.exit_code == 1
    assert "BROKEN at seq 3: missing record" in bad.stderr and "2 record(s) before" in bad.stderr
    assert run("audit", "verify", "--config", str(path), "--to-seq", "2", env=ENV).exit_code == 0
    no_key = run("audit", "verify", "--config", str(path), env={})
    assert no_key.exit_code == 1 and "T_AUDIT_KEY is not set" in no_key.stderr


def test_export_signed_and_verified_offline(tmp_path: Path, database_url: str) -> None:
    path = config(tmp_path, database_url, SIGNED)
    fill(database_url, KEY)
    out = tmp_path / "march-2.jsonl"
    result = run("audit", "export", "--config", str(path), "--from", "2025-03-02T00:00+00:00",
                 "--to", "2025-03-02T23:59:59+00:00", "--out", str(out), env=ENV)
    assert result.exit_code == 0, result.output
    assert "Exported 4 record(s) (seq 5–8)" in result.stdout and "ed25519" in result.stdout
    assert "Created signing key" in result.stderr
    public = tmp_path / "keys" / "audit.pem.pub"
    lines = out.read_bytes().splitlines(keepends=True)
    assert len(lines) == 6 and json.loads(lines[-1])["chain_head_seq"] == 12

    # Offline: only the file and the public key, no configuration and no database.
    checked = run("audit", "verify-export", str(out), "--public-key", str(public))
    assert checked.exit_code == 0, checked.output
    assert "Export OK: 4 record(s) (seq 5–8), ed25519" in checked.stdout
    assert "chain head at export: seq 12" in checked.stdout
    with_config = run("audit", "verify-export", str(out), "--config", str(path), env=ENV)
    assert with_config.exit_code == 0, with_config.output

    def broken(data: bytes, expected: str) -> None:
        tampered = tmp_path / "tampered.jsonl"
        tampered.write_bytes(data)
        result = run("audit", "verify-export", str(tampered), "--public-key", str(public))
        assert result.exit_code == 1 and expected in result.stderr, result.output

    edited = lines[2].replace(b"r1-1", b"r1-9")
    broken(b"".join([*lines[:2], edited, *lines[3:]]), "body does not match")
    body = b"".join([*lines[:2], edited, *lines[3:5]])
    stamp = json.loads(lines[-1])
    stamp["body_sha256"] = hashlib.sha256(body).hexdigest()
    broken(body + canonical_json(stamp).encode() + b"\n", "signature does not match")
    broken(b"".join(lines[:-1]), "does not end with a stamp")
    broken(b"".join([lines[0], *lines[2:]]), "does not match")

    other = run("audit", "keygen", "--out", str(tmp_path / "other.pem"))
    assert other.exit_code == 0, other.output
    wrong = run("audit", "verify-export", str(out), "--public-key",
                str(tmp_path / "other.pem.pub"))
    assert wrong.exit_code == 1 and "signature does not match" in wrong.stderr
    again = run("audit", "keygen", "--out", str(tmp_path / "other.pem"))
    assert again.exit_code == 1 and "not overwriting" in again.stderr


def test_hmac_stamped_export(tmp_path: Path, database_url: str) -> None:
    path = config(tmp_path, database_url, 'hmac_key_env = "T_AUDIT_KEY"')
    fill(database_url, KEY, days=2)
    out = tmp_path / "all.jsonl"
    result = run("audit", "export", "--config", str(path), "--from", "2025-03-01",
                 "--to", "2025-03-02", "--out", str(out), env=ENV)
    assert result.exit_code == 0 and "Exported 8 record(s) (seq 1–8)" in result.stdout
    assert "hmac-sha256" in result.stdout
    ok = run("audit", "verify-export", str(out), "--config", str(path), env=ENV)
    assert ok.exit_code == 0 and "Export OK: 8 record(s)" in ok.stdout, ok.output
    keyless = run("audit", "verify-export", str(out))
    assert keyless.exit_code == 1 and "give the key" in keyless.stderr


def test_unsigned_export_needs_allow_unsigned_and_its_chain_is_still_checked(
    tmp_path: Path, database_url: str
) -> None:
    path = config(tmp_path, database_url, "")
    fill(database_url, None, days=1)
    out = tmp_path / "plain.jsonl"
    result = run("audit", "export", "--config", str(path), "--from", "2025-03-01",
                 "--to", "2025-03-01", "--out", str(out))
    assert result.exit_code == 0 and "digest only" in result.stderr
    refused = run("audit", "verify-export", str(out))
    assert refused.exit_code == 1 and "NOT SIGNED" in refused.stderr
    assert run("audit", "verify-export", str(out), "--allow-unsigned").exit_code == 0
    # Someone edits a record and fixes up the digest: the plain chain's hashes still catch it.
    lines = out.read_bytes().splitlines(keepends=True)
    lines[2] = lines[2].replace(b"\\u6838", b"x").replace("核对".encode(), b"audit")
    stamp = json.loads(lines[-1])
    stamp["body_sha256"] = hashlib.sha256(b"".join(lines[:-1])).hexdigest()
    out.write_bytes(b"".join(lines[:-1]) + canonical_json(stamp).encode() + b"\n")
    report = verify_export(out)
    assert not report.ok and report.problem == "seq 2: content edited (it no longer matches its " \
                                               "hash)"


def test_export_of_an_empty_window_and_bad_arguments(tmp_path: Path, database_url: str) -> None:
    path = config(tmp_path, database_url, SIGNED)
    fill(database_url, KEY, days=1)
    out = tmp_path / "none.jsonl"
    empty = run("audit", "export", "--config", str(path), "--from", "2024-01-01",
                "--to", "2024-01-02", "--out", str(out), env=ENV)
    assert empty.exit_code == 0 and "Exported 0 record(s) (no records)" in empty.stdout
    assert run("audit", "verify-export", str(out), "--config", str(path),
               env=ENV).exit_code == 0
    backwards = run("audit", "export", "--config", str(path), "--from", "2025-03-02",
                    "--to", "2025-03-01", "--out", str(out), env=ENV)
    assert backwards.exit_code == 2 and "--to is before --from" in backwards.output
    garbled = run("audit", "export", "--config", str(path), "--from", "yesterday",
                  "--to", "2025-03-01", "--out", str(out), env=ENV)
    assert garbled.exit_code == 2 and "not a date" in garbled.output


def test_unreachable_store_is_a_clear_error(tmp_path: Path) -> None:
    path = config(tmp_path, "postgresql://postgres@127.0.0.1:1/none", "")
    result = run("audit", "verify", "--config", str(path))
    assert result.exit_code == 1 and "cannot be read" in result.stderr, result.output
    missing = run("audit", "verify", "--config", str(tmp_path / "nope.toml"))
    assert missing.exit_code == 1 and "configuration file not found" in missing.stderr
