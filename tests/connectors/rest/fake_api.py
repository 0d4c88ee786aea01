"""A small JSON API for the `rest` connector's tests: a finance system's payments, its names.

Served by uvicorn on 127.0.0.1 (random port) in a background thread, so tests can stop it
and start it again on the same port. It speaks three pagination styles, filters on the
parameters a real 财务系统 API would (`region_prefix`, `status`, `paid_from`…), sorts on
`sort=-paid_at,id`, and can be told to fail, stall or answer slowly.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from auth.model.idnumbers import id_check_char

REGIONS = ("330108001001", "330108001002", "330108002001", "330108003001", "330110001001")
METHODS = {"TREASURY": "1", "TRANSFER": "2", "OFFICIAL_CARD": "3", "CASH": "4"}
STATUSES = {"PENDING": "10", "PAID": "20", "RETURNED": "90"}


def id_number(seed: int) -> str:
    first17 = f"330108{1960 + seed % 40:04d}{1 + seed % 12:02d}{1 + seed % 28:02d}{seed % 1000:03d}"
    return first17 + id_check_char(first17)


def payments(n: int = 120) -> list[dict[str, Any]]:
    """Canonical Payment rows; paidAt repeats so that order ties are broken by id."""
    rows = []
    methods, statuses = list(METHODS), list(STATUSES)
    for i in range(1, n + 1):
        person = i % 3 == 0
        rows.append({
            "id": str(i),
            "regionCode": REGIONS[i % len(REGIONS)],
            "paymentNo": f"ZF2024{i:05d}",
            "budgetIndicatorId": str(100 + i % 7) if i % 11 else None,
            "reimbursementId": str(500 + i) if i % 2 else None,
            "method": methods[(i * 7) % 4],
            "payeeName": f"收款人{i % 13}",
            "payeeKind": "PERSON" if person else "ORG",
            "payeeIdNumber": id_number(i) if person else None,
            "payeeAccount": f"6222{i:012d}",
            "amount": Decimal(i * 137 % 5000) + Decimal(i % 100) / 100,
            "purpose": "办公用品" if i % 4 else "会议费用",
            "functionCode": "2010101" if i % 2 else "2130705",
            "economicCode": ("30201", "30211", "30215", "30216", "30305")[i % 5],
            "paidAt": dt.datetime(2024, 1 + i % 6, 1 + i % 10, 9, 30),
            "status": statuses[i % 3],
        })
    return rows


def to_api(row: dict[str, Any], money: str) -> dict[str, Any]:
    """The API's own JSON for a payment: pinyin keys, codes, a nested payee object."""
    amount = row["amount"]
    return {
        "zfid": int(row["id"]),
        "qhdm": row["regionCode"],
        "zfdh": row["paymentNo"],
        "zbid": row["budgetIndicatorId"] and int(row["budgetIndicatorId"]),
        "bxdid": row["reimbursementId"],
        "zffs": METHODS[row["method"]],
        "skr": {"mc": row["payeeName"], "lx": "2" if row["payeeKind"] == "PERSON" else "1",
                "zjhm": row["payeeIdNumber"], "zh": row["payeeAccount"]},
        # A JSON number (parsed by the hub as Decimal), integer fen, or a string.
        "je": float(amount) if money == "number" else int(amount * 100) if money == "fen"
        else str(amount),
        "yt": row["purpose"],
        "gnkm": row["functionCode"],
        "jjkm": row["economicCode"],
        "zfsj": row["paidAt"].strftime("%Y-%m-%d %H:%M:%S"),
        "zt": STATUSES[row["status"]],
    }


@dataclass
class ApiState:
    rows: list[dict[str, Any]] = field(default_factory=payments)
    fail_next: int = 0
    delay: float = 0.0
    # (path, query parameters, Authorization header) of every request received.
    requests: list[tuple[str, dict[str, str], str | None]] = field(default_factory=list)

    def reset(self) -> None:
        self.fail_next, self.delay = 0, 0.0
        self.requests.clear()


