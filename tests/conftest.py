"""Shared fixtures: fresh databases on SQLite and PostgreSQL for every backend-sensitive test.

PostgreSQL comes from HUITONG_TEST_POSTGRES_URL (default: the local trust-auth server). When it
cannot be reached its cases skip with the reason, except under CI=true, where they fail.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

POSTGRES_URL = os.environ.get(
    "HUITONG_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
BACKENDS = ("sqlite", "postgresql")


def _plain_pg_url(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def _probe_postgres() -> str | None:
    try:
        conn = await asyncpg.connect(_plain_pg_url(POSTGRES_URL), timeout=3)
    except Exception as exc:  # any failure to connect means "unreachable"
        return f"{type(exc).__name__}: {exc}"
    await conn.close()
    return None


_probe_result: list[str | None] = []


def postgres_unreachable_reason() -> str | None:
    if not _probe_result:
        # A thread of its own: this may be called from inside the test event loop.
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            _probe_result.append(pool.submit(asyncio.run, _probe_postgres()).result())
    return _probe_result[0]


def require_postgres() -> None:
    """Skip (or under CI=true, fail) a PostgreSQL case when the server is unreachable."""
    reason = postgres_unreachable_reason()
    if reason is None:
        return
    message = f"PostgreSQL at {POSTGRES_URL} is unreachable ({reason})"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message + "; CI requires it", pytrace=False)
    pytest.skip(message)


class PostgresDatabases:
    """Creates throw-away databases on the test server and drops them afterwards."""

    def __init__(self) -> None:
        self.created: list[str] = []

    async def create(self) -> str:
        name = f"huitong_t_{uuid.uuid4().hex[:12]}"
        conn = await asyncpg.connect(_plain_pg_url(POSTGRES_URL))
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
        self.created.append(name)
        base = _plain_pg_url(POSTGRES_URL).rsplit("/", 1)[0]
        return f"{base.replace('postgresql://', 'postgresql+asyncpg://', 1)}/{name}"

    async def drop_all(self) -> None:
        if not self.created:
            return
        conn = await asyncpg.connect(_plain_pg_url(POSTGRES_URL))
        try:
            for name in self.created:
                await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()
        self.created.clear()


@pytest.fixture(scope="session")
async def pg_databases() -> AsyncIterator[PostgresDatabases]:
    dbs = PostgresDatabases()
    yield dbs
    await dbs.drop_all()


async def fresh_database_url(
    backend: str, tmp_path: Path, pg_databases: PostgresDatabases, label: str = "db"
) -> str:
    """An async SQLAlchemy URL of a new, empty database on `backend`."""
    if backend == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / f'{label}-{uuid.uuid4().hex[:8]}.db'}"
    require_postgres()
    return await pg_databases.create()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> Iterator[str]:
    if request.param == "postgresql":
        require_postgres()
    yield request.param


@pytest.fixture
async def database_url(
    backend: str, tmp_path: Path, pg_databases: PostgresDatabases
) -> str:
    return await fresh_database_url(backend, tmp_path, pg_databases)


@pytest.fixture(scope="session", params=BACKENDS)
async def demo_hub(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    pg_databases: PostgresDatabases,
) -> AsyncIterator[Any]:
    """The hub over freshly generated demo sources, on SQLite or PostgreSQL sources."""
    from tests.hub_harness import make_demo_sources, running_hub

    backend = request.param
    if backend == "postgresql":
        require_postgres()
    directory = tmp_path_factory.mktemp(f"demo-{backend}")
    urls = {name: await fresh_database_url(backend, directory, pg_databases, name)
            for name in ("finance", "civil_affairs", "inspection")}
    store = await fresh_database_url(backend, directory, pg_databases, "hub")
    await make_demo_sources(urls)
    async with running_hub(directory, urls, store, backend) as hub:
        yield hub
