"""A hub over demo data with canaries planted, whose every response is checked for leaks.

`LeakHub.post` is the only way the leak tests talk to the hub: each response's raw bytes
(body and headers), and every base64 string inside it decoded (cursors, ids), must not
contain a canary token its role may not see. Each test module builds its own hub per backend
(`leak_hub_for`), so the planted rows never disturb other tests.
"""

from __future__ import annotations

import atexit
import base64
import binascii
import contextlib
import json
import os
import re
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from auth.model.catalog import ENTITIES, EntitySpec, FieldSpec, Kind
from tests.conftest import PostgresDatabases, fresh_database_url, require_postgres
from tests.hub_harness import DemoHub, make_demo_sources, running_hub
from tests.leaks.canaries import BOOK, POLICY, CanaryBook, tokens_in_text
from tests.leaks.sources import SourceTruth, plant

SOURCES = ("finance", "civil_affairs", "inspection")
_B64 = re.compile(r"^[A-Za-z0-9_-]{8,}={0,2}$")


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def decoded_payloads(body: Any) -> Iterator[bytes]:
    """Every string of a JSON value that decodes as base64url, decoded."""
    for text in _strings(body):
        if not _B64.match(text):
            continue
        try:
            yield base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        except (binascii.Error, ValueError):
            continue


def ids_in(value: Any) -> list[str]:
    """Every `id` anywhere in a response's data: the rows it carries."""
    if isinstance(value, dict):
        own = [value["id"]] if isinstance(value.get("id"), str) else []
        return own + [i for k, v in value.items() if k != "id" for i in ids_in(v)]
    if isinstance(value, list):
        return [i for v in value for i in ids_in(v)]
    return []


def assert_refused_without_rows(result: dict[str, Any], code: str) -> None:
    """An execution error: only `code`, and no row anywhere in the (partial) data."""
    assert {e["extensions"]["code"] for e in result.get("errors", [])} == {code}, result
    assert ids_in(result.get("data")) == [], result


class LeakHub:
    def __init__(self, hub: DemoHub, book: CanaryBook, truth: SourceTruth) -> None:
        self.hub = hub
        self.book = book
        self.truth = truth
        self.responses_checked = 0

    @property
    def backend(self) -> str:
        return self.hub.backend

    def check(self, role: str, response: httpx.Response, region: str | None = None) -> None:
        """No token forbidden to `role` anywhere in the response, plain or base64-decoded."""
        blob = response.content + b"\n" + "\n".join(
            f"{k}: {v}" for k, v in response.headers.items()).encode()
        try:
            body = response.json()
        except ValueError:
            body = None
        blob += b"\n".join(decoded_payloads(body))
        text = blob.decode("utf-8", "replace")
        leaked = sorted(t for t in set(tokens_in_text(text))
                        if not self.book.may_see(role, t, region))
        self.responses_checked += 1
        assert not leaked, f"LEAK to {role}: {leaked} in {response.text[:2000]}"

    async def post(self, query: str, variables: dict[str, Any] | None = None, *, role: str,
                   region: str | None = None, **kwargs: Any) -> httpx.Response:
        response = await self.hub.post_on_both_paths(query, variables, role=role, region=region,
                                                     **kwargs)
        self.check(role, response, region)
        return response

    async def get(self, query: str, *, role: str) -> httpx.Response:
        headers = {}
        if role != "public":
            headers["Authorization"] = f"Bearer {self.hub.token(role)}"
        response = await self.hub.client.get("/graphql", params={"query": query},
                                             headers=headers)
        self.check(role, response)
        return response

    async def query(self, query: str, variables: dict[str, Any] | None = None, *, role: str,
                    **kwargs: Any) -> dict[str, Any]:
        response = await self.post(query, variables, role=role, **kwargs)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    async def data(self, query: str, variables: dict[str, Any] | None = None, *, role: str,
                   **kwargs: Any) -> dict[str, Any]:
        result = await self.query(query, variables, role=role, **kwargs)
        assert "errors" not in result, result["errors"]
        data: dict[str, Any] = result["data"]
        return data

    async def refused(self, query: str, variables: dict[str, Any] | None = None, *, role: str,
                      code: str | tuple[str, ...] = "GRAPHQL_VALIDATION_FAILED",
                      ) -> list[dict[str, Any]]:
        """A query that must fail as a whole, with `code` and no hint of hidden names."""
        codes = {code} if isinstance(code, str) else set(code)
        result = await self.query(query, variables, role=role)
        assert result.get("data") is None, result
        errors: list[dict[str, Any]] = result["errors"]
        assert {e["extensions"]["code"] for e in errors} <= codes, errors
        for error in errors:
            assert "Did you mean" not in error["message"], error
        return errors


