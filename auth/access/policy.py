"""The access policy as data: per role, which entities, fields, filters, orders, groupings,
rows, limits and operations it is granted. Anything not granted is denied.

The policy file is TOML, read once by `load_policy`: its `[roles.<name>]` tables become the
roles, its `[purpose.<role>]` tables the purpose rules (`auth.access.purpose`) the policy
carries. Both are checked against the catalog and the operations registry, and anything that
does not fit stops start-up with a message naming the role, entity and field.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

from auth.identity.principal import PUBLIC_ROLE
from auth.model.catalog import ENTITIES, ENUMS, EntitySpec, Kind
from auth.model.operations import OPERATIONS, Operation
from auth.model.query import Condition, Op

from .masking import MASKERS
from .purpose import NO_RULES, PurposeRuleError, PurposeRules, purpose_rules

ROW_RULES = ("jurisdiction", "all")
_RANGE_KINDS = frozenset({Kind.MONEY, Kind.DATE, Kind.DATETIME})


class PolicyError(ValueError):
    """The policy file does not fit the catalog; the message names role, entity and field."""


@dataclass(frozen=True)
class Limits:
    max_first: int = 100
    max_depth: int = 10
    max_aliases: int = 30
    max_tokens: int = 4000
    max_list: int = 100
    # Field selections once fragments are expanded (a fragment spread twice counts twice).
    max_fields: int = 2000
    # Wall-time budget of validating one document, in milliseconds (a last resort: the cost
    # pre-pass refuses expensive documents long before; a busy machine must not trip it).
    validation_ms: int = 10_000


@dataclass(frozen=True)
class EntityGrant:
    entity: str
    read: bool
    fields: frozenset[str]
    relations: frozenset[str]
    masked: Mapping[str, str]
    filterable: frozenset[str]
    orderable: frozenset[str]
    groupable: frozenset[str]
    rows: str
    where: tuple[Condition, ...]
    aggregate: bool
    # Fields the role may write (mutations that insert or update rows of this entity).
    writable: frozenset[str] = frozenset()

    def visible(self, name: str) -> bool:
        return name in self.fields or name in self.relations


@dataclass(frozen=True)
class RolePolicy:
    name: str
    description: str
    entities: Mapping[str, EntityGrant]
    limits: Limits = field(default_factory=Limits)
    min_group_size: int = 1
    introspection: bool = True
    # The operations (`auth.model.operations`) the role may call, by name; none by default.
    operations: Mapping[str, Operation] = field(default_factory=dict)
    # A role only the hub's own background work acts in (`system_principal`): it has no
    # schema, and requests whose credential names it are refused.
    system: bool = False

    def grant(self, entity: str) -> EntityGrant | None:
        return self.entities.get(entity)

    def readable(self, entity: str) -> bool:
        grant = self.entities.get(entity)
        return grant is not None and grant.read


@dataclass(frozen=True)
class Policy:
    roles: Mapping[str, RolePolicy]
    source: str = "<memory>"
    purpose: PurposeRules = NO_RULES

    def role(self, name: str) -> RolePolicy | None:
        return self.roles.get(name)


def load_policy(path: Path, operations: Mapping[str, Operation] = OPERATIONS) -> Policy:
    """The policy file's roles and purpose rules, read and checked once."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise PolicyError(f"{path}: policy file not found") from exc
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{path}: not valid TOML: {exc}") from exc
    return parse_policy(raw, str(path), operations)


def parse_policy(raw: Mapping[str, Any], where: str,
                 operations: Mapping[str, Operation] = OPERATIONS) -> Policy:
    """`operations` is the registry role grants are checked against (tests add their own)."""
    roles_raw = raw.get("roles")
    if not isinstance(roles_raw, Mapping) or not roles_raw:
        raise PolicyError(f"{where}: expected [roles.<name>] tables")
    roles = {name: _role(name, spec, f"{where}: roles.{name}", operations)
             for name, spec in roles_raw.items()}
    try:
        purpose = purpose_rules(raw, where)
    except PurposeRuleError as exc:
        raise PolicyError(str(exc)) from None
    policy = Policy(roles, where, purpose)
    for role in roles.values():
        _check_links(role, f"{where}: roles.{role.name}")
    return policy


