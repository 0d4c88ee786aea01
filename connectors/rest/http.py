"""HTTP for the `rest` connector: one pooled httpx client, retries, backoff and the breaker.

Reads are idempotent GETs, so a failed attempt may be retried: on connection errors,
timeouts and 5xx answers, with exponential backoff (and some jitter, so that hubs do not
retry in step). Writes (`send`) are retried only when the connection could not be made at
all, since a request that reached the API may have been applied. Everything that goes wrong
leaves here as `SourceUnavailable`, `SourceTimeout`, `SourceError` or `WriteRejected` with a
detail safe to log: status, path, exception type — never the token, the query values or the
body.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import httpx

from connectors.base import (
    SourceError,
    SourceMisconfigured,
    SourceTimeout,
    SourceUnavailable,
    WriteRejected,
)

from .breaker import CircuitBreaker

Params = Mapping[str, str | Sequence[str]]
MAX_BACKOFF = 5.0


class _Down(Exception):
    """A failed attempt the breaker counts (after the last retry)."""

    def __init__(self, error: SourceError) -> None:
        self.error = error


class HttpSource:
    def __init__(
        self,
        source: str,
        base_url: str,
        headers: Mapping[str, str],
        *,
        timeout: float,
        retries: int,
        backoff: float,
        breaker: CircuitBreaker,
        pool_size: int = 10,
    ) -> None:
        self.source = source
        self.base_url = base_url
        self.headers = dict(headers)
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.breaker = breaker
        self.pool_size = pool_size
        self._client: httpx.AsyncClient | None = None
        self.requests = 0

    async def open(self) -> None:
        if self._client is None:
            self._client = httpx.AsyncClient(
                base_url=self.base_url,
                headers={"Accept": "application/json", **self.headers},
                timeout=httpx.Timeout(self.timeout),
                limits=httpx.Limits(max_connections=self.pool_size,
                                    max_keepalive_connections=self.pool_size),
                follow_redirects=False,
            )

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def get_json(self, path: str, params: Params) -> Any:
        """The decoded JSON body (numbers with a fraction as Decimal, never float)."""
        return self.decode(path, await self.get(path, params))

    def decode(self, path: str, response: httpx.Response) -> Any:
        try:
            return json.loads(response.content, parse_float=Decimal)
        except (ValueError, UnicodeDecodeError) as exc:
            raise SourceError(self.source, f"GET {path}: the answer is not JSON") from exc

    async def get(self, path: str, params: Params, retries: int | None = None) -> httpx.Response:
        """A 2xx response; retried and guarded by the circuit breaker."""
        client = self._client
        if client is None:
            raise SourceUnavailable(self.source, "connector is not open")
        probe = self.breaker.acquire()
        ok: bool | None = None
        try:
            response = await self._attempts(client, path, params,
                                            self.retries if retries is None else retries)
        except _Down as down:
            ok = False
            raise down.error from down.__cause__
        except SourceError:
            ok = True  # the source answered; the request was what it refused
            raise
        else:
            ok = True
            return response
        finally:
            self.breaker.release(probe, ok)

    async def send(self, method: str, path: str, body: Mapping[str, Any]) -> httpx.Response:
        """A write: the 2xx answer, or the 404 one (the caller says what a 404 means). A 4xx
        refusal is `WriteRejected`; guarded by the circuit breaker like reads."""
        client = self._client
        if client is None:
            raise SourceUnavailable(self.source, "connector is not open")
        content = json.dumps(body, ensure_ascii=False).encode()
        probe = self.breaker.acquire()
        ok: bool | None = None
        try:
            response = await self._send(client, method, path, content)
        except (SourceUnavailable, SourceTimeout):
            ok = False
            raise
        except SourceError:
            ok = True  # the source answered; the change was what it refused
            raise
        else:
            ok = True
            return response
        finally:
            self.breaker.release(probe, ok)

    async def _send(self, client: httpx.AsyncClient, method: str, path: str,
                    content: bytes) -> httpx.Response:
        attempt = 0
        while True:
            try:
                self.requests += 1
                response = await client.request(
                    method, path, content=content,
                    headers={"Content-Type": "application/json; charset=utf-8"})
            except httpx.ConnectError as exc:
                if attempt >= self.retries:
                    raise SourceUnavailable(
                        self.source, f"{method} {path}: cannot connect ({type(exc).__name__})"
                    ) from exc
                await asyncio.sleep(self._delay(attempt))
                attempt += 1
                continue
            except httpx.TimeoutException as exc:
                raise SourceTimeout(self.source, f"{method} {path}: no answer within "
                                    f"{self.timeout}s ({type(exc).__name__})") from exc
            except httpx.RequestError as exc:
                raise SourceUnavailable(self.source, f"{method} {path}: "
                                        f"{type(exc).__name__}") from exc
            status = response.status_code
            if status < 300 or status == 404:
                return response
            if status in (401, 403) or status < 400:
                raise SourceError(self.source, f"{method} {path}: HTTP {status}" + _hint(status))
            if status < 500:
                raise WriteRejected(self.source, f"the source refused the change (HTTP {status})",
                                    f"{method} {path}: HTTP {status}")
            raise SourceUnavailable(self.source, f"{method} {path}: HTTP {status}")

    async def _attempts(
        self, client: httpx.AsyncClient, path: str, params: Params, retries: int
    ) -> httpx.Response:
        attempt = 0
        while True:
            try:
                self.requests += 1
                response = await client.get(path, params=params)
            except httpx.TimeoutException as exc:
                error: SourceError = SourceTimeout(
                    self.source,
                    f"GET {path}: no answer within {self.timeout}s ({type(exc).__name__})")
                cause: BaseException = exc
                retryable = True
            except httpx.ConnectError as exc:
                error, cause, retryable = SourceUnavailable(
                    self.source, f"GET {path}: cannot connect ({type(exc).__name__})"), exc, True
            except httpx.RequestError as exc:
                error, cause, retryable = SourceUnavailable(
                    self.source, f"GET {path}: {type(exc).__name__}"), exc, False
            else:
                if response.status_code < 300:
                    return response
                if response.status_code < 500:
                    # A list endpoint that is not there is the mapping's fault, not the call's.
                    kind = SourceMisconfigured if response.status_code == 404 else SourceError
                    raise kind(self.source, f"GET {path}: HTTP {response.status_code}"
                               + _hint(response.status_code))
                error = SourceUnavailable(self.source, f"GET {path}: HTTP {response.status_code}")
                cause, retryable = httpx.HTTPStatusError(
                    str(response.status_code), request=response.request, response=response), True
            if not retryable or attempt >= retries:
                down = _Down(error)
                down.__cause__ = cause
                raise down
            await asyncio.sleep(self._delay(attempt))
            attempt += 1

    def _delay(self, attempt: int) -> float:
        full = min(MAX_BACKOFF, self.backoff * 2**attempt)
        return full / 2 + random.uniform(0, full / 2)


def _hint(status: int) -> str:
    if status in (401, 403):
        return " (check the source's token)"
    if status == 404:
        return " (check the entity's path)"
    if status < 400:
        # Never followed: the token must not travel to wherever the answer points.
        return " (redirects are not followed; check base_url)"
    return ""
