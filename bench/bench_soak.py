"""Soak: many concurrent clients over the demo's query mix while one source fails and recovers.

    .venv/bin/python bench/bench_soak.py                       # a short run to try (60 s)
    .venv/bin/python bench/bench_soak.py --clients 100 --minutes 10

Generates the demo sources (scale 1, SQLite; the disclosure JSON service as the rest source,
the GB18030 subsidy export as the file source), runs `huitong serve` as its own process on a
loopback port, and lets `--clients` clients send the mix below as fast as they are answered,
each as its role (real JWTs; the public without). A third of the way in, the disclosure
service is stopped; two thirds in, it is started again on the same port. Then the hub is
stopped (SIGINT: its shutdown flushes) and checked:

- errors other than the stopped source's (`SOURCE_UNAVAILABLE`/`SOURCE_TIMEOUT` naming
  `civil_affairs_api`) and answers other than HTTP 200 must be zero;
- audit records in the hub store must equal the answered requests (every one is recorded);
- the chain must verify.

Prints requests, requests/s, p50/p99 latency (all and per query), and the checks. Not in CI.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

import httpx
from sqlalchemy.ext.asyncio import create_async_engine

from auth.audit import AuditStore
from auth.identity.tokens import mint_token
from huitong.demo import disclosure_api
from huitong.demo.config import DEMO_PRINCIPALS, SECRET_ENV, mixed_sources, write_demo_config
from huitong.demo.exports import export_subsidies
from huitong.demo.generate import DemoUrls, generate

SECRET = "soak-secret-" + "s" * 40
FAILING = "civil_affairs_api"
MIX: list[tuple[str, str | None, str]] = [
    ("summary", None, "{ spendingSummary(groupBy: [REGION, CATEGORY], regionLevel: TOWNSHIP) "
                      "{ regionCode category count totalAmount } }"),
    ("disclosures", None, "{ disclosures(first: 10, filter: {domain: FINANCE}) "
                          "{ totalCount nodes { title period } } }"),
    ("subsidies", None, "{ subsidies(first: 10) { nodes { recipientName amount } } }"),
    ("payments", "discipline_inspector",
     "{ payments(first: 50, orderBy: [{paidAt: DESC}]) { nodes { paymentNo amount "
     "payeeName budgetIndicator { name } } } }"),
    ("drill", "discipline_inspector",
     '{ region(code: "330108000000") { name children { name payments(first: 3) '
     "{ totalCount nodes { amount } } } } }"),
    ("civil", "civil_affairs",
     "{ disclosures(first: 5) { nodes { title status } } residents(first: 5) "
     "{ nodes { name idNumber } } }"),
    ("officer", "finance_officer",
     "{ payments(first: 20) { totalCount nodes { paymentNo amount } } }"),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Tally:
    def __init__(self) -> None:
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.answered = 0
        self.expected_errors = 0
        self.unexpected: Counter[str] = Counter()


def _classify(tally: Tally, name: str, response: httpx.Response) -> None:
    tally.answered += 1
    if response.status_code != 200:
        tally.unexpected[f"HTTP {response.status_code}"] += 1
        return
    for error in response.json().get("errors") or ():
        ext = error.get("extensions") or {}
        if ext.get("source") == FAILING and ext.get("code") in ("SOURCE_UNAVAILABLE",
                                                                 "SOURCE_TIMEOUT"):
            tally.expected_errors += 1
        else:
            tally.unexpected[f"{name}: {ext.get('code')}"] += 1


async def client(base: str, tokens: dict[str, str], until: float, tally: Tally,
                 seed: int) -> None:
    rng = random.Random(seed)
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:
        while time.monotonic() < until:
            name, role, query = rng.choice(MIX)
            headers = {"Authorization": f"Bearer {tokens[role]}"} if role else {}
            started = time.perf_counter()
            try:
                response = await http.post("/graphql", json={"query": query}, headers=headers)
            except httpx.HTTPError as exc:
                tally.unexpected[f"{name}: {type(exc).__name__}"] += 1
                continue
            tally.latency[name].append(time.perf_counter() - started)
            _classify(tally, name, response)


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000


async def main(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        urls = {name: f"sqlite+aiosqlite:///{directory / f'{name}.db'}"
                for name in ("finance", "civil_affairs", "inspection")}
        await generate(DemoUrls(**urls), scale=1)
        await export_subsidies(urls["finance"], directory / "exports")
        api = disclosure_api.start(await disclosure_api.load_disclosures(urls["civil_affairs"]))
        store_url = f"sqlite+aiosqlite:///{directory / 'hub.db'}"
        extra = mixed_sources(api.url, directory / "exports")
        extra[FAILING].update(retries=0, timeout_seconds=2)
        config = write_demo_config(directory, urls, store_url, extra_sources=extra)
        port = free_port()
        hub = subprocess.Popen(
            [str(Path(sys.executable).parent / "huitong"), "serve", "--config", str(config),
             "--port", str(port)], env={**os.environ, SECRET_ENV: SECRET},
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}"
        tokens = {role: mint_token(SECRET, subject=f"soak-{role}", role=role,
                                   region_code=region, agency=agency)
                  for role, (_, agency, region) in DEMO_PRINCIPALS.items()}
        try:
            async with httpx.AsyncClient(base_url=base) as probe:
                for _ in range(200):
                    try:
                        if (await probe.get("/healthz")).status_code == 200:
                            break
                    except httpx.HTTPError:
                        pass
                    await asyncio.sleep(0.1)
            tally = Tally()
            duration = args.minutes * 60
            started = time.monotonic()
            until = started + duration

            async def fault() -> None:
                await asyncio.sleep(duration / 3)
                api.stop()
                print(f"[{time.monotonic() - started:6.1f}s] {FAILING} stopped")
                await asyncio.sleep(duration / 3)
                api.start()
                print(f"[{time.monotonic() - started:6.1f}s] {FAILING} started again")

            await asyncio.gather(fault(), *(client(base, tokens, until, tally, i)
                                            for i in range(args.clients)))
            elapsed = time.monotonic() - started
        finally:
            hub.send_signal(signal.SIGINT)
            hub.wait(timeout=60)
            api.stop()
        engine = create_async_engine(store_url)
        store = AuditStore(engine)
        head, _ = await store.head()
        report = await store.verify()
        await engine.dispose()
    every = [v for values in tally.latency.values() for v in values]
    print(f"\n{args.clients} clients, {elapsed:.0f} s: {tally.answered} answered "
          f"({tally.answered / elapsed:.1f}/s), p50 {pct(every, 0.5):.1f} ms, "
          f"p99 {pct(every, 0.99):.1f} ms")
    for name, values in sorted(tally.latency.items()):
        print(f"  {name:12s} n={len(values):6d}  p50 {pct(values, 0.5):8.1f} ms  "
              f"p99 {pct(values, 0.99):8.1f} ms  median {statistics.median(values) * 1000:.1f}")
    print(f"errors of the stopped source (expected): {tally.expected_errors}")
    print(f"other errors (must be 0): {sum(tally.unexpected.values())} {dict(tally.unexpected)}")
    print(f"audit records {head} = answered {tally.answered}: {head == tally.answered}")
    print(f"chain verifies: {report.ok} {report.problem or ''}")
    ok = not tally.unexpected and head == tally.answered and report.ok
    return 0 if ok else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--minutes", type=float, default=1.0)
    sys.exit(asyncio.run(main(parser.parse_args())))
