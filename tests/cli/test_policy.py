"""`huitong policy show` and `huitong policy explain` on a generated demo configuration."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from huitong.cli import main
from huitong.demo.config import SECRET_ENV, write_demo_config
from huitong.demo.exports import export_subsidies, file_source
from tests.conftest import PostgresDatabases, fresh_database_url
from tests.hub_harness import SECRET, make_demo_sources

SDL_DIR = Path(__file__).resolve().parents[2] / "schema" / "sdl"


@pytest.fixture(scope="module")
async def demo_urls(tmp_path_factory: pytest.TempPathFactory,
                    pg_databases: PostgresDatabases) -> tuple[Path, dict[str, str]]:
    directory = tmp_path_factory.mktemp("policy-cli")
    urls = {name: await fresh_database_url("sqlite", directory, pg_databases, name)
            for name in ("finance", "civil_affairs", "inspection")}
    await make_demo_sources(urls)
    return directory, urls


@pytest.fixture(scope="module")
def demo_config(demo_urls: tuple[Path, dict[str, str]]) -> Path:
    directory, urls = demo_urls
    store = f"sqlite+aiosqlite:///{directory / 'hub.db'}"
    return write_demo_config(directory, urls, store)


@pytest.fixture(scope="module")
async def file_config(demo_urls: tuple[Path, dict[str, str]]) -> Path:
    """Subsidies from the demo's GB18030 export (a file source)."""
    parent, urls = demo_urls
    directory = parent / "with-file"
    directory.mkdir()
    await export_subsidies(urls["finance"], directory / "exports")
    config = write_demo_config(directory, urls, f"sqlite+aiosqlite:///{directory / 'hub.db'}",
                               extra_sources=file_source(directory / "exports"))
    return config


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), env={SECRET_ENV: SECRET, "COLUMNS": "200"})
    return result.exit_code, result.output


def _payment_in(config: Path, prefix: str, outside: bool = False) -> tuple[str, str]:
    """A payment's id and region, read straight from the demo's finance database."""
    finance = next(config.parent.glob("finance-*.db"))
    op = "NOT LIKE" if outside else "LIKE"
    with sqlite3.connect(finance) as conn:
        row = conn.execute(f"SELECT zfmx_id, qhdm FROM cw_zfmx WHERE qhdm {op} ? LIMIT 1",
                           (prefix + "%",)).fetchone()
    return str(row[0]), row[1]


def test_show_prints_grants_and_masks_only(demo_config: Path) -> None:
    code, out = run("policy", "show", "--role", "civil_affairs", "--config", str(demo_config))
    assert code == 0, out
    assert "payeeName (name)" in out and "payeeIdNumber (id_number)" in out
    assert "jurisdiction" in out
    assert "operations: changes" in out
    assert "type Payment" not in out and "schema print" in out


def test_schema_print_writes_the_roles_sdl_alone(demo_config: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["schema", "print", "--role", "civil_affairs",
                                       "--config", str(demo_config)], env={SECRET_ENV: SECRET})
    assert result.exit_code == 0, result.output
    assert result.stdout == (SDL_DIR / "civil_affairs.graphql").read_text(encoding="utf-8")
    payment = result.stdout.split("type Payment implements Node")[1].split("}")[0]
    assert "payeeName" in payment and "payeeAccount" not in payment
    out = tmp_path / "public.graphql"
    code, said = run("schema", "print", "--role", "public", "--out", str(out),
                     "--config", str(demo_config))
    assert code == 0 and f"Wrote public's schema to {out}." in said
    assert out.read_text(encoding="utf-8") == (SDL_DIR / "public.graphql").read_text(
        encoding="utf-8")
    code, said = run("schema", "print", "--role", "auditor", "--config", str(demo_config))
    assert code == 2 and "no role 'auditor'" in said


def test_show_lists_operations(demo_config: Path) -> None:
    code, out = run("policy", "show", "--role", "discipline_inspector",
                    "--config", str(demo_config))
    assert code == 0, out
    assert "operations: accessHistory, auditRecords, changes" in out


def test_explain_visible_row_with_masks(demo_config: Path) -> None:
    row_id, region = _payment_in(demo_config, "330108")
    code, out = run("policy", "explain", "--role", "civil_affairs", "--region", "330108000000",
                    "--config", str(demo_config), "Payment", row_id)
    assert code == 0, out
    assert "VISIBLE" in out and "NOT VISIBLE" not in out
    assert f"regionCode {region} is inside the jurisdiction prefix 330108" in out
    assert "payeeName (name)" in out
    assert "payeeAccount" in out.split("absent:")[1]


def test_explain_row_outside_jurisdiction(demo_config: Path) -> None:
    row_id, region = _payment_in(demo_config, "330108", outside=True)
    code, out = run("policy", "explain", "--role", "finance_officer", "--region",
                    "330108001000", "--config", str(demo_config), "Payment", row_id)
    assert code == 0, out
    assert "NOT VISIBLE" in out
    assert f"regionCode {region} is outside the jurisdiction prefix 330108001" in out


def test_explain_entity_not_granted_and_missing_row(demo_config: Path) -> None:
    code, out = run("policy", "explain", "--role", "public", "--region", "330108000000",
                    "--config", str(demo_config), "Payment", "1")
    assert code == 0 and "not granted to read Payment" in out
    code, out = run("policy", "explain", "--role", "discipline_inspector", "--region",
                    "330108000000", "--config", str(demo_config), "Payment", "99999999")
    assert code == 0 and "no Payment row has this id" in out


def test_explain_rejects_bad_arguments(demo_config: Path) -> None:
    code, out = run("policy", "explain", "--role", "nobody", "--region", "330108000000",
                    "--config", str(demo_config), "Payment", "1")
    assert code != 0 and "no role 'nobody'" in out
    code, out = run("policy", "explain", "--role", "public", "--region", "33010",
                    "--config", str(demo_config), "Payment", "1")
    assert code != 0 and "12-digit" in out


def test_explain_reads_a_file_source_from_the_hub_store(file_config: Path) -> None:
    code, out = run("import", "--source", "subsidy_export", "--config", str(file_config))
    assert code == 0, out
    store = file_config.parent / "hub.db"
    with sqlite3.connect(store) as conn:
        row_id, region = conn.execute(
            "SELECT id, region_code FROM file_subsidy_export_subsidy "
            "WHERE region_code LIKE '330108001%' LIMIT 1").fetchone()
    code, out = run("policy", "explain", "--role", "civil_affairs", "--region", "330108000000",
                    "--config", str(file_config), "Subsidy", str(row_id))
    assert code == 0, out
    assert "VISIBLE" in out and f"regionCode {region} is inside" in out
    assert "recipientName (name)" in out
