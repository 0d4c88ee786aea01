"""`changes(entity, after, first)` through the front door, on SQLite and PostgreSQL sources:
one pass equals resuming from every cursor, changes made in the sources appear in order,
a row leaving the caller's scope is a DELETE only for callers who could see it, and cursors
survive restarting the hub."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from auth.model.ids import to_global_id
from tests.conftest import BACKENDS, PostgresDatabases, fresh_database_url, require_postgres
from tests.hub_harness import DemoHub, make_demo_sources, running_hub

pytestmark = pytest.mark.asyncio(loop_scope="session")

FEED = """query($e: ChangeEntity!, $after: String, $first: Int) {
  changes(entity: $e, after: $after, first: $first) {
    nodes { cursor op entity id at node { id ... on %s } }
    pageInfo { hasNextPage endCursor } } }"""
SHOWN = {"PAYMENT": "Payment { amount status }", "DISCLOSURE": "Disclosure { title status }",
         "SUBSIDY": "Subsidy { amount period }"}


class Sources:
    def __init__(self, directory: Path, urls: dict[str, str], backend: str,
                 pg: PostgresDatabases) -> None:
        self.directory, self.urls, self.backend, self.pg = directory, urls, backend, pg

    async def execute(self, source: str, sql: str, **params: Any) -> list[Any]:
        engine = create_async_engine(self.urls[source])
        try:
            async with engine.begin() as conn:
                result = await conn.execute(sa.text(sql), params)
                return list(result.all()) if result.returns_rows else []
        finally:
            await engine.dispose()

    async def store(self) -> str:
        return await fresh_database_url(self.backend, self.directory, self.pg, "hub")


@pytest.fixture(scope="module", params=BACKENDS)
async def sources(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
                  pg_databases: PostgresDatabases) -> Sources:
    """Demo sources of this module's own: the tests edit them."""
    if request.param == "postgresql":
        require_postgres()
    directory = tmp_path_factory.mktemp(f"changes-{request.param}")
    urls = {name: await fresh_database_url(request.param, directory, pg_databases, name)
            for name in ("finance", "civil_affairs", "inspection")}
    await make_demo_sources(urls)
    return Sources(directory, urls, request.param, pg_databases)


@pytest.fixture(scope="module")
async def hub(sources: Sources) -> AsyncIterator[DemoHub]:
    async with running_hub(sources.directory / "hub", sources.urls, await sources.store(),
                           sources.backend) as demo:
        yield demo


async def pull(hub: DemoHub, entity: str, role: str, region: str | None = None,
               after: str | None = None, first: int = 50) -> tuple[list[dict[str, Any]], str]:
    """Every change after `after`, page by page; and the cursor to continue from."""
    seen: list[dict[str, Any]] = []
    while True:
        data = await hub.data(FEED % SHOWN[entity],
                              {"e": entity, "after": after, "first": first}, role=role,
                              region=region)
        page = data["changes"]
        seen += page["nodes"]
        after = page["pageInfo"]["endCursor"]
        if not page["pageInfo"]["hasNextPage"]:
            return seen, after


