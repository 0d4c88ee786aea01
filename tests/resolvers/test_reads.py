"""Reading through the front door: pagination, relations, lookups and aggregates, on both
SQLite and PostgreSQL sources, checked against the source databases directly."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event

from connectors.sql.connector import SqlConnector
from tests.hub_harness import DemoHub

INSPECTOR = "discipline_inspector"

DEEP = """
query($first: Int) {
  payments(first: $first, orderBy: [{paidAt: DESC}]) {
    nodes {
      paymentNo amount
      budgetIndicator { name functionCode }
      reimbursement { claimNo total invoices { invoiceNumber total } }
    }
  }
}
"""


@contextlib.contextmanager
def loaders_only(hub: DemoHub) -> Iterator[None]:
    """The per-request loaders answer every read (the SQL compiler off)."""
    hub.app.state.hub.sql_compiler = False
    try:
        yield
    finally:
        hub.app.state.hub.sql_compiler = True


@contextlib.contextmanager
def counting_statements(hub: DemoHub) -> Iterator[list[str]]:
    """Every statement sent to the sources; each must run in autocommit (a read is one
    round trip: no BEGIN and ROLLBACK around it)."""
    statements: list[str] = []

    def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        assert conn.get_execution_options().get("isolation_level") == "AUTOCOMMIT", statement
        statements.append(statement)

    engines = [c.engine.sync_engine for c in hub.app.state.hub.connectors.values()
               if isinstance(c, SqlConnector)]
    for engine in engines:
        event.listen(engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", before)


async def test_statements_grow_with_depth_not_rows(demo_hub: DemoHub) -> None:
    await demo_hub.data(DEEP, {"first": 2}, role=INSPECTOR)  # warm: reflection happens once
    with loaders_only(demo_hub), counting_statements(demo_hub) as few:
        small = await demo_hub.data(DEEP, {"first": 5}, role=INSPECTOR)
    with loaders_only(demo_hub), counting_statements(demo_hub) as many:
        large = await demo_hub.data(DEEP, {"first": 100}, role=INSPECTOR)
    assert len(small["payments"]["nodes"]) == 5
    assert len(large["payments"]["nodes"]) == 100
    assert sum(1 for p in large["payments"]["nodes"] if p["reimbursement"]) > 5
    assert len(few) == len(many) == 4  # payments, indicators, reimbursements, invoices


async def test_keyset_pagination_walks_every_row_once(demo_hub: DemoHub) -> None:
    query = """query($after: String) {
      payments(first: 97, after: $after, orderBy: [{amount: DESC}, {paidAt: ASC}],
               filter: {regionCode: "330108001000"}) {
        totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id amount } }
      }
    }"""
    seen: list[str] = []
    amounts: list[Decimal] = []
    after = None
    while True:
        page = (await demo_hub.data(query, {"after": after}, role=INSPECTOR))["payments"]
        seen += [e["node"]["id"] for e in page["edges"]]
        amounts += [Decimal(e["node"]["amount"]) for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
        assert after == page["edges"][-1]["cursor"]
    assert len(seen) == len(set(seen)) == page["totalCount"] > 97
    assert amounts == sorted(amounts, reverse=True)


async def test_first_is_capped_per_role(demo_hub: DemoHub) -> None:
    result = await demo_hub.query("{ disclosures(first: 101) { totalCount } }")
    assert result["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "0 to 100" in result["errors"][0]["message"]
    assert result["data"] == {"disclosures": None}  # root lists are nullable


async def test_relations_both_directions(demo_hub: DemoHub) -> None:
    data = await demo_hub.data("""{
      reimbursements(first: 20, filter: {status: PAID}) { nodes {
        claimNo total
        payment { paymentNo reimbursement { claimNo } }
        invoices { total reimbursement { claimNo } }
      } }
    }""", role=INSPECTOR)
    nodes = data["reimbursements"]["nodes"]
    assert nodes
    for r in nodes:
        if r["payment"]:
            assert r["payment"]["reimbursement"]["claimNo"] == r["claimNo"]
        assert all(i["reimbursement"]["claimNo"] == r["claimNo"] for i in r["invoices"])
    assert any(r["invoices"] for r in nodes)


async def test_region_tree_parent_and_children(demo_hub: DemoHub) -> None:
    data = await demo_hub.data("""{
      region(code: "330108000000") { name level parent { code name }
        children { code name level parent { code } } }
    }""", role="public")
    region = data["region"]
    assert region["name"] == "滨江区" and region["level"] == "COUNTY"
    assert region["parent"]["code"] == "330100000000"
    codes = {c["code"] for c in region["children"]}
    assert {"330108001000", "330108002000", "330108003000"} <= codes
    assert all(c["parent"]["code"] == "330108000000" for c in region["children"])


async def test_cross_department_query(demo_hub: DemoHub) -> None:
    """One query spanning the inspection, finance and civil-affairs sources."""
    data = await demo_hub.data("""{
      inspectionCases(first: 50) { nodes { subject payments { paymentNo amount } } }
      subsidies(first: 5) { nodes { amount recipient { name deceasedOn } } }
      disclosures(first: 3, filter: {status: PUBLISHED}) { nodes { title } }
    }""", role=INSPECTOR)
    assert any(c["payments"] for c in data["inspectionCases"]["nodes"])
    assert any(s["recipient"] for s in data["subsidies"]["nodes"])
    assert len(data["disclosures"]["nodes"]) == 3


async def test_spending_summary_matches_direct_sql(demo_hub: DemoHub) -> None:
    data = await demo_hub.data("""{
      spendingSummary(groupBy: [REGION, METHOD], regionLevel: TOWNSHIP,
                      filter: {paidFrom: "2024-01-01T00:00:00"}) {
        regionCode method count totalAmount
      }
    }""", role=INSPECTOR)
    groups = data["spendingSummary"]
    total = sum(Decimal(g["totalAmount"]) for g in groups)
    count = sum(g["count"] for g in groups)
    assert all(g["regionCode"].startswith("330108") and g["regionCode"].endswith("000")
               for g in groups)
    direct_count, direct_total = await _direct_payment_totals(demo_hub)
    assert (count, total) == (direct_count, direct_total)


async def _direct_payment_totals(hub: DemoHub) -> tuple[int, Decimal]:
    connector = hub.app.state.hub.sources.for_entity("Payment")
    assert isinstance(connector, SqlConnector)
    mapping = connector.mappings["Payment"]
    table = str(mapping.container["table"])
    region = mapping.source_of("regionCode").source
    amount = mapping.source_of("amount").source
    paid = mapping.source_of("paidAt").source
    stmt = sa.text(
        f"SELECT count(*), sum({amount}) FROM {table} "
        f"WHERE {region} BETWEEN '330108000000' AND '330108999999' AND {paid} >= :since"
    )
    import datetime as dt

    async with connector.engine.connect() as conn:
        count, total = (await conn.execute(stmt, {"since": dt.datetime(2024, 1, 1)})).one()
    unit = mapping.source_of("amount").unit
    total_yuan = Decimal(total) / 100 if unit == "fen" else Decimal(total)
    return int(count), total_yuan.quantize(Decimal("0.01"))


async def test_lookup_and_node_agree(demo_hub: DemoHub) -> None:
    first = await demo_hub.data("{ payments(first: 1) { nodes { id paymentNo } } }",
                                role=INSPECTOR)
    node_id = first["payments"]["nodes"][0]["id"]
    data = await demo_hub.data("""query($id: ID!) {
      payment(id: $id) { paymentNo }
      node(id: $id) { id ... on Payment { paymentNo } }
    }""", {"id": node_id}, role=INSPECTOR)
    assert data["payment"]["paymentNo"] == first["payments"]["nodes"][0]["paymentNo"]
    assert data["node"] == {"id": node_id, "paymentNo": data["payment"]["paymentNo"]}


async def test_region_subtree_connections_are_batched_and_exact(demo_hub: DemoHub) -> None:
    query = """{ region(code: "330108000000") { children {
      code payments(first: 3, orderBy: [{amount: DESC}]) { totalCount nodes { amount regionCode } }
    } } }"""
    await demo_hub.data(query, role=INSPECTOR)
    with counting_statements(demo_hub) as statements:
        data = await demo_hub.data(query, role=INSPECTOR)
    children = data["region"]["children"]
    assert len(children) >= 3
    # region, its children, one windowed page query, one grouped count: not one per child.
    assert len(statements) == 4
    for child in children:
        prefix = child["code"][:9]
        root = await demo_hub.data(
            """query($code: RegionCode!) { payments(first: 3, orderBy: [{amount: DESC}],
                 filter: {regionCode: $code}) { totalCount nodes { amount regionCode } } }""",
            {"code": child["code"]}, role=INSPECTOR)
        assert child["payments"] == root["payments"]
        assert all(n["regionCode"].startswith(prefix) for n in child["payments"]["nodes"])


async def test_spending_keys_not_grouped_on_are_null(demo_hub: DemoHub) -> None:
    data = await demo_hub.data("""{ spendingSummary(groupBy: [REGION], regionLevel: COUNTY) {
      regionCode month method category count } }""", role=INSPECTOR)
    groups = data["spendingSummary"]
    assert groups and all(g["regionCode"] for g in groups)
    assert all(g["month"] is None and g["method"] is None and g["category"] is None
               for g in groups)


async def test_page_sizes_are_written_into_statements(demo_hub: DemoHub) -> None:
    """A bound LIMIT lets PostgreSQL settle on a generic plan planned for no page size."""
    with loaders_only(demo_hub), counting_statements(demo_hub) as sent:
        await demo_hub.data("{ spendingSummary(groupBy: [ECONOMIC_CODE]) { count } "
                            "payments(first: 7) { nodes { id } } }", role=INSPECTOR)
    limits = sorted(s.split("LIMIT", 1)[1].split()[0] for s in sent if "LIMIT" in s)
    assert limits == ["5000", "8"], sent
