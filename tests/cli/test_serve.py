"""`huitong serve --workers N`: several real worker processes behind one port, and the
refusal of more than one on an embedded SQLite hub store in production."""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from click.testing import CliRunner

from huitong.cli import main
from huitong.demo.config import SECRET_ENV, write_demo_config

SECRET = secrets.token_urlsafe(48)


def _config(tmp_path: Path, mode: str) -> Path:
    urls = {name: f"sqlite+aiosqlite:///{tmp_path / f'{name}.db'}"
            for name in ("finance", "civil_affairs", "inspection")}
    return write_demo_config(tmp_path, urls, f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}",
                             mode=mode)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_production_refuses_workers_on_a_sqlite_store(tmp_path: Path) -> None:
    config = _config(tmp_path, "production")
    result = CliRunner(env={SECRET_ENV: SECRET, "HUITONG_AUDIT_KEY": SECRET}).invoke(
        main, ["serve", "--config", str(config), "--workers", "2"])
    assert result.exit_code != 0
    assert "PostgreSQL hub store" in result.output and "store_url" in result.output


def test_two_workers_serve_the_same_port(tmp_path: Path) -> None:
    config = _config(tmp_path, "development")
    port = _free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [sys.executable, "-c", "from huitong.cli import main; main()", "serve",
             "--config", str(config), "--port", str(port), "--workers", "2"],
            env={**os.environ, SECRET_ENV: SECRET}, cwd=tmp_path, stdout=out,
            stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 180  # two interpreters starting on a busy machine
        while time.monotonic() < deadline and \
                log.read_text().count("Application startup complete") < 2:
            time.sleep(0.3)
        assert log.read_text().count("Application startup complete") == 2, log.read_text()
        for _ in range(6):
            reply = httpx.post(f"http://127.0.0.1:{port}/graphql",
                               json={"query": "{ __typename }"}, timeout=10)
            assert reply.json() == {"data": {"__typename": "Query"}}
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
