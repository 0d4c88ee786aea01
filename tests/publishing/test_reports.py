"""`GET /reports/{kind}.{xlsx|csv}` through the front door: figures equal to the sources',
people masked for roles that see them masked (the files are parsed), kinds granted per role."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import Any

import openpyxl
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from tests.hub_harness import DemoHub

pytestmark = pytest.mark.asyncio(loop_scope="session")
STREET = "330108001000"


async def sql(hub: DemoHub, query: str, **params: Any) -> list[Any]:
    engine = create_async_engine(hub.source_urls["finance"])
    try:
        async with engine.connect() as conn:
            return list((await conn.execute(sa.text(query), params)).all())
    finally:
        await engine.dispose()


async def get(hub: DemoHub, path: str, role: str, **params: str) -> Any:
    headers = {} if role == "public" else {"Authorization": f"Bearer {hub.token(role)}"}
    return await hub.client.get(path, params=params, headers=headers)


def sheets(body: bytes) -> dict[str, list[tuple[Any, ...]]]:
    book = openpyxl.load_workbook(io.BytesIO(body))
    return {ws.title: list(ws.iter_rows(values_only=True)) for ws in book.worksheets}


async def busy_unit(hub: DemoHub) -> str:
    rows = await sql(hub, "SELECT qhdm FROM cw_zfmx WHERE qhdm LIKE '330108001%' AND "
                     "qhdm NOT LIKE '%000' AND "
                     "zfsj >= '2024-01-01' AND zfsj < '2024-04-01' GROUP BY qhdm "
                     "ORDER BY COUNT(*) DESC, qhdm LIMIT 1")
    return str(rows[0][0])


async def test_finance_disclosure_matches_the_sources_and_masks_people(demo_hub: DemoHub
                                                                        ) -> None:
    unit = await busy_unit(demo_hub)
    response = await get(demo_hub, "/reports/finance-disclosure.xlsx", "civil_affairs",
                         regionCode=unit, period="2024Q1", threshold="5000.00")
    assert response.status_code == 200, response.text
    book = sheets(response.content)
    # civil affairs reads no budget indicators: no income sheet, rather than an empty one.
    assert list(book) == ["支出 expenditure", "大额支付 major payments", "补贴 subsidies"]
    truth = {r[0]: (r[1], Decimal(r[2]) / 100) for r in await sql(
        demo_hub, "SELECT jjkm, COUNT(*), SUM(je_fen) FROM cw_zfmx WHERE qhdm = :q AND "
        "zfzt = '1' AND zfsj >= '2024-01-01' AND zfsj < '2024-04-01' GROUP BY jjkm", q=unit)}
    spent = {r[1]: (r[2], Decimal(str(r[3]))) for r in book["支出 expenditure"][2:]
             if r[0] == "经济分类"}
    assert spent == truth and spent
    clear = await sql(demo_hub, "SELECT skrmc, skrzjhm FROM cw_zfmx WHERE qhdm = :q AND "
                      "skrlx = '2'", q=unit)
    big = book["大额支付 major payments"][2:]
    assert big and all(Decimal(str(r[3])) >= 5000 for r in big)
    names = {r[2] for r in big}
    assert not names & {c[0] for c in clear if len(c[0]) > 1}
    subsidies = book["补贴 subsidies"]
    assert subsidies[1] == ("批次号", "补贴类型", "所属期", "姓名", "身份证号", "发放金额",
                            "发放时间")
    people = await sql(demo_hub, "SELECT lqrxm, lqrsfzh FROM cw_btff WHERE qhdm = :q", q=unit)
    cells = {str(c) for row in subsidies[2:] for c in row}
    assert not cells & {p[1] for p in people}
    assert not cells & {p[0] for p in people if len(p[0]) > 1}
    assert all("*" in str(row[4]) for row in subsidies[2:])
    finance = sheets((await get(demo_hub, "/reports/finance-disclosure.xlsx",
                                "finance_officer", regionCode=unit,
                                period="2024Q1")).content)
    assert next(iter(finance)) == "收入 income" and len(finance["收入 income"]) > 2


async def test_subsidy_list_and_spending_by_category(demo_hub: DemoHub) -> None:
    village = (await sql(demo_hub, "SELECT qhdm FROM cw_btff WHERE ssq = '2024-03' "
                         "AND qhdm LIKE '330108%' AND qhdm NOT LIKE '%000' "
                         "GROUP BY qhdm ORDER BY COUNT(*) DESC, qhdm LIMIT 1"))[0][0]
    response = await get(demo_hub, "/reports/subsidy-list.csv", "civil_affairs",
                         regionCode=village, period="2024-03", encoding="gb18030")
    assert response.status_code == 200, response.text
    lines = list(csv.reader(io.StringIO(response.content.decode("gb18030"))))
    rows = lines[4:]
    truth = await sql(demo_hub, "SELECT lqrxm, lqrsfzh FROM cw_btff WHERE qhdm = :q AND "
                      "ssq = '2024-03'", q=village)
    assert len(rows) == len(truth) > 0
    text = response.content.decode("gb18030")
    assert not any(t[1] in text for t in truth)
    spending = await get(demo_hub, "/reports/spending-by-category.csv", "civil_affairs",
                         regionCode=STREET, period="2024")
    table = list(csv.reader(io.StringIO(spending.content.decode("utf-8-sig"))))[4:]
    total = (await sql(demo_hub, "SELECT SUM(je_fen) FROM cw_zfmx WHERE qhdm LIKE '330108001%' "
                       "AND zfzt = '1' AND zfsj >= '2024-01-01' AND zfsj < '2025-01-01'"))[0][0]
    assert sum(Decimal(r[3]) for r in table) == Decimal(total) / 100


async def test_kinds_are_granted_per_role(demo_hub: DemoHub) -> None:
    hidden = await get(demo_hub, "/reports/subsidy-list.csv", "public",
                       regionCode=STREET, period="2024-03")
    absent = await get(demo_hub, "/reports/subsidy-lists.csv", "public",
                       regionCode=STREET, period="2024-03")
    assert hidden.status_code == absent.status_code == 404
    assert hidden.text == absent.text.replace("subsidy-lists", "subsidy-list")
    for params, code in (({"regionCode": STREET, "period": "2024Q5"}, "BAD_USER_INPUT"),
                         ({"regionCode": "33", "period": "2024"}, "BAD_USER_INPUT"),
                         ({"regionCode": STREET, "period": "2024", "x": "1"},
                          "UNKNOWN_PARAMETER")):
        response = await get(demo_hub, "/reports/spending-by-category.xlsx", "civil_affairs",
                             **params)
        assert response.status_code == 400
        assert response.json()["errors"][0]["extensions"]["code"] == code
    store = demo_hub.app.state.hub.recorder.store
    await get(demo_hub, "/reports/spending-by-category.xlsx", "finance_officer",
              regionCode=STREET, period="2024Q2")
    record = (await store.query(subject="test-finance_officer", limit=1))[0].entry
    assert record.operation == "report spending-by-category.xlsx"
    assert record.extra["report"]["rows"] > 0 and record.reads["Payment"]["aggregates"] == 1
