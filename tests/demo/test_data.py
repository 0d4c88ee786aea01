"""The demo data generator and its mappings, on SQLite and PostgreSQL.

One scale-1 data set per backend is generated once and shared by the read-only checks; the
determinism test generates its own.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import tomllib
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from auth.model.catalog import ENTITIES, ENUMS, Kind
from auth.model.idnumbers import id_check_char, is_valid_id_number
from auth.model.query import EntityQuery, OrderKey, ScopedQuery
from auth.model.regions import check_region_code, level_name
from connectors.mapping import EntityMapping, parse_mapping
from connectors.sql.connector import SqlConnector
from huitong.demo import MAPPING_FILES, MAPPINGS_DIR, DemoSummary, DemoUrls, generate, sqlite_urls
from huitong.demo.finance import PAYMENTS_PER_SCALE, SPLIT_THRESHOLD_FEN
from huitong.demo.tables import CIVIL_AFFAIRS, FINANCE, INSPECTION
from tests.conftest import PostgresDatabases, fresh_database_url

SOURCES = ("finance", "civil_affairs", "inspection")
METADATA = {"finance": FINANCE, "civil_affairs": CIVIL_AFFAIRS, "inspection": INSPECTION}


def load_mapping(source: str) -> dict[str, EntityMapping]:
    path = MAPPING_FILES[source]
    return parse_mapping(tomllib.loads(path.read_text(encoding="utf-8")), str(path),
                         ("table", "schema"))


MAPPINGS = {source: load_mapping(source) for source in SOURCES}
SOURCE_OF = {entity: source for source, mapping in MAPPINGS.items() for entity in mapping}


@dataclass
class Demo:
    urls: DemoUrls
    summary: DemoSummary
    _rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def connector(self, source: str) -> SqlConnector:
        return SqlConnector(source, getattr(self.urls, source), MAPPINGS[source])

    async def rows(self, entity: str) -> list[dict[str, Any]]:
        """Every row of `entity`, read through the sql connector (canonical values)."""
        if entity not in self._rows:
            connector = self.connector(SOURCE_OF[entity])
            await connector.open()
            try:
                query = EntityQuery(entity, tuple(ENTITIES[entity].fields),
                                    order=(OrderKey("id"),))
                self._rows[entity] = await connector.fetch(ScopedQuery(query, scope=()))
            finally:
                await connector.close()
        return self._rows[entity]


async def fresh_urls(backend: str, tmp_path: Path, pg: PostgresDatabases) -> DemoUrls:
    return DemoUrls(*[await fresh_database_url(backend, tmp_path, pg, label)
                      for label in SOURCES])


_GENERATED: dict[str, Demo] = {}


@pytest.fixture
async def demo(
    backend: str, tmp_path_factory: pytest.TempPathFactory, pg_databases: PostgresDatabases
) -> Demo:
    if backend not in _GENERATED:
        urls = await fresh_urls(backend, tmp_path_factory.mktemp(f"demo-{backend}"),
                                pg_databases)
        _GENERATED[backend] = Demo(urls, await generate(urls, scale=1))
    return _GENERATED[backend]


async def table_digests(urls: DemoUrls) -> dict[str, str]:
    """A digest of every demo table's rows, in primary-key order, backend-neutral."""
    digests = {}
    for source in SOURCES:
        engine = create_async_engine(getattr(urls, source))
        try:
            async with engine.connect() as conn:
                for table in METADATA[source].sorted_tables:
                    result = await conn.execute(
                        sa.select(table).order_by(*table.primary_key.columns))
                    digest = hashlib.sha256()
                    for row in result:
                        digest.update(repr([_plain(v) for v in row]).encode())
                    digests[table.name] = digest.hexdigest()
        finally:
            await engine.dispose()
    return digests


def _plain(value: Any) -> Any:
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, bool):
        return int(value)
    return value


# -- pure checks ------------------------------------------------------------------------------
def test_id_check_char_known_examples() -> None:
    assert id_check_char("11010519491231002") == "X"
    assert is_valid_id_number("11010519491231002X")
    assert is_valid_id_number("440524188001010014")
    assert not is_valid_id_number("110105194912310021")  # wrong check character
    assert not is_valid_id_number("11010519491231002x")  # check character must be upper-case
    assert not is_valid_id_number("110105194902300021")  # 30 February
    assert not is_valid_id_number("00010519491231002X")  # no such province
    assert not is_valid_id_number("1101051949123100")
    assert not is_valid_id_number(None)
    with pytest.raises(ValueError):
        id_check_char("1101051949123100X")