def _filtered(state: ApiState, request: Request) -> list[dict[str, Any]]:
    q = request.query_params
    rows = state.rows
    if "region_prefix" in q:
        rows = [r for r in rows if r["regionCode"].startswith(q["region_prefix"])]
    if "status" in q:
        rows = [r for r in rows if STATUSES[r["status"]] == q["status"]]
    if "method" in q:
        rows = [r for r in rows if METHODS[r["method"]] == q["method"]]
    if "paid_from" in q:
        rows = [r for r in rows if r["paidAt"] >= dt.datetime.fromisoformat(q["paid_from"])]
    if "paid_to" in q:
        rows = [r for r in rows if r["paidAt"] <= dt.datetime.fromisoformat(q["paid_to"])]
    if "ids" in q:
        wanted = set(q["ids"].split(","))
        rows = [r for r in rows if r["id"] in wanted]
    for key in reversed([k for k in q.get("sort", "").split(",") if k]):
        name = {"paid_at": "paidAt", "id": "id", "amount": "amount"}[key.lstrip("-")]
        rows = sorted(rows, key=_sort_key(name), reverse=key.startswith("-"))
    return rows


def _sort_key(name: str) -> Callable[[dict[str, Any]], Any]:
    return lambda row: int(row[name]) if name == "id" else row[name]


def build_app(state: ApiState) -> Starlette:
    async def guard(request: Request) -> Response | None:
        state.requests.append((request.url.path, dict(request.query_params),
                               request.headers.get("authorization")))
        # Decided on arrival, so a stalled request of an earlier test cannot use it up.
        failing = state.fail_next > 0
        state.fail_next -= failing
        if state.delay:
            await asyncio.sleep(state.delay)
        if failing:
            return JSONResponse({"code": 503, "msg": "维护中"}, status_code=503)
        return None

    async def paged(request: Request) -> Response:
        if (failed := await guard(request)) is not None:
            return failed
        rows = _filtered(state, request)
        page, size = int(request.query_params["page"]), int(request.query_params["page_size"])
        chunk = rows[(page - 1) * size: page * size]
        return JSONResponse({"code": 0, "data": {
            "list": [to_api(r, "number") for r in chunk], "total": len(rows)}})

    async def offset(request: Request) -> Response:
        if (failed := await guard(request)) is not None:
            return failed
        rows = _filtered(state, request)
        start, size = int(request.query_params["offset"]), int(request.query_params["limit"])
        return JSONResponse({"items": [to_api(r, "fen") for r in rows[start: start + size]],
                             "total": len(rows)})

    async def cursor(request: Request) -> Response:
        if (failed := await guard(request)) is not None:
            return failed
        rows = _filtered(state, request)
        start = int(request.query_params.get("cursor", "0"))
        size = int(request.query_params["limit"])
        following = str(start + size) if start + size < len(rows) else None
        return JSONResponse({"results": [to_api(r, "text") for r in rows[start: start + size]],
                             "next": following})

    async def plain(request: Request) -> Response:
        if (failed := await guard(request)) is not None:
            return failed
        return JSONResponse([to_api(r, "number") for r in state.rows])

    async def health(request: Request) -> Response:
        if (failed := await guard(request)) is not None:
            return failed
        return JSONResponse({"ok": True})

    return Starlette(routes=[
        Route("/api/payments", paged), Route("/api/offset/payments", offset),
        Route("/api/cursor/payments", cursor), Route("/api/plain/payments", plain),
        Route("/health", health),
    ])


class ApiServer:
    """The API in a background thread; `stop()` and `start()` keep the same port."""

    def __init__(self, state: ApiState) -> None:
        self.state = state
        self.port = 0
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(build_app(self.state), log_level="warning", access_log=False,
                                timeout_graceful_shutdown=1, lifespan="off")
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("the test API did not start")
            time.sleep(0.01)
        self._server, self._thread = server, thread

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)
        self._server = self._thread = None


def free_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
