"""GraphQL errors with stable codes, as callers see them (never a driver message)."""

from __future__ import annotations

from graphql import GraphQLError

from auth.access.scope import OutOfScope
from auth.model.values import InvalidValue
from connectors.base import SourceError, WriteRejected


def bad_input(message: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": "BAD_USER_INPUT"})


def bad_value(exc: InvalidValue) -> GraphQLError:
    """A written value that does not fit the catalog; `field` names it."""
    return GraphQLError(f"{exc.entity}.{exc.field}: {exc.message}",
                        extensions={"code": "BAD_USER_INPUT", "field": exc.field})


def not_found(entity: str) -> GraphQLError:
    """No such row in the caller's scope: the same answer for a hidden row and a missing one
    (the message names neither the id nor why)."""
    return GraphQLError(f"No {entity} with this id.", extensions={"code": "NOT_FOUND"})


def out_of_scope(exc: OutOfScope) -> GraphQLError:
    """A write that would put a row outside what the caller may see or change."""
    return GraphQLError(f"{exc.entity}.{exc.field}: outside your jurisdiction or the rows "
                        "your role may change.",
                        extensions={"code": "OUT_OF_SCOPE", "field": exc.field})


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
        "SOURCE_READ_ONLY": f"The source {exc.source!r} takes no such change (its mapping "
        "declares no write of it).",
    }
    if isinstance(exc, WriteRejected):
        return GraphQLError(f"The source {exc.source!r} did not store the change: {exc.reason}.",
                            extensions={"code": exc.code, "source": exc.source})
    return GraphQLError(
        messages.get(exc.code, f"The source {exc.source!r} could not answer this query."),
        extensions={"code": exc.code, "source": exc.source},
    )
