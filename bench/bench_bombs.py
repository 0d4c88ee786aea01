"""How long the hub takes to answer documents built to make validation expensive.

    .venv/bin/python bench/bench_bombs.py --levels 22 --copies 300

Generates the demo sources (scale 1, SQLite) in a temporary folder, serves the hub with
uvicorn on a loopback port, and times through the real front door (HTTP, a real JWT of the
discipline inspector, whose limits are the widest of the demo's roles):

- the fragment bomb: `query { ...F0 } fragment F0 on Query { ...F1 ...F1 } …` with
  `--levels` fragments, each spreading the next one twice (about 40 bytes a level);
- the same bomb inside a list (`regions(first: 100) { nodes { ...R0 } }`) and over GET, as a
  cross-site request would send it, without a token;
- `--copies` copies of one field selection (`regions(first: 1) { nodes { code } }`);
- a plain query, for scale.

Each document is sent `--rounds` times; the median and the answer's code are printed. Only the
hub's own time counts here (there is no direct-SQL twin: nothing reaches a source).
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import tempfile
import time
from pathlib import Path

import httpx
import uvicorn

from auth.identity.tokens import mint_token
from huitong.app import create_app
from huitong.demo.config import SECRET_ENV, write_demo_config
from huitong.demo.generate import DemoUrls, generate
from huitong.settings import load_settings

SECRET = "bench-secret-" + "b" * 40


def fragment_bomb(levels: int, on: str = "Query", leaf: str = "__typename") -> str:
    parts = [f"fragment F{i} on {on} {{ ...F{i + 1} ...F{i + 1} }}" for i in range(levels - 1)]
    parts.append(f"fragment F{levels - 1} on {on} {{ {leaf} }}")
    return "query { ...F0 } " + " ".join(parts)


def list_bomb(levels: int) -> str:
    parts = [f"fragment R{i} on Region {{ ...R{i + 1} ...R{i + 1} }}" for i in range(levels - 1)]
    parts.append(f"fragment R{levels - 1} on Region {{ code }}")
    return "query { regions(first: 100) { nodes { ...R0 } } } " + " ".join(parts)


def duplicates(copies: int) -> str:
    return "{ " + " ".join(["regions(first: 1) { nodes { code } }"] * copies) + " }"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def timed(client: httpx.AsyncClient, method: str, document: str,
                headers: dict[str, str], rounds: int) -> tuple[float, str]:
    times, code = [], ""
    for _ in range(rounds):
        started = time.perf_counter()
        if method == "GET":
            response = await client.get("/graphql", params={"query": document}, headers=headers)
        else:
            response = await client.post("/graphql", json={"query": document}, headers=headers)
        times.append(time.perf_counter() - started)
        body = response.json()
        errors = body.get("errors") or []
        code = f"{response.status_code} " + (
            str(errors[0].get("extensions", {}).get("code")) if errors else "ok")
    return statistics.median(times), code


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        urls = {name: f"sqlite+aiosqlite:///{directory / f'{name}.db'}"
                for name in ("finance", "civil_affairs", "inspection")}
        await generate(DemoUrls(**urls), scale=1)
        config = write_demo_config(directory, urls,
                                   f"sqlite+aiosqlite:///{directory / 'hub.db'}")
        app = create_app(load_settings(config, environ={SECRET_ENV: SECRET}))
        port = free_port()
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                               log_level="warning", lifespan="on"))
        task = asyncio.create_task(server.serve())
        while not server.started:
            await asyncio.sleep(0.05)
        token = mint_token(SECRET, subject="bench", role="discipline_inspector",
                           region_code="330108000000")
        bearer = {"Authorization": f"Bearer {token}"}
        cases = [
            ("plain query", "POST", "{ regions(first: 5) { nodes { code } } }", bearer),
            (f"fragment bomb, {args.levels} levels", "POST", fragment_bomb(args.levels), bearer),
            (f"bomb in a list, {args.levels} levels", "POST", list_bomb(args.levels), bearer),
            (f"bomb over GET, no token, {args.levels} levels", "GET",
             fragment_bomb(args.levels), {}),
            (f"{args.copies} copies of one selection", "POST", duplicates(args.copies), bearer),
        ]
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}",
                                         timeout=args.timeout) as client:
                for name, method, document, headers in cases:
                    try:
                        median, code = await timed(client, method, document, headers,
                                                   args.rounds)
                        print(f"{name:45s} {len(document):6d} B  median {median * 1000:10.1f} ms"
                              f"  -> {code}")
                    except httpx.TimeoutException:
                        print(f"{name:45s} {len(document):6d} B  no answer in {args.timeout} s")
        finally:
            server.should_exit = True
            await task


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--levels", type=int, default=22)
    parser.add_argument("--copies", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=120.0)
    asyncio.run(main(parser.parse_args()))
