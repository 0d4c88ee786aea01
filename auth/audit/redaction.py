"""Redacting GraphQL variables before they enter the audit trail.

The trail is kept for years and read by inspectors and operators, so it must not become a
second copy of the personal data it protects. The policy, applied recursively through objects
and lists:

- a value whose *key* looks sensitive is replaced whole by ``"[redacted]"`` (``null`` stays
  ``null``, since "not given" reveals nothing). Sensitive keys contain, case-insensitively:
  ``idNumber``/``id_number``, ``idCard``, ``name``, ``account``, ``card``, ``phone``,
  ``mobile``, ``token``, ``password``/``passwd``, ``secret``, ``credential``, ``address``,
  ``email``. So ``payeeName``, ``recipientIdNumber`` and ``payeeAccount`` are redacted;
  ``regionCode``, ``invoiceNumber``, ``first`` and ``after`` are kept.
- any string, under any key, that contains an 18-character resident ID number, a run of 13-19
  digits (bank cards, optionally grouped with spaces or dashes) or an 11-digit mainland mobile
  number is replaced whole. 12-digit region codes and amounts are kept.
- everything else is kept. Floats become their decimal string (the canonical JSON has no
  floats, so the same entry always hashes the same); other non-JSON values become ``str()``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Final

REDACTED: Final = "[redacted]"

_SENSITIVE_KEY: Final = re.compile(
    r"id_?number|id_?card|name|account|card|phone|mobile|token|passw(?:or)?d|secret"
    r"|credential|address|email",
    re.IGNORECASE,
)
_SENSITIVE_VALUE: Final = re.compile(
    r"(?<![0-9])[0-9]{17}[0-9Xx](?![0-9A-Za-z])"  # resident ID number
    r"|(?<![0-9])[0-9](?:[ -]?[0-9]){12,18}(?![0-9])"  # bank-card-like digit run
    r"|(?<![0-9])1[3-9][0-9]{9}(?![0-9])"  # mainland mobile number
)


def sensitive_key(key: str) -> bool:
    return _SENSITIVE_KEY.search(key) is not None


def sensitive_text(text: str) -> bool:
    return _SENSITIVE_VALUE.search(text) is not None


def redact(value: Any) -> Any:
    """A JSON-safe copy of `value` (variables) with sensitive values replaced."""
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, str):
        return REDACTED if sensitive_text(value) else value
    if isinstance(value, float | Decimal):
        return redact(repr(value) if isinstance(value, float) else str(value))
    if isinstance(value, Mapping):
        return {
            str(key): (
                REDACTED if sensitive_key(str(key)) and item is not None else redact(item)
            )
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact(item) for item in value]
    return redact(str(value))
