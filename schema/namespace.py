"""A module namespace per role, where that role's generated classes live.

Strawberry resolves forward references ("Payment" inside "Reimbursement") in the module a
class claims to come from; each role gets its own, so roles never share a mutable type.
"""

from __future__ import annotations

import inspect
import sys
import types
from collections.abc import Callable
from typing import Any

import strawberry


class RoleNamespace:
    def __init__(self, role: str) -> None:
        self.module_name = f"huitong_schema_role_{role}"
        self.module = types.ModuleType(self.module_name)
        sys.modules[self.module_name] = self.module

    def __contains__(self, name: str) -> bool:
        return hasattr(self.module, name)

    def get(self, name: str) -> Any:
        return getattr(self.module, name)

    def add_type(
        self,
        name: str,
        fields: dict[str, Any],
        *,
        bases: tuple[type, ...] = (),
        decorator: Callable[..., Any] = strawberry.type,
        description: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> Any:
        """Declare a strawberry type from `fields` (name -> annotation or strawberry.field)."""
        annotations = {k: v for k, v in fields.items() if not _is_field(v)}
        namespace: dict[str, Any] = {
            "__annotations__": annotations,
            "__module__": self.module_name,
            **{k: v for k, v in fields.items() if _is_field(v)},
            **(extra or {}),
        }
        cls = type(name, bases, namespace)
        declared = decorator(cls, name=name, description=description)
        setattr(self.module, name, declared)
        return declared


def _is_field(value: Any) -> bool:
    return isinstance(value, strawberry.types.field.StrawberryField)


def with_signature(
    func: Callable[..., Any], annotations: dict[str, Any], defaults: dict[str, Any],
    *, root: bool = False,
) -> Callable[..., Any]:
    """Give a generic resolver the typed arguments of one generated field."""
    positional = inspect.Parameter.POSITIONAL_OR_KEYWORD
    params = [inspect.Parameter("root", positional)] if root else []
    params.append(inspect.Parameter("info", positional, annotation=strawberry.Info))
    params.extend(
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=ann,
                          default=defaults.get(name, inspect.Parameter.empty))
        for name, ann in annotations.items()
    )
    func.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    func.__annotations__ = {"info": strawberry.Info, **annotations}
    return func
