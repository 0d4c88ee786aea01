"""Helpers for the audit tests through the front door: callers with their own subjects, the
record one request leaves, and a hub of our own (own store, a policy with purpose rules)."""

from __future__ import annotations

import contextlib
import dataclasses
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import jwt

from auth.audit import AuditStore, StoredRecord
from auth.identity.tokens import mint_token
from huitong.app import create_app
from huitong.demo.config import DEMO_PRINCIPALS, POLICY_PATH, SECRET_ENV, write_demo_config
from huitong.settings import load_settings
from resolvers.ids import from_global_id
from tests.hub_harness import SECRET, DemoHub

PURPOSE_RULE = """
[purpose.discipline_inspector]
fields = ["Resident.idNumber"]
pattern = "^案-[0-9]{4}-[0-9]{3}$"
hint = "give the case number, e.g. 案-2025-017"
"""


@dataclasses.dataclass(frozen=True)
class Caller:
    """A principal of its own (unique subject), so its records can be told from others'."""

    role: str
    region: str
    subject: str
    token: str | None

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    @property
    def jti(self) -> str:
        assert self.token is not None
        return str(jwt.decode(self.token, options={"verify_signature": False})["jti"])


def caller(role: str, region: str | None = None, **claims: Any) -> Caller:
    region = region or DEMO_PRINCIPALS.get(role, ("", "", "330108000000"))[2]
    subject = f"{role}-{uuid.uuid4().hex[:10]}"
    if role == "public":
        return Caller(role, region, "anonymous", None)
    return Caller(role, region, subject, mint_token(SECRET, subject=subject, role=role,
                                                    region_code=region, **claims))


def store_of(hub: DemoHub) -> AuditStore:
    recorder = hub.app.state.hub.recorder
    assert recorder is not None
    store: AuditStore = recorder.store
    return store


async def post(hub: DemoHub, who: Caller, query: str, variables: dict[str, Any] | None = None,
               *, purpose: str | None = None, operation_name: str | None = None,
               headers: dict[str, str] | None = None) -> httpx.Response:
    extra: dict[str, Any] = dict(who.headers)
    if purpose is not None:
        extra["X-Huitong-Purpose"] = purpose.encode()  # UTF-8, as clients send it
    extra.update(headers or {})
    return await hub.post(query, variables, headers=extra, operation_name=operation_name)


@dataclasses.dataclass
class Recorded:
    response: httpx.Response
    record: StoredRecord
    elapsed_ms: float

    @property
    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = self.response.json()
        return body


async def one_record(hub: DemoHub, send: Callable[[], Awaitable[httpx.Response]]) -> Recorded:
    """Send one request; it must leave exactly one record, whose chain link verifies."""
    store = store_of(hub)
    before, _ = await store.head()
    started = time.perf_counter()
    response = await send()
    elapsed = (time.perf_counter() - started) * 1000
    after, _ = await store.head()
    assert after == before + 1, f"{after - before} records for one request"
    [record] = await store.query(limit=1)
    assert record.seq == after
    report = await store.verify(max(before, 1), after)
    assert report.ok, report
    return Recorded(response, record, elapsed)


def raw_ids(global_ids: list[str], entity: str) -> list[str]:
    out = []
    for gid in global_ids:
        decoded = from_global_id(gid)
        assert decoded is not None and decoded[0] == entity, gid
        out.append(decoded[1])
    return out


@contextlib.asynccontextmanager
async def own_hub(directory: Path, source_urls: dict[str, str], store_url: str,
                  backend: str, *, policy_extra: str = PURPOSE_RULE,
                  config_extra: str = "") -> AsyncIterator[DemoHub]:
    """A hub over the demo sources with its own store and the demo policy plus `policy_extra`."""
    policy = directory / "policy.toml"
    policy.write_text(POLICY_PATH.read_text("utf-8") + policy_extra, encoding="utf-8")
    config = write_demo_config(directory, source_urls, store_url)
    config.write_text(config.read_text("utf-8") + config_extra, encoding="utf-8")
    settings = load_settings(config, environ={SECRET_ENV: SECRET})
    app = create_app(dataclasses.replace(settings, policy_path=policy))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as client:
            yield DemoHub(client, app, settings, backend, source_urls)
