"""`huitong export` and `huitong report`: the HTTP downloads, run locally for a principal.

Both open the hub of a `huitong.toml` (its sources, policy and audit trail) and act as the
principal named by `--role` and `--region`, exactly as a request in that role would: the same
parameters (`--param amountMin=100.00`, `--fields`, `--after`, `--encoding`), the same scope,
masking and refusals (with their stable codes), and one audit record naming the operator
(`cli:<user>`). The export streams to the file with a progress bar; an interrupted export
resumes with `--after <id of the last row written>`.

    huitong export payments.csv --role civil_affairs --region 330108000000 \\
        --param paidFrom=2024-01-01T00:00:00 --encoding gb18030 -o payments.csv
    huitong report finance-disclosure.xlsx --role finance_officer --region 330108001000 \\
        --param regionCode=330108001001 --param period=2024Q1 -o report.xlsx
"""

from __future__ import annotations

import asyncio
import getpass
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from auth.access.policy import PolicyError, RolePolicy
from auth.audit import AccessLog, AuditEntry, DocumentInfo
from auth.identity.principal import Principal
from connectors.base import MappingError
from connectors.gateway import Gateway
from publishing.export import ExportStream, export_entry
from publishing.export_request import ExportRefused, parse_export
from publishing.report_formats import to_csv, to_xlsx
from publishing.reports import ReportBuilder

from ..export_route import refusal_of
from ..hub import Hub
from ..settings import ConfigError
from .config_lookup import config_option
from .serve import load_or_exit


def _principal(role: str, region: str) -> Principal:
    who = f"cli:{getpass.getuser()}"
    return Principal(subject=who, role=role, region_code=region, credential=who)


def _params(pairs: Sequence[str]) -> list[tuple[str, str]]:
    found = []
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep:
            raise click.BadParameter(f"{pair!r}: expected name=value", param_hint="--param")
        found.append((name, value))
    return found


async def _open(config: Path) -> Hub:
    try:
        hub = Hub.build(load_or_exit(config))
    except (ConfigError, PolicyError, MappingError) as exc:
        raise click.ClickException(str(exc)) from None
    await hub.open()
    return hub


def _refused(exc: BaseException) -> click.ClickException:
    refusal = refusal_of(exc)
    if refusal is None:
        raise exc
    return click.ClickException(f"{refusal.code}: {refusal.message}")


def _role(hub: Hub, name: str) -> RolePolicy:
    role = hub.policy.role(name)
    if role is None or role.system:
        raise click.ClickException(f"FORBIDDEN: the role {name!r} is not a caller role of "
                                   "this hub's policy")
    return role


