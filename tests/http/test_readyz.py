"""`GET /readyz` through the front door: 503 when any source cannot answer what queries use
(a locked table included), while `/healthz` and the healthy sources' GraphQL data stay up.
Anyone gets the status only; a role granted `readiness` gets each source's kind, status,
latency and stable code, never the failure's text, which is logged with the source's name."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from huitong.app import create_app
from huitong.demo.config import SECRET_ENV, mixed_sources, write_demo_config
from huitong.demo.exports import export_subsidies
from huitong.settings import load_settings
from tests.connectors.rest.fake_api import free_port
from tests.hub_harness import SECRET, make_demo_sources

KINDS = {"finance": "sql", "civil_affairs": "sql", "inspection": "sql",
         "civil_affairs_api": "rest", "subsidy_export": "file"}


@pytest.fixture(scope="module")
async def sources(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    directory = tmp_path_factory.mktemp("readyz")
    urls = {name: f"sqlite+aiosqlite:///{directory / f'{name}.db'}"
            for name in ("finance", "civil_affairs", "inspection")}
    await make_demo_sources(urls)
    await export_subsidies(urls["finance"], directory / "exports")
    return {"urls": urls, "exports": directory / "exports"}


OPERATOR = "discipline_inspector"  # the demo role granted `readiness`


def operator(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@contextlib.asynccontextmanager
async def hub_client(directory: Path, urls: dict[str, str], api_url: str | None,
                     exports: Path | None,
                     timeout: float | None = None) -> AsyncIterator[httpx.AsyncClient]:
    extra = mixed_sources(api_url, exports) if api_url is not None and exports else {}
    if extra:
        extra["civil_affairs_api"].update(retries=0, timeout_seconds=1)
    options = {name: {"timeout_seconds": timeout} for name in urls} if timeout else None
    config = write_demo_config(directory, urls, f"sqlite+aiosqlite:///{directory / 'hub.db'}",
                               extra_sources=extra, source_options=options)
    app = create_app(load_settings(config, environ={SECRET_ENV: SECRET}))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as client:
            yield client


async def test_ready_when_every_source_answers(demo_hub: Any) -> None:
    response = await demo_hub.client.get("/readyz")
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "ready"}  # nothing about the sources for anyone
    response = await demo_hub.client.get("/readyz", headers=operator(demo_hub.token(OPERATOR)))
    body = response.json()
    assert body["status"] == "ready"
    assert set(body["sources"]) == {"finance", "civil_affairs", "inspection"}
    for status in body["sources"].values():
        assert status["kind"] == "sql" and status["ok"] is True and "code" not in status
        assert isinstance(status["latencyMs"], int | float) and status["latencyMs"] >= 0


async def test_only_a_role_granted_readiness_gets_the_detail(demo_hub: Any) -> None:
    for role in ("civil_affairs", "finance_officer"):
        response = await demo_hub.client.get("/readyz", headers=operator(demo_hub.token(role)))
        assert response.json() == {"status": "ready"}, role
    response = await demo_hub.client.get("/readyz", headers=operator("not-a-token"))
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_ready_over_all_three_kinds(tmp_path: Path, sources: dict[str, Any]) -> None:
    from huitong.demo import disclosure_api

    rows = await disclosure_api.load_disclosures(sources["urls"]["civil_affairs"])
    api = disclosure_api.start(rows)
    try:
        async with hub_client(tmp_path, sources["urls"], api.url, sources["exports"]) as client:
            response = await client.get("/readyz", headers=operator(inspector_token()))
    finally:
        api.stop()
    assert response.status_code == 200, response.text
    body = response.json()
    assert {name: s["kind"] for name, s in body["sources"].items()} == KINDS
    assert all(s["ok"] for s in body["sources"].values()), body


def inspector_token() -> str:
    from auth.identity.tokens import mint_token

    return mint_token(SECRET, subject="ops", role=OPERATOR, region_code="330108000000")


async def test_degraded_names_each_failing_source_and_the_rest_still_serve(
        tmp_path: Path, sources: dict[str, Any], caplog: pytest.LogCaptureFixture) -> None:
    urls = dict(sources["urls"])
    urls["inspection"] = f"sqlite+aiosqlite:///{tmp_path / 'no-such-folder' / 'jw.db'}"
    urls["civil_affairs"] = urls["finance"]  # answers, but has none of the mapped tables
    api_url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    async with hub_client(tmp_path, urls, api_url, sources["exports"]) as client:
        anonymous = await client.get("/readyz")
        assert anonymous.status_code == 503
        assert anonymous.json() == {"status": "degraded"}
        with caplog.at_level(logging.WARNING):
            response = await client.get("/readyz", headers=operator(inspector_token()))
        assert response.status_code == 503, response.text
        body = response.json()
        assert body["status"] == "degraded"
        codes = {name: s["code"] for name, s in body["sources"].items() if not s["ok"]}
        assert codes == {"inspection": "SOURCE_UNAVAILABLE",
                         "civil_affairs": "SOURCE_MISCONFIGURED",
                         "civil_affairs_api": "SOURCE_UNAVAILABLE"}, body
        assert {n for n, s in body["sources"].items() if s["ok"]} == {"finance",
                                                                       "subsidy_export"}
        logged = " ".join(r.getMessage() for r in caplog.records)
        for name, code in codes.items():
            assert f"source {name} " in logged and code in logged
        assert (await client.get("/healthz")).status_code == 200
        with caplog.at_level(logging.WARNING, logger="huitong.sources"):
            graphql = await client.post("/graphql", json={
                "query": "{ subsidies(first: 2) { totalCount } disclosures(first: 2) "
                         "{ totalCount } spendingSummary(groupBy: [CATEGORY]) "
                         "{ category count } }"})
    answer = graphql.json()
    assert answer["data"]["subsidies"]["totalCount"] > 0
    assert answer["data"]["spendingSummary"]
    assert answer["data"]["disclosures"] is None
    assert [e["extensions"] for e in answer["errors"]] == [
        {"code": "SOURCE_UNAVAILABLE", "source": "civil_affairs_api"}]
    # The failure is logged with the source and its code (the detail stays in the log).
    assert any(r.name == "huitong.sources" and "civil_affairs_api" in r.getMessage()
               and "SOURCE_UNAVAILABLE" in r.getMessage() for r in caplog.records)


async def test_a_locked_table_makes_the_hub_not_ready(
        tmp_path: Path, sources: dict[str, Any]) -> None:
    """`SELECT 1` touches no table: with the finance database locked it still answered, while
    every finance query failed. Each mapped table is read (one row), within the timeout."""
    path = sources["urls"]["finance"].removeprefix("sqlite+aiosqlite:///")
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=10)
    # The demo's databases are in WAL mode, where only an exclusive locking mode keeps readers
    # out (as a maintenance job or a backup tool holding the file does).
    holder.execute("PRAGMA locking_mode=EXCLUSIVE")
    holder.execute("BEGIN EXCLUSIVE")
    holder.execute("SELECT count(*) FROM cw_zfmx").fetchall()
    async with hub_client(tmp_path, sources["urls"], None, None, timeout=1) as client:
        try:
            started = time.perf_counter()
            response = await client.get("/readyz", headers=operator(inspector_token()))
            elapsed = time.perf_counter() - started
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert response.status_code == 503, response.text
        finance = response.json()["sources"]["finance"]
        assert finance["ok"] is False and finance["code"] in ("SOURCE_TIMEOUT",
                                                              "SOURCE_UNAVAILABLE")
        assert elapsed < 8, elapsed
        await asyncio.sleep(5)  # the blocked read gives up (SQLite's own busy timeout)
        assert (await client.get("/readyz")).status_code == 200  # and ready once released
