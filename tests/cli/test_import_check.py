"""`huitong import` and `huitong check` from the command line, on a real huitong.toml."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from huitong.cli import main
from tests.connectors.file.drops import SUBSIDY_FIELDS, bad_rows, subsidy, subsidy_cells, write_csv
from tests.connectors.rest.fake_api import ApiServer, ApiState, free_port

INVOICE_FIELDS = {f: f for f in ("id", "regionCode", "invoiceCode", "invoiceNumber",
                                 "sellerName", "sellerTaxId", "total", "issuedAt",
                                 "reimbursementId")}
PAYMENT_FIELDS = {
    "id": "zfid", "regionCode": "qhdm", "paymentNo": "zfdh", "budgetIndicatorId": "zbid",
    "reimbursementId": "bxdid", "method": "zffs", "payeeName": "skr.mc", "payeeKind": "skr.lx",
    "payeeIdNumber": "skr.zjhm", "payeeAccount": "skr.zh", "amount": "je", "purpose": "yt",
    "functionCode": "gnkm", "economicCode": "jjkm", "paidAt": "zfsj", "status": "zt",
}


def toml_table(value: object) -> str:
    """A TOML inline value (JSON's strings and tables are close enough for these)."""
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{json.dumps(k, ensure_ascii=False)} = {toml_table(v)}"
                                for k, v in value.items()) + " }"
    return json.dumps(value, ensure_ascii=False)


def write_config(tmp_path: Path, api_url: str | None = None, down_url: str | None = None
                 ) -> Path:
    lines = [
        "[hub]", f'store_url = "sqlite+aiosqlite:///{tmp_path / "hub.db"}"',
        'policy = "policy.toml"', "",
        "[sources.subsidy_export]", 'kind = "file"', 'path = "drops"',
        "import_on_open = false",
        "[sources.subsidy_export.entities.Subsidy]", 'file = "*.csv"',
        f"fields = {toml_table(SUBSIDY_FIELDS)}", "",
    ]
    if api_url:
        lines += ["[sources.finance_api]", 'kind = "rest"', f'base_url = "{api_url}"',
                  "retries = 0", "[sources.finance_api.entities.Payment]",
                  'path = "/api/payments"', 'items = "data.list"',
                  f"fields = {toml_table(PAYMENT_FIELDS)}", ""]
    if down_url:
        lines += ["[sources.invoice_api]", 'kind = "rest"', f'base_url = "{down_url}"',
                  "retries = 0", "timeout_seconds = 2", "[sources.invoice_api.entities.Invoice]",
                  'path = "/invoices"', f"fields = {toml_table(INVOICE_FIELDS)}", ""]
    path = tmp_path / "huitong.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def api() -> Iterator[ApiServer]:
    server = ApiServer(ApiState())
    server.start()
    yield server
    server.stop()


def test_import_prints_a_summary_and_the_rejects(tmp_path: Path) -> None:
    (tmp_path / "drops").mkdir()
    bad = bad_rows()
    drop = write_csv(tmp_path / "drops" / "补贴-2024-03.csv",
                     [*(subsidy_cells(subsidy(i), i) for i in range(1, 9)), bad[0][0], bad[2][0]],
                     "gb18030")
    config = write_config(tmp_path)
    runner = CliRunner()
    result = runner.invoke(main, ["import", str(drop), "--source", "subsidy_export",
                                  "--config", str(config), "--show", "1"],
                           env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    out = result.output
    assert "补贴-2024-03.csv: imported" in out and "gb18030" in out
    assert "file_subsidy_export_subsidy" in out
    assert "more than 2 decimal places" in out and "is not a date" not in out
    assert "… and 1 more" in out and "import_rejects table (run_id = 1)" in out
    with sqlite3.connect(tmp_path / "hub.db") as db:
        assert db.execute("SELECT count(*) FROM file_subsidy_export_subsidy").fetchone() == (8,)
        assert db.execute("SELECT line, column_name FROM import_rejects ORDER BY line"
                          ).fetchall() == [(10, "发放金额"), (11, "发放时间")]
    again = runner.invoke(main, ["import", "--source", "subsidy_export", "--config", str(config)])
    assert again.exit_code == 0 and "already imported" in again.output


def test_import_refuses_and_explains(tmp_path: Path) -> None:
    (tmp_path / "drops").mkdir()
    drop = tmp_path / "drops" / "wrong.csv"
    drop.write_text("编号,金额\n1,2\n", encoding="utf-8")
    config = write_config(tmp_path)
    result = CliRunner().invoke(main, ["import", str(drop), "--source", "subsidy_export",
                                       "--config", str(config)], env={"COLUMNS": "200"})
    assert result.exit_code == 1 and "refused" in result.output
    assert "missing column(s) 流水号" in result.output
    unknown = CliRunner().invoke(main, ["import", str(drop), "--source", "nope",
                                        "--config", str(config)])
    assert unknown.exit_code == 1 and "file sources: subsidy_export" in unknown.output


def test_check_reports_each_source_and_fails_when_one_is_down(
    tmp_path: Path, api: ApiServer
) -> None:
    (tmp_path / "drops").mkdir()
    up = write_config(tmp_path, api.url)
    result = CliRunner().invoke(main, ["check", "--config", str(up)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for name in ("hub store", "subsidy_export", "finance_api"):
        assert name in result.output
    assert "failed" not in result.output and "all 3 up" in result.output
    down = write_config(tmp_path, api.url, f"http://127.0.0.1:{free_port()}")
    result = CliRunner().invoke(main, ["check", "--config", str(down)], env={"COLUMNS": "200"})
    assert result.exit_code == 1
    assert "invoice_api" in result.output and "SOURCE_UNAVAILABLE" in result.output
    assert "down: invoice_api" in result.output
