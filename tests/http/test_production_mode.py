"""Production mode: no GraphiQL, no introspection for the public, a keyed audit chain."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from huitong.app import create_app
from huitong.demo.config import SECRET_ENV, write_demo_config
from huitong.settings import ConfigError, load_settings
from tests.conftest import PostgresDatabases, fresh_database_url
from tests.hub_harness import SECRET, DemoHub, make_demo_sources

INTROSPECTION = "{ __schema { queryType { name } } }"
ENV = {SECRET_ENV: SECRET, "HUITONG_AUDIT_KEY": "a" * 32}


def _production_config(directory: Path, urls: dict[str, str], store: str,
                       audit_key: bool = True) -> Path:
    path = write_demo_config(directory, urls, store, mode="production")
    if audit_key:
        path.write_text(path.read_text(encoding="utf-8")
                        + '\n[audit]\nhmac_key_env = "HUITONG_AUDIT_KEY"\n', encoding="utf-8")
    return path


async def test_production_hub(tmp_path: Path, pg_databases: PostgresDatabases) -> None:
    urls = {name: await fresh_database_url("sqlite", tmp_path, pg_databases, name)
            for name in ("finance", "civil_affairs", "inspection")}
    await make_demo_sources(urls)
    store = await fresh_database_url("sqlite", tmp_path, pg_databases, "hub")

    with pytest.raises(ConfigError, match=r"\[audit\]\.hmac_key_env: production mode needs"):
        create_app(load_settings(_production_config(tmp_path / "a", urls, store, False), ENV))

    app = create_app(load_settings(_production_config(tmp_path / "b", urls, store), ENV))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as client:
            hub = DemoHub(client, app, app.state.hub.settings, "sqlite", urls)
            public = await hub.query(INTROSPECTION)
            assert public["data"] is None
            assert "introspection" in public["errors"][0]["message"].lower()
            inspector = await hub.data(INTROSPECTION, role="discipline_inspector")
            assert inspector["__schema"]["queryType"]["name"] == "Query"
            assert (await hub.data("{ disclosures(first: 1) { totalCount } }"))[
                "disclosures"]["totalCount"] > 0
            sdl = await client.get("/graphql/schema.graphql")
            assert sdl.status_code == 403 and "type Query" not in sdl.text
            assert sdl.json()["errors"][0]["extensions"]["code"] == "INTROSPECTION_DISABLED"
            sdl = await client.get("/graphql/schema.graphql", headers={
                "Authorization": f"Bearer {hub.token('discipline_inspector')}"})
            assert sdl.status_code == 200 and "type InspectionCase implements Node" in sdl.text
            page = await client.get("/graphql", headers={"Accept": "text/html"})
            assert page.status_code == 404
            assert "graphiql" not in page.text.lower()
