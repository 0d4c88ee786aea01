"""One department's source down: its fields are null with a stable error, the rest is served.

The finance source points at a port where nothing listens; civil affairs and inspection are
real. Root lists, spending summaries and a region's nested lists all fail alone.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.conftest import PostgresDatabases, fresh_database_url
from tests.hub_harness import DemoHub, make_demo_sources, running_hub

DOWN = "postgresql+asyncpg://nobody@127.0.0.1:1/finance"


@pytest.fixture(scope="module")
async def hub(tmp_path_factory: pytest.TempPathFactory,
              pg_databases: PostgresDatabases) -> AsyncIterator[DemoHub]:
    directory = tmp_path_factory.mktemp("outage")
    urls = {name: await fresh_database_url("sqlite", directory, pg_databases, name)
            for name in ("finance", "civil_affairs", "inspection")}
    await make_demo_sources(urls)
    store = await fresh_database_url("sqlite", directory, pg_databases, "hub")
    async with running_hub(directory, {**urls, "finance": DOWN}, store, "sqlite") as running:
        yield running


def _only_finance_failed(result: dict[str, object], paths: list[list[object]]) -> None:
    errors = result["errors"]
    assert isinstance(errors, list)
    assert sorted(e["path"] for e in errors) == sorted(paths)
    for error in errors:
        assert error["extensions"] == {"code": "SOURCE_UNAVAILABLE", "source": "finance"}
        assert "127.0.0.1" not in error["message"] and "asyncpg" not in error["message"]


async def test_root_fields_fail_alone(hub: DemoHub) -> None:
    result = await hub.query("""{
      payments(first: 2) { totalCount nodes { amount } }
      spendingSummary(groupBy: [METHOD]) { method count }
      disclosures(first: 2) { totalCount nodes { title } }
      inspectionCases(first: 1) { nodes { subject } }
    }""", role="discipline_inspector")
    data = result["data"]
    assert data["payments"] is None and data["spendingSummary"] is None
    assert data["disclosures"]["totalCount"] > 0 and len(data["disclosures"]["nodes"]) == 2
    assert len(data["inspectionCases"]["nodes"]) == 1
    _only_finance_failed(result, [["payments"], ["spendingSummary"]])


async def test_a_regions_nested_list_fails_alone(hub: DemoHub) -> None:
    result = await hub.query("""{ region(code: "330108000000") { name
      payments(first: 1) { totalCount } disclosures(first: 1) { totalCount } } }""",
                             role="discipline_inspector")
    region = result["data"]["region"]
    assert region["name"] == "滨江区" and region["payments"] is None
    assert region["disclosures"]["totalCount"] > 0
    # Only the count was asked for, so the error sits on it; `payments` is nulled above it.
    _only_finance_failed(result, [["region", "payments", "totalCount"]])
