"""The demo's rest and file sources as a department would hand them over: the disclosure
service speaks its own dialect and applies the filters its mapping declares as pushdown (so
the hub's count is one request), and the subsidy export is a GB18030 CSV with Chinese headers
that the file connector loads without a single reject."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path
from typing import Any

import httpx
import pytest

from connectors.rows import WATERMARK
from huitong.demo import disclosure_api
from huitong.demo.exports import SUBSIDY_COLUMNS, export_subsidies, read_rows
from tests.hub_harness import make_demo_sources


@pytest.fixture(scope="module")
async def urls(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    directory = tmp_path_factory.mktemp("demo-sources")
    result = {name: f"sqlite+aiosqlite:///{directory / f'{name}.db'}"
              for name in ("finance", "civil_affairs", "inspection")}
    await make_demo_sources(result)
    return result


async def test_the_disclosure_service_answers_in_its_own_dialect(urls: dict[str, str]) -> None:
    rows = await disclosure_api.load_disclosures(urls["civil_affairs"])
    server = disclosure_api.start(rows)
    try:
        with httpx.Client(base_url=f"{server.url}{disclosure_api.PREFIX}") as client:
            def page(**params: Any) -> dict[str, Any]:
                response = client.get("/gkxx", params={"pageNo": 1, "pageSize": 50, **params})
                assert response.status_code == 200, response.text
                body: dict[str, Any] = response.json()
                assert body["code"] == 0
                data: dict[str, Any] = body["data"]
                return data

            everything = page()
            assert everything["total"] == len(rows) > 1000
            item = everything["rows"][0]
            assert set(item) == {"gkbh", "xzqh", "gklx", "gkqj", "nr", "zt", "fbsj", "gxsj"}
            since = "2024-10-01 00:00:00"
            assert page(gxsj_start=since)["total"] == sum(
                r[WATERMARK] >= dt.datetime(2024, 10, 1) for r in rows) > 0
            assert set(item["nr"]) == {"bt", "zw"} and isinstance(item["gkbh"], int)
            assert item["gklx"] in ("党务", "村（居）务", "财务")
            published = [r for r in rows if r["status"] == "PUBLISHED"]
            assert page(zt="30")["total"] == len(published)
            assert page(zt="20,30")["total"] == sum(r["status"] in ("REVIEWED", "PUBLISHED")
                                                   for r in rows)
            street = page(xzqh="330108001", gklx="财务", zt="30")
            assert street["total"] == sum(r["regionCode"].startswith("330108001")
                                          and r["domain"] == "FINANCE" for r in published)
            assert all(r["fbsj"].endswith("+08:00") for r in street["rows"])
            ordered = page(sort="-gkbh", pageSize=5)["rows"]
            assert [r["gkbh"] for r in ordered] == sorted((int(r["id"]) for r in rows),
                                                          reverse=True)[:5]
            assert page(pageNo=999)["rows"] == []
    finally:
        server.stop()


async def test_the_subsidy_export_is_gb18030_with_chinese_headers(
        urls: dict[str, str], tmp_path: Path) -> None:
    path = await export_subsidies(urls["finance"], tmp_path)
    raw = path.read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    lines = list(csv.reader(io.StringIO(raw.decode("gb18030"))))
    title, header, *body = lines
    assert len(title) == 1 and "补贴" in title[0]
    assert header == [c if isinstance(c, str) else c["column"] for c in SUBSIDY_COLUMNS.values()]
    assert len(body) == len([r async for r in read_rows(urls["finance"], "finance", "Subsidy")])
    assert {row[header.index("发放结果")] for row in body} <= {"成功", "失败", "退回"}
