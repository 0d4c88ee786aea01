"""A client that leaves mid-export, over a real socket: the export stops reading rows, and its
audit record says it did not complete, how far it got and where to resume."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
import uvicorn

import publishing.export
from tests.hub_harness import DemoHub

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def _served(app: Any) -> tuple[uvicorn.Server, asyncio.Task[None], int]:
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="off",
                                           log_level="warning"))
    task = asyncio.ensure_future(server.serve())
    for _ in range(200):
        if server.started:
            break
        await asyncio.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    return server, task, port


async def test_a_client_leaving_mid_way_is_recorded(demo_hub: DemoHub,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(publishing.export, "PAGE_SIZE", 50)
    finance = demo_hub.app.state.hub.connectors["finance"]
    plain_fetch = finance.fetch
    pages = 0

    async def slow_source(query: Any) -> Any:
        # A slow finance system: each page takes a while, so the client leaves mid-way.
        nonlocal pages
        pages += 1
        await asyncio.sleep(0.05)
        return await plain_fetch(query)

    monkeypatch.setattr(finance, "fetch", slow_source)
    server, task, port = await _served(demo_hub.app)
    token = demo_hub.token("discipline_inspector")
    try:
        async with httpx.AsyncClient() as client, client.stream(
                "GET", f"http://127.0.0.1:{port}/export/payments.ndjson",
                headers={"Authorization": f"Bearer {token}"}) as response:
            assert response.status_code == 200
            received = b""
            async for chunk in response.aiter_bytes():
                received += chunk
                if received.count(b"\n") >= 100:
                    break
        store = demo_hub.app.state.hub.recorder.store
        record = None
        for _ in range(100):
            found = await store.query(subject="test-discipline_inspector", limit=1)
            if found and found[0].entry.operation == "export payments.ndjson":
                record = found[0].entry
                break
            await asyncio.sleep(0.05)
        assert record is not None
        export = record.extra["export"]
        assert export["completed"] is False
        assert export["stopped"] == "client disconnected"
        assert record.outcome == "partial"
        assert 100 <= export["rows"] < 2000
        assert record.reads["Payment"]["count"] == export["rows"]
        lines = [json.loads(line) for line in received.split(b"\n")[:100]]
        sent_ids = [line["id"] for line in lines]
        assert export["resume_after"] not in sent_ids[:99]
        # The export stopped with the client: the source was not read to the end.
        read_pages = pages
        await asyncio.sleep(0.3)
        assert pages == read_pages < 2500 // 50
    finally:
        server.should_exit = True
        await task
