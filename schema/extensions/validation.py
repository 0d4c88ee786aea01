"""Validate against the role's schema with every "Did you mean" hint removed, and cache it.

strawberry's `disable_field_suggestions` only hides field hints; argument, input-field, enum
value and type hints would still name things the role cannot see. graphql-core's
`hide_suggestions=True` removes them all. Rules are built once per role (depth, aliases,
introspection) so that the cache can hit.

Two checks graphql-core would make at execution are made here instead: strawberry passes no
`hide_suggestions` to execution, so variables are coerced here first (same errors, no hints);
and strawberry runs the first operation of a document when the request names none, where the
spec asks for an error (code OPERATION_RESOLUTION_FAILURE).
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from graphql import (
    ASTValidationRule,
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    NoSchemaIntrospectionCustomRule,
    OperationDefinitionNode,
    get_operation_ast,
    specified_rules,
    validate,
)
from graphql.execution.values import get_variable_values
from strawberry.extensions import MaxAliasesLimiter, QueryDepthLimiter, SchemaExtension
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule

from auth.access.policy import Limits


def role_rules(limits: Limits, introspection: bool) -> tuple[type[ASTValidationRule], ...]:
    rules: list[type[ASTValidationRule]] = [
        *specified_rules,
        MaybeNullValidationRule,
        OneOfInputValidationRule,
        *QueryDepthLimiter(max_depth=limits.max_depth).validation_rules,
        *MaxAliasesLimiter(max_alias_count=limits.max_aliases).validation_rules,
    ]
    if not introspection:
        rules.append(NoSchemaIntrospectionCustomRule)
    return tuple(rules)


@lru_cache(maxsize=512)
def _validate(
    schema: GraphQLSchema, document: DocumentNode, rules: tuple[type[ASTValidationRule], ...]
) -> list[GraphQLError]:
    errors = validate(schema, document, rules, hide_suggestions=True)
    for error in errors:
        error.extensions = {**(error.extensions or {}), "code": "GRAPHQL_VALIDATION_FAILED"}
    return errors


def validate_document(
    schema: GraphQLSchema, document: DocumentNode, rules: tuple[type[ASTValidationRule], ...]
) -> list[GraphQLError]:
    """The role's validation of `document` (its rules, no hints), as the extension runs it."""
    return _validate(schema, document, rules)


class RoleValidation(SchemaExtension):
    def __init__(self, rules: tuple[type[ASTValidationRule], ...]) -> None:
        super().__init__()
        self.rules = rules

    def on_validate(self) -> Iterator[None]:
        ctx: Any = self.execution_context
        errors = _validate(ctx.schema._schema, ctx.graphql_document, self.rules)
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
