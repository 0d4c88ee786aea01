"""`huitong schema print`: a role's GraphQL schema (SDL), for codegen and review.

Exactly the schema the hub serves that role with this configuration (and what
`GET /graphql/schema.graphql` answers a caller of the role): only stdout carries it.
"""

from __future__ import annotations

from pathlib import Path

import click

from schema.build import build_role_schema

from .config_lookup import config_option
from .policy import load_policy_or_exit, role_or_exit
from .serve import load_or_exit


@click.group()
def schema() -> None:
    """The roles' GraphQL schemas."""


@schema.command(name="print")
@click.option("--role", "role_name", required=True,
              help="The role whose schema to print, e.g. public.")
@click.option("--out", type=click.Path(dir_okay=False, writable=True, path_type=Path),
              help="Write the SDL to this file instead of stdout.")
@config_option
def print_schema(role_name: str, out: Path | None, config: Path) -> None:
    """Print ROLE's schema as GraphQL SDL (only what that role can see)."""
    settings = load_or_exit(config)
    role = role_or_exit(load_policy_or_exit(settings), role_name)
    sdl = str(build_role_schema(role, production=settings.production)) + "\n"
    if out is None:
        click.echo(sdl, nl=False)
        return
    try:
        out.write_text(sdl, encoding="utf-8")
    except OSError as exc:
        raise click.ClickException(f"{out}: {exc.strerror or exc}") from None
    click.echo(f"Wrote {role.name}'s schema to {out}.", err=True)
