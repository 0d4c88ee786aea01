"""Signed checkpoints of the chain head, outside the store, catch a cut tail and a rewound head
(issue 16, point 4), on SQLite and PostgreSQL hub stores.

The hub (through its front door) writes a checkpoint at shutdown; `huitong audit verify` passes
on the intact store, and fails naming the checkpoint once records are deleted from the end and
the head row rewound to match — which the chain alone cannot see. A forged checkpoint line
(unsigned, or signed with another key) is ignored.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
from click.testing import CliRunner
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import create_async_engine

from auth.audit.tables import HEAD_ID, head_table, records_table
from huitong.app import create_app
from huitong.cli import main
from huitong.demo.config import SECRET_ENV, write_demo_config
from huitong.settings import load_settings
from tests.conftest import PostgresDatabases, fresh_database_url
from tests.hub_harness import SECRET

KEY_ENV, KEY = "T_AUDIT_KEY", "checkpoint-test-audit-key-0123456789"
ENV = {SECRET_ENV: SECRET, KEY_ENV: KEY}


def configure(directory: Path, store_url: str) -> Path:
    urls = {name: f"sqlite+aiosqlite:///{directory / f'{name}.db'}"
            for name in ("finance", "civil_affairs", "inspection")}
    config = write_demo_config(directory, urls, store_url)
    with config.open("a", encoding="utf-8") as handle:
        handle.write(f'\n[audit]\nhmac_key_env = "{KEY_ENV}"\n'
                     'checkpoint_file = "anchor/checkpoints.jsonl"\n'
                     "checkpoint_interval_seconds = 3600\n")
    return config


async def serve_some(config: Path, requests: int) -> None:
    app = create_app(load_settings(config, environ=ENV))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as client:
            for _ in range(requests):
                response = await client.post("/graphql", json={"query": "{ __typename }"})
                assert response.status_code == 200


async def rewind(store_url: str, keep: int) -> None:
    """What an insider with write access does: cut the tail, rewind the head to match."""
    engine = create_async_engine(store_url)
    async with engine.begin() as conn:
        kept = (await conn.execute(select(records_table.c.hash)
                                   .where(records_table.c.seq == keep))).scalar_one()
        await conn.execute(delete(records_table).where(records_table.c.seq > keep))
        await conn.execute(update(head_table).where(head_table.c.id == HEAD_ID)
                           .values(seq=keep, hash=kept))
    await engine.dispose()


def verify(config: Path) -> tuple[int, str]:
    result = CliRunner(env=ENV).invoke(main, ["audit", "verify", "--config", str(config)])
    return result.exit_code, result.output


async def test_a_cut_tail_and_rewound_head_fail_verification(
        backend: str, tmp_path: Path, pg_databases: PostgresDatabases) -> None:
    store_url = await fresh_database_url(backend, tmp_path, pg_databases, "hub")
    config = configure(tmp_path, store_url)
    await serve_some(config, 6)
    anchor = tmp_path / "anchor" / "checkpoints.jsonl"
    lines = [json.loads(line) for line in anchor.read_text().splitlines()]
    assert lines[-1]["seq"] == 6 and lines[-1]["alg"] == "hmac-sha256"
    code, output = await asyncio.to_thread(verify, config)
    assert code == 0, output
    # A forged line claiming an earlier head changes nothing: it does not verify.
    with anchor.open("a") as handle:
        handle.write(json.dumps({**lines[-1], "seq": 3, "signature": "0" * 64}) + "\n")
    await rewind(store_url, 4)
    # The chain itself is consistent again: only the checkpoint tells.
    code, output = await asyncio.to_thread(verify, config)
    assert code == 1, output
    assert "behind the checkpoint of seq 6" in output and "checkpoints.jsonl" in output


async def test_the_chain_key_can_be_rotated(
        backend: str, tmp_path: Path, pg_databases: PostgresDatabases) -> None:
    """Records before a rotation record are keyed with the old key, after it with the new;
    verify follows the rotation with the key ring, and needs the old key to do so."""
    store_url = await fresh_database_url(backend, tmp_path, pg_databases, "hub")
    config = configure(tmp_path, store_url)
    await serve_some(config, 3)
    new_env, new_key = "T_AUDIT_KEY_2", "the-new-audit-chain-key-9876543210"
    env = {**ENV, new_env: new_key}
    runner = CliRunner(env=env)
    result = await asyncio.to_thread(runner.invoke, main, [
        "audit", "rotate-key", "--config", str(config), "--new-key-env", new_env])
    assert result.exit_code == 0, result.output
    assert "Rotation record seq 4" in result.output
    text = config.read_text().replace(f'hmac_key_env = "{KEY_ENV}"',
                                      f'hmac_key_env = "{new_env}"\n'
                                      f'previous_hmac_keys_env = ["{KEY_ENV}"]')
    config.write_text(text)
    app = create_app(load_settings(config, environ=env))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as client:
            for _ in range(3):
                assert (await client.post("/graphql", json={"query": "{ __typename }"})
                        ).status_code == 200
    result = await asyncio.to_thread(runner.invoke, main,
                                     ["audit", "verify", "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert "7 record(s)" in result.output
    # Without the old key in the ring, the records before the rotation cannot be checked.
    config.write_text(text.replace(f'previous_hmac_keys_env = ["{KEY_ENV}"]\n', ""))
    result = await asyncio.to_thread(runner.invoke, main,
                                     ["audit", "verify", "--config", str(config)])
    assert result.exit_code == 1, result.output
