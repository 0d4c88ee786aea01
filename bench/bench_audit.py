"""Audit throughput benchmark: the same query mix with auditing on and off, same run.

    .venv/bin/python bench/bench_audit.py --backend postgresql --scale 5 --clients 12

(with the package installed, as the README's commands do).

Generates the demo sources at `--scale` into fresh databases (the hub store on the same
backend), serves the hub with uvicorn on a loopback port, and drives it from a separate client
process: `--clients` concurrent HTTP clients sending a mix of queries (lists, a lookup, a nested
relation, an aggregate, a count; three roles) for `--seconds` per round. Rounds alternate
audit on (every operation's record durable before its response) and off (the recorder replaced
in-process by one that records nothing — only here, never in the hub), in the order on, off,
off, on, ... so drift falls on both. Prints requests/s per round, the medians, and on/off.
At the end the chain written by the "on" rounds is verified. The machine is shared: read
medians and the ratio, not single figures.

    .venv/bin/python bench/bench_audit.py --backend postgresql --store-only

times the write path alone (no HTTP, no GraphQL): `AuditStore.append` of a typical entry (a
list of 20 rows), one writer at a time and `--clients` at once, as appends/s and this
process's CPU per append — steadier than requests/s when judging a change to the store.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from auth.audit import AuditEntry, AuditStore
from auth.audit.access_log import AccessLog
from auth.identity.principal import Principal
from auth.identity.tokens import mint_token
from huitong.app import create_app
from huitong.audit_recorder import document_info
from huitong.demo.config import SECRET_ENV, write_demo_config
from huitong.demo.generate import DemoUrls, generate
from huitong.hub import open_store
from huitong.settings import load_settings

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_read import drop, fresh_urls

SECRET = "bench-secret-" + "b" * 40
ROLES = {
    "discipline_inspector": "330108000000",
    "civil_affairs": "330108000000",
    "finance_officer": "330108001000",
}
MIX = [
    ("discipline_inspector",
     "{ payments(first: 20, orderBy: [{paidAt: DESC}]) { nodes { id paymentNo amount "
     "payeeName method paidAt } } }", None),
    ("civil_affairs", "query($id: ID!) { payment(id: $id) { id amount payeeName "
     "payeeIdNumber paidAt } }", "payment"),
    ("finance_officer", "{ payments(first: 10) { nodes { id amount reimbursement { claimNo "
     "invoices { invoiceNumber total } } } } }", None),
    ("discipline_inspector",
     "{ spendingSummary(groupBy: [MONTH]) { month count totalAmount } }", None),
    ("civil_affairs", "{ disclosures(first: 10) { totalCount nodes { id title status } } }",
     None),
]


class NoRecorder:
    """Audit off, for this benchmark only: the response leaves without a record."""

    def __init__(self, store: Any) -> None:
        self.store = store

    async def record(self, *args: Any, **kwargs: Any) -> None:
        return None


async def client_round(spec: dict[str, Any]) -> dict[str, Any]:
    """One round of load (runs in the client process): requests done, failures, latencies."""
    requests = [(spec["tokens"][role], query, spec["variables"].get(kind) if kind else None)
                for role, query, kind in MIX]
    limits = httpx.Limits(max_connections=spec["clients"], max_keepalive_connections=256)
    done, failed, latencies = 0, 0, []
    async with httpx.AsyncClient(base_url=spec["base"], limits=limits, timeout=30) as client:

        async def worker(n: int, until: float, counting: bool) -> None:
            nonlocal done, failed
            i = n
            while time.perf_counter() < until:
                token, query, variables = requests[i % len(requests)]
                i += 1
                started = time.perf_counter()
                response = await client.post("/graphql", json={"query": query,
                                                               "variables": variables},
                                             headers={"Authorization": f"Bearer {token}"})
                ok = response.status_code == 200 and "errors" not in response.json()
                if counting:
                    done += ok
                    failed += not ok
                    latencies.append(time.perf_counter() - started)

        warm = time.perf_counter() + spec["warmup"]
        await asyncio.gather(*(worker(n, warm, False) for n in range(spec["clients"])))
        started = time.perf_counter()
        end = started + spec["seconds"]
        await asyncio.gather(*(worker(n, end, True) for n in range(spec["clients"])))
        elapsed = time.perf_counter() - started
    latencies.sort()
    return {"rps": done / elapsed, "failed": failed,
            "p50_ms": 1000 * latencies[len(latencies) // 2] if latencies else 0.0}


async def run_round(spec: dict[str, Any]) -> dict[str, Any]:
    """One round from a client process; adds the hub process's CPU time per request."""
    hub_cpu, started = time.process_time(), time.perf_counter()
    worker = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--client-round", json.dumps(spec),
        stdout=asyncio.subprocess.PIPE)
    out, _ = await worker.communicate()
    assert worker.returncode == 0, out
    result: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
    # Whole-round CPU (warm-up included) over whole-round requests.
    requests = result["rps"] * (time.perf_counter() - started)
    result["hub_ms"] = 1000 * (time.process_time() - hub_cpu) / requests
    return result


def typical_entry(n: int) -> AuditEntry:
    reads = AccessLog()
    reads.note_rows("Payment", [str(20 * n + i) for i in range(20)],
                    ["id", "amount", "payeeName", "paidAt"], ["payeeName"])
    principal = Principal("bench", "civil_affairs", "民政局", "330108000000", None, "jwt:bench")
    return AuditEntry.build(principal, document=document_info(
                            "{ payments(first: 20) { nodes { id amount payeeName paidAt } } }"),
                            variables={"first": 20}, log=reads,
                            outcome="ok", duration_ms=3)


