"""Compiled selections: a query operation answered by one statement per source, with no
per-field GraphQL work.

For each role, a document is parsed and validated once (the same token limit and validation
rules as the role's schema) and kept. A request for it is planned against its variables and
principal (`plan`: the tree of reads the loaders would make), answered by the source in one
statement through the gateway (`connectors.gateway.Gateway.fetch_tree`: scoped, masked and
noted like every read), and shaped into the response data (`shape`). Anything the compiler
does not take — another root field, a link-entity relation, a directive, a source kind that
cannot answer a tree, an argument the resolvers would refuse, a source failure — returns None,
and the request takes the general path, which answers (or reports) it as it always has; what
the attempt noted is dropped.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    DirectiveNode,
    DocumentNode,
    FragmentDefinitionNode,
    GraphQLError,
    OperationDefinitionNode,
    OperationType,
    get_operation_ast,
    parse,
)
from graphql.execution.collect_fields import FragmentDetails
from graphql.execution.values import get_variable_values
from graphql.language import Visitor, visit
from strawberry.types import ExecutionResult

from auth.audit.access_log import AccessLog
from connectors.gateway import Gateway

from ..context import RequestContext
from .plan import Planner
from .shape import Builder

log = logging.getLogger("huitong.compiled")
MAX_DOCUMENTS = 512


@dataclass(frozen=True, slots=True)
class _Document:
    operation: OperationDefinitionNode
    fragments: dict[str, FragmentDetails]


class _Directives(Visitor):
    found = False

    def enter_directive(self, node: DirectiveNode, *_: Any) -> None:
        self.found = True


class CompiledQueries:
    """One role's compiled path: its documents, checked once, and their execution."""

    def __init__(self, schema: Any, validate: Callable[[DocumentNode], list[GraphQLError]],
                 max_tokens: int) -> None:
        """`validate` is the role schema's own validation (its rules, no hints)."""
        self.schema = schema
        self.validate = validate
        self.max_tokens = max_tokens
        self._documents: OrderedDict[tuple[str, str | None], _Document | None] = OrderedDict()

    async def execute(self, ctx: RequestContext, query: str,
                      variables: Mapping[str, Any] | None,
                      operation_name: str | None) -> ExecutionResult | None:
        """The result, or None when the general path must answer."""
        document = self._document(query, operation_name)
        if document is None:
            return None
        operation = document.operation
        coerced = get_variable_values(self.schema._schema, operation.variable_definitions or (),
                                      dict(variables or {}), hide_suggestions=True)
        if isinstance(coerced, list):
            return None
        gateway = Gateway(ctx.scoper, ctx.sources, ctx.purpose, AccessLog())
        try:
            roots = Planner(self.schema, ctx, document.fragments, coerced, operation).roots()
            nodes = tuple(r.node for r in roots if r.node is not None)
            answers = await gateway.fetch_tree(nodes) if nodes else []
            data = Builder(ctx.cursors).data(roots, answers)
        except Exception as exc:  # anything: the general path answers, or says what is wrong
            log.debug("not compiled: %s: %s", type(exc).__name__, exc, exc_info=True)
            return None
        ctx.access_log.entities.update(gateway.log.entities)
        return ExecutionResult(data=data, errors=None)

    def _document(self, query: str, operation_name: str | None) -> _Document | None:
        key = (query, operation_name)
        if key in self._documents:
            self._documents.move_to_end(key)
            return self._documents[key]
        document = self._check(query, operation_name)
        self._documents[key] = document
        if len(self._documents) > MAX_DOCUMENTS:
            self._documents.popitem(last=False)
        return document

    def _check(self, query: str, operation_name: str | None) -> _Document | None:
        """A valid query operation without directives, or None (the general path says why)."""
        try:
            document: DocumentNode = parse(query, max_tokens=self.max_tokens)
        except GraphQLError:
            return None
        if self.validate(document):
            return None
        operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        if len(operations) > 1 and operation_name is None:
            return None
        operation = get_operation_ast(document, operation_name)
        if operation is None or operation.operation is not OperationType.QUERY:
            return None
        directives = _Directives()
        visit(document, directives)
        if directives.found:
            return None
        fragments = {d.name.value: FragmentDetails(d) for d in document.definitions
                     if isinstance(d, FragmentDefinitionNode)}
        return _Document(operation, fragments)