async def _export(config: Path, target: str, role_name: str, region: str,
                  params: list[tuple[str, str]], out: Path) -> None:
    root, _, fmt = target.rpartition(".")
    hub = await _open(config)
    try:
        role = _role(hub, role_name)
        principal = _principal(role_name, region)
        started_at, started = datetime.now(UTC), time.perf_counter()
        log = AccessLog(distinct=True)
        try:
            request = parse_export(role, root, fmt, params)
            stream = ExportStream(Gateway.for_principal(hub.policy, principal, hub.sources,
                                                        log), request)
            total = await stream.count()
            await stream.prepare()
        except Exception as exc:
            raise _refused(exc) from None
        stopped: str | None = "interrupted"
        try:
            with out.open("wb") as fh, Progress(
                    TextColumn(f"export {target}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn()) as bar:
                task = bar.add_task("rows", total=total)
                async for chunk in stream.chunks():
                    fh.write(chunk)
                    bar.update(task, completed=stream.run.rows)
            stopped = None
        except Exception as exc:
            refusal = refusal_of(exc)
            stopped = refusal.code if refusal is not None else "INTERNAL_SERVER_ERROR"
            raise click.ClickException(
                f"{stopped}: the export stopped after {stream.run.rows} rows; resume with "
                f"--after {stream.run.last_id}") from None
        finally:
            stream.run.stopped = stopped
            assert hub.recorder is not None
            await hub.recorder.store.append(export_entry(
                principal, stream, log, document=f"huitong export {target}",
                started_at=started_at, duration_ms=(time.perf_counter() - started) * 1000,
                max_listed_ids=hub.recorder.config.max_listed_ids))
        click.echo(f"{stream.run.rows} rows, {stream.run.size} bytes → {out} "
                   f"({stream.run.sha256})")
    finally:
        await hub.close()


async def _report(config: Path, target: str, role_name: str, region: str,
                  params: list[tuple[str, str]], out: Path, encoding: str) -> None:
    kind, _, fmt = target.rpartition(".")
    hub = await _open(config)
    try:
        role = _role(hub, role_name)
        principal = _principal(role_name, region)
        log = AccessLog()
        started_at, started = datetime.now(UTC), time.perf_counter()
        if fmt not in ("xlsx", "csv"):
            raise click.ClickException("NOT_FOUND: reports are <kind>.xlsx or <kind>.csv")
        try:
            built = await ReportBuilder(Gateway.for_principal(
                hub.policy, principal, hub.sources, log), role).build(kind, params)
        except Exception as exc:
            raise _refused(exc) from None
        body = to_xlsx(built) if fmt == "xlsx" else to_csv(built, encoding)
        assert hub.recorder is not None
        await hub.recorder.store.append(AuditEntry.build(
            principal, document=DocumentInfo.of_text(f"huitong report {target}"),
            operation_name=f"report {target}", variables=dict(params), log=log,
            outcome="ok", duration_ms=(time.perf_counter() - started) * 1000, at=started_at,
            extra={"report": {"kind": kind, "sheets": [s.name for s in built.sheets],
                              "rows": sum(len(s.rows) for s in built.sheets),
                              "bytes": len(body)}},
            max_listed_ids=hub.recorder.config.max_listed_ids))
        out.write_bytes(body)
        click.echo(f"{built.title}: {', '.join(s.name for s in built.sheets)} → {out}")
    finally:
        await hub.close()


_COMMON = [
    click.option("--role", "role_name", required=True, help="The role to act in."),
    click.option("--region", required=True, help="The principal's jurisdiction region code."),
    click.option("--param", "params", multiple=True, metavar="NAME=VALUE",
                 help="A filter or report parameter, as in the URL (repeatable)."),
    click.option("-o", "--out", type=click.Path(path_type=Path), required=True,
                 help="Where to write the file."),
]


def _with_common(command: click.Command) -> click.Command:
    for option in reversed(_COMMON):
        command = option(command)
    return config_option(command)


@click.command("export")
@click.argument("target", metavar="LIST.FORMAT")
@click.option("--fields", help="Columns, comma-separated (default: all the role sees).")
@click.option("--after", help="Resume after this id (the last row of an earlier export).")
@click.option("--encoding", help="CSV only: utf-8 (with a BOM, the default) or gb18030.")
def export_command(target: str, config: Path, role_name: str, region: str,
                   params: tuple[str, ...], out: Path, fields: str | None, after: str | None,
                   encoding: str | None) -> None:
    """Export a list (payments.csv, subsidies.ndjson, disclosures.xlsx …) for a principal."""
    pairs = _params(params)
    pairs += [(k, v) for k, v in (("fields", fields), ("after", after),
                                  ("encoding", encoding)) if v is not None]
    try:
        asyncio.run(_export(config, target, role_name, region, pairs, out))
    except ExportRefused as exc:
        raise click.ClickException(f"{exc.code}: {exc.message}") from None


@click.command("report")
@click.argument("target", metavar="KIND.FORMAT")
@click.option("--encoding", default="utf-8", show_default=True,
              type=click.Choice(["utf-8", "gb18030"]), help="CSV only.")
def report_command(target: str, config: Path, role_name: str, region: str,
                   params: tuple[str, ...], out: Path, encoding: str) -> None:
    """Build a report (finance-disclosure.xlsx, subsidy-list.csv, spending-by-category.xlsx)."""
    codec = "utf-8-sig" if encoding == "utf-8" else encoding
    asyncio.run(_report(config, target, role_name, region, _params(params), out, codec))


export_command = _with_common(export_command)
report_command = _with_common(report_command)
