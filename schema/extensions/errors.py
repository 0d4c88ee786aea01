"""Unexpected errors become "Unexpected error." with a stable code; the detail goes to logs.

Errors the hub raises on purpose (GraphQLError with a code: bad input, source unavailable,
syntax and validation errors) stay readable. Anything else — a driver message, SQL text, a
traceback — never leaves the process.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

log = logging.getLogger("huitong.errors")


def _expected(error: GraphQLError) -> bool:
    # Without a path the error is about the request itself (syntax, validation, variable
    # values that do not fit their scalar): those messages are ours, and useful.
    original = error.original_error
    return error.path is None or original is None or isinstance(original, GraphQLError)


class MaskUnexpectedErrors(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if result is None or not result.errors:
            return
        masked = []
        for error in result.errors:
            if _expected(error):
                if not (error.extensions or {}).get("code"):
                    error.extensions = {**(error.extensions or {}), "code": _code_for(error)}
                masked.append(error)
                continue
            log.error("unexpected error at %s", error.path, exc_info=error.original_error)
            masked.append(GraphQLError(
                "Unexpected error.", nodes=error.nodes, path=error.path,
                extensions={"code": "INTERNAL_SERVER_ERROR"},
            ))
        result.errors = masked


def _code_for(error: GraphQLError) -> str:
    if error.message.startswith("Syntax Error"):
        return "GRAPHQL_PARSE_FAILED"
    if error.path is None:
        return "GRAPHQL_VALIDATION_FAILED"
    return "BAD_USER_INPUT"
