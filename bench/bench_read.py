"""Read benchmark: the hub over HTTP against the same work done directly in SQL, same run.

    .venv/bin/python bench/bench_read.py --backend postgresql --scale 20 --rounds 40

(with the package installed, as the README's commands do).

Generates the demo sources at `--scale` into fresh databases, serves the hub with uvicorn on
a loopback port, and for each query of a mix times (a) the GraphQL request through the real
front door with a real JWT and (b) the equivalent SQL statements run directly on the source
with SQLAlchemy. Prints medians and the hub/direct ratio per query. The machine is shared:
read medians and ratios, not single figures.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import sqlalchemy as sa
import uvicorn
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from auth.identity.tokens import mint_token
from huitong.app import create_app
from huitong.demo.config import SECRET_ENV, write_demo_config
from huitong.demo.generate import DemoUrls, generate
from huitong.settings import load_settings

SECRET = "bench-secret-" + "b" * 40
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
SCOPE = ("330108000000", "330108999999")

LIST_100 = """{ payments(first: 100, orderBy: [{paidAt: DESC}]) { nodes {
  id paymentNo amount payeeName method economicCode paidAt regionCode } } }"""
DEEP_50 = """{ payments(first: 50, orderBy: [{paidAt: DESC}]) { nodes {
  paymentNo amount
  budgetIndicator { name functionCode }
  reimbursement { claimNo total invoices { invoiceNumber total } } } } }"""
SUMMARY = """{ spendingSummary(groupBy: [REGION, MONTH], regionLevel: TOWNSHIP) {
  regionCode month count totalAmount } }"""
COUNT = """{ payments(filter: {amountMin: "10000.00"}) { totalCount } }"""

LIST_SQL = """SELECT zfmx_id, zfdh, je_fen, skrmc, zffs, jjkm, zfsj, qhdm FROM cw_zfmx
  WHERE qhdm BETWEEN :lo AND :hi ORDER BY zfsj DESC, zfmx_id LIMIT 101"""
DEEP_SQL = [
    """SELECT zfmx_id, zfdh, je_fen, zb_id, bxd_id, zfsj FROM cw_zfmx
       WHERE qhdm BETWEEN :lo AND :hi ORDER BY zfsj DESC, zfmx_id LIMIT 51""",
    "SELECT zb_id, zbmc, gnkm FROM cw_yszb WHERE qhdm BETWEEN :lo AND :hi AND zb_id IN :zb",
    "SELECT bxd_id, bxdh, bxje_fen FROM cw_bxd WHERE qhdm BETWEEN :lo AND :hi AND bxd_id IN :bx",
    """SELECT fp_id, fphm, jshj_fen, bxd_id FROM cw_fp WHERE qhdm BETWEEN :lo AND :hi
       AND bxd_id IN :bx""",
]
SUMMARY_SQL = {
    "sqlite": """SELECT substr(qhdm, 1, 9), substr(zfsj, 1, 7), count(*), sum(je_fen)
      FROM cw_zfmx WHERE qhdm BETWEEN :lo AND :hi GROUP BY 1, 2 ORDER BY 1, 2""",
    "postgresql": """SELECT substr(qhdm, 1, 9), to_char(zfsj, 'YYYY-MM'), count(*),
      sum(je_fen) FROM cw_zfmx WHERE qhdm BETWEEN :lo AND :hi GROUP BY 1, 2 ORDER BY 1, 2""",
}
COUNT_SQL = "SELECT count(*) FROM cw_zfmx WHERE qhdm BETWEEN :lo AND :hi AND je_fen >= 1000000"


async def direct_deep(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        params = {"lo": SCOPE[0], "hi": SCOPE[1]}
        rows = (await conn.execute(sa.text(DEEP_SQL[0]), params)).all()
        zb = tuple({r.zb_id for r in rows if r.zb_id is not None}) or (-1,)
        bx = tuple({r.bxd_id for r in rows if r.bxd_id is not None}) or (-1,)
        for stmt, extra in ((DEEP_SQL[1], {"zb": zb}), (DEEP_SQL[2], {"bx": bx}),
                            (DEEP_SQL[3], {"bx": bx})):
            text = sa.text(stmt).bindparams(*(sa.bindparam(k, expanding=True) for k in extra))
            (await conn.execute(text, {**params, **extra})).all()


def direct(engine: AsyncEngine, sql: str) -> Callable[[], Awaitable[None]]:
    async def run() -> None:
        async with engine.connect() as conn:
            (await conn.execute(sa.text(sql), {"lo": SCOPE[0], "hi": SCOPE[1]})).all()

    return run


async def timed(work: Callable[[], Awaitable[Any]], rounds: int) -> float:
    for _ in range(3):
        await work()
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        await work()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1000


async def fresh_urls(backend: str, directory: Path) -> dict[str, str]:
    names = ("finance", "civil_affairs", "inspection", "hub")
    if backend == "sqlite":
        return {n: f"sqlite+aiosqlite:///{directory / f'{n}.db'}" for n in names}
    conn = await asyncpg.connect(PG_ADMIN)
    urls = {}
    try:
        for n in names:
            db = f"huitong_bench_{n}_{uuid.uuid4().hex[:8]}"
            await conn.execute(f'CREATE DATABASE "{db}"')
            urls[n] = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{db}"
    finally:
        await conn.close()
    return urls


async def drop(urls: dict[str, str]) -> None:
    conn = await asyncpg.connect(PG_ADMIN)
    try:
        for url in urls.values():
            await conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
    finally:
        await conn.close()


async def main(args: argparse.Namespace) -> None:
    directory = Path(tempfile.mkdtemp(prefix="huitong-bench-"))
    urls = await fresh_urls(args.backend, directory)
    try:
        sources = {k: v for k, v in urls.items() if k != "hub"}
        summary = await generate(DemoUrls(**sources), scale=args.scale)
        print(f"{args.backend}, scale {args.scale}: {summary.counts['Payment']} payments")
        config = write_demo_config(directory, sources, urls["hub"])
        app = create_app(load_settings(config, environ={SECRET_ENV: SECRET}))
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=args.port,
                                               log_level="warning", lifespan="on"))
        serving = asyncio.create_task(server.serve())
        while not server.started:
            await asyncio.sleep(0.05)
        token = mint_token(SECRET, subject="bench", role="discipline_inspector",
                           region_code="330108000000")
        engine = create_async_engine(sources["finance"])
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{args.port}",
                                     headers={"Authorization": f"Bearer {token}"}) as client:

            def hub(query: str) -> Callable[[], Awaitable[None]]:
                async def run() -> None:
                    response = await client.post("/graphql", json={"query": query})
                    body = response.json()
                    assert response.status_code == 200 and "errors" not in body, body

                return run

            mix = [
                ("list 100 payments x 8 fields", hub(LIST_100), direct(engine, LIST_SQL)),
                ("50 payments + indicator + claim + invoices", hub(DEEP_50),
                 lambda: direct_deep(engine)),
                ("spendingSummary REGION x MONTH", hub(SUMMARY),
                 direct(engine, SUMMARY_SQL[args.backend])),
                ("totalCount with a filter", hub(COUNT), direct(engine, COUNT_SQL)),
            ]
            print(f"{'query':45} {'hub ms':>9} {'direct ms':>10} {'ratio':>7}")
            for name, hub_work, direct_work in mix:
                hub_ms = await timed(hub_work, args.rounds)
                direct_ms = await timed(direct_work, args.rounds)
                print(f"{name:45} {hub_ms:9.2f} {direct_ms:10.2f} {hub_ms / direct_ms:7.2f}")
        await engine.dispose()
        server.should_exit = True
        await serving
    finally:
        if args.backend == "postgresql":
            await drop(urls)
    print(f"(medians of {args.rounds} rounds, {dt.datetime.now():%Y-%m-%d %H:%M})")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="postgresql")
    parser.add_argument("--scale", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--port", type=int, default=8765)
    asyncio.run(main(parser.parse_args()))
