"""GraphQL enums from the catalog's code lists, shared by every role's schema."""

from __future__ import annotations

from enum import Enum
from typing import Any

import strawberry

from auth.model.catalog import ENUMS


def _make(name: str, values: tuple[str, ...]) -> Any:
    # str-valued members hash like their names, so source rows can carry plain strings.
    members = {v: v for v in values}
    functional: Any = Enum(name, members, type=str)  # type: ignore[misc]
    return strawberry.enum(functional, name=name)


CATALOG_ENUMS: dict[str, Any] = {name: _make(name, values) for name, values in ENUMS.items()}

OrderDirection: Any = _make("OrderDirection", ("ASC", "DESC"))
