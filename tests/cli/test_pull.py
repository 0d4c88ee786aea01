"""`huitong export` and `huitong report` on a generated demo configuration: the same files,
masks and refusals as over HTTP, a progress bar, and an audit record naming the operator."""

from __future__ import annotations

import asyncio
import csv
import getpass
import io
import sqlite3
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from auth.audit import AuditStore
from huitong.cli import main
from huitong.demo.config import SECRET_ENV, write_demo_config
from huitong.hub import open_store
from tests.conftest import PostgresDatabases, fresh_database_url
from tests.hub_harness import SECRET, make_demo_sources


@pytest.fixture(scope="module")
async def config(tmp_path_factory: pytest.TempPathFactory,
                 pg_databases: PostgresDatabases) -> Path:
    directory = tmp_path_factory.mktemp("pull-cli")
    urls = {name: await fresh_database_url("sqlite", directory, pg_databases, name)
            for name in ("finance", "civil_affairs", "inspection")}
    await make_demo_sources(urls)
    return write_demo_config(directory, urls, f"sqlite+aiosqlite:///{directory / 'hub.db'}")


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), env={SECRET_ENV: SECRET, "COLUMNS": "200"})
    return result.exit_code, result.output


def test_export_writes_the_masked_list(config: Path, tmp_path: Path) -> None:
    out = tmp_path / "payments.csv"
    code, output = run("export", "payments.csv", "--config", str(config), "--role",
                       "civil_affairs", "--region", "330108000000", "--param",
                       "amountMin=1000.00", "--encoding", "gb18030", "--fields",
                       "paymentNo,payeeName,payeeIdNumber,amount", "-o", str(out))
    assert code == 0, output
    rows = list(csv.DictReader(io.StringIO(out.read_bytes().decode("gb18030"))))
    finance = next(config.parent.glob("finance-*.db"))
    with sqlite3.connect(finance) as conn:
        clear = conn.execute("SELECT skrmc, skrzjhm FROM cw_zfmx WHERE qhdm LIKE '330108%' "
                             "AND je_fen >= 100000").fetchall()
    assert len(rows) == len(clear) > 0 and f"{len(rows)} rows" in output
    text = out.read_bytes().decode("gb18030")
    assert not any(number and number in text for _, number in clear)
    assert all(float(r["amount"]) >= 1000 for r in rows)
    hub_db = config.parent / "hub.db"

    async def last_record() -> object:
        engine = open_store(f"sqlite+aiosqlite:///{hub_db}")
        try:
            return (await AuditStore(engine).query(limit=1))[0].entry
        finally:
            await engine.dispose()

    entry = asyncio.run(last_record())
    assert entry.principal.subject == f"cli:{getpass.getuser()}"  # type: ignore[attr-defined]
    assert entry.extra["export"]["rows"] == len(rows)  # type: ignore[attr-defined]
    assert entry.extra["export"]["completed"] is True  # type: ignore[attr-defined]


def test_export_refusals_have_codes(config: Path, tmp_path: Path) -> None:
    out = tmp_path / "x.csv"
    for args, code_text in (
            (("payments.csv", "--fields", "payeeAccount"), "UNKNOWN_FIELD"),
            (("residents.csv", "--role", "finance_officer"), "NOT_FOUND"),
            (("payments.csv", "--param", "paidFrom=soon"), "BAD_USER_INPUT")):
        role = [] if "--role" in args else ["--role", "civil_affairs"]
        code, output = run("export", *args, *role, "--config", str(config), "--region",
                           "330108000000", "-o", str(out))
        assert code == 1 and code_text in output and "Traceback" not in output


def test_report_writes_the_sheets(config: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.xlsx"
    code, output = run("report", "finance-disclosure.xlsx", "--config", str(config),
                       "--role", "finance_officer", "--region", "330108001000", "--param",
                       "regionCode=330108001001", "--param", "period=2024Q1", "-o", str(out))
    assert code == 0, output
    book = openpyxl.load_workbook(out)
    assert book.sheetnames == ["收入 income", "支出 expenditure", "大额支付 major payments",
                               "补贴 subsidies"]
    code, output = run("report", "finance-disclosure.xlsx", "--config", str(config),
                       "--role", "civil_affairs", "--region", "330108000000", "--param",
                       "period=2024Q1", "-o", str(out))
    assert code == 1 and "BAD_USER_INPUT" in output
