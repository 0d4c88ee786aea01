"""`huitong policy show|explain`: what a role sees, and why a principal can or cannot see a row."""

from __future__ import annotations

import asyncio
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from auth.access.explain import explain
from auth.access.policy import Policy, PolicyError, RolePolicy, load_policy
from auth.access.scope import Scoper, operator_lookup
from auth.identity.principal import Principal
from auth.model.catalog import ENTITIES
from auth.model.query import Op
from auth.model.regions import BadRegionCode, check_region_code
from connectors.base import Services, SourceError
from resolvers.ids import from_global_id

from ..settings import Settings
from ..sources import build_connectors
from .config_lookup import config_option
from .serve import load_or_exit

console = Console()


def load_policy_or_exit(settings: Settings) -> Policy:
    try:
        return load_policy(settings.policy_path)
    except PolicyError as exc:
        raise click.ClickException(str(exc)) from None


def role_or_exit(policy: Policy, name: str) -> RolePolicy:
    role = policy.role(name)
    if role is None:
        raise click.BadParameter(f"no role {name!r}; roles: {', '.join(policy.roles)}",
                                 param_hint="--role")
    return role


def _describe_scope(role: RolePolicy, entity: str) -> str:
    grant = role.grant(entity)
    assert grant is not None
    sample = Principal(subject="-", role=role.name, region_code="330108000000")
    parts = []
    for cond in Scoper(role, sample).row_scope(grant):
        if cond.op is Op.WITHIN:
            parts.append("regionCode inside the principal's jurisdiction")
        else:
            parts.append(f"{cond.field} in {', '.join(map(str, cond.value))}")
    return "; ".join(parts) or "all rows"


@click.group()
def policy() -> None:
    """Inspect the access policy."""


@policy.command()
@click.option("--role", "role_name", required=True, help="The role to show, e.g. public.")
@config_option
def show(role_name: str, config: Path) -> None:
    """A role's grants: entities, row predicates, masks, filters, orders, groupings and
    limits (its schema: `huitong schema print --role ROLE`)."""
    settings = load_or_exit(config)
    role = role_or_exit(load_policy_or_exit(settings), role_name)
    console.print(f"[bold]{role.name}[/bold]: {role.description}")
    limits = role.limits
    console.print(f"limits: first ≤ {limits.max_first}, nested lists ≤ {limits.max_list}, "
                  f"depth ≤ {limits.max_depth}, aliases ≤ {limits.max_aliases}, "
                  f"tokens ≤ {limits.max_tokens}; aggregates: minimum group {role.min_group_size}")
    operations = ", ".join(sorted(role.operations)) or "none"
    console.print(f"operations: {operations}")
    table = Table("entity", "access", "rows", "masked", "filter / order / group")
    for name in ENTITIES:
        grant = role.grant(name)
        if grant is None:
            continue
        access = ", ".join(a for a, on in (("read", grant.read), ("aggregate", grant.aggregate))
                           if on)
        masked = ", ".join(f"{f} ({m})" for f, m in grant.masked.items()) or "-"
        usable = " / ".join(", ".join(sorted(s)) or "-"
                            for s in (grant.filterable, grant.orderable, grant.groupable))
        table.add_row(name, access or "-", _describe_scope(role, name), masked, usable)
    console.print(table)
    console.print(f"Its schema (SDL): huitong schema print --role {role.name}")


async def _fetch_unscoped(settings: Settings, entity: str, row_id: str) -> dict[str, object] | None:
    """The operator's own look at the row, outside any role (this command runs locally)."""
    from ..hub import open_store  # the hub module pulls in the GraphQL stack: load it late

    connectors = build_connectors(settings.sources)
    connector = next((c for c in connectors.values() if entity in c.entities), None)
    if connector is None:
        raise click.ClickException(f"no configured source serves {entity}")
    store = open_store(settings.store_url)
    try:
        # Like the hub, but only looking: a file source's drops are read, not imported.
        await connector.attach(Services(store=store, start_up=False))
        await connector.open()
        try:
            rows = await connector.fetch(operator_lookup(entity, row_id))
        finally:
            await connector.close()
    except SourceError as exc:
        raise click.ClickException(f"the source {exc.source!r} could not answer ({exc.code}); "
                                   "`huitong check` tells more") from None
    finally:
        await store.dispose()
    return rows[0] if rows else None


@policy.command(name="explain")
@click.option("--role", "role_name", required=True, help="The principal's role.")
@click.option("--region", required=True, help="The principal's jurisdiction region code.")
@config_option
@click.argument("entity")
@click.argument("row_id")
def explain_command(role_name: str, region: str, config: Path, entity: str, row_id: str) -> None:
    """Whether a principal (ROLE at REGION) can see ENTITY row ROW_ID, and why."""
    settings = load_or_exit(config)
    role = role_or_exit(load_policy_or_exit(settings), role_name)
    try:
        check_region_code(region)
    except BadRegionCode as exc:
        raise click.BadParameter(str(exc), param_hint="--region") from None
    if entity not in ENTITIES or not ENTITIES[entity].exposed:
        raise click.BadParameter(f"no entity {entity!r}", param_hint="ENTITY")
    decoded = from_global_id(row_id)
    raw_id = decoded[1] if decoded and decoded[0] == entity else row_id
    row = asyncio.run(_fetch_unscoped(settings, entity, raw_id))
    principal = Principal(subject="explain", role=role.name, region_code=region)
    result = explain(role, principal, entity, row)
    verdict = "[green]VISIBLE[/green]" if result.visible else "[red]NOT VISIBLE[/red]"
    console.print(f"{entity} {raw_id} for {role.name} at {region}: {verdict}")
    for reason in result.reasons:
        console.print(f"  {reason}")
    if result.visible or row is not None:
        console.print(f"  clear: {', '.join(result.clear_fields) or '-'}")
        masked = ", ".join(f"{f} ({m})" for f, m in result.masked_fields.items())
        console.print(f"  masked: {masked or '-'}")
        console.print(f"  absent: {', '.join(result.absent_fields) or '-'}")
