"""Opaque global ids: one id space per entity type, never per masking level.

`base64url("Payment:1291")` without padding. GraphQL's `id` and `node(id:)`, the export's id
column, its `after` and the change feed's ids are all this form.
"""

from __future__ import annotations

import base64
import binascii


def to_global_id(entity: str, raw_id: object) -> str:
    return base64.urlsafe_b64encode(f"{entity}:{raw_id}".encode()).decode().rstrip("=")


def from_global_id(global_id: str) -> tuple[str, str] | None:
    """(entity, raw id), or None when the value is not an id this hub issued."""
    if not global_id or len(global_id) > 200:
        return None
    padded = global_id + "=" * (-len(global_id) % 4)
    try:
        text = base64.urlsafe_b64decode(padded.encode("ascii")).decode("utf-8")
    except (binascii.Error, UnicodeError, ValueError):
        return None
    entity, sep, raw = text.partition(":")
    if not sep or not entity.isalpha() or not raw or not raw.isprintable():
        return None
    return entity, raw
