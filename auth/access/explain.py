"""Explain a decision: may this principal see this row, and which fields come back how.

Used by `huitong policy explain`; it evaluates the same row scope the SQL carries, on one row
the operator fetched unscoped, and words each condition.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from auth.identity.principal import Principal
from auth.model.catalog import ENTITIES
from auth.model.query import Condition, Op

from .policy import RolePolicy
from .scope import Scoper


@dataclass
class Explanation:
    visible: bool
    reasons: list[str] = field(default_factory=list)
    clear_fields: list[str] = field(default_factory=list)
    masked_fields: dict[str, str] = field(default_factory=dict)
    absent_fields: list[str] = field(default_factory=list)


def _holds(cond: Condition, row: dict[str, Any]) -> tuple[bool, str]:
    value = row.get(cond.field)
    if cond.op is Op.WITHIN:
        ok = isinstance(value, str) and value.startswith(str(cond.value))
        return ok, (f"{cond.field} {value} is {'inside' if ok else 'outside'} the jurisdiction "
                    f"prefix {cond.value}")
    if cond.op is Op.IN:
        ok = value in cond.value
        if not cond.value:
            return False, "the principal has no jurisdiction, so no rows are in scope"
        return ok, (f"{cond.field} = {value!r} is {'' if ok else 'not '}one of "
                    f"{', '.join(map(repr, cond.value))}")
    return value == cond.value, f"{cond.field} = {value!r} (needs {cond.op} {cond.value!r})"


def explain(role: RolePolicy, principal: Principal, entity: str, row: dict[str, Any] | None
            ) -> Explanation:
    spec = ENTITIES[entity]
    grant = role.grant(entity)
    if grant is None or not grant.read:
        return Explanation(False, [f"the role {role.name} is not granted to read {entity}"],
                           absent_fields=[f for f in spec.fields if spec.fields[f].output])
    if row is None:
        return Explanation(False, [f"no {entity} row has this id in its source"])
    result = Explanation(True)
    for cond in Scoper(role, principal).row_scope(grant):
        ok, reason = _holds(cond, row)
        result.reasons.append(("✓ " if ok else "✗ ") + reason)
        result.visible = result.visible and ok
    for name, fspec in spec.fields.items():
        if not fspec.output:
            continue
        if name in grant.masked:
            result.masked_fields[name] = grant.masked[name]
        elif name in grant.fields:
            result.clear_fields.append(name)
        else:
            result.absent_fields.append(name)
    return result
