"""HTTP hygiene (issue 16, point 6), through the front door.

Security headers on every answer (nosniff, no-store, a CSP with frame-ancestors 'none', the
inline blocks of GraphiQL allowed by hash only); the hub served by uvicorn the way `huitong
serve` runs it sends no `Server` header and gives up on bodies that do not arrive (HTTP 408,
a stable code, the connection closed) while other callers are served; a bearer token may live
at most `[auth].max_token_lifetime_seconds`, and `huitong token` mints within it.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
import hashlib
import json
import re
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
import uvicorn
from click.testing import CliRunner

from auth.identity.tokens import mint_token
from huitong.app import create_app
from huitong.cli import main
from huitong.commands.serve import server_config
from huitong.demo.config import POLICY_PATH
from tests.hub_harness import SECRET, DemoHub

JSON = {"Content-Type": "application/json"}


def assert_common(response: httpx.Response) -> None:
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


async def test_graphql_answers_are_not_sniffed_framed_or_stored(demo_hub: DemoHub) -> None:
    for response in (
        await demo_hub.post("{ regions(first: 1) { nodes { code } } }"),
        await demo_hub.post("{ payments(first: 1) { nodes { payeeName } } }",
                            role="discipline_inspector"),
        await demo_hub.client.post("/graphql", content=b"{", headers=JSON),  # a 400
        await demo_hub.client.get("/readyz"),
        await demo_hub.client.get("/healthz"),
    ):
        assert_common(response)
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["content-security-policy"].startswith("default-src 'none'")


async def test_graphiql_has_a_strict_policy_with_its_inline_blocks_by_hash(
        demo_hub: DemoHub) -> None:
    response = await demo_hub.client.get("/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert_common(response)
    assert response.headers["cache-control"] == "no-store"
    policy = response.headers["content-security-policy"]
    assert "'unsafe-inline'" not in policy and "'unsafe-eval'" not in policy
    directives = {d.strip().split(" ")[0]: d.strip().split(" ")[1:] for d in policy.split(";")}
    assert directives["default-src"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"]
    blocks = re.findall(r"<(script|style)(\s[^>]*)?>(.*?)</\1>", response.text, re.DOTALL)
    inline = [(tag, body) for tag, attributes, body in blocks if "src=" not in attributes]
    assert inline, "GraphiQL's page has inline blocks to allow"
    for tag, body in inline:
        digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in directives[f"{tag}-src"], tag


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextlib.asynccontextmanager
async def served(demo_hub: DemoHub, tmp_path: Path, **changes: Any) -> AsyncIterator[str]:
    """The demo hub's configuration (its own hub store) under uvicorn, as `huitong serve`."""
    settings = dataclasses.replace(
        demo_hub.settings, store_url=f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}", **changes)
    port = free_port()
    server = uvicorn.Server(server_config(create_app(settings), "127.0.0.1", port,
                                          log_level="warning"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def half_sent(port: int) -> bytes:
    """A POST whose body stops halfway; what the server answers before closing."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"POST /graphql HTTP/1.1\r\nHost: hub\r\nContent-Type: application/json\r\n"
                 b"Content-Length: 200\r\n\r\n{\"query\": \"{ __typ")
    await writer.drain()
    try:
        return await asyncio.wait_for(reader.read(), timeout=30)
    finally:
        writer.close()


async def test_no_server_header_and_slow_bodies_are_given_up(
        demo_hub: DemoHub, tmp_path: Path) -> None:
    async with served(demo_hub, tmp_path, body_timeout_seconds=1.0) as url:
        port = int(url.rsplit(":", 1)[1])
        async with httpx.AsyncClient(base_url=url) as client:
            response = await client.post("/graphql", json={"query": "{ __typename }"})
            assert response.status_code == 200
            assert "server" not in response.headers
            started = time.perf_counter()
            slow = [asyncio.create_task(half_sent(port)) for _ in range(60)]
            await asyncio.sleep(0.2)
            # Others are served while the slow bodies are pending.
            quick = await client.post("/graphql", json={"query": "{ __typename }"})
            assert quick.status_code == 200 and time.perf_counter() - started < 1.0
            answers = await asyncio.gather(*slow)
            elapsed = time.perf_counter() - started
    assert elapsed < 10, elapsed  # each given up after 1 s, not held for as long as it likes
    for answer in answers:
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 408"), answer[:200]
        assert b"server:" not in head.lower()
        assert b'"code":"REQUEST_TIMEOUT"' in body


def token_with(claims: dict[str, Any]) -> str:
    now = int(time.time())
    base = {"iss": "huitong", "aud": "huitong", "sub": "t", "role": "discipline_inspector",
            "region": "330108000000", "nbf": now}
    return jwt.encode({**base, **claims}, SECRET, algorithm="HS256")


@pytest.mark.parametrize("claims, accepted", [
    ({"iat": 0, "exp": 10 * 365 * 86400}, False),   # relative: replaced below
    ({"iat": 0, "exp": 23 * 3600}, True),
    ({"exp": 3 * 86400}, False),                      # no iat: exp − now counts
    ({"exp": 3600}, True),
])
async def test_bearer_tokens_live_at_most_a_day(demo_hub: DemoHub, claims: dict[str, Any],
                                                accepted: bool) -> None:
    now = int(time.time())
    token = token_with({name: now + value for name, value in claims.items()})
    response = await demo_hub.client.post("/graphql", json={"query": "{ __typename }"},
                                          headers={"Authorization": f"Bearer {token}"})
    if accepted:
        assert response.status_code == 200, response.text
        return
    assert response.status_code == 401
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "TOKEN_LIFETIME_TOO_LONG"


def test_the_token_command_mints_within_the_lifetime(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HUITONG_CONFIG", raising=False)
    policy = f"[hub]\npolicy = {json.dumps(str(POLICY_PATH))}\n"
    (tmp_path / "huitong.toml").write_text(policy)
    env = {"HUITONG_JWT_SECRET": SECRET}
    runner = CliRunner(env=env)
    refused = runner.invoke(main, ["token", "--role", "public", "--region", "330108000000",
                                   "--ttl", "7d"])
    assert refused.exit_code == 2 and "max_token_lifetime_seconds" in refused.output
    minted = runner.invoke(main, ["token", "--role", "public", "--region", "330108000000",
                                  "--ttl", "24h"])
    assert minted.exit_code == 0, minted.output
    claims = jwt.decode(minted.stdout.strip(), SECRET, algorithms=["HS256"], audience="huitong")
    assert claims["exp"] - claims["iat"] == 86400
    (tmp_path / "huitong.toml").write_text(policy + "[auth]\nmax_token_lifetime_seconds = 7200\n")
    assert runner.invoke(main, ["token", "--role", "public", "--region", "330108000000",
                                "--ttl", "3h"]).exit_code == 2
    assert mint_token(SECRET, subject="s", role="public", region_code="330108000000")
