"""The hub's JSON on the wire, in one place: every JSON response, GraphQL result and
WebSocket message is encoded here, as UTF-8 with Chinese written as itself (never `\\uXXXX`).

`encode_json` is what the GraphQL view sends (text: WebSocket messages must be text frames);
`JSONResponse` is the response class of every other JSON route and refusal. A faster encoder
replaces `encode_json` here, and everything follows.
"""

from __future__ import annotations

import json
from typing import Any

import orjson
from starlette.responses import JSONResponse as _StarletteJSONResponse


def encode_json_bytes(data: Any) -> bytes:
    """Compact UTF-8 JSON; non-ASCII characters are kept as they are. orjson, several times
    faster than the standard library, which still writes what orjson cannot (an integer
    beyond 64 bits)."""
    try:
        return orjson.dumps(data)
    except TypeError:
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"),
                          allow_nan=False).encode()


def encode_json(data: Any) -> str:
    """Compact JSON text; non-ASCII characters are kept as they are (sent as UTF-8)."""
    return encode_json_bytes(data).decode()


class JSONResponse(_StarletteJSONResponse):
    """`application/json` (UTF-8 by definition: RFC 8259 §8.1), encoded by `encode_json`."""

    def render(self, content: Any) -> bytes:
        return encode_json_bytes(content)
