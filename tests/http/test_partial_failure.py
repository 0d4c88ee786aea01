"""Partial failure through the front door, with real sources going down and coming back.

The hub is the demo's: disclosures from the civil-affairs JSON service (rest), subsidies from
the CSV export (file), payments and the rest from the department databases (sql). When one
source is down or too slow, the other departments' data is still served; the failing fields
are null with a GraphQL error carrying a stable code and the source's name, never a driver
message; `/readyz` says which source is down; and once the source is back the same query
succeeds again, without restarting the hub.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from huitong.app import create_app
from huitong.demo import disclosure_api
from huitong.demo.config import SECRET_ENV, SOURCES, mixed_sources, write_demo_config
from huitong.demo.exports import export_subsidies
from huitong.demo.json_api import ApiThread
from huitong.settings import load_settings
from tests.conftest import POSTGRES_URL, PostgresDatabases, fresh_database_url, require_postgres
from tests.hub_harness import SECRET, DemoHub, make_demo_sources

DI = "discipline_inspector"
QUERY = """{
  disclosures(first: 3, orderBy: [{period: ASC}]) { totalCount nodes { id title status } }
  subsidies(first: 3) { totalCount nodes { id amount recipient { name } } }
  payments(first: 3) { totalCount nodes { id amount payeeName } }
}"""
# Words of the drivers and transports that must never reach a caller.
DRIVER_WORDS = ("asyncpg", "sqlalchemy", "httpx", "ConnectError", "Errno", "refused",
                "127.0.0.1", "postgres", "OperationalError", "DBAPIError", "TimeoutError",
                "ReadTimeout", "/gkxx", "cw_zfmx")
@dataclass
class MixedHub:
    hub: DemoHub
    api: ApiThread
    urls: dict[str, str]

    async def answer(self) -> dict[str, Any]:
        return await self.hub.query(QUERY, role=DI)

    async def ready(self) -> httpx.Response:
        # As an operator: the detail of /readyz is for roles granted `readiness`.
        return await self.hub.client.get(
            "/readyz", headers={"Authorization": f"Bearer {self.hub.token(DI)}"})


@contextlib.asynccontextmanager
async def mixed_hub(directory: Path, urls: dict[str, str], store: str, backend: str,
                    sql_timeout: float = 10) -> AsyncIterator[MixedHub]:
    """The demo's three-kind hub; the REST source gives up fast and retries soon."""
    await export_subsidies(urls["finance"], directory / "exports")
    api = disclosure_api.start(await disclosure_api.load_disclosures(urls["civil_affairs"]))
    sources = mixed_sources(api.url, directory / "exports")
    sources[disclosure_api.SOURCE].update(
        timeout_seconds=1, deadline_seconds=3, retries=0, breaker_failures=2,
        breaker_cooldown_seconds=0.2)
    config = write_demo_config(directory, urls, store, extra_sources=sources,
                               source_options={n: {"timeout_seconds": sql_timeout}
                                               for n in SOURCES})
    app = create_app(load_settings(config, environ={SECRET_ENV: SECRET}))
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as c:
                yield MixedHub(DemoHub(c, app, app.state.hub.settings, backend, urls), api, urls)
    finally:
        api.stop()


async def _sources(backend: str, directory: Path, pg: PostgresDatabases) -> dict[str, str]:
    urls = {name: await fresh_database_url(backend, directory, pg, name) for name in SOURCES}
    await make_demo_sources(urls)
    return urls


def failed(answer: dict[str, Any], field: str, code: str | None, source: str) -> str:
    """`field` is null with exactly one error, naming `source` with a stable code (`code`,
    if given) and nothing of the driver; returns the code."""
    assert answer["data"] is not None, answer
    assert answer["data"][field] is None, answer["data"]
    errors = answer["errors"]
    assert [e["path"] for e in errors] == [[field]], errors
    extensions = errors[0]["extensions"]
    assert extensions == {"code": extensions["code"], "source": source}, errors
    assert extensions["code"].startswith("SOURCE_"), errors
    assert code is None or extensions["code"] == code, errors
    for word in DRIVER_WORDS:
        assert word.lower() not in errors[0]["message"].lower(), errors
    return str(extensions["code"])


async def degraded(hub: MixedHub, source: str, code: str | None) -> str:
    """/readyz: 503, only `source` down, with its code (`code`, if given); returns it."""
    response = await hub.ready()
    assert response.status_code == 503, response.text
    body = response.json()
    assert body["status"] == "degraded"
    assert {name for name, s in body["sources"].items() if not s["ok"]} == {source}, body
    reported = str(body["sources"][source]["code"]).split(":")[0]
    assert code is None or reported == code, body
    return reported


async def recovered(hub: MixedHub, healthy: dict[str, Any]) -> None:
    """The same query answers as before the outage (within a few seconds, no restart)."""
    for _ in range(50):
        answer = await hub.answer()
        if answer == healthy:
            break
        await asyncio.sleep(0.1)
    assert answer == healthy
    assert (await hub.ready()).status_code == 200


