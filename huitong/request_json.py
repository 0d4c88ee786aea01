"""Strict JSON for GraphQL requests: UTF-8 only, bounded nesting, no NaN, no unsafe text.

Python's `json` accepts `NaN` and `Infinity`, raises `RecursionError` on deep nesting and
`ValueError` on integers longer than 4300 digits; each of those would otherwise surface as an
HTTP 500. Everything refused here raises `JSONRefused`, a `json.JSONDecodeError`, so callers
that only expect decoding errors (strawberry's WebSocket handlers) treat it as bad JSON.
"""

from __future__ import annotations

import json
import re

MAX_INT_DIGITS = 40
_UNSAFE_TEXT = re.compile("[\x00\ud800-\udfff]")


class JSONRefused(json.JSONDecodeError):
    """JSON that parses in Python but that the hub does not accept; `msg` says why."""

    def __init__(self, message: str) -> None:
        super().__init__(message, "", 0)

    def __str__(self) -> str:
        return self.msg


def _no_constant(name: str) -> object:
    raise JSONRefused(f"{name} is not a JSON number.")


def _bounded_int(digits: str) -> int:
    if len(digits) > MAX_INT_DIGITS:
        raise JSONRefused(f"An integer in the request has more than {MAX_INT_DIGITS} digits.")
    return int(digits)


def decode_json(data: str | bytes, max_depth: int) -> object:
    """The value of `data` (UTF-8 when bytes; a leading BOM is ignored)."""
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise JSONRefused(
                f"The request body is not UTF-8 text (invalid byte at offset {exc.start})."
            ) from None
    else:
        text = data
    deep = JSONRefused(f"The request's JSON is nested more than {max_depth} levels deep.")
    try:
        value = json.loads(text.removeprefix("\ufeff"), parse_constant=_no_constant,
                           parse_int=_bounded_int)
    except RecursionError:
        raise deep from None
    if _deeper_than(value, max_depth):
        raise deep
    return value


def _deeper_than(value: object, limit: int) -> bool:
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: list[object] = list(item.values())
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def unsafe_text_at(value: object) -> str | None:
    """Where in `value` a string (or key) holds a NUL or an unpaired surrogate, if anywhere.

    PostgreSQL text cannot hold NUL, and asyncpg cannot encode lone surrogates; both would
    come back as driver errors. The answer reads like `variables.filter.payeeName`.
    """
    stack: list[tuple[object, tuple[str | int, ...]]] = [(value, ())]
    while stack:
        item, path = stack.pop()
        if isinstance(item, str):
            if _UNSAFE_TEXT.search(item):
                return _render(path)
        elif isinstance(item, dict):
            for key, child in item.items():
                if _UNSAFE_TEXT.search(key):
                    return _render((*path, "<key>"))
                stack.append((child, (*path, key)))
        elif isinstance(item, list):
            stack.extend((child, (*path, index)) for index, child in enumerate(item))
    return None


def _render(path: tuple[str | int, ...]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text or "the top level"
