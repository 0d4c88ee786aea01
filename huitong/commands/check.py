"""`huitong check`: can the hub reach its store and every source now, and how fast?

Builds the connectors from huitong.toml, opens them, asks each for its health and prints a
table; exit code 1 if the store or any source is down. File sources are checked without
importing their drops (that is `huitong import`'s job).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import click
import sqlalchemy as sa
from rich.console import Console
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncEngine

from connectors.base import Connector, Health, MappingError, Services

from ..settings import ConfigError, Settings, load_settings
from ..sources import build_connectors
from .config_lookup import config_option

# Beyond each connector's own timeouts: a check never hangs on one source.
CHECK_SECONDS = 30.0


async def store_health(store: AsyncEngine) -> Health:
    started = time.perf_counter()
    try:
        async with asyncio.timeout(CHECK_SECONDS), store.connect() as conn:
            await conn.execute(sa.text("SELECT 1"))
    except Exception as exc:  # any failure means the store is down
        return Health("hub store", "store", False, _ms(started), type(exc).__name__)
    return Health("hub store", "store", True, _ms(started))


async def source_health(connector: Connector, store: AsyncEngine) -> Health:
    started = time.perf_counter()
    try:
        async with asyncio.timeout(CHECK_SECONDS):
            # Only look: a file source's drops are imported by `huitong import`, not here.
            await connector.attach(Services(store=store, start_up=False))
            await connector.open()
            return await connector.health()
    except TimeoutError:
        return Health(connector.name, connector.kind, False, _ms(started),
                      f"no answer within {CHECK_SECONDS:.0f}s")
    except Exception as exc:  # report it, check the other sources
        return Health(connector.name, connector.kind, False, _ms(started), type(exc).__name__)
    finally:
        await connector.close()


async def check_all(settings: Settings, connectors: dict[str, Connector]) -> list[Health]:
    from ..hub import open_store  # the hub module pulls in the GraphQL stack: load it late

    store = open_store(settings.store_url)
    try:
        return list(await asyncio.gather(
            store_health(store), *(source_health(c, store) for c in connectors.values())))
    finally:
        await store.dispose()


def render(results: list[Health]) -> Table:
    table = Table("source", "kind", "status", "latency", "detail")
    for h in results:
        status = "[green]ok[/]" if h.ok else "[bold red]failed[/]"
        table.add_row(h.source, h.kind, status, f"{h.latency_ms:.1f} ms", h.detail)
    return table


@click.command()
@config_option
def check(config: Path) -> None:
    """Check the hub store and every configured source; exit 1 if any is down."""
    try:
        settings = load_settings(config)
        connectors = build_connectors(settings.sources)
    except (ConfigError, MappingError) as exc:
        raise click.ClickException(str(exc)) from None
    results = asyncio.run(check_all(settings, connectors))
    console = Console()
    console.print(render(results))
    down = [h.source for h in results if not h.ok]
    if down:
        console.print(f"[bold red]down:[/] {', '.join(down)}")
        raise SystemExit(1)
    console.print(f"[green]all {len(results)} up[/]")


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)
