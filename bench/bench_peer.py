"""The peer workloads: the hub against its own SQL run directly, in the same run, interleaved.

    .venv/bin/python bench/bench_peer.py --hub http://127.0.0.1:8100 --rounds 3 --duration 10

Runs on the data of the side-by-side kit (`../shared/peer-bench`: its throwaway cluster on
127.0.0.1:55432 after its `./setup`, and tokens from its `hub/mint-tokens`), against a hub
started on that data with `bench/peer/huitong.toml`. The workloads are the kit's (`floor`,
`Q1`, `Q2`, `Q3`, texts from its `bench/queries.sh`):

1. Capture. With `log_statement = all` on the kit's cluster (reset afterwards), one request per
   workload; the statements the hub's source connection sent for it (user `hub_reader`,
   database `postgres`) are read back from the server log with their parameters. Their number
   is the hub's statements per request (every round trip counts, BEGIN and ROLLBACK too).
2. Rounds. Per workload, `wrk -t1 -c16` with the kit's `bench.lua` (the 50 streets rotating)
   against the hub, then the raw floor: 16 asyncpg tasks over a pool of 10 connections running
   exactly the captured statements (prepared, as the hub's driver does; the street's code
   substituted in the parameters), with no HTTP or GraphQL in the way. Odd rounds run the hub
   first, even rounds the floor first.

Prints per workload the medians over the rounds, the req/s range, and hub/raw: the median over
rounds of the hub's req/s divided by the floor's in the same round. The machine is shared:
quote ratios from at least three rounds, with their range.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import re
import shlex
import statistics
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg

WORKLOADS = ("floor", "Q1", "Q2", "Q3")
_ENTRY = re.compile(r"^\S+ \S+ \S+ \[\d+\] (\S+)@(\S+) (LOG|DETAIL):  (.*)$")
_PARAM = re.compile(r"\$(\d+) = (NULL|'((?:[^']|'')*)')")


@dataclass
class Statement:
    sql: str
    params: list[str | None] = field(default_factory=list)


@dataclass
class Workload:
    name: str
    query: str
    variables: str
    statements: list[Statement] = field(default_factory=list)
    hub: list[dict[str, float]] = field(default_factory=list)
    raw: list[dict[str, float]] = field(default_factory=list)


def kit_queries(kit: Path) -> dict[str, tuple[str, str]]:
    """(hub query, variables mode) per workload, from the kit's bench/queries.sh."""
    script = f"set -a; . {shlex.quote(str(kit / 'bench/queries.sh'))}; env -0"
    env = dict(item.split("=", 1) for item in subprocess.run(
        ["bash", "-c", script], capture_output=True, check=True, env={},
    ).stdout.decode().split("\0") if "=" in item)
    return {w: (env[f"Q_hub_{w}"], env.get(f"V_{w}", "none")) for w in WORKLOADS}


def psql(port: int, *commands: str) -> None:
    args = ["psql", "-X", "-q", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-d",
            "postgres"]
    for command in commands:
        args += ["-c", command]
    subprocess.run(args, check=True, capture_output=True)


