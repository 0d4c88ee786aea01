"""`huitong demo`: generate the three departments' demo data and serve the hub on it.

The hub reads all three connector kinds at once: the finance, civil-affairs and inspection
databases (sql), the civil-affairs disclosure JSON service that the demo starts beside the
hub on a loopback port of its own (rest), and the subsidy payouts exported as a GB18030 CSV
into the data folder (file). Generation is skipped when the data folder already holds data
of the same scale and seed. The JWT secret for demo tokens is made once and kept in the data
folder (mode 600), unless HUITONG_JWT_SECRET is set.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
from pathlib import Path

import click

from auth.identity.tokens import mint_token

from ..demo import disclosure_api
from ..demo.config import DEMO_PRINCIPALS, SECRET_ENV, mixed_sources, write_demo_config
from ..demo.exports import SUBSIDY_FILE, export_subsidies
from .config_lookup import CONFIG_ENV, DEMO_CONFIG
from .serve import load_or_exit, run_server

MARKER = "demo.json"
EXPORTS = Path("exports") / "subsidies"


SECRET_FILE = ".jwt-secret"


def _secret(data_dir: Path) -> str:
    if os.environ.get(SECRET_ENV):
        return os.environ[SECRET_ENV]
    path = data_dir / SECRET_FILE
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48), encoding="utf-8")
        path.chmod(0o600)
    return path.read_text(encoding="utf-8").strip()


def _ensure_data(data_dir: Path, scale: int, seed: int, regenerate: bool) -> dict[str, str]:
    from ..demo.generate import generate, sqlite_urls

    urls = sqlite_urls(data_dir)
    wanted = {"scale": scale, "seed": seed}
    marker = data_dir / MARKER
    current = json.loads(marker.read_text(encoding="utf-8")) if marker.exists() else None
    export = data_dir / EXPORTS / SUBSIDY_FILE
    if regenerate or current != wanted:
        click.echo(f"Generating demo data (scale {scale}) in {data_dir} …")
        marker.unlink(missing_ok=True)
        export.unlink(missing_ok=True)
        summary = asyncio.run(generate(urls, scale=scale, seed=seed, progress=True))
        marker.write_text(json.dumps(wanted), encoding="utf-8")
        click.echo(f"Generated: {summary}")
    if not export.exists():
        asyncio.run(export_subsidies(urls.finance, export.parent))
        click.echo(f"Exported the subsidy payouts (GB18030 CSV) to {export}")
    return {"finance": urls.finance, "civil_affairs": urls.civil_affairs,
            "inspection": urls.inspection}


def _finding(config: Path) -> str:
    """How other commands will find the demo's configuration from here."""
    if (Path.cwd() / DEMO_CONFIG).resolve() == config.resolve():
        return "run from this folder find this configuration by themselves"
    return f"find it with --config {config} or {CONFIG_ENV}={config}"


@click.command()
@click.option("--port", default=8000, show_default=True, type=int,
              help="Port of the hub (GraphiQL at /graphql).")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (127.0.0.1: this machine only).")
@click.option("--api-port", default=0, show_default=True, type=int,
              help="Port of the demo's disclosure JSON service (0: any free port).")
@click.option("--data-dir", type=click.Path(path_type=Path), default="huitong-data",
              show_default=True, help="Where the demo databases and hub store live.")
@click.option("--scale", default=1, show_default=True, type=click.IntRange(1, 2000),
              help="Data volume: 2,500 payments per unit; 400 gives a million.")
@click.option("--seed", default=20241, show_default=True, type=int,
              help="Seed of the generated data (the same seed gives the same data).")
@click.option("--regenerate", is_flag=True, help="Generate the data again even if present.")
def demo(port: int, host: str, api_port: int, data_dir: Path, scale: int, seed: int,
         regenerate: bool) -> None:
    """Generate demo data for all three departments and serve the hub with GraphiQL."""
    data_dir = data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    urls = _ensure_data(data_dir, scale, seed, regenerate)
    secret = _secret(data_dir)
    os.environ[SECRET_ENV] = secret
    rows = asyncio.run(disclosure_api.load_disclosures(urls["civil_affairs"]))
    try:
        api = disclosure_api.start(rows, port=api_port,
                                   civil_affairs_url=urls["civil_affairs"])
    except (OSError, RuntimeError) as exc:
        raise click.ClickException(f"the disclosure JSON service could not start on port "
                                   f"{api_port}: {exc}") from None
    try:
        config = write_demo_config(data_dir, urls, f"sqlite+aiosqlite:///{data_dir / 'hub.db'}",
                                   extra_sources=mixed_sources(api.url, EXPORTS),
                                   secret_file=Path(SECRET_FILE))
        settings = load_or_exit(config)
        url = f"http://{host}:{port}/graphql"
        click.echo(f"\nHuitong demo: GraphiQL at {url}  (config: {config})")
        click.echo("Sources: finance, civil_affairs, inspection (sql: SQLite files in the data "
                   "folder);\n  civil_affairs_api (rest: disclosures, "
                   f"{disclosure_api.sample_url(api)});\n  subsidy_export (file: "
                   f"{data_dir / EXPORTS / SUBSIDY_FILE}, GB18030).")
        click.echo("Without a token you are the `public` role. Demo tokens (valid 12 hours), "
                   "to send as the header  Authorization: Bearer <token>")
        for role, (subject, agency, region) in DEMO_PRINCIPALS.items():
            token = mint_token(secret, subject=subject, role=role, region_code=region,
                               agency=agency, ttl_seconds=12 * 3600)
            click.echo(f"\n  {role} ({agency}, {region}):\n  {token}")
        click.echo(f"\nThe hub runs in the foreground: Ctrl-C stops it (the data stays in "
                   f"{data_dir}).")
        click.echo(f"Other huitong commands {_finding(config)}, e.g. in another terminal:\n"
                   "  huitong token --role finance_officer --region 330108001000\n")
        # One INFO line per request to the disclosure service would drown the hub's log.
        logging.getLogger("httpx").setLevel(logging.WARNING)
        run_server(settings, host, port)
    finally:
        api.stop()
