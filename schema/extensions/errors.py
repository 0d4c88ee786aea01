"""Unexpected errors become "Unexpected error." with a stable code; the detail goes to logs.

Errors the hub raises on purpose (GraphQLError with a code: bad input, source unavailable,
syntax and validation errors) stay readable. Anything else — a driver message, SQL text, a
traceback — never leaves the process. `public_error` is the one rule; the extension applies it
to every result, and the HTTP view applies it again as a last net (an exception escaping
another extension skips this one's code after `yield`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

log = logging.getLogger("huitong.errors")


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
