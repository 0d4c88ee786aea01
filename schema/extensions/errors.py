"""Unexpected errors become "Unexpected error." with a stable code; the detail goes to logs.

Errors the hub raises on purpose (GraphQLError with a code: bad input, source unavailable,
syntax and validation errors) stay readable. Anything else — a driver message, SQL text, a
traceback — never leaves the process. `public_error` is the one rule; the extension applies it
to every result, and the HTTP view applies it again as a last net (an exception escaping
another extension skips this one's code after `yield`).

Messages quote what the caller sent (graphql-core prints a literal that does not fit, and the
scalar's own reason may quote it again; syntax and coercion errors quote tokens and values), so
`bounded` shortens every quoted stretch longer than `MAX_QUOTED` characters and caps a message
at `MAX_MESSAGE`: a 500 KB literal gives an error of a few hundred bytes, not a megabyte.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from typing import Final

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

log = logging.getLogger("huitong.errors")

MAX_QUOTED: Final = 64
MAX_MESSAGE: Final = 600
_QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'', re.DOTALL)


def _shorten(match: re.Match[str]) -> str:
    text = match.group(0)
    if len(text) <= MAX_QUOTED:
        return text
    quote = text[0]
    return f"{text[:MAX_QUOTED - 1]}…{quote} ({len(text) - 2} characters)"


def bounded(message: str) -> str:
    """`message` with long quoted input shortened and the whole at most MAX_MESSAGE long."""
    if len(message) <= MAX_QUOTED:
        return message
    shortened = _QUOTED.sub(_shorten, message)
    if len(shortened) > MAX_MESSAGE:
        shortened = shortened[:MAX_MESSAGE - 1] + "…"
    return shortened


def _expected(error: GraphQLError) -> bool:
    original = error.original_error
    if original is None or isinstance(original, GraphQLError):
        return True
    # A literal that does not fit its scalar: graphql-core wraps the scalar's ValueError and
    # points at the offending node, outside any path. Other exceptions without a path come
    # from the machinery (an extension, the executor) and are not ours to tell.
    return error.path is None and bool(error.nodes) and isinstance(original, ValueError)


def public_error(error: GraphQLError) -> GraphQLError:
    """`error` as a caller may see it: itself with a code, or "Unexpected error."."""
    if _expected(error):
        if not (error.extensions or {}).get("code"):
            error.extensions = {**(error.extensions or {}), "code": _code_for(error)}
        error.message = bounded(error.message)
        return error
    log.error("unexpected error at %s", error.path, exc_info=error.original_error)
    return GraphQLError(
        "Unexpected error.", nodes=error.nodes, path=error.path,
        extensions={"code": "INTERNAL_SERVER_ERROR"},
    )


class MaskUnexpectedErrors(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if result is None or not result.errors:
            return
        result.errors = [public_error(error) for error in result.errors]


def _code_for(error: GraphQLError) -> str:
    if error.message.startswith("Syntax Error"):
        return "GRAPHQL_PARSE_FAILED"
    if error.path is None and not error.message.startswith("Variable '$"):
        return "GRAPHQL_VALIDATION_FAILED"
    return "BAD_USER_INPUT"