def plain(changes: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    return [(c["op"], c["id"], c["at"]) for c in changes]


async def small_unit(sources: Sources) -> str:
    rows = await sources.execute(
        "finance", "SELECT qhdm, COUNT(*) FROM cw_zfmx WHERE qhdm LIKE '330108001%' "
        "GROUP BY qhdm HAVING COUNT(*) >= 8 ORDER BY COUNT(*), qhdm")
    return str(rows[0][0])


async def test_resuming_from_every_cursor_gives_the_one_pass(hub: DemoHub,
                                                             sources: Sources) -> None:
    unit = await small_unit(sources)
    one_pass, _ = await pull(hub, "PAYMENT", "finance_officer", unit, first=7)
    truth = await sources.execute("finance", "SELECT zfmx_id FROM cw_zfmx WHERE qhdm = :q "
                                  "ORDER BY gxsj, zfmx_id", q=unit)
    assert [c["id"] for c in one_pass] == [to_global_id("Payment", r[0]) for r in truth]
    assert {c["op"] for c in one_pass} == {"UPSERT"}
    assert all(c["node"]["id"] == c["id"] for c in one_pass)
    for k, change in enumerate(one_pass):
        rest, _ = await pull(hub, "PAYMENT", "finance_officer", unit, change["cursor"],
                             5 + k % 3)
        assert plain(rest) == plain(one_pass[k + 1:])


async def test_source_changes_appear_in_order(hub: DemoHub, sources: Sources) -> None:
    unit = await small_unit(sources)
    _, cursor = await pull(hub, "PAYMENT", "finance_officer", unit)
    nothing, same = await pull(hub, "PAYMENT", "finance_officer", unit, cursor)
    assert nothing == [] and same == cursor
    ids = [r[0] for r in await sources.execute(
        "finance", "SELECT zfmx_id FROM cw_zfmx WHERE qhdm = :q ORDER BY zfmx_id LIMIT 2",
        q=unit)]
    later = dt.datetime(2025, 1, 1, 9, 0)
    await sources.execute("finance", "UPDATE cw_zfmx SET je_fen = 123456, gxsj = :t "
                          "WHERE zfmx_id = :i", t=later + dt.timedelta(minutes=5), i=ids[0])
    await sources.execute("finance", "UPDATE cw_zfmx SET zfzt = '9', gxsj = :t "
                          "WHERE zfmx_id = :i", t=later, i=ids[1])
    changed, cursor = await pull(hub, "PAYMENT", "finance_officer", unit, cursor)
    assert [(c["op"], c["id"]) for c in changed] == [
        ("UPSERT", to_global_id("Payment", ids[1])), ("UPSERT", to_global_id("Payment", ids[0]))]
    assert changed[0]["node"]["status"] == "RETURNED"
    assert changed[1]["node"]["amount"] == "1234.56"
    assert changed[1]["at"] == "2025-01-01T09:05:00"
    # Touched without a change: nothing new to pull.
    await sources.execute("finance", "UPDATE cw_zfmx SET gxsj = :t WHERE zfmx_id = :i",
                          t=later + dt.timedelta(minutes=9), i=ids[1])
    assert (await pull(hub, "PAYMENT", "finance_officer", unit, cursor))[0] == []


async def test_leaving_the_scope_is_a_delete_for_those_who_saw_it(hub: DemoHub,
                                                                   sources: Sources) -> None:
    published, draft = [
        (await sources.execute("civil_affairs", "SELECT gk_id FROM mz_swgk WHERE zt = :z "
                               "AND qhdm LIKE '330108%' ORDER BY gk_id LIMIT 1", z=z))[0][0]
        for z in ("2", "0")]
    _, public_at = await pull(hub, "DISCLOSURE", "public", first=100)
    _, civil_at = await pull(hub, "DISCLOSURE", "civil_affairs", first=100)
    when = dt.datetime(2025, 2, 1, 10, 0)
    await sources.execute("civil_affairs", "UPDATE mz_swgk SET zt = '3', gxsj = :t "
                          "WHERE gk_id = :i", t=when, i=published)
    await sources.execute("civil_affairs", "UPDATE mz_swgk SET bt = '草稿改', gxsj = :t "
                          "WHERE gk_id = :i", t=when, i=draft)
    public, _ = await pull(hub, "DISCLOSURE", "public", after=public_at)
    civil, _ = await pull(hub, "DISCLOSURE", "civil_affairs", after=civil_at)
    withdrawn, edited = to_global_id("Disclosure", published), to_global_id("Disclosure", draft)
    assert [(c["op"], c["id"], c["node"]) for c in public] == [("DELETE", withdrawn, None)]
    assert [(c["op"], c["id"]) for c in civil] == [("UPSERT", withdrawn), ("UPSERT", edited)] \
        or [(c["op"], c["id"]) for c in civil] == [("UPSERT", edited), ("UPSERT", withdrawn)]
    assert {c["node"]["status"] for c in civil} == {"WITHDRAWN", "DRAFT"}
    # Someone outside the row's jurisdiction learns nothing of either.
    other, _ = await pull(hub, "DISCLOSURE", "civil_affairs", "330102001000", first=100)
    assert other and {c["id"] for c in other} & {withdrawn, edited} == set()


async def test_cursors_survive_a_restart(sources: Sources) -> None:
    store = await sources.store()
    directory = sources.directory / "restarts"
    async with running_hub(directory, sources.urls, store, sources.backend) as first:
        head, _ = await pull(first, "SUBSIDY", "civil_affairs", "330108001000", first=40)
        cut = head[len(head) // 2]["cursor"]
    async with running_hub(directory, sources.urls, store, sources.backend) as second:
        tail, _ = await pull(second, "SUBSIDY", "civil_affairs", "330108001000", cut, first=40)
        again, _ = await pull(second, "SUBSIDY", "civil_affairs", "330108001000", first=40)
    assert plain(tail) == plain(head[len(head) // 2 + 1:])
    assert plain(again) == plain(head)


async def test_bad_cursors_and_foreign_cursors_are_refused(hub: DemoHub) -> None:
    data = await hub.data(FEED % SHOWN["PAYMENT"], {"e": "PAYMENT", "first": 1},
                          role="civil_affairs")
    cursor = data["changes"]["nodes"][0]["cursor"]
    for role, region, entity, after in (
            ("civil_affairs", None, "PAYMENT", "garbage"),
            ("civil_affairs", None, "SUBSIDY", cursor),   # another stream
            ("finance_officer", None, "PAYMENT", cursor),  # another principal
            ("civil_affairs", "330102000000", "PAYMENT", cursor)):
        result = await hub.query(FEED % SHOWN[entity], {"e": entity, "after": after},
                                 role=role, region=region)
        assert result["data"] is None
        assert [e["extensions"]["code"] for e in result["errors"]] == ["INVALID_CURSOR"]
