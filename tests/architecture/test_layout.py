"""The rooms as DESIGN.md draws them: every package listed in pyproject (and checked by mypy),
every module saying what it is for, and scoped queries built in one place only."""

from __future__ import annotations

import ast
import tomllib

from tests.architecture.rules import PACKAGES, ROOT, modules

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_pyproject_lists_every_package_and_nothing_else() -> None:
    found = {name for name, _, is_package in modules() if is_package}
    listed = PYPROJECT["tool"]["setuptools"]["packages"]
    assert isinstance(listed, list), "list the packages explicitly"
    assert sorted(listed) == sorted(found)
    assert sorted(PYPROJECT["tool"]["mypy"]["packages"]) == sorted(PACKAGES)


def test_no_dependency_shadows_a_package_of_ours() -> None:
    names = {dep.split("[")[0].split(">")[0].split("=")[0].split("<")[0].strip().lower()
             for dep in PYPROJECT["project"]["dependencies"]}
    assert not names & set(PACKAGES)


def test_every_module_says_what_it_is_for() -> None:
    missing = [name for name, path, _ in modules()
               if not ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))]
    assert not missing, f"modules without a docstring: {', '.join(missing)}"


def test_only_the_scoping_step_builds_scoped_queries_and_writes() -> None:
    built = []
    for name, path, _ in modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                func = node.func
                called = func.id if isinstance(func, ast.Name) else \
                    func.attr if isinstance(func, ast.Attribute) else None
                if called in ("ScopedQuery", "ScopedAggregate", "ScopedInsert", "ScopedUpdate") \
                        and name != "auth.access.scope":
                    built.append(f"{name} (line {node.lineno})")
    assert not built, f"only auth.access.scope builds scoped queries and writes, not " \
        f"{', '.join(built)}"
