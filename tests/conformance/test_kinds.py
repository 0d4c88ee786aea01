"""One conformance suite for every connector kind, through the hub's front door.

The same canonical rows — Disclosure, Subsidy and Payment of the generated demo data — are
served three ways: by the demo's SQL sources, by a local JSON API with its own names, codes,
units and time formats (`rest`), and as GB18030 CSV exports imported into the hub store
(`file`). A hub is started for each kind (the other entities stay on SQL), and every case of
the battery (`tests.conformance.cases`) must give the rest and file hubs exactly the JSON response
the all-SQL hub gives: rows and their order, masking, ids and cursors along whole page walks,
counts, filters, relations across sources, lookups, spending groups and error codes. On
SQLite and on PostgreSQL (sources and hub stores on the backend).

For page walks, `test_kind_serves_the_same_rows` also checks the set of rows served
(scope, masking, filters, counts) whatever their order, so that an ordering difference and a
scope difference read differently when one appears.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from huitong.demo.config import SOURCES
from tests.conformance.cases import Case, all_cases
from tests.conformance.sources import (
    export_files,
    file_sources,
    make_representable,
    rest_sources,
    start_api,
)
from tests.conftest import BACKENDS, PostgresDatabases, fresh_database_url, require_postgres
from tests.hub_harness import DemoHub, make_demo_sources, running_hub

CASES = all_cases()
KINDS = ("rest", "file")

@dataclass
class Hubs:
    """One hub per kind over the same rows; answers are computed once per kind and case."""

    hubs: dict[str, DemoHub]
    backend: str
    answers: dict[tuple[str, str], Any] = field(default_factory=dict)

    async def answer(self, kind: str, case: Case) -> Any:
        key = (kind, case.name)
        if key not in self.answers:
            self.answers[key] = await run(self.hubs[kind], case)
        return self.answers[key]


async def run(hub: DemoHub, case: Case) -> list[dict[str, Any]]:
    """The case's responses: status and body of each page, following cursors if asked."""
    responses = []
    variables = dict(case.variables)
    for _ in range(case.pages):
        response = await hub.post_on_both_paths(case.query, variables or None, role=case.role)
        body = response.json()
        responses.append({"status": response.status_code, "body": body})
        page = (body.get("data") or {}).get(case.walk) if case.walk else None
        if not page or not page["pageInfo"]["hasNextPage"]:
            break
        variables["after"] = page["pageInfo"]["endCursor"]
    return responses


@pytest.fixture(scope="module", params=BACKENDS)
async def hubs(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
               pg_databases: PostgresDatabases) -> AsyncIterator[Hubs]:
    backend = request.param
    if backend == "postgresql":
        require_postgres()
    directory = tmp_path_factory.mktemp(f"conformance-{backend}")
    urls = {name: await fresh_database_url(backend, directory, pg_databases, name)
            for name in SOURCES}
    await make_demo_sources(urls)
    await make_representable(urls)
    api = await start_api(urls)
    exports = await export_files(urls, directory / "exports")
    extra = {"sql": None, "rest": rest_sources(api.url), "file": file_sources(exports)}
    try:
        async with contextlib.AsyncExitStack() as stack:
            started = {}
            for kind, sources in extra.items():
                store = await fresh_database_url(backend, directory, pg_databases, f"hub-{kind}")
                started[kind] = await stack.enter_async_context(
                    running_hub(directory / kind, urls, store, backend, sources))
            yield Hubs(started, backend)
    finally:
        api.stop()


async def test_each_kind_serves_the_moved_entities(hubs: Hubs) -> None:
    """The rest and file hubs really read Disclosure, Subsidy and Payment from their kind."""
    for kind in ("sql", *KINDS):
        sources = hubs.hubs[kind].app.state.hub.sources
        served = {sources.for_entity(e).kind for e in ("Disclosure", "Subsidy", "Payment")}
        assert served == {kind}, (kind, served)
        ready = await hubs.hubs[kind].client.get("/readyz")
        assert ready.status_code == 200, ready.text


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
async def test_reference_answer_is_meaningful(request: pytest.FixtureRequest, hubs: Hubs,
                                              case: Case) -> None:
    """The SQL hub's answer has rows (or the expected error): equal empty answers prove
    nothing."""
    answer = await hubs.answer("sql", case)
    for response in answer:
        assert response["status"] == 200, response
        errors = response["body"].get("errors")
        if case.error:
            assert errors and {e["extensions"]["code"] for e in errors} == {case.error}, errors
        else:
            assert not errors, errors
    if not case.error:
        assert _has_rows(answer[0]["body"]["data"]), answer[0]
    if case.walk and case.pages == 40:
        assert not answer[-1]["body"]["data"][case.walk]["pageInfo"]["hasNextPage"]
    for response in answer if case.nulls else ():
        assert case.walk is not None
        for node in response["body"]["data"][case.walk]["nodes"]:
            assert all(node[name] is None for name in case.nulls), node


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
async def test_kind_answers_exactly_as_sql(request: pytest.FixtureRequest, hubs: Hubs,
                                           case: Case, kind: str) -> None:
    expected = await hubs.answer("sql", case)
    actual = await hubs.answer(kind, case)
    difference = first_difference(expected, actual)
    assert difference is None, f"{kind} differs from sql at {difference}"


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("case", [c for c in CASES if c.walk and c.pages == 40],
                         ids=lambda c: c.name)
async def test_kind_serves_the_same_rows(request: pytest.FixtureRequest, hubs: Hubs,
                                         case: Case, kind: str) -> None:
    """A whole page walk yields the same rows, masked the same way, in whatever order."""
    expected = await hubs.answer("sql", case)
    actual = await hubs.answer(kind, case)
    assert rows(case, actual) == rows(case, expected)
    assert rows(case, expected)


def rows(case: Case, answer: list[dict[str, Any]]) -> list[str]:
    assert case.walk is not None
    pages = [r["body"]["data"] and r["body"]["data"][case.walk] for r in answer]
    nodes = [json.dumps(n, sort_keys=True, ensure_ascii=False)
             for page in pages if page for n in page["nodes"]]
    counts = {page["totalCount"] for page in pages if page}
    return [*sorted(nodes), f"totalCount={sorted(counts)}"]


def _has_rows(value: Any) -> bool:
    if isinstance(value, dict):
        if value.get("totalCount") or value.get("count") or value.get("id"):
            return True
        return any(_has_rows(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_rows(v) or isinstance(v, dict) for v in value)
    return False


def first_difference(a: Any, b: Any, path: str = "") -> str | None:
    """Where two JSON values first differ, with both sides (None when equal)."""
    if type(a) is not type(b):
        return f"{path or '.'}: {_short(a)} != {_short(b)}"
    if isinstance(a, dict):
        for key in dict.fromkeys([*a, *b]):
            if key not in a or key not in b:
                return f"{path}.{key}: only in {'sql' if key in a else 'the other'}"
            found = first_difference(a[key], b[key], f"{path}.{key}")
            if found:
                return found
        return None
    if isinstance(a, list):
        for i, (x, y) in enumerate(zip(a, b, strict=False)):
            found = first_difference(x, y, f"{path}[{i}]")
            if found:
                return found
        return None if len(a) == len(b) else f"{path}: {len(a)} items != {len(b)} items"
    return None if a == b else f"{path or '.'}: {_short(a)} != {_short(b)}"


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) < 300 else text[:300] + "…"