async def store_only(args: argparse.Namespace) -> None:
    directory = Path(tempfile.mkdtemp(prefix="huitong-bench-store-"))
    urls = await fresh_urls(args.backend, directory)
    engine = open_store(urls["hub"])  # as the hub opens it
    try:
        store = AuditStore(engine)
        await store.ensure_schema()
        print(f"{args.backend}: AuditStore.append, {args.appends} appends per line")
        for writers in (1, args.clients):
            entries = [typical_entry(n) for n in range(args.appends)]
            for entry in entries[:20]:
                await store.append(entry)  # warm: connections, prepared statements
            queue = iter(entries[20:])  # shared: each writer takes the next entry

            async def writer(queue: Any) -> None:
                for entry in queue:
                    await store.append(entry)

            cpu, started = time.process_time(), time.perf_counter()
            await asyncio.gather(*(writer(queue) for _ in range(writers)))
            elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
            done = len(entries) - 20
            print(f"{writers:3} writers: {done / elapsed:8.0f} appends/s, "
                  f"{1000 * cpu / done:.3f} ms CPU per append")
        report = await store.verify()
        print(f"chain {'verifies' if report.ok else 'BROKEN'} ({report.checked} records)")
    finally:
        await engine.dispose()
        if args.backend == "postgresql":
            await drop(urls)


async def main(args: argparse.Namespace) -> None:
    directory = Path(tempfile.mkdtemp(prefix="huitong-bench-audit-"))
    urls = await fresh_urls(args.backend, directory)
    try:
        sources = {k: v for k, v in urls.items() if k != "hub"}
        summary = await generate(DemoUrls(**sources), scale=args.scale)
        print(f"{args.backend}, scale {args.scale}: {summary.counts['Payment']} payments, "
              f"{args.clients} clients, {args.seconds:g} s per round")
        config = write_demo_config(directory, sources, urls["hub"])
        app = create_app(load_settings(config, environ={SECRET_ENV: SECRET}))
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=args.port,
                                               log_level="warning", lifespan="on",
                                               backlog=4096))
        serving = asyncio.create_task(server.serve())
        while not server.started:
            await asyncio.sleep(0.05)
        hub = app.state.hub
        audited, unaudited = hub.recorder, NoRecorder(hub.recorder.store)
        tokens = {role: mint_token(SECRET, subject=f"bench-{role}", role=role,
                                   region_code=region) for role, region in ROLES.items()}
        base = f"http://127.0.0.1:{args.port}"
        async with httpx.AsyncClient(base_url=base) as client:
            found = (await client.post("/graphql", json={
                "query": "{ payments(first: 1) { nodes { id } } }"},
                headers={"Authorization": f"Bearer {tokens['civil_affairs']}"})).json()
        spec = {"base": base, "tokens": tokens, "clients": args.clients,
                "seconds": args.seconds, "warmup": args.warmup,
                "variables": {"payment": {"id": found["data"]["payments"]["nodes"][0]["id"]}}}
        head_before, _ = await audited.store.head()
        results: dict[str, list[dict[str, Any]]] = {"on": [], "off": []}
        print(f"{'round':>5} {'audit':>5} {'req/s':>9} {'p50 ms':>8} {'failed':>6} "
              f"{'hub CPU ms/req':>14}")
        for n in range(2 * args.rounds):
            mode = "on" if n % 4 in (0, 3) else "off"
            hub.recorder = audited if mode == "on" else unaudited
            result = await run_round(spec)
            results[mode].append(result)
            print(f"{n + 1:5} {mode:>5} {result['rps']:9.1f} {result['p50_ms']:8.2f} "
                  f"{result['failed']:6} {result['hub_ms']:14.2f}")
        hub.recorder = audited
        on = statistics.median(r["rps"] for r in results["on"])
        off = statistics.median(r["rps"] for r in results["off"])
        print(f"median req/s: audit on {on:.1f}, off {off:.1f}, on/off {on / off:.3f}")
        cpu_on = statistics.median(r["hub_ms"] for r in results["on"])
        cpu_off = statistics.median(r["hub_ms"] for r in results["off"])
        print(f"median hub CPU ms/request: on {cpu_on:.2f}, off {cpu_off:.2f}")
        head_after, _ = await audited.store.head()
        report = await audited.store.verify(head_before + 1, head_after)
        print(f"audit records written: {head_after - head_before}, chain "
              f"{'verifies' if report.ok else f'BROKEN: {report.problem}'}")
        server.should_exit = True
        await serving
    finally:
        if args.backend == "postgresql":
            await drop(urls)
    print(f"({args.rounds} rounds each, {dt.datetime.now():%Y-%m-%d %H:%M})")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--client-round":
        print(json.dumps(asyncio.run(client_round(json.loads(sys.argv[2])))))
        sys.exit(0)
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="postgresql")
    parser.add_argument("--scale", type=int, default=5)
    parser.add_argument("--clients", type=int, default=12)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--rounds", type=int, default=4, help="rounds per mode")
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--store-only", action="store_true",
                        help="time AuditStore.append alone (no HTTP)")
    parser.add_argument("--appends", type=int, default=2000)
    arguments = parser.parse_args()
    asyncio.run(store_only(arguments) if arguments.store_only else main(arguments))