def _role(name: str, spec: Any, at: str, operations: Mapping[str, Operation]) -> RolePolicy:
    if not isinstance(spec, Mapping):
        raise PolicyError(f"{at}: expected a table")
    if "oversight" in spec:
        raise PolicyError(f"{at}.oversight: renamed to operations; write operations = "
                          f"{_toml_list(spec['oversight'])}")
    _only(spec, at, {"description", "entities", "limits", "min_group_size", "introspection",
                     "operations", "system"})
    system = spec.get("system", False)
    if not isinstance(system, bool) or (system and name == PUBLIC_ROLE):
        raise PolicyError(f"{at}.system: expected true or false (and the {PUBLIC_ROLE} role "
                          "is never a system role)")
    limits_raw = spec.get("limits", {})
    _only(limits_raw, f"{at}.limits", set(Limits.__dataclass_fields__))
    for key, value in limits_raw.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise PolicyError(f"{at}.limits.{key}: expected a positive integer")
    entities_raw = spec.get("entities", {})
    if not isinstance(entities_raw, Mapping):
        raise PolicyError(f"{at}.entities: expected [..entities.<Entity>] tables")
    entities = {}
    for ename, espec in entities_raw.items():
        if ename not in ENTITIES:
            raise PolicyError(
                f"{at}.entities.{ename}: unknown entity; expected one of {', '.join(ENTITIES)}"
            )
        entities[ename] = _grant(ENTITIES[ename], espec, f"{at}.entities.{ename}")
    entities = _drop_wildcard_links(entities, entities_raw)
    if name == PUBLIC_ROLE and any(g.writable for g in entities.values()):
        raise PolicyError(f"{at}.entities: the {PUBLIC_ROLE} role cannot be granted writes")
    min_group = spec.get("min_group_size", 1)
    if not isinstance(min_group, int) or min_group < 1:
        raise PolicyError(f"{at}.min_group_size: expected a positive integer")
    return RolePolicy(
        name=name,
        description=str(spec.get("description", "")),
        entities=entities,
        limits=Limits(**limits_raw),
        min_group_size=min_group,
        introspection=bool(spec.get("introspection", True)),
        operations=_operations(name, spec.get("operations", []), f"{at}.operations",
                               operations),
        system=system,
    )


def _operations(role: str, value: Any, at: str, registry: Mapping[str, Operation]
                ) -> Mapping[str, Operation]:
    expected = f"expected a list of operation names ({', '.join(sorted(registry))})"
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise PolicyError(f"{at}: {expected}")
    granted: dict[str, Operation] = {}
    for name in value:
        operation = registry.get(name)
        if operation is None:
            raise PolicyError(f"{at}: role {role} is granted {name!r}, which is not an "
                              f"operation of this hub; {expected}")
        if role == PUBLIC_ROLE and not operation.public:
            # Anonymous callers would learn who read what; the audit trail is for
            # accountable staff.
            raise PolicyError(f"{at}: the {PUBLIC_ROLE} role cannot be granted {name}")
        granted[name] = operation
    return MappingProxyType(granted)


def _toml_list(value: Any) -> str:
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "[" + ", ".join(f'"{v}"' for v in value) + "]"
    return "[...]"


def _grant(entity: EntitySpec, spec: Any, at: str) -> EntityGrant:
    if not isinstance(spec, Mapping):
        raise PolicyError(f"{at}: expected a table")
    _only(spec, at, {"read", "fields", "masked", "filter", "order", "group", "rows", "where",
                     "aggregate", "write"})
    outputs = {f.name for f in entity.fields.values() if f.output}
    keys = {f.name for f in entity.fields.values() if not f.output}
    named = _names(spec.get("fields", []), outputs | set(entity.relations), f"{at}.fields",
                   entity)
    fields = frozenset(n for n in named if n in outputs) | {"id"}
    relations = frozenset(n for n in named if n in entity.relations)
    masked_raw = spec.get("masked", {})
    if not isinstance(masked_raw, Mapping):
        raise PolicyError(f"{at}.masked: expected a table of field = masker")
    for fname, masker in masked_raw.items():
        if fname not in fields:
            raise PolicyError(f"{at}.masked.{fname}: field is not granted in {at}.fields")
        if masker not in MASKERS:
            raise PolicyError(
                f"{at}.masked.{fname}: unknown masker {masker!r}; expected one of "
                + ", ".join(MASKERS)
            )
        if entity.fields[fname].kind is not Kind.STRING:
            raise PolicyError(f"{at}.masked.{fname}: only string fields can be masked")
    masked = dict(masked_raw)
    clear = (fields | keys) - set(masked)
    filterable = _subset(spec, "filter", clear, at, entity, masked)
    orderable = _subset(spec, "order", fields - set(masked), at, entity, masked)
    for fname in orderable:
        if entity.fields[fname].nullable:
            raise PolicyError(f"{at}.order.{fname}: nullable fields cannot be ordered on")
    groupable = _subset(spec, "group", fields - set(masked), at, entity, masked)
    writable = _subset(spec, "write", clear - {"id"}, at, entity, masked)
    if writable and not spec.get("read", True):
        raise PolicyError(f"{at}.write: a role writes only rows it can read (read = true)")
    rows = spec.get("rows", "jurisdiction")
    if rows not in ROW_RULES:
        raise PolicyError(f"{at}.rows: expected one of {', '.join(ROW_RULES)}")
    if rows == "jurisdiction" and "regionCode" not in entity.fields:
        raise PolicyError(f"{at}.rows: {entity.name} has no regionCode; use rows = \"all\"")
    return EntityGrant(
        entity=entity.name,
        read=bool(spec.get("read", True)),
        fields=fields,
        relations=relations,
        masked=masked,
        filterable=filterable,
        orderable=orderable,
        groupable=groupable,
        rows=rows,
        where=_static_where(spec.get("where", {}), entity, f"{at}.where"),
        aggregate=bool(spec.get("aggregate", False)),
        writable=writable,
    )