def post(url: str, token: str, query: str, variables: str, street: str) -> None:
    body = f'{{"query": {json.dumps(query)}, "variables": {_variables(variables, street)}}}'
    request = urllib.request.Request(url + "/graphql", body.encode(), {
        "Content-Type": "application/json", "Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        answer = response.read()
    if response.status != 200 or b'"errors"' in answer:
        raise SystemExit(f"the hub did not answer {query!r} cleanly: {answer[:500]!r}")


def _variables(mode: str, street: str) -> str:
    return f'{{"code": "{street}000"}}' if mode == "code" else "{}"


def capture(args: argparse.Namespace, workloads: list[Workload], token: str,
            street: str) -> None:
    """The statements the hub's source connection sends for one request of each workload."""
    log = Path(args.peer_dir) / "pg/server.log"
    psql(args.pg_port, "ALTER SYSTEM SET log_statement = 'all'",
         "ALTER SYSTEM SET log_line_prefix = '%m [%p] %u@%d '", "SELECT pg_reload_conf()")
    try:
        time.sleep(0.5)
        for w in workloads:
            post(args.hub, token, w.query, w.variables, street)  # warm: reflection, caches
            time.sleep(0.3)
            start = log.stat().st_size
            post(args.hub, token, w.query, w.variables, street)
            time.sleep(0.5)
            with log.open("rb") as f:
                f.seek(start)
                w.statements = parse_log(f.read().decode("utf-8", "replace"), args.reader)
    finally:
        psql(args.pg_port, "ALTER SYSTEM RESET log_statement",
             "ALTER SYSTEM RESET log_line_prefix", "SELECT pg_reload_conf()")


def parse_log(text: str, reader: str) -> list[Statement]:
    statements: list[Statement] = []
    current: Statement | None = None
    for line in text.splitlines():
        m = _ENTRY.match(line)
        if m is None:
            if current is not None and line.startswith("\t"):
                current.sql += "\n" + line[1:]
            continue
        current = None
        user, _db, level, message = m.groups()
        if user != reader:
            continue
        if level == "LOG" and (message.startswith("statement: ") or
                               message.startswith("execute ")):
            sql = message.split(": ", 1)[1]
            current = Statement(sql)
            statements.append(current)
        elif level == "DETAIL" and message.startswith("parameters: ") and statements:
            statements[-1].params = [None if v == "NULL" else q.replace("''", "'")
                                     for _, v, q in _PARAM.findall(message)]
    return statements


def _typed(value: str | None, pg_type: str) -> Any:
    if value is None:
        return None
    if pg_type in ("int2", "int4", "int8"):
        return int(value)
    if pg_type == "numeric":
        return Decimal(value)
    if pg_type == "bool":
        return value in ("t", "true")
    if pg_type in ("timestamp", "timestamptz"):
        return dt.datetime.fromisoformat(value)
    return value


async def raw_floor(args: argparse.Namespace, w: Workload, streets: list[str],
                    first: str) -> dict[str, float]:
    """The captured statements straight from asyncpg, with each street's code in turn."""
    # A pool of plain connections, so that statements can be kept prepared per connection.
    connections = [await asyncpg.connect(host="127.0.0.1", port=args.pg_port, user=args.reader,
                                         database="postgres") for _ in range(args.pool)]
    idle: asyncio.Queue[asyncpg.Connection] = asyncio.Queue()
    for c in connections:
        idle.put_nowait(c)
    lat: list[float] = []
    recording = False
    stop_at = 0.0
    prepared: dict[tuple[int, str], Any] = {}  # reused per connection, as the hub's driver does

    async def one(i: int) -> None:
        street = streets[i % len(streets)]
        t = time.perf_counter()
        conn = await idle.get()
        try:
            for s in w.statements:
                if not s.params:
                    await conn.execute(s.sql)
                    continue
                stmt = prepared.get((id(conn), s.sql))
                if stmt is None:
                    stmt = prepared[id(conn), s.sql] = await conn.prepare(s.sql)
                types = [p.name for p in stmt.get_parameters()]
                values = [_typed(None if p is None else p.replace(first, street), t_)
                          for p, t_ in zip(s.params, types, strict=True)]
                await stmt.fetch(*values)
        finally:
            idle.put_nowait(conn)
        if recording:
            lat.append(time.perf_counter() - t)

    async def worker(k: int) -> None:
        i = k
        while time.perf_counter() < stop_at:
            await one(i)
            i += args.connections

    stop_at = time.perf_counter() + args.warmup
    await asyncio.gather(*(worker(k) for k in range(args.connections)))
    recording, t0 = True, time.perf_counter()
    stop_at = t0 + args.duration
    await asyncio.gather(*(worker(k) for k in range(args.connections)))
    elapsed = time.perf_counter() - t0
    for c in connections:
        await c.close()
    lat.sort()

    def pct(q: float) -> float:
        return lat[min(len(lat) - 1, int(q * len(lat)))] * 1000 if lat else 0.0

    return {"rps": len(lat) / elapsed, "p50": pct(0.5), "p99": pct(0.99)}


def run_wrk(args: argparse.Namespace, w: Workload) -> dict[str, float]:
    kit = Path(args.kit)
    env = {**os.environ, "QUERY": w.query, "VARS": w.variables, "TOKFILE": args.hub_tokens,
           "STREETS": str(kit / "bench/streets.txt"), "GQL_PATH": "/graphql"}
    base = ["wrk", "-t1", f"-c{args.connections}", "--timeout", "10s", "-s",
            str(kit / "bench/bench.lua"), args.hub]
    if args.warmup:
        subprocess.run([*base[:3], f"-d{args.warmup:g}s", *base[3:]], env=env,
                       capture_output=True)
    out = subprocess.run([*base[:3], f"-d{args.duration:g}s", *base[3:]], env=env,
                         capture_output=True, text=True).stdout
    line = next((x for x in out.splitlines() if x.startswith("RESULT")), "")
    values = dict(kv.split("=") for kv in line.split()[1:])
    if not values or float(values.get("fail", 1)):
        print(f"    warning: {w.name}: failed requests or no result: {out.strip()[-300:]}")
    return {k: float(values.get(k, 0)) for k in ("rps", "p50", "p99", "fail")}


def report(workloads: list[Workload]) -> None:
    print(f"\n{'workload':8} {'system':6} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} "
          f"{'hub/raw':>8} {'req/s range':>17}  statements/request")
    for w in workloads:
        rows = [("hub", w.hub), ("raw", w.raw)] if w.raw else [("hub", w.hub)]
        for system, runs in rows:
            rps = [r["rps"] for r in runs]
            ratio = ""
            if system == "hub" and w.raw:
                paired = [h["rps"] / r["rps"] for h, r in zip(w.hub, w.raw, strict=True)]
                ratio = f"{statistics.median(paired):.2f}x"
            stmts = f"{len(w.statements)}" if system == "hub" else ""
            print(f"{w.name:8} {system:6} {statistics.median(rps):9.1f} "
                  f"{statistics.median(r['p50'] for r in runs):8.2f} "
                  f"{statistics.median(r['p99'] for r in runs):8.2f} {ratio:>8} "
                  f"{min(rps):8.1f}-{max(rps):<8.1f}  {stmts}")
    print("hub/raw: median over rounds of (hub req/s / raw req/s in the same round)")


def _default_kit() -> Path:
    """`../shared/peer-bench` beside the repository (or beside the worktrees' folder)."""
    here = Path(__file__).resolve()
    found = [p / "shared/peer-bench" for p in here.parents[1:4]
             if (p / "shared/peer-bench").is_dir()]
    return found[0] if found else here.parents[2] / "shared/peer-bench"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hub", default="http://127.0.0.1:8100")
    ap.add_argument("--kit", default=str(_default_kit()))
    ap.add_argument("--peer-dir", default=os.environ.get("PEER_DIR", "/tmp/peer-bench"))
    ap.add_argument("--hub-tokens", default=None, help="default: $PEER_DIR/tokens/hub.txt")
    ap.add_argument("--pg-port", type=int, default=55432)
    ap.add_argument("--reader", default="hub_reader", help="the hub source's database user")
    ap.add_argument("--workloads", default=" ".join(WORKLOADS))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", type=float, default=10)
    ap.add_argument("--warmup", type=float, default=2)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--pool", type=int, default=10)
    ap.add_argument("--capture-only", action="store_true",
                    help="print each workload's statements and stop")
    args = ap.parse_args()
    args.hub = args.hub.rstrip("/").removesuffix("/graphql")
    args.hub_tokens = args.hub_tokens or str(Path(args.peer_dir) / "tokens/hub.txt")
    kit = Path(args.kit)
    streets = [s for s in (kit / "bench/streets.txt").read_text().split() if s]
    tokens = [t for t in Path(args.hub_tokens).read_text().split() if t]
    queries = kit_queries(kit)
    workloads = [Workload(n, *queries[n]) for n in args.workloads.split()]
    capture(args, workloads, tokens[0], streets[0])
    for w in workloads:
        print(f"{w.name}: {len(w.statements)} statement(s) per request on the source")
        for s in w.statements:
            print(f"    {' '.join(s.sql.split())[:160]}  {s.params}")
    if args.capture_only:
        return
    print(f"load at start: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f}")
    for r in range(1, args.rounds + 1):
        for w in workloads:
            order = ("hub", "raw") if r % 2 else ("raw", "hub")
            for system in order:
                if system == "hub":
                    w.hub.append(run_wrk(args, w))
                    result = w.hub[-1]
                elif any(s.params or s.sql.lstrip().upper().startswith("SELECT")
                         for s in w.statements):
                    w.raw.append(asyncio.run(raw_floor(args, w, streets, streets[0])))
                    result = w.raw[-1]
                else:
                    continue
                print(f"  r{r} {w.name:5} {system:4} {result['rps']:8.1f} req/s  "
                      f"p50 {result['p50']:7.2f} ms  p99 {result['p99']:7.2f} ms")
    print(f"load at end: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f}")
    report(workloads)


if __name__ == "__main__":
    main()
