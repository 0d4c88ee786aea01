"""Purpose rules: which roles, or which field reads, need a stated purpose (e.g. a case number).

The caller states its purpose in the `X-Huitong-Purpose` header or the token's `purpose` claim
(it arrives as `Principal.purpose`). The rules live in the policy file, in tables of their own,
which `auth.access.policy.load_policy` reads with the roles (the policy carries them):

    [purpose.discipline_inspector]
    required = true                       # every operation of this role needs a purpose
    pattern = "^(案|JW)[-0-9A-Z]+$"       # optional: the form a needed purpose must take
    hint = "give the case number, e.g. 案-2024-017"   # optional: added to refusals

    [purpose.civil_affairs]
    fields = ["Resident.idNumber", "Subsidy.*"]   # reading these needs a purpose

`pattern` applies whenever the role's rule makes a purpose necessary. Give `check` the
(entity, field) pairs the operation returns *in clear*: a masked field reveals nothing, so it
needs no purpose. `require` raises `PurposeRequired` with the refusal instead.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from auth.identity.principal import Principal
from auth.model.catalog import ENTITIES

MAX_PURPOSE_CHARS: Final = 200
_KEYS: Final = frozenset({"required", "fields", "pattern", "hint"})


class PurposeRuleError(ValueError):
    """A `[purpose.<role>]` table does not fit; the message names file, role and key."""


class PurposeRequired(Exception):
    """The operation needs a stated purpose it lacks; `message` says what and how to state it."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True, slots=True)
class PurposeRule:
    role: str
    required: bool = False
    fields: frozenset[tuple[str, str]] = frozenset()  # field "*" = any field of the entity
    pattern: re.Pattern[str] | None = None
    hint: str | None = None

    def triggered_by(self, requested: Iterable[tuple[str, str]]) -> tuple[str, str] | None:
        for entity, name in requested:
            if (entity, name) in self.fields or (entity, "*") in self.fields:
                return entity, name
        return None


@dataclass(frozen=True, slots=True)
class PurposeRules:
    rules: Mapping[str, PurposeRule]

    def check(self, principal: Principal, requested: Iterable[tuple[str, str]] = ()) -> str | None:
        """A refusal message when the operation needs a purpose it lacks, else None."""
        purpose = principal.purpose
        if purpose is not None and (
            len(purpose) > MAX_PURPOSE_CHARS or not purpose.isprintable() or not purpose.strip()
        ):
            return f"The stated purpose must be printable text of 1-{MAX_PURPOSE_CHARS} characters."
        rule = self.rules.get(principal.role)
        if rule is None:
            return None
        if rule.required:
            reason = f"Role {principal.role} must state a purpose for every request"
        else:
            field = rule.triggered_by(requested)
            if field is None:
                return None
            reason = f"Reading {field[0]}.{field[1]} requires a stated purpose"
        hint = f" ({rule.hint})" if rule.hint else ""
        if purpose is None:
            return (f"{reason}: send it in the X-Huitong-Purpose header or the token's "
                    f"purpose claim{hint}.")
        if rule.pattern is not None and rule.pattern.search(purpose) is None:
            return f"{reason}, and {purpose!r} is not of the required form{hint}."
        return None

    def require(self, principal: Principal, requested: Iterable[tuple[str, str]] = ()) -> None:
        """`check`, raising `PurposeRequired` with the refusal."""
        refusal = self.check(principal, requested)
        if refusal is not None:
            raise PurposeRequired(refusal)


NO_RULES: Final = PurposeRules({})


def purpose_rules(raw_policy: Mapping[str, Any], where: str = "<policy>") -> PurposeRules:
    """The `[purpose.<role>]` tables of a parsed policy file (none: nothing is required)."""
    tables = raw_policy.get("purpose", {})
    if not isinstance(tables, Mapping):
        raise PurposeRuleError(f"{where}: purpose: expected [purpose.<role>] tables")
    roles = raw_policy.get("roles")
    rules = {}
    for role, spec in tables.items():
        at = f"{where}: purpose.{role}"
        if isinstance(roles, Mapping) and role not in roles:
            raise PurposeRuleError(f"{at}: no such role in [roles]")
        if not isinstance(spec, Mapping):
            raise PurposeRuleError(f"{at}: expected a table")
        unknown = sorted(set(spec) - _KEYS)
        if unknown:
            raise PurposeRuleError(
                f"{at}.{unknown[0]}: unknown key; expected one of {', '.join(sorted(_KEYS))}"
            )
        required = spec.get("required", False)
        if not isinstance(required, bool):
            raise PurposeRuleError(f"{at}.required: expected true or false")
        hint = spec.get("hint")
        if hint is not None and (not isinstance(hint, str) or not hint.strip()):
            raise PurposeRuleError(f"{at}.hint: expected a non-empty string")
        fields = _fields(spec.get("fields", []), f"{at}.fields")
        if not required and not fields:
            raise PurposeRuleError(f"{at}: expected required = true or a list of fields")
        rules[role] = PurposeRule(role, required, fields, _pattern(spec.get("pattern"), at), hint)
    return PurposeRules(rules)


def _pattern(value: Any, at: str) -> re.Pattern[str] | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise PurposeRuleError(f"{at}.pattern: expected a regular expression")
    try:
        return re.compile(value)
    except re.error as exc:
        raise PurposeRuleError(f"{at}.pattern: not a valid regular expression ({exc})") from None


def _fields(value: Any, at: str) -> frozenset[tuple[str, str]]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise PurposeRuleError(f"{at}: expected a list of \"Entity.field\" or \"Entity.*\"")
    found = set()
    for item in value:
        entity_name, _, name = item.partition(".")
        entity = ENTITIES.get(entity_name)
        if entity is None:
            raise PurposeRuleError(f"{at}: {item!r}: unknown entity {entity_name!r}")
        if name != "*" and name not in entity.relations and (
            name not in entity.fields or not entity.fields[name].output
        ):
            raise PurposeRuleError(f"{at}: {item!r}: {entity_name} has no field {name!r}")
        found.add((entity_name, name))
    return frozenset(found)