def _names(value: Any, allowed: set[str], at: str, entity: EntitySpec) -> set[str]:
    if value == "*":
        return set(allowed)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise PolicyError(f"{at}: expected \"*\" or a list of field names")
    for name in value:
        if name not in allowed:
            raise PolicyError(
                f"{at}: {entity.name} has no field {name!r} here; expected one of "
                + ", ".join(sorted(allowed))
            )
    return set(value)


def _subset(
    spec: Mapping[str, Any], key: str, allowed: set[str] | frozenset[str], at: str,
    entity: EntitySpec, masked: Mapping[str, str],
) -> frozenset[str]:
    value = spec.get(key, [])
    if value == "*":
        return frozenset(allowed)
    if not isinstance(value, list):
        raise PolicyError(f"{at}.{key}: expected \"*\" or a list of field names")
    for name in value:
        if name in masked:
            raise PolicyError(f"{at}.{key}.{name}: a masked field cannot be used in {key}")
        if name not in allowed:
            raise PolicyError(f"{at}.{key}.{name}: {entity.name}.{name} is not a granted field")
    return frozenset(value)


def _static_where(raw: Any, entity: EntitySpec, at: str) -> tuple[Condition, ...]:
    if not isinstance(raw, Mapping):
        raise PolicyError(f"{at}: expected a table of field = value or [values]")
    conditions = []
    for fname, value in raw.items():
        spec = entity.fields.get(fname)
        if spec is None:
            raise PolicyError(f"{at}.{fname}: {entity.name} has no field {fname!r}")
        values = value if isinstance(value, list) else [value]
        for v in values:
            if spec.enum and v not in ENUMS[spec.enum]:
                raise PolicyError(f"{at}.{fname}: {v!r} is not a {spec.enum} value")
        conditions.append(Condition(fname, Op.IN, tuple(values)))
    return tuple(conditions)


def _drop_wildcard_links(
    grants: dict[str, EntityGrant], raw: Mapping[str, Any]
) -> dict[str, EntityGrant]:
    """`fields = "*"` grants the relations whose targets the role can read, and no others."""
    readable = {name for name, g in grants.items() if g.read}
    result = dict(grants)
    for name, grant in grants.items():
        if raw[name].get("fields") != "*":
            continue
        relations = ENTITIES[name].relations
        kept = frozenset(
            r for r in grant.relations
            if relations[r].target in readable
            and (relations[r].via is None or relations[r].via in grants)
        )
        result[name] = replace(grant, relations=kept)
    return result


def _check_links(role: RolePolicy, at: str) -> None:
    """A relation or key filter is granted only where its target entity is readable."""
    for grant in role.entities.values():
        entity = ENTITIES[grant.entity]
        for rname in grant.relations:
            rel = entity.relations[rname]
            if not role.readable(rel.target):
                raise PolicyError(
                    f"{at}.entities.{grant.entity}.fields.{rname}: relation to {rel.target}, "
                    f"which the role cannot read"
                )
            if rel.via and role.grant(rel.via) is None:
                raise PolicyError(
                    f"{at}.entities.{grant.entity}.fields.{rname}: needs a grant on {rel.via}"
                )
        for fname in grant.filterable:
            target = entity.fields[fname].references
            if target and not entity.fields[fname].output and not role.readable(target):
                raise PolicyError(
                    f"{at}.entities.{grant.entity}.filter.{fname}: key of {target}, "
                    f"which the role cannot read"
                )
        if grant.aggregate and not grant.groupable:
            raise PolicyError(f"{at}.entities.{grant.entity}.group: aggregate needs fields")
        if grant.aggregate and role.min_group_size > 1:
            for fname in grant.filterable:
                if entity.fields[fname].kind in _RANGE_KINDS:
                    # Ranges let a caller difference two allowed summaries down to one row.
                    raise PolicyError(
                        f"{at}.entities.{grant.entity}.filter.{fname}: a role whose aggregates "
                        f"are suppressed below {role.min_group_size} rows cannot filter on "
                        "ranges (money, dates); let it group by MONTH instead"
                    )


def _only(spec: Mapping[str, Any], at: str, allowed: set[str]) -> None:
    for key in spec:
        if key not in allowed:
            raise PolicyError(
                f"{at}.{key}: unknown key; expected one of {', '.join(sorted(allowed))}"
            )
