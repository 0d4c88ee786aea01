"""A running hub over generated demo data, reached through its real HTTP front door.

Requests go through the Starlette app (ASGI transport of httpx) with real JWTs, real policy
and real SQL against the generated source databases.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette

from auth.audit.chain import parse_content
from auth.identity.tokens import mint_token
from huitong.app import create_app
from huitong.demo.config import DEMO_PRINCIPALS, SECRET_ENV, write_demo_config
from huitong.demo.generate import DemoUrls, generate
from huitong.settings import Settings, load_settings

SECRET = "huitong-test-secret-" + "k" * 40


@dataclass
class DemoHub:
    client: httpx.AsyncClient
    app: Starlette
    settings: Settings
    backend: str
    source_urls: dict[str, str]
    tokens: dict[tuple[str, str], str] = field(default_factory=dict)
    in_flight: int = 0  # requests under way (the audit chain's last record is theirs alone)

    def token(self, role: str, region: str | None = None, **claims: Any) -> str:
        default_region = DEMO_PRINCIPALS.get(role, ("", "", "330108000000"))[2]
        region = region or default_region
        key = (role, region)
        if claims or key not in self.tokens:
            token = mint_token(SECRET, subject=f"test-{role}", role=role, region_code=region,
                               **claims)
            if claims:
                return token
            self.tokens[key] = token
        return self.tokens[key]

    async def post(
        self, query: str, variables: dict[str, Any] | None = None, *, role: str | None = None,
        region: str | None = None, headers: dict[str, str] | None = None,
        operation_name: str | None = None,
    ) -> httpx.Response:
        all_headers = dict(headers or {})
        if role is not None and role != "public":
            all_headers["Authorization"] = f"Bearer {self.token(role, region)}"
        body: dict[str, Any] = {"query": query}
        if variables is not None:
            body["variables"] = variables
        if operation_name is not None:
            body["operationName"] = operation_name
        self.in_flight += 1
        try:
            return await self.client.post("/graphql", json=body, headers=all_headers)
        finally:
            self.in_flight -= 1

    async def post_on_both_paths(
        self, query: str, variables: dict[str, Any] | None = None, **kwargs: Any
    ) -> httpx.Response:
        """`post`; when the SQL compiler answered it, answered again by the per-request
        loaders: both must give the same bytes and, when no other request ran meanwhile,
        leave the same reads on the audit record."""
        hub = self.app.state.hub
        answered = hub.compiled_answers
        alone = self.in_flight == 0
        compiled = await self.post(query, variables, **kwargs)
        if hub.compiled_answers == answered:
            return compiled  # the loaders answered it: nothing to compare
        alone = alone and self.in_flight == 0
        compiled_reads = await self.last_reads() if alone else None
        hub.sql_compiler = False
        try:
            loaders = await self.post(query, variables, **kwargs)
        finally:
            hub.sql_compiler = True
        assert (compiled.status_code, compiled.content) == \
            (loaders.status_code, loaders.content), (query, variables)
        if alone and self.in_flight == 0:
            assert same_reads(compiled_reads) == same_reads(await self.last_reads()), \
                (query, variables)
        return compiled

    async def last_reads(self) -> Any:
        """The reads on the audit chain's latest record (the last request's, in tests)."""
        store = self.app.state.hub.recorder.store
        seq, _ = await store.head()
        async for raw in store.stream(seq, seq):
            return parse_content(raw.content).entry["reads"]
        return None

    async def query(self, query: str, variables: dict[str, Any] | None = None,
                    **kwargs: Any) -> dict[str, Any]:
        response = await self.post(query, variables, **kwargs)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    async def data(self, query: str, variables: dict[str, Any] | None = None,
                   **kwargs: Any) -> dict[str, Any]:
        """The `data` of a query that must succeed without errors."""
        result = await self.query(query, variables, **kwargs)
        assert "errors" not in result, result["errors"]
        data: dict[str, Any] = result["data"]
        return data


def same_reads(reads: Any) -> Any:
    """What a record says was read, whatever the way it was read: the per-request loaders
    themselves read concurrent root fields in whichever order they finish (so ids are
    compared as sets and the digest, which follows read order, is left out) and batch their
    counts as they happen to meet (so only whether counts were read is compared)."""
    return {entity: {**{k: v for k, v in item.items() if k not in ("digest", "aggregates")},
                     "ids": sorted(item.get("ids", ())), "aggregates": item["aggregates"] > 0}
            for entity, item in (reads or {}).items()}


async def make_demo_sources(urls: dict[str, str], scale: int = 1) -> None:
    await generate(DemoUrls(**urls), scale=scale)


@contextlib.asynccontextmanager
async def running_hub(
    directory: Path, urls: dict[str, str], store_url: str, backend: str,
    extra_sources: dict[str, dict[str, Any]] | None = None,
) -> AsyncIterator[DemoHub]:
    config = write_demo_config(directory, urls, store_url, extra_sources=extra_sources)
    settings = load_settings(config, environ={SECRET_ENV: SECRET})
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as client:
            yield DemoHub(client, app, settings, backend, urls)
