"""Which `huitong.toml` a command reads, found the same way by every command.

`--config` if given; else `./huitong.toml`; else the file named by `HUITONG_CONFIG`; else the
demo's (`./huitong-data/huitong.toml`, which `huitong demo` writes). The command says on
stderr which one it took and why, so stdout stays clean for what it prints (a token, SDL).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Final

import click

CONFIG_ENV: Final = "HUITONG_CONFIG"
LOCAL_CONFIG: Final = Path("huitong.toml")
DEMO_CONFIG: Final = Path("huitong-data") / "huitong.toml"
LOOKUP_HELP: Final = (f"The hub's configuration file (default: ./{LOCAL_CONFIG}, else "
                      f"${CONFIG_ENV}, else the demo's ./{DEMO_CONFIG}).")


class NoConfig(click.ClickException):
    """No configuration file was given or found."""


def find_config(given: Path | None, environ: Mapping[str, str] | None = None,
                cwd: Path | None = None) -> tuple[Path, str]:
    """The configuration to read, and how it was chosen."""
    env = os.environ if environ is None else environ
    here = Path.cwd() if cwd is None else cwd
    if given is not None:
        return given, "--config"
    if (here / LOCAL_CONFIG).is_file():
        return LOCAL_CONFIG, f"./{LOCAL_CONFIG}"
    named = env.get(CONFIG_ENV, "").strip()
    if named:
        return Path(named).expanduser(), f"${CONFIG_ENV}"
    if (here / DEMO_CONFIG).is_file():
        return DEMO_CONFIG, "the demo's, written by `huitong demo`"
    raise NoConfig(f"no configuration: looked for ./{LOCAL_CONFIG}, ${CONFIG_ENV} (not set) "
                   f"and ./{DEMO_CONFIG}; pass --config FILE, or run `huitong demo` first")


def _resolve(ctx: click.Context, param: click.Parameter, value: Path | None) -> Path:
    path, how = find_config(value)
    click.echo(f"config: {path} ({how})", err=True)
    return path


def _resolve_if_any(ctx: click.Context, param: click.Parameter, value: Path | None
                    ) -> Path | None:
    try:
        return _resolve(ctx, param, value)
    except NoConfig:
        return None


def config_option(command: Callable[..., Any] | None = None, *, required: bool = True,
                  name: str = "config") -> Any:
    """`--config`, resolved as `find_config` says; the command receives the path (or None
    when `required=False` and there is none)."""

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        return click.option(
            "--config", name, type=click.Path(dir_okay=False, path_type=Path), default=None,
            callback=_resolve if required else _resolve_if_any, help=LOOKUP_HELP)(fn)

    return decorate(command) if command is not None else decorate
