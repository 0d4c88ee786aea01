"""Export benchmark: masked payments streamed by the hub against raw asyncpg fetch + encode.

    .venv/bin/python bench/bench_export.py --rows 1000000 --rounds 1

Fills a fresh PostgreSQL finance database directly (`INSERT … SELECT generate_series`, the
demo's tables and codes; the first tenth of the rows in one community, so an export of 100k
rows is `?regionCode=…`), serves the hub with `huitong serve` in a process of its own, and per
size and format (NDJSON, CSV) times, interleaved: (a) `GET /export/payments.<fmt>` as the
civil-affairs role (payee names and ID numbers masked, every page scoped, masked, noted and
audited) read to the end over HTTP, and (b) the same rows fetched with asyncpg in one server
cursor and encoded the same way (money as yuan, global ids, the same masks). Prints rows/s,
the hub/raw ratio (target ≥ 0.5) and the hub process's peak RSS (VmHWM, reset before each
export) at each size: it must not grow with the row count. The machine is shared: read
medians and ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import csv
import io
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from auth.access.masking import mask_id_number, mask_name
from auth.identity.tokens import mint_token
from huitong.demo.config import SECRET_ENV, write_demo_config
from huitong.demo.tables import CIVIL_AFFAIRS, FINANCE, INSPECTION

SECRET = "bench-secret-" + "e" * 40
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
UNIT = "330108001001"
FILL = """
INSERT INTO cw_zfmx (zfmx_id, qhdm, zfdh, zb_id, bxd_id, zffs, skrmc, skrlx, skrzjhm, skrzh,
                     je_fen, zfyt, gnkm, jjkm, zfsj, zfzt, gxsj)
SELECT g,
       CASE WHEN g <= $1 / 10 THEN '330108001001'
            ELSE '330108' || lpad((1 + g % 3)::text, 3, '0') || lpad((2 + g % 40)::text, 3, '0')
       END,
       'ZF2024' || lpad(g::text, 10, '0'), NULL, NULL, ((g % 4) + 1)::text,
       CASE WHEN g % 3 = 0 THEN '杭州市滨江区建设工程有限公司'
            ELSE (ARRAY['张','王','李','赵','陈','刘'])[1 + g % 6] ||
                 (ARRAY['伟','芳','娜','敏','静','丽','强'])[1 + g % 7] ||
                 CASE WHEN g % 2 = 0 THEN '华' ELSE '' END END,
       CASE WHEN g % 3 = 0 THEN '1' ELSE '2' END,
       CASE WHEN g % 3 = 0 THEN NULL ELSE '330108' || (19600101 + g % 400)::text
            || lpad((g % 1000)::text, 3, '0') || (g % 10)::text END,
       '6222' || lpad(g::text, 15, '0'), 10000 + (g::bigint * 7919) % 5000000,
       '办公用品采购', '2010301', (ARRAY['30201','30211','30215','30216','30227'])[1 + g % 5],
       timestamp '2024-01-01' + (g % 31536000) * interval '1 second',
       CASE WHEN g % 50 = 0 THEN '0' ELSE '1' END,
       timestamp '2024-01-01' + (g % 31536000) * interval '1 second'
