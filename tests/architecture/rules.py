"""DESIGN.md's import arrows as code: which hub package may import which, checked with `ast`.

    huitong → portal
    huitong → schema → resolvers → {supervision, publishing} → connectors → auth

A package may import the packages further down its chain (and itself); supervision and
publishing do not import each other; `auth.model` is importable from everywhere and imports
nothing else of the hub; inside `auth`, model ← identity ← access ← {audit, sharing}; the
portal talks to the hub only through the GraphQL front door, so of the hub it imports only
`auth.model`; and `connectors`, `supervision`, `publishing` and `auth` never import the
GraphQL or HTTP-server stack (strawberry, graphql-core, starlette).

Every import counts: at the top, inside functions, under `if TYPE_CHECKING:`.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

ROOT: Final = Path(__file__).resolve().parents[2]
PACKAGES: Final = ("huitong", "portal", "schema", "resolvers", "supervision", "publishing",
                   "connectors", "auth")
# Position in the chain: a package may import packages of a higher rank.
RANK: Final = {"huitong": 0, "schema": 1, "resolvers": 2, "supervision": 3, "publishing": 3,
               "connectors": 4, "auth": 5}
CHAIN: Final = ("huitong → portal; huitong → schema → resolvers → {supervision, publishing} → "
                "connectors → auth; auth.model from everywhere")
AUTH_LAYERS: Final = {"model": 0, "identity": 1, "access": 2, "audit": 3, "sharing": 3}
GRAPHQL_STACK: Final = ("strawberry", "graphql", "starlette")
NO_GRAPHQL: Final = ("connectors", "supervision", "publishing", "auth")


@dataclass(frozen=True, slots=True)
class Violation:
    module: str
    imported: str
    line: int
    rule: str

    def __str__(self) -> str:
        return f"{self.module} (line {self.line}) imports {self.imported}: {self.rule}"


def _top(name: str) -> str:
    return name.split(".", 1)[0]


def _auth_part(name: str) -> str | None:
    parts = name.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "auth" else None


def imports(module: str, source: str, is_package: bool = False) -> Iterator[tuple[str, int]]:
    """(imported module, line) for every import in `source`, relative ones resolved.
    `from p import name` counts as importing `p.name` (a submodule or a name of `p`)."""
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".") if package else []
                base_parts = parts[: len(parts) - node.level + 1]
                base = ".".join([*base_parts, *([node.module] if node.module else [])])
            else:
                base = node.module or ""
            for alias in node.names:
                yield (f"{base}.{alias.name}" if base else alias.name), node.lineno


def _rule(module: str, imported: str) -> str | None:
    """Why `module` may not import `imported`, or None when it may."""
    src, dst = _top(module), _top(imported)
    if src in NO_GRAPHQL and dst in GRAPHQL_STACK:
        return f"{src} never imports {dst} (no GraphQL or HTTP-server code below resolvers)"
    if dst not in PACKAGES or (dst == src and src != "auth"):
        return None
    if src == "auth":
        if dst != "auth":
            return "auth imports none of the other packages"
        mine, theirs = _auth_part(module), _auth_part(imported)
        if mine is None or theirs is None or mine == theirs:
            return None
        if mine == "model":
            return "auth.model is the pure base: it imports nothing else of the hub"
        if theirs in AUTH_LAYERS and AUTH_LAYERS[theirs] >= AUTH_LAYERS.get(mine, 0):
            return (f"auth.{mine} may not import auth.{theirs} (inside auth: model ← identity "
                    "← access ← {audit, sharing})")
        return None
    if imported == "auth.model" or imported.startswith("auth.model."):
        return None
    if src == "portal":
        return ("the portal reads only through the GraphQL front door: of the hub it imports "
                "auth.model only")
    if dst == "portal":
        return None if src == "huitong" else \
            "only huitong imports the portal (it mounts its routes)"
    if {src, dst} == {"supervision", "publishing"}:
        return "supervision and publishing do not import each other"
    if RANK[dst] <= RANK[src]:
        return f"{src} may not import {dst} (arrows: {CHAIN})"
    return None


def violations(module: str, source: str, is_package: bool = False) -> list[Violation]:
    found = []
    for imported, line in imports(module, source, is_package):
        rule = _rule(module, imported)
        if rule is not None:
            found.append(Violation(module, imported, line, rule))
    return found


def modules() -> Iterator[tuple[str, Path, bool]]:
    """(dotted name, path, is a package) of every module of the hub's packages."""
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT).with_suffix("")
            is_package = relative.name == "__init__"
            parts = relative.parts[:-1] if is_package else relative.parts
            yield ".".join(parts), path, is_package
