"""The request's road to the data: `connectors.gateway.Gateway`, with its refusals and source
failures as the GraphQL errors callers see (stable codes, never a driver's message)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Any

from auth.access.purpose import PurposeRequired
from auth.access.scope import AccessDenied, OutOfScope, Relation
from auth.model.query import AggregateQuery, EntityQuery
from auth.model.values import InvalidValue
from connectors.base import SourceError
from connectors.gateway import Gateway, InvalidQuery, NotFound
from connectors.rows import Row

from .errors import (
    bad_input,
    bad_value,
    forbidden,
    not_found,
    out_of_scope,
    purpose_required,
    source_failed,
)


@contextlib.contextmanager
def caller_errors() -> Iterator[None]:
    """Domain errors from below as the GraphQL errors callers see."""
    try:
        yield
    except AccessDenied:
        raise forbidden() from None
    except PurposeRequired as exc:
        raise purpose_required(exc.message) from None
    except InvalidQuery as exc:
        raise bad_input(str(exc)) from None
    except InvalidValue as exc:
        raise bad_value(exc) from None
    except OutOfScope as exc:
        raise out_of_scope(exc) from None
    except NotFound as exc:
        raise not_found(exc.entity) from None
    except SourceError as exc:
        raise source_failed(exc) from None


class GraphQLGateway:
    """The same calls as `Gateway`, each inside `caller_errors`."""

    def __init__(self, gateway: Gateway) -> None:
        self.inner = gateway

    async def fetch(
        self, query: EntityQuery, via: Relation | None = None, keys: tuple[str, ...] = (),
        *, page_size: int | None = None,
    ) -> list[Row]:
        with caller_errors():
            return await self.inner.fetch(query, via, keys, page_size=page_size)

    async def count(self, query: EntityQuery) -> int:
        with caller_errors():
            return await self.inner.count(query)

    async def count_partitioned(
        self, query: EntityQuery, via: Relation | None = None
    ) -> Mapping[Any, int]:
        with caller_errors():
            return await self.inner.count_partitioned(query, via)

    async def aggregate(self, query: AggregateQuery) -> list[Row]:
        with caller_errors():
            return await self.inner.aggregate(query)

    async def insert(self, entity: str, values: Mapping[str, Any]) -> str:
        with caller_errors():
            return await self.inner.insert(entity, values)

    async def update(self, entity: str, row_id: str, values: Mapping[str, Any]) -> None:
        with caller_errors():
            await self.inner.update(entity, row_id, values)