def test_mapping_files_parse_and_fit_the_tables() -> None:
    assert {p.name for p in MAPPINGS_DIR.glob("*.toml")} == {f"{s}.toml" for s in SOURCES}
    assert set(MAPPINGS["finance"]) == {"BudgetIndicator", "PreApproval", "Reimbursement",
                                        "Payment", "Invoice", "Subsidy"}
    assert set(MAPPINGS["civil_affairs"]) == {"Region", "Disclosure", "Resident"}
    assert set(MAPPINGS["inspection"]) == {"InspectionCase", "Rectification", "CasePayment"}
    region = MAPPINGS["civil_affairs"]["Region"]
    assert region.source_of("id").source == region.source_of("code").source
    code_tables = 0
    for source, mapping in MAPPINGS.items():
        tables = METADATA[source].tables
        for entity, em in mapping.items():
            table = tables[em.container["table"]]
            for name, fm in em.fields.items():
                spec = ENTITIES[entity].fields[name]
                column = table.c[fm.source]
                if spec.kind is Kind.MONEY:
                    assert fm.unit == "fen" and isinstance(column.type, sa.BigInteger), name
                if spec.kind is Kind.ENUM and fm.values:
                    code_tables += 1
                    assert set(fm.values) == set(ENUMS[str(spec.enum)]), (entity, name)
                    assert len(set(fm.values.values())) == len(fm.values), (entity, name)
                if spec.kind is Kind.BOOL and fm.values:
                    assert fm.values == {True: 1, False: 0}
    assert code_tables >= 10


# -- the generated data -----------------------------------------------------------------------
async def test_connectors_open_and_count_every_entity(demo: Demo) -> None:
    counts = demo.summary.counts
    assert counts["Payment"] == PAYMENTS_PER_SCALE
    assert set(counts) == set(SOURCE_OF)
    assert all(n > 0 for n in counts.values()), counts
    for source, mapping in MAPPINGS.items():
        connector = demo.connector(source)
        await connector.open()
        try:
            for entity in mapping:
                query = ScopedQuery(EntityQuery(entity, ("id",)), scope=())
                assert await connector.count(query) == counts[entity], entity
            assert (await connector.health()).ok
        finally:
            await connector.close()


async def test_region_tree_and_region_codes(demo: Demo) -> None:
    regions = {r["code"]: r for r in await demo.rows("Region")}
    for code, region in regions.items():
        check_region_code(code)
        assert region["id"] == code and region["level"] == level_name(code)
        assert region["parentCode"] is None or region["parentCode"] in regions
    assert regions["330108000000"]["name"] == "滨江区"
    assert regions["330108001000"]["name"] == "西兴街道"
    assert regions["330102016001"]["name"] == "笕桥社区"
    assert regions["330603107200"]["name"] == "王坛村"
    assert any(int(code[9:]) >= 200 for code in regions)  # 村委会 codes exist
    for entity in SOURCE_OF:
        if entity == "Region":
            continue
        codes = {r["regionCode"] for r in await demo.rows(entity)}
        assert all(regions[c]["level"] in ("TOWNSHIP", "VILLAGE") for c in codes), entity
        districts = {c[:6] for c in codes}
        assert {"330108", "330102"} <= districts, (entity, districts)


async def test_id_numbers_are_valid(demo: Demo) -> None:
    residents = await demo.rows("Resident")
    ids = [r["idNumber"] for r in residents]
    assert all(is_valid_id_number(i) for i in ids)
    assert len(set(ids)) == len(ids)
    payees = [p["payeeIdNumber"] for p in await demo.rows("Payment") if p["payeeIdNumber"]]
    assert payees and all(is_valid_id_number(i) for i in payees)
    registered = set(ids)
    for subsidy in await demo.rows("Subsidy"):
        assert subsidy["recipientIdNumber"] in registered


async def test_every_enum_value_occurs(demo: Demo) -> None:
    for entity, spec in ENTITIES.items():
        rows = await demo.rows(entity)
        for name, fspec in spec.fields.items():
            seen = {r[name] for r in rows}
            if fspec.kind is Kind.ENUM:
                assert seen == set(ENUMS[str(fspec.enum)]), (entity, name, seen)
            if fspec.kind is Kind.BOOL:
                assert seen == {True, False}, (entity, name)


async def test_money_is_stored_as_integer_fen(demo: Demo) -> None:
    for source, mapping in MAPPINGS.items():
        engine = create_async_engine(getattr(demo.urls, source))
        try:
            async with engine.connect() as conn:
                for em in mapping.values():
                    money = [fm.source for name, fm in em.fields.items()
                             if ENTITIES[em.entity].fields[name].kind is Kind.MONEY]
                    if not money:
                        continue
                    table = sa.table(str(em.container["table"]), *map(sa.column, money))
                    result = await conn.execute(sa.select(*table.c).limit(500))
                    for row in result:
                        assert all(type(v) is int for v in row), (em.entity, row)
        finally:
            await engine.dispose()
    for payment in await demo.rows("Payment"):
        assert isinstance(payment["amount"], Decimal) and payment["amount"] > 0


