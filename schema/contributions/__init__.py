"""Root fields beyond the entities' own, one module per area of the hub.

A contribution is a module with

    def query_fields(ns: RoleNamespace, role: RolePolicy) -> dict[str, Any]: ...

and, when it has any, `mutation_fields(ns, role)` and `subscription_fields(ns, role)` of the
same form: root field name → `strawberry.field`, declaring the types they need in the role's
namespace `ns`. Each field is an operation of `auth.model.operations`, and a contribution
offers only the ones the role's `operations` grant; `schema.build` refuses any other (so a
forgotten check fails at start-up rather than exposing a field). `schema.build.CONTRIBUTIONS`
lists the modules: `audit_trail`, `changes` (incremental pulls); supervision, publishing
and sharing join there.
"""

from __future__ import annotations

from typing import Any, Protocol

from auth.access.policy import RolePolicy

from ..namespace import RoleNamespace


class Contribution(Protocol):
    def query_fields(self, ns: RoleNamespace, role: RolePolicy) -> dict[str, Any]: ...
