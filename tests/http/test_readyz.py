"""`GET /readyz` through the front door: each source's kind, status and latency; 503 with the
failing sources' stable codes when any is down, while `/healthz` and the healthy sources'
GraphQL data stay up."""

from __future__ import annotations

import contextlib
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


@contextlib.asynccontextmanager
async def hub_client(directory: Path, urls: dict[str, str], api_url: str,
                     exports: Path) -> AsyncIterator[httpx.AsyncClient]:
    extra = mixed_sources(api_url, exports)
    extra["civil_affairs_api"].update(retries=0, timeout_seconds=1)
    config = write_demo_config(directory, urls, f"sqlite+aiosqlite:///{directory / 'hub.db'}",
                               extra_sources=extra)
    app = create_app(load_settings(config, environ={SECRET_ENV: SECRET}))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as client:
            yield client


async def test_ready_when_every_source_answers(demo_hub: Any) -> None:
    response = await demo_hub.client.get("/readyz")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ready"
    assert set(body["sources"]) == {"finance", "civil_affairs", "inspection"}
    for status in body["sources"].values():
        assert status["kind"] == "sql" and status["ok"] is True and "code" not in status
        assert isinstance(status["latencyMs"], int | float) and status["latencyMs"] >= 0


async def test_ready_over_all_three_kinds(tmp_path: Path, sources: dict[str, Any]) -> None:
    from huitong.demo import disclosure_api

    rows = await disclosure_api.load_disclosures(sources["urls"]["civil_affairs"])
    api = disclosure_api.start(rows)
    try:
        async with hub_client(tmp_path, sources["urls"], api.url, sources["exports"]) as client:
            response = await client.get("/readyz")
    finally:
        api.stop()
    assert response.status_code == 200, response.text
    body = response.json()
    assert {name: s["kind"] for name, s in body["sources"].items()} == KINDS
    assert all(s["ok"] for s in body["sources"].values()), body


async def test_degraded_names_each_failing_source_and_the_rest_still_serve(
        tmp_path: Path, sources: dict[str, Any]) -> None:
    urls = dict(sources["urls"])
    urls["inspection"] = f"sqlite+aiosqlite:///{tmp_path / 'no-such-folder' / 'jw.db'}"
    urls["civil_affairs"] = urls["finance"]  # answers, but has none of the mapped tables
    api_url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    async with hub_client(tmp_path, urls, api_url, sources["exports"]) as client:
        response = await client.get("/readyz")
        assert response.status_code == 503, response.text
        body = response.json()
        assert body["status"] == "degraded"
        codes = {name: str(s.get("code", "")).split(":")[0]
                 for name, s in body["sources"].items() if not s["ok"]}
        assert codes == {"inspection": "SOURCE_UNAVAILABLE",
                         "civil_affairs": "SOURCE_MISCONFIGURED",
                         "civil_affairs_api": "SOURCE_UNAVAILABLE"}, body
        assert {n for n, s in body["sources"].items() if s["ok"]} == {"finance",
                                                                       "subsidy_export"}
        assert (await client.get("/healthz")).status_code == 200
        graphql = await client.post("/graphql", json={
            "query": "{ subsidies(first: 2) { totalCount } disclosures(first: 2) { totalCount }"
                     " spendingSummary(groupBy: [CATEGORY]) { category count } }"})
    answer = graphql.json()
    assert answer["data"]["subsidies"]["totalCount"] > 0
    assert answer["data"]["spendingSummary"]
    assert answer["data"]["disclosures"] is None
    assert [e["extensions"] for e in answer["errors"]] == [
        {"code": "SOURCE_UNAVAILABLE", "source": "civil_affairs_api"}]