@contextlib.contextmanager
def black_hole(port: int) -> Iterator[None]:
    """A listener that completes TCP handshakes and never answers: a hung service."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(64)
    try:
        yield
    finally:
        sock.close()


async def test_rest_source_down_and_back(backend: str, tmp_path: Path,
                                         pg_databases: PostgresDatabases) -> None:
    urls = await _sources(backend, tmp_path, pg_databases)
    store = await fresh_database_url(backend, tmp_path, pg_databases, "hub")
    async with mixed_hub(tmp_path, urls, store, backend) as hub:
        healthy = await hub.answer()
        assert "errors" not in healthy and all(healthy["data"][f]["nodes"] for f in
                                               ("disclosures", "subsidies", "payments"))
        hub.api.stop()
        down = await hub.answer()
        failed(down, "disclosures", "SOURCE_UNAVAILABLE", disclosure_api.SOURCE)
        assert down["data"]["subsidies"] == healthy["data"]["subsidies"]
        assert down["data"]["payments"] == healthy["data"]["payments"]
        await degraded(hub, disclosure_api.SOURCE, "SOURCE_UNAVAILABLE")

        hub.api.start()  # the same port again
        await recovered(hub, healthy)


async def test_rest_source_hangs_and_comes_back(tmp_path: Path,
                                                pg_databases: PostgresDatabases) -> None:
    urls = await _sources("sqlite", tmp_path, pg_databases)
    store = await fresh_database_url("sqlite", tmp_path, pg_databases, "hub")
    async with mixed_hub(tmp_path, urls, store, "sqlite") as hub:
        healthy = await hub.answer()
        hub.api.stop()
        with black_hole(hub.api.port):
            slow = await hub.answer()
            failed(slow, "disclosures", "SOURCE_TIMEOUT", disclosure_api.SOURCE)
            assert slow["data"]["payments"] == healthy["data"]["payments"]
            await degraded(hub, disclosure_api.SOURCE, "SOURCE_TIMEOUT")
        hub.api.start()
        await recovered(hub, healthy)


async def _admin(sql: str, database: str | None = None) -> None:
    url = POSTGRES_URL.replace("postgresql+asyncpg://", "postgresql://", 1)
    if database:
        url = url.rsplit("/", 1)[0] + "/" + database
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def test_postgresql_source_unreachable_and_back(tmp_path: Path,
                                                      pg_databases: PostgresDatabases) -> None:
    require_postgres()
    urls = await _sources("postgresql", tmp_path, pg_databases)
    store = await fresh_database_url("postgresql", tmp_path, pg_databases, "hub")
    finance = urls["finance"].rsplit("/", 1)[1]
    async with mixed_hub(tmp_path, urls, store, "postgresql") as hub:
        healthy = await hub.answer()
        assert "errors" not in healthy, healthy
        try:
            await _admin(f'ALTER DATABASE "{finance}" ALLOW_CONNECTIONS false')
            await _admin("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                         f"WHERE datname = '{finance}' AND pid <> pg_backend_pid()")
            down = await hub.answer()
            codes = {failed(down, "payments", None, "finance")}
            assert down["data"]["disclosures"] == healthy["data"]["disclosures"]
            assert down["data"]["subsidies"] == healthy["data"]["subsidies"]
            codes.add(await degraded(hub, "finance", None))
        finally:
            await _admin(f'ALTER DATABASE "{finance}" ALLOW_CONNECTIONS true')
        await recovered(hub, healthy)
    assert codes == {"SOURCE_UNAVAILABLE"}, f"an unreachable database answered {sorted(codes)}"


async def test_postgresql_source_times_out_while_a_table_is_locked(
        tmp_path: Path, pg_databases: PostgresDatabases) -> None:
    require_postgres()
    urls = await _sources("postgresql", tmp_path, pg_databases)
    store = await fresh_database_url("postgresql", tmp_path, pg_databases, "hub")
    finance = urls["finance"].rsplit("/", 1)[1]
    base = POSTGRES_URL.replace("postgresql+asyncpg://", "postgresql://", 1).rsplit("/", 1)[0]
    async with mixed_hub(tmp_path, urls, store, "postgresql", sql_timeout=1) as hub:
        healthy = await hub.answer()
        locker = await asyncpg.connect(f"{base}/{finance}")
        try:
            transaction = locker.transaction()
            await transaction.start()
            await locker.execute("LOCK TABLE cw_zfmx IN ACCESS EXCLUSIVE MODE")
            slow = await hub.answer()
            failed(slow, "payments", "SOURCE_TIMEOUT", "finance")
            assert slow["data"]["disclosures"] == healthy["data"]["disclosures"]
            await transaction.rollback()
        finally:
            await locker.close()
        await recovered(hub, healthy)
