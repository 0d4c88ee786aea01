"""Validate against the role's schema with every "Did you mean" hint removed, and cache it.

strawberry's `disable_field_suggestions` only hides field hints; argument, input-field, enum
value and type hints would still name things the role cannot see. graphql-core's
`hide_suggestions=True` removes them all. Rules are built once per role (introspection, the
time budget) so that the cache can hit.

Before graphql-core validates anything, `document_cost` measures the document with each
fragment's figures computed once: a document over the role's depth, alias or (expanded) field
limit, or one whose repeated fields would make OverlappingFieldsCanBeMerged quadratic, is
refused at once with GRAPHQL_VALIDATION_FAILED, in time linear in its size however large its
expansion (a fragment bomb is refused in well under a millisecond). What validation is left is
then bounded, and still has a wall-time budget (`[roles.<r>.limits].validation_ms`): past it the
document is refused with GRAPHQL_VALIDATION_FAILED ("took too long to validate") rather than
holding the event loop that every other request shares.

Two checks graphql-core would make at execution are made here instead: strawberry passes no
`hide_suggestions` to execution, so variables are coerced here first (same errors, no hints);
and strawberry runs the first operation of a document when the request names none, where the
spec asks for an error (code OPERATION_RESOLUTION_FAILURE).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from graphql import (
    ASTValidationRule,
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    Node,
    NoSchemaIntrospectionCustomRule,
    OperationDefinitionNode,
    ValidationContext,
    get_operation_ast,
    specified_rules,
    validate,
)
from graphql.execution.values import get_variable_values
from strawberry.extensions import SchemaExtension
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule

from auth.access.policy import Limits

from .document_cost import CostLimits, DocumentCost

VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"


class ValidationTimeout(Exception):
    """Validation ran past its wall-time budget."""


def _time_budget(seconds: float) -> type[ASTValidationRule]:
    class TimeBudget(ASTValidationRule):
        """Stops validation once it has run `seconds` (checked at every node it enters)."""

        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            self.deadline = time.perf_counter() + seconds

        def enter(self, node: Node, *_args: Any) -> None:
            if time.perf_counter() > self.deadline:
                raise ValidationTimeout()

    return TimeBudget


def role_rules(limits: Limits, introspection: bool) -> tuple[type[ASTValidationRule], ...]:
    rules: list[type[ASTValidationRule]] = [
        _time_budget(limits.validation_ms / 1000),
        *specified_rules,
        MaybeNullValidationRule,
        OneOfInputValidationRule,
    ]
    if not introspection:
        rules.append(NoSchemaIntrospectionCustomRule)
    return tuple(rules)


def cost_limits(limits: Limits) -> CostLimits:
    return CostLimits(max_depth=limits.max_depth, max_aliases=limits.max_aliases,
                      max_fields=limits.max_fields)


def _failed(message: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": VALIDATION_FAILED})


@lru_cache(maxsize=512)
def _validate(
    schema: GraphQLSchema, document: DocumentNode, rules: tuple[type[ASTValidationRule], ...],
    limits: CostLimits,
) -> list[GraphQLError]:
    refusal = DocumentCost.of(document).refusal(limits)
    if refusal is not None:
        return [_failed(refusal)]
    # A timeout propagates: it must not be cached as this document's answer (the machine may
    # just have been busy).
    errors = validate(schema, document, rules, hide_suggestions=True)
    for error in errors:
        error.extensions = {**(error.extensions or {}), "code": VALIDATION_FAILED}
    return errors


def validate_document(
    schema: GraphQLSchema, document: DocumentNode, rules: tuple[type[ASTValidationRule], ...],
    limits: CostLimits,
) -> list[GraphQLError]:
    """The role's validation of `document` (its cost limits and rules, no hints), as the
    extension runs it."""
    try:
        return _validate(schema, document, rules, limits)
    except ValidationTimeout:
        return [_failed("The document took too long to validate; send a smaller one.")]


class RoleValidation(SchemaExtension):
    def __init__(self, rules: tuple[type[ASTValidationRule], ...], limits: CostLimits) -> None:
        super().__init__()
        self.rules = rules
        self.limits = limits

    def on_validate(self) -> Iterator[None]:
        ctx: Any = self.execution_context
        try:
            errors = _validate(ctx.schema._schema, ctx.graphql_document, self.rules,
                               self.limits)
        except ValidationTimeout:
            errors = [_failed("The document took too long to validate; send a smaller one.")]
        ctx.pre_execution_errors = errors or _operation_errors(ctx)
        yield


def _operation_errors(ctx: Any) -> list[GraphQLError]:
    document: DocumentNode = ctx.graphql_document
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if len(operations) > 1 and ctx._provided_operation_name is None:
        return [GraphQLError(
            "The document holds several operations: name the one to run in `operationName`.",
            extensions={"code": "OPERATION_RESOLUTION_FAILURE"},
        )]
    operation = get_operation_ast(document, ctx.operation_name)
    if operation is None or not operation.variable_definitions:
        return []
    coerced = get_variable_values(ctx.schema._schema, operation.variable_definitions,
                                  ctx.variables or {}, max_errors=50, hide_suggestions=True)
    if not isinstance(coerced, list):
        return []
    for error in coerced:
        error.extensions = {**(error.extensions or {}), "code": "BAD_USER_INPUT"}
    return coerced
