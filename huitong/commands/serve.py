"""`huitong serve`: run the hub from a `huitong.toml` under uvicorn, in one or more processes.

With `--workers N` (N > 1) uvicorn starts N worker processes on the same socket, each building
its own hub from the configuration (named to them in `HUITONG_CONFIG`) and opening its own
pools; the audit chain stays one chain, since every append takes the store's head lock. An
embedded SQLite hub store is for one process: production mode refuses more workers on it.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import click
import uvicorn
from sqlalchemy.engine import make_url
from starlette.applications import Starlette

from auth.access.policy import PolicyError
from connectors.base import MappingError

from ..app import create_app
from ..settings import ConfigError, Settings, load_settings
from .config_lookup import config_option

CONFIG_ENV = "HUITONG_CONFIG"
LOG_FORMAT = "%(levelname)s %(name)s: %(message)s"


def load_or_exit(config: Path) -> Settings:
    try:
        return load_settings(config)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


def worker_app() -> Starlette:
    """The app of one worker process (uvicorn's factory for `--workers`)."""
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    return create_app(load_settings(Path(os.environ[CONFIG_ENV])))


def check_workers(settings: Settings, workers: int) -> None:
    if workers < 1:
        raise click.ClickException("--workers: expected at least 1")
    if workers > 1 and settings.production and \
            make_url(settings.store_url).get_backend_name() == "sqlite":
        raise click.ClickException(
            f"{settings.path}: [hub].store_url: {workers} workers need a PostgreSQL hub store; "
            "an embedded SQLite store serves one process (use --workers 1)")


def server_config(app: Any, host: str, port: int, **options: Any) -> uvicorn.Config:
    """How the hub runs under uvicorn: no `Server: uvicorn` header (it only helps whoever
    looks for servers of a known version)."""
    settings: dict[str, Any] = {"log_level": "info", "access_log": False, **options}
    return uvicorn.Config(app, host=host, port=port, server_header=False, **settings)


def run_server(settings: Settings, host: str, port: int, workers: int = 1) -> None:
    check_workers(settings, workers)
    try:
        app = create_app(settings)  # every problem of the configuration, before listening
    except (ConfigError, PolicyError, MappingError) as exc:
        raise click.ClickException(str(exc)) from None
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    if workers == 1:
        uvicorn.Server(server_config(app, host, port)).run()
        return
    os.environ[CONFIG_ENV] = str(settings.path.resolve())
    uvicorn.run("huitong.commands.serve:worker_app", factory=True, workers=workers, host=host,
                port=port, log_level="info", access_log=False, server_header=False)


@click.command()
@config_option
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (127.0.0.1: this machine only).")
@click.option("--port", default=8000, show_default=True, type=int, help="Port to listen on.")
@click.option("--workers", default=1, show_default=True, type=int,
              help="Worker processes (each with its own pools; needs a PostgreSQL hub store "
              "in production).")
def serve(config: Path, host: str, port: int, workers: int) -> None:
    """Serve the hub described by a huitong.toml."""
    run_server(load_or_exit(config), host, port, workers)