async def test_records_are_consistent(demo: Demo) -> None:
    indicators = {r["id"]: r for r in await demo.rows("BudgetIndicator")}
    claims = {r["id"]: r for r in await demo.rows("Reimbursement")}
    approvals = {r["id"]: r for r in await demo.rows("PreApproval")}
    payments = await demo.rows("Payment")
    paid: dict[str, Decimal] = defaultdict(Decimal)
    for p in payments:
        if p["budgetIndicatorId"] is not None:
            assert p["budgetIndicatorId"] in indicators
            if p["status"] == "PAID":
                paid[p["budgetIndicatorId"]] += p["amount"]
        if p["reimbursementId"] is not None:
            assert p["amount"] == claims[p["reimbursementId"]]["total"]
    for ind_id, ind in indicators.items():
        assert ind["used"] == paid.get(ind_id, 0)
        assert ind["available"] == ind["amount"] - ind["used"]
        assert len(ind["functionCode"]) == 7 and len(ind["economicCode"]) == 5
    settled = [p["reimbursementId"] for p in payments if p["reimbursementId"]]
    assert len(settled) == len(set(settled))  # a claim is settled by one payment
    invoice_totals: dict[str, Decimal] = defaultdict(Decimal)
    for inv in await demo.rows("Invoice"):
        invoice_totals[inv["reimbursementId"]] += inv["total"]
    for claim_id, claim in claims.items():
        assert invoice_totals[claim_id] == claim["total"]
        assert claim["preApprovalId"] is None or claim["preApprovalId"] in approvals
    for a in approvals.values():
        assert (a["approvedAt"] is not None) == (a["status"] == "APPROVED")
    for d in await demo.rows("Disclosure"):
        assert (d["publishedAt"] is not None) == (d["status"] in ("PUBLISHED", "WITHDRAWN"))
    cases = {c["id"]: c for c in await demo.rows("InspectionCase")}
    for c in cases.values():
        assert (c["closedAt"] is not None) == (c["status"] == "CLOSED")
    for r in await demo.rows("Rectification"):
        assert r["caseId"] in cases
    payment_ids = {p["id"] for p in payments}
    for link in await demo.rows("CasePayment"):
        assert link["caseId"] in cases and link["paymentId"] in payment_ids


async def test_risk_patterns_are_present(demo: Demo) -> None:
    payments = await demo.rows("Payment")
    assert any(p["budgetIndicatorId"] is None for p in payments)  # R01
    assert any(p["method"] == "CASH" and p["amount"] > 1000 for p in payments)  # R13
    assert any(p["payeeKind"] == "PERSON" and p["amount"] >= 50000 for p in payments)  # R12
    threshold = Decimal(SPLIT_THRESHOLD_FEN) / 100
    near: dict[str, list[dt.datetime]] = defaultdict(list)
    for p in payments:
        if threshold * Decimal("0.9") <= p["amount"] < threshold:
            near[p["payeeName"]].append(p["paidAt"])
    assert any(any((b - a).days <= 30 for a, b in zip(sorted(t), sorted(t)[1:], strict=False))
               for t in near.values())  # R04
    invoices = await demo.rows("Invoice")
    old = [i for i in invoices if i["invoiceCode"] is not None]
    digital = [i for i in invoices if i["invoiceCode"] is None]
    assert all(len(i["invoiceCode"]) == 12 and len(i["invoiceNumber"]) == 8 for i in old)
    assert digital and all(len(i["invoiceNumber"]) == 20 for i in digital)
    assert all(len(i["sellerTaxId"]) == 18 for i in invoices)
    keys = [(i["invoiceCode"], i["invoiceNumber"]) for i in invoices]
    assert len(set(keys)) < len(keys)  # R08: some invoice claimed twice
    deaths = {r["idNumber"]: r["deceasedOn"] for r in await demo.rows("Resident")
              if r["deceasedOn"] is not None}
    assert deaths
    assert any(s["recipientIdNumber"] in deaths
               and s["paidAt"].date() > deaths[s["recipientIdNumber"]]
               for s in await demo.rows("Subsidy"))  # R18
    assert any(r["lowIncome"] for r in await demo.rows("Resident"))


async def test_generation_is_deterministic(
    demo: Demo, backend: str, tmp_path: Path, pg_databases: PostgresDatabases
) -> None:
    first = await table_digests(demo.urls)
    again = await fresh_urls(backend, tmp_path, pg_databases)
    summary = await generate(again, scale=1)
    assert summary.counts == demo.summary.counts
    assert await table_digests(again) == first
    other = await fresh_urls(backend, tmp_path, pg_databases)
    await generate(other, scale=1, seed=7)
    assert (await table_digests(other))["cw_zfmx"] != first["cw_zfmx"]


async def test_regenerating_replaces_the_data_and_shows_progress(tmp_path: Path) -> None:
    urls = sqlite_urls(tmp_path / "data")
    first = await generate(urls, scale=1, seed=3, progress=True)
    second = await generate(urls, scale=1, seed=3)
    assert second.counts == first.counts
    assert (tmp_path / "data" / "finance.db").exists()
    assert "Payment 2,500" in str(first)
