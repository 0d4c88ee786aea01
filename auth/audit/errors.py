"""The audit trail's one error: it cannot be written (or read) right now."""

from __future__ import annotations

from typing import Final

UNAVAILABLE: Final = (
    "The audit trail cannot be written right now, so no data is served; try again later."
)


class AuditUnavailable(RuntimeError):
    """The audit store cannot be written or read; serve nothing (HTTP 503)."""

    status: Final = 503
    code: Final = "AUDIT_UNAVAILABLE"

    def __init__(self, message: str = UNAVAILABLE) -> None:
        super().__init__(message)
        self.message = message


def brief(exc: BaseException) -> str:
    """The error's type and first line: never the SQL parameters (they hold record content)."""
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0][:300]}" if lines else type(exc).__name__