# Sources are read-only for the suite: each backend's canary sources are built once per
# session and shared by the leak modules; each module runs its own hub over them.
_SOURCES: dict[tuple[str, int], tuple[dict[str, str], SourceTruth]] = {}


async def _canary_sources(
    backend: str, tmp_path_factory: pytest.TempPathFactory, pg_databases: PostgresDatabases
) -> tuple[dict[str, str], SourceTruth]:
    key = (backend, id(pg_databases))
    if key not in _SOURCES:
        directory: Path = tmp_path_factory.mktemp(f"leaks-{backend}")
        urls = {name: await fresh_database_url(backend, directory, pg_databases, name)
                for name in SOURCES}
        await make_demo_sources(urls)
        await plant(urls, BOOK)
        _SOURCES[key] = (urls, await SourceTruth.load(urls))
    return _SOURCES[key]


def _store_url(directory: Path, backend: str) -> str:
    """The hub's own store (API keys, audit): every request writes an audit record to it, so
    keep it in SQLite on tmpfs where there is one, so that a few thousand requests do not
    wait for a few thousand disk flushes. The sources, not the store, are what varies by
    backend here."""
    shm = Path("/dev/shm")
    base = shm if shm.is_dir() and os.access(shm, os.W_OK) else directory
    path = base / f"huitong-leaks-{backend}-{uuid.uuid4().hex[:8]}.db"
    atexit.register(_remove, path)
    return f"sqlite+aiosqlite:///{path}"


def _remove(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


@contextlib.asynccontextmanager
async def leak_hub_for(
    backend: str, tmp_path_factory: pytest.TempPathFactory, pg_databases: PostgresDatabases
) -> AsyncIterator[LeakHub]:
    """Demo sources on `backend` with canaries planted, and a hub serving them."""
    if backend == "postgresql":
        require_postgres()
    urls, truth = await _canary_sources(backend, tmp_path_factory, pg_databases)
    directory = tmp_path_factory.mktemp(f"leak-hub-{backend}")
    store = _store_url(directory, backend)  # each module's own audit trail
    try:
        async with running_hub(directory, urls, store, backend) as hub:
            yield LeakHub(hub, BOOK, truth)
    finally:
        await truth.close()


# -- what a role may ask for ------------------------------------------------------------------
def readable_entities(role: str) -> list[EntitySpec]:
    return [e for e in ENTITIES.values() if e.exposed and POLICY.roles[role].readable(e.name)]


def visible_scalars(role: str, entity: str) -> list[str]:
    grant = POLICY.roles[role].grant(entity)
    assert grant is not None
    return [f.name for f in ENTITIES[entity].fields.values() if f.output and f.name in grant.fields]


def selection(role: str, entity: str) -> str:
    return " ".join(visible_scalars(role, entity))


def lookup_field(entity: str) -> str:
    return entity[0].lower() + entity[1:]


def global_id(entity: str, raw_id: object) -> str:
    """The hub's global id form, computed here: base64url("Entity:raw") without padding."""
    return base64.urlsafe_b64encode(f"{entity}:{raw_id}".encode()).decode().rstrip("=")


def role_entity_pairs() -> list[tuple[str, str]]:
    return [(r, e.name) for r in sorted(POLICY.roles) for e in readable_entities(r)]


def canonical_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def inputs_of(spec: FieldSpec) -> list[tuple[str, str]]:
    """The filter input names a field gives, and their comparison (the DESIGN contract:
    `amountMin`/`amountMax`, `paidFrom`/`paidTo`, region subtrees, equality otherwise)."""
    if spec.kind is Kind.MONEY:
        return [(f"{spec.name}Min", "gte"), (f"{spec.name}Max", "lte")]
    if spec.kind in (Kind.DATE, Kind.DATETIME):
        stem = spec.name[:-2] if spec.name.endswith(("At", "On")) else spec.name
        return [(f"{stem}From", "gte"), (f"{stem}To", "lte")]
    if spec.kind is Kind.REGION_CODE:
        return [(spec.name, "within")]
    return [(spec.name, "eq")]
