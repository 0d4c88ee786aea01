"""Every command says what it does and every option what it is for: the whole command tree
is walked, and `--help` of each command runs through the real entry point."""

from __future__ import annotations

from collections.abc import Iterator

import click
import pytest
from click.testing import CliRunner

from huitong.cli import main


def walk(group: click.Group, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...],
                                                                           click.Command]]:
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        here = (*path, name)
        assert command is not None, f"{' '.join(here)} does not load"
        yield here, command
        if isinstance(command, click.Group):
            yield from walk(command, here)


COMMANDS = list(walk(main))


def test_the_tree_has_the_commands_we_document() -> None:
    names = {" ".join(path) for path, _ in COMMANDS}
    for expected in ("serve", "demo", "token", "check", "import", "schema print",
                     "policy show", "policy explain", "apikey create", "audit verify"):
        assert expected in names


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=lambda v: " ".join(v)
                         if isinstance(v, tuple) else "")
def test_every_command_and_option_has_help(path: tuple[str, ...], command: click.Command
                                           ) -> None:
    assert (command.help or "").strip(), f"huitong {' '.join(path)} has no help text"
    for param in command.params:
        if isinstance(param, click.Option) and param.name != "help":
            assert (param.help or "").strip(), \
                f"huitong {' '.join(path)} {param.opts[0]} has no help text"
    result = CliRunner().invoke(main, [*path, "--help"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
