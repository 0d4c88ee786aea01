"""The `huitong` command line: subcommands are loaded lazily from `huitong.commands`."""

from __future__ import annotations

import importlib
from typing import Any

import click

# name -> "module:attribute"; each module owns one command or command group.
COMMANDS: dict[str, str] = {
    "serve": "huitong.commands.serve:serve",
    "demo": "huitong.commands.demo:demo",
    "token": "huitong.commands.token:token",
    "apikey": "huitong.commands.apikey:apikey",
    "policy": "huitong.commands.policy:policy",
    "import": "huitong.commands.import_file:import_file",
    "check": "huitong.commands.check:check",
    "audit": "huitong.commands.audit:audit",
    "schema": "huitong.commands.sdl:schema",
    "export": "huitong.commands.pull:export_command",
    "report": "huitong.commands.pull:report_command",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            return None
        command: Any = getattr(module, attr)
        return command


@click.group(cls=LazyGroup)
@click.version_option(package_name="huitong")
def main() -> None:
    """Huitong (汇通): a role-scoped GraphQL hub over finance, civil-affairs and inspection data."""
