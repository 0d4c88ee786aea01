"""The change feed over the demo's other two kinds of source: disclosures from the JSON
service (followed by its `gxsj` modification time and `gxsj_start` parameter) and subsidies
from the GB18030 CSV drop (followed by its import sequence): a changed item or a new drop
appears in the feed, an unchanged re-import does not."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from auth.model.ids import to_global_id
from connectors.rows import WATERMARK
from huitong.demo import disclosure_api
from huitong.demo.config import mixed_sources
from huitong.demo.exports import export_subsidies
from tests.conftest import PostgresDatabases, fresh_database_url
from tests.hub_harness import make_demo_sources, running_hub
from tests.publishing.test_changes import pull

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_rest_and_file_sources_are_followed(tmp_path: Path,
                                                  pg_databases: PostgresDatabases) -> None:
    urls = {name: await fresh_database_url("sqlite", tmp_path, pg_databases, name)
            for name in ("finance", "civil_affairs", "inspection")}
    await make_demo_sources(urls)
    exports = tmp_path / "exports"
    await export_subsidies(urls["finance"], exports)
    rows: list[dict[str, Any]] = await disclosure_api.load_disclosures(urls["civil_affairs"])
    api = disclosure_api.start(rows)
    try:
        store = f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
        async with running_hub(tmp_path / "hub", urls, store, "sqlite",
                               extra_sources=mixed_sources(api.url, exports)) as hub:
            unit = "330108001001"
            disclosures, d_at = await pull(hub, "DISCLOSURE", "civil_affairs", unit)
            mine = [r for r in rows if r["regionCode"] == unit]
            assert sorted(c["id"] for c in disclosures) == sorted(
                to_global_id("Disclosure", r["id"]) for r in mine)
            subsidies, s_at = await pull(hub, "SUBSIDY", "civil_affairs", unit)
            assert subsidies and {c["op"] for c in subsidies} == {"UPSERT"}
            # The service edits an item: its modification time moves, the feed has it.
            item = mine[0]
            item["title"] = "已更正"
            item[WATERMARK] = dt.datetime(2025, 3, 1, 8, 0)
            changed, _ = await pull(hub, "DISCLOSURE", "civil_affairs", unit, d_at)
            assert [(c["op"], c["id"], c["node"]["title"]) for c in changed] == [
                ("UPSERT", to_global_id("Disclosure", item["id"]), "已更正")]
            # The same drop imported again changes nothing; a changed drop does.
            file_source = hub.app.state.hub.connectors["subsidy_export"]
            await file_source.import_pending()
            assert (await pull(hub, "SUBSIDY", "civil_affairs", unit, s_at))[0] == []
            drop = next(exports.glob("*.csv"))
            text = drop.read_bytes().decode("gb18030")
            lines = text.splitlines(keepends=True)
            header = next(i for i, line in enumerate(lines) if "发放流水号" in line)
            lines = lines[:header + 1] + [line.replace(",成功,", ",退回,", 1)
                                          for line in lines[header + 1:]]
            drop.write_bytes("".join(lines).encode("gb18030"))
            await file_source.import_pending()
            after, _ = await pull(hub, "SUBSIDY", "civil_affairs", unit, s_at)
            # The payouts whose result changed (not the others), each once, as UPSERTs.
            changed_ids = [c["id"] for c in after]
            assert changed_ids and len(set(changed_ids)) == len(changed_ids)
            assert set(changed_ids) < {c["id"] for c in subsidies}
            assert all(c["op"] == "UPSERT" for c in after)
    finally:
        api.stop()
