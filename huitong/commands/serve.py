"""`huitong serve`: run the hub from a `huitong.toml` under uvicorn."""

from __future__ import annotations

import logging
from pathlib import Path

import click
import uvicorn

from auth.access.policy import PolicyError
from connectors.base import MappingError

from ..app import create_app
from ..settings import ConfigError, Settings, load_settings
from .config_lookup import config_option


def load_or_exit(config: Path) -> Settings:
    try:
        return load_settings(config)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


def run_server(settings: Settings, host: str, port: int) -> None:
    try:
        app = create_app(settings)
    except (ConfigError, PolicyError, MappingError) as exc:
        raise click.ClickException(str(exc)) from None
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    uvicorn.run(app, host=host, port=port, log_level="info", access_log=False)


@click.command()
@config_option
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (127.0.0.1: this machine only).")
@click.option("--port", default=8000, show_default=True, type=int, help="Port to listen on.")
def serve(config: Path, host: str, port: int) -> None:
    """Serve the hub described by a huitong.toml."""
    run_server(load_or_exit(config), host, port)
