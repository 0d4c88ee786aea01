"""A circuit breaker: after N consecutive failures a source fails fast for a cool-down.

Closed: calls go through, consecutive failures are counted. Open: calls fail at once with
`SourceUnavailable` until the cool-down has passed. Half-open: one probe call goes through
(the others still fail fast); its success closes the circuit, its failure opens it again.
A request the caller abandons (cancelled, deadline) counts as neither.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from enum import StrEnum

from connectors.base import SourceUnavailable


class State(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    def __init__(
        self,
        source: str,
        failures: int = 5,
        cooldown: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.source = source
        self.threshold = failures
        self.cooldown = cooldown
        self.clock = clock
        self.state = State.CLOSED
        self.failures = 0
        self._open_until = 0.0
        self._probing = False

    def acquire(self) -> bool:
        """Let a call through, or raise. True when the call is the half-open probe."""
        if self.state is State.OPEN:
            if self.clock() < self._open_until:
                raise SourceUnavailable(self.source, self._retry_detail())
            self.state = State.HALF_OPEN
        if self.state is State.HALF_OPEN:
            if self._probing:
                raise SourceUnavailable(self.source, "circuit half-open: a probe is in flight")
            self._probing = True
            return True
        return False

    def release(self, probe: bool, ok: bool | None) -> None:
        """Record how the call ended: ok, failed, or None when it was abandoned."""
        if probe:
            self._probing = False
        if ok is None:
            return
        if ok:
            self.state = State.CLOSED
            self.failures = 0
            return
        self.failures += 1
        if self.state is State.HALF_OPEN or self.failures >= self.threshold:
            self.state = State.OPEN
            self._open_until = self.clock() + self.cooldown

    def _retry_detail(self) -> str:
        wait = max(0.0, self._open_until - self.clock())
        return f"circuit open after {self.failures} consecutive failures; retry in {wait:.1f}s"