FROM generate_series(1, $1) AS g
"""
RAW = """SELECT zfmx_id, qhdm, zfdh, zffs, skrmc, skrlx, skrzjhm, je_fen, zfyt, gnkm, jjkm,
                zfsj, zfzt FROM cw_zfmx WHERE qhdm BETWEEN $1 AND $2 ORDER BY zfmx_id"""
COLUMNS = ["id", "regionCode", "paymentNo", "method", "payeeName", "payeeKind",
           "payeeIdNumber", "amount", "purpose", "functionCode", "economicCode", "paidAt",
           "status"]
METHOD = {"1": "TREASURY", "2": "TRANSFER", "3": "OFFICIAL_CARD", "4": "CASH"}
KIND = {"1": "ORG", "2": "PERSON"}
STATUS = {"0": "PENDING", "1": "PAID", "9": "RETURNED"}


async def _database(name: str) -> str:
    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"


async def _drop(names: list[str]) -> None:
    conn = await asyncpg.connect(PG_ADMIN)
    try:
        for name in names:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def prepare(rows: int) -> tuple[dict[str, str], list[str]]:

    names = {s: f"huitong_bench_{s}_{uuid.uuid4().hex[:8]}"
             for s in ("finance", "civil_affairs", "inspection", "hub")}
    urls = {s: (await _database(n)).replace("postgresql://", "postgresql+asyncpg://")
            for s, n in names.items()}
    try:
        await _fill(urls, rows)
    except BaseException:
        await _drop(list(names.values()))
        raise
    return urls, list(names.values())


async def _fill(urls: dict[str, str], rows: int) -> None:
    from sqlalchemy.ext.asyncio import create_async_engine

    for source, metadata in (("finance", FINANCE), ("civil_affairs", CIVIL_AFFAIRS),
                             ("inspection", INSPECTION)):
        engine = create_async_engine(urls[source])
        async with engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
        await engine.dispose()
    conn = await asyncpg.connect(urls["finance"].replace("+asyncpg", ""))
    try:
        started = time.perf_counter()
        await conn.execute(FILL, rows)
        await conn.execute("ANALYZE cw_zfmx")
        print(f"filled {rows:,} payments in {time.perf_counter() - started:.1f}s")
    finally:
        await conn.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class HubProcess:
    def __init__(self, config: Path) -> None:
        self.port = _free_port()
        env = {**os.environ, SECRET_ENV: SECRET}
        self.proc = subprocess.Popen(
            [str(Path(sys.executable).parent / "huitong"), "serve", "--config", str(config),
             "--port", str(self.port)], env=env, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        self.url = f"http://127.0.0.1:{self.port}"
        for _ in range(300):
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("the hub did not start")

    def reset_peak(self) -> None:
        Path(f"/proc/{self.proc.pid}/clear_refs").write_text("5")

    def peak_rss_mb(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=20)


async def through_hub(hub: HubProcess, fmt: str, token: str, params: dict[str, str]
                      ) -> tuple[float, int, int]:
    started = time.perf_counter()
    size = lines = 0
    async with httpx.AsyncClient(timeout=600) as client, client.stream(
            "GET", f"{hub.url}/export/payments.{fmt}", params=params,
            headers={"Authorization": f"Bearer {token}"}) as response:
        assert response.status_code == 200, await response.aread()
        async for chunk in response.aiter_bytes(1 << 16):
            size += len(chunk)
            lines += chunk.count(b"\n")
    return time.perf_counter() - started, lines - (fmt == "csv"), size


def _gid(raw: int) -> str:
    return base64.urlsafe_b64encode(f"Payment:{raw}".encode()).decode().rstrip("=")


def _values(r: Any) -> list[Any]:
    return [_gid(r[0]), r[1], r[2], METHOD[r[3]], mask_name(r[4]), KIND[r[5]],
            mask_id_number(r[6]) if r[6] is not None else None, f"{r[7] / 100:.2f}", r[8],
            r[9], r[10], r[11], STATUS[r[12]]]


async def raw(dsn: str, fmt: str, low: str, high: str) -> tuple[float, int, int]:
    """The same rows straight from PostgreSQL, encoded the same way (no hub in between)."""
    started = time.perf_counter()
    conn = await asyncpg.connect(dsn)
    size = count = 0
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    try:
        async with conn.transaction():
            batch: list[Any] = []
            async for record in conn.cursor(RAW, low, high, prefetch=5000):
                batch.append(record)
                if len(batch) == 5000:
                    size += _encode(batch, fmt, dumps, buffer, writer)
                    count += len(batch)
                    batch = []
            size += _encode(batch, fmt, dumps, buffer, writer)
            count += len(batch)
    finally:
        await conn.close()
    return time.perf_counter() - started, count, size


def _encode(batch: list[Any], fmt: str, dumps: Any, buffer: io.StringIO, writer: Any) -> int:
    if fmt == "ndjson":
        lines = []
        for r in batch:
            values = _values(r)
            values[11] = values[11].isoformat()
            lines.append(dumps(dict(zip(COLUMNS, values, strict=True))))
        return len(("\n".join(lines) + "\n").encode()) if lines else 0
    for r in batch:
        values = _values(r)
        values[11] = values[11].isoformat(sep=" ")
        writer.writerow(["" if v is None else v for v in values])
    data = buffer.getvalue().encode()
    buffer.seek(0)
    buffer.truncate()
    return len(data)


async def measure(hub: HubProcess, dsn: str, token: str, rows: int, size_label: str,
                  params: dict[str, str], low: str, high: str, rounds: int) -> None:
    for fmt in ("ndjson", "csv"):
        hub_rates, raw_rates, peaks = [], [], []
        for _ in range(rounds):
            hub.reset_peak()
            seconds, count, _ = await through_hub(hub, fmt, token, params)
            peaks.append(hub.peak_rss_mb())
            assert count == rows, (count, rows)
            hub_rates.append(count / seconds)
            seconds, count, _ = await raw(dsn, fmt, low, high)
            assert count == rows
            raw_rates.append(count / seconds)
        ratios = [h / r for h, r in zip(hub_rates, raw_rates, strict=True)]
        print(f"{size_label:>5} {fmt:6}  hub {statistics.median(hub_rates):>9,.0f} rows/s  "
              f"raw {statistics.median(raw_rates):>9,.0f} rows/s  ratio "
              f"{statistics.median(ratios):.2f}  hub peak RSS {max(peaks):.0f} MB")


async def main_async(args: argparse.Namespace) -> None:
    urls, names = await prepare(args.rows)
    directory = Path(tempfile.mkdtemp(prefix="bench-export-"))
    config = write_demo_config(directory, {s: urls[s] for s in
                                           ("finance", "civil_affairs", "inspection")},
                               urls["hub"])
    token = mint_token(SECRET, subject="bench", role="civil_affairs",
                       region_code="330108000000", ttl_seconds=7200)
    dsn = urls["finance"].replace("+asyncpg", "")
    small = args.rows // 10
    try:
        print(f"{'rows':>5} {'format':6}  through the hub (HTTP, masked, audited) vs asyncpg "
              "fetch + encode")
        for label, count, params, low, high in (
                (f"{small // 1000}k", small, {"regionCode": UNIT}, UNIT, UNIT),
                (f"{args.rows // 1000}k" if args.rows < 1_000_000 else
                 f"{args.rows // 1_000_000}M", args.rows, {}, "330108000000",
                 "330108999999")):
            hub = HubProcess(config)  # a fresh process per size: its own peak
            try:
                await measure(hub, dsn, token, count, label, params, low, high, args.rounds)
            finally:
                hub.stop()
    finally:
        await _drop(names)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=1)
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
