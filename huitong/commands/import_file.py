"""`huitong import`: load CSV/XLSX drops into a file source, with progress and a report.

    huitong import exports/subsidies-2024-03.csv --source subsidy_export
    huitong import --source subsidy_export          # every file at the source's `path`

Valid rows go into the hub store; rejected rows are listed (the first few, with line, column
and reason) and all kept in the store's `import_rejects` table. Exit code 1 if a file was
refused.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from connectors.base import MappingError, Services, SourceError
from connectors.file.connector import FileConnector
from connectors.file.load import ImportReport

from ..settings import ConfigError, Settings, load_settings
from ..sources import build_connectors
from .config_lookup import config_option

STYLE = {"imported": "green", "already_imported": "cyan", "refused": "bold red"}


def file_connector(settings: Settings, name: str) -> FileConnector:
    source = settings.sources.get(name)
    names = [n for n, s in settings.sources.items() if s.kind == "file"]
    if source is None or source.kind != "file":
        raise click.ClickException(
            f"{settings.path}: no file source {name!r}; file sources: {', '.join(names) or 'none'}")
    try:
        connector = build_connectors({name: source})[name]
    except (ConfigError, MappingError) as exc:
        raise click.ClickException(str(exc)) from None
    assert isinstance(connector, FileConnector)
    return connector


async def run_imports(settings: Settings, connector: FileConnector, files: list[Path],
                      console: Console) -> list[ImportReport]:
    from ..hub import open_store  # the hub module pulls in the GraphQL stack: load it late

    store = open_store(settings.store_url)
    await connector.attach(Services(store=store, start_up=False))
    reports = []
    try:
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn(), console=console, transient=True) as progress:
            for path in files:
                update = _progress_callback(progress, path.name)
                reports.append(await connector.import_file(path, progress=update))
    finally:
        await connector.close()
        await store.dispose()
    return reports


def _progress_callback(progress: Progress, name: str) -> Callable[[str, int, int | None], None]:
    """One bar per phase of a file: reading (lines) then loading (rows)."""
    tasks: dict[str, TaskID] = {}

    def update(phase: str, done: int, total: int | None) -> None:
        if phase not in tasks:
            label = "reading" if phase == "read" else "loading"
            tasks[phase] = progress.add_task(f"{label} {name}", total=total)
        progress.update(tasks[phase], completed=done, total=total)

    return update


def print_report(console: Console, report: ImportReport, show: int) -> None:
    status = f"[{STYLE[report.status]}]{report.status.replace('_', ' ')}[/]"
    console.print(f"{report.file_name}: {status}"
                  + (f" — {report.message}" if report.message else ""))
    if report.parts:
        table = Table("entity", "sheet", "read", "loaded", "rejected", "replaced", "table")
        for p in report.parts:
            table.add_row(p.entity, p.sheet or "", str(p.rows_read), str(p.rows_loaded),
                          str(p.rows_rejected), str(p.rows_replaced), p.table)
        console.print(table)
    if report.encoding:
        console.print(f"encoding {report.encoding}, delimiter {report.delimiter!r}")
    if report.rejects_total:
        rejects = Table("line", "sheet", "column", "reason", title="rejected rows")
        for r in report.rejects[:show]:
            rejects.add_row(str(r.line), r.sheet or "", r.column or "", r.reason)
        console.print(rejects)
        more = report.rejects_total - min(show, len(report.rejects))
        console.print(
            (f"… and {more} more. " if more > 0 else "")
            + f"All {report.rejects_total} problems are kept in the hub store's "
            f"{report.reject_table} table (run_id = {report.run_id}).")


@click.command("import")
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False,
                                                   path_type=Path))
@click.option("--source", "source_name", required=True, help="The file source to load into.")
@config_option
@click.option("--show", default=20, show_default=True, type=click.IntRange(0),
              help="How many rejected rows to list per file.")
def import_file(files: tuple[Path, ...], source_name: str, config: Path, show: int) -> None:
    """Load CSV/XLSX FILES into a file source (default: every file at its `path`)."""
    try:
        settings = load_settings(config)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    connector = file_connector(settings, source_name)
    paths = list(files) or connector.source.files()
    if not paths:
        raise click.ClickException(f"source {source_name!r}: no files given and none found at "
                                   f"its path ({connector.source.path})")
    console = Console()
    try:
        reports = asyncio.run(run_imports(settings, connector, paths, console))
    except (SourceError, OSError) as exc:
        raise click.ClickException(str(exc)) from None
    for report in reports:
        print_report(console, report, show)
    if any(r.status == "refused" for r in reports):
        raise SystemExit(1)
