"""GraphQL errors with stable codes, as callers see them (never a driver message)."""

from __future__ import annotations

from graphql import GraphQLError

from connectors.base import SourceError


def bad_input(message: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": "BAD_USER_INPUT"})


def forbidden() -> GraphQLError:
    """A query its role is not granted (the role's schema already hides it: probing)."""
    return GraphQLError("This query is not permitted for your role.",
                        extensions={"code": "FORBIDDEN"})


def purpose_required(refusal: str) -> GraphQLError:
    return GraphQLError(refusal, extensions={"code": "PURPOSE_REQUIRED"})


def invalid_cursor() -> GraphQLError:
    return GraphQLError(
        "The cursor is not valid for this query; start again without `after`.",
        extensions={"code": "INVALID_CURSOR"},
    )


def source_failed(exc: SourceError) -> GraphQLError:
    messages = {
        "SOURCE_UNAVAILABLE": f"The source {exc.source!r} is unavailable right now.",
        "SOURCE_TIMEOUT": f"The source {exc.source!r} did not answer in time.",
        "SOURCE_QUERY_TOO_BROAD": f"The source {exc.source!r} cannot narrow this query "
        "enough; add filters (e.g. a smaller region or period).",
        "SOURCE_MISCONFIGURED": f"The source {exc.source!r} does not match its mapping; "
        "an operator must fix the configuration.",
    }
    return GraphQLError(
        messages.get(exc.code, f"The source {exc.source!r} could not answer this query."),
        extensions={"code": exc.code, "source": exc.source},
    )
