"""Keyset cursors: the sort-key values of the last row, signed so they cannot be forged.

A cursor is bound to its entity and ordering; one made for another order (or edited by hand)
is refused rather than used as an oracle on values the caller cannot sort by.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from auth.model.catalog import ENTITIES, Kind
from auth.model.query import OrderKey


class InvalidCursor(ValueError):
    pass


def _encode_value(value: Any) -> Any:
    if isinstance(value, Decimal | dt.date | dt.datetime):
        return str(value) if isinstance(value, Decimal) else value.isoformat()
    return value


def _decode_value(kind: Kind, value: Any) -> Any:
    if kind is Kind.MONEY:
        return Decimal(value)
    if kind is Kind.DATETIME:
        return dt.datetime.fromisoformat(value)
    if kind is Kind.DATE:
        return dt.date.fromisoformat(value)
    return value


class CursorCodec:
    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def _sign(self, payload: bytes, bind: str) -> bytes:
        mac = hmac.new(self._secret, bind.encode() + b"\x00", hashlib.sha256)
        mac.update(payload)
        return mac.digest()[:16]

    def encode(
        self, entity: str, order: Sequence[OrderKey], values: Sequence[Any], bind: str = ""
    ) -> str:
        """`bind` names what else the cursor belongs to (principal, filters); it is signed
        but not stored, so a cursor only decodes for the same binding."""
        body = json.dumps(
            [entity, [[k.field, k.descending] for k in order], [_encode_value(v) for v in values]],
            separators=(",", ":"), ensure_ascii=False,
        ).encode()
        return base64.urlsafe_b64encode(self._sign(body, bind) + body).decode().rstrip("=")

    def encode_position(self, stream: str, position: int, bind: str = "") -> str:
        """A position in a numbered stream (the change feed's journal), signed like a list
        cursor and bound the same way."""
        body = json.dumps([stream, position], separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(self._sign(body, bind) + body).decode().rstrip("=")

    def decode_position(self, cursor: str, stream: str, bind: str = "") -> int:
        body = self._verified(cursor, bind)
        try:
            c_stream, position = json.loads(body)
        except (ValueError, TypeError) as exc:
            raise InvalidCursor("bad body") from exc
        if c_stream != stream or not isinstance(position, int) or isinstance(position, bool) \
                or position < 0:
            raise InvalidCursor("cursor belongs to another stream")
        return position

    def _verified(self, cursor: str, bind: str) -> bytes:
        if len(cursor) > 2048:
            raise InvalidCursor("cursor too long")
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        except (binascii.Error, ValueError) as exc:
            raise InvalidCursor("not base64") from exc
        signature, body = raw[:16], raw[16:]
        if not hmac.compare_digest(signature, self._sign(body, bind)):
            raise InvalidCursor("bad signature")
        return body

    def decode(
        self, cursor: str, entity: str, order: Sequence[OrderKey], bind: str = ""
    ) -> tuple[Any, ...]:
        body = self._verified(cursor, bind)
        try:
            c_entity, c_order, values = json.loads(body)
        except (ValueError, TypeError) as exc:
            raise InvalidCursor("bad body") from exc
        if c_entity != entity or c_order != [[k.field, k.descending] for k in order]:
            raise InvalidCursor("cursor belongs to another query")
        fields = ENTITIES[entity].fields
        try:
            return tuple(_decode_value(fields[k.field].kind, v)
                         for k, v in zip(order, values, strict=True))
        except (ValueError, TypeError, ArithmeticError) as exc:
            raise InvalidCursor("bad values") from exc
