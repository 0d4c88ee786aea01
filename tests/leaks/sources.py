"""The source databases, read and written by their mapping files, independently of the hub.

`plant` writes the canary rows of `tests.leaks.canaries` into the tables and columns the demo
mappings name (codes and fen as the sources store them). `SourceTruth` reads every row back
as canonical values, so tests can say which rows a role should see without asking the hub.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from auth.model.catalog import ENTITIES
from huitong.demo.common import MAPPING_FILES, mapping_raw
from tests.leaks.canaries import PLANTS, POLICY, CanaryBook, row_visible

SOURCE_OF: dict[str, str] = {entity: source for source in MAPPING_FILES
                             for entity in mapping_raw(source)["entities"]}


def table_of(entity: str) -> str:
    return str(mapping_raw(SOURCE_OF[entity])["entities"][entity]["table"])


def _spec(entity: str, name: str) -> dict[str, Any]:
    raw = mapping_raw(SOURCE_OF[entity])["entities"][entity]["fields"][name]
    return {"column": raw} if isinstance(raw, str) else dict(raw)


def column_of(entity: str, name: str) -> str:
    return str(_spec(entity, name)["column"])


def fields_of(entity: str) -> list[str]:
    return list(mapping_raw(SOURCE_OF[entity])["entities"][entity]["fields"])


def code_of(entity: str, name: str, value: Any) -> Any:
    """A canonical value as the source stores it (code tables, fen)."""
    spec = _spec(entity, name)
    if value is None:
        return None
    if "values" in spec:
        key = str(value).lower() if isinstance(value, bool) else value
        return spec["values"][key]
    if spec.get("unit") == "fen":
        return int(Decimal(value) * 100)
    return value


def canonical_of(entity: str, name: str, value: Any) -> Any:
    spec = _spec(entity, name)
    if value is None:
        return None
    if "values" in spec:
        for canonical, code in spec["values"].items():
            if str(code) == str(value):
                return {"true": True, "false": False}.get(canonical, canonical)
        raise AssertionError(f"{entity}.{name}: unknown source code {value!r}")
    if spec.get("unit") == "fen":
        return Decimal(int(value)) / 100
    if name == "id" or ENTITIES[entity].fields[name].references:
        return str(value)
    return value


async def _reflect(engine: AsyncEngine, name: str) -> sa.Table:
    async with engine.connect() as conn:
        return await conn.run_sync(lambda c: sa.Table(name, sa.MetaData(), autoload_with=c))


async def plant(urls: Mapping[str, str], book: CanaryBook) -> None:
    """Insert every canary row into its source's table."""
    by_table: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for plant_ in PLANTS:
        row = book.rows[plant_.key]
        key = (SOURCE_OF[plant_.entity], table_of(plant_.entity))
        by_table.setdefault(key, []).append(
            {column_of(plant_.entity, f): code_of(plant_.entity, f, row.get(f))
             for f in fields_of(plant_.entity)})
    for source, url in urls.items():
        engine = create_async_engine(url)
        try:
            for (table_source, name), rows in by_table.items():
                if table_source == source:
                    table = await _reflect(engine, name)
                    async with engine.begin() as conn:
                        await conn.execute(table.insert(), rows)
        finally:
            await engine.dispose()


class SourceTruth:
    """Every row of every mapped entity, as canonical values, read straight from the sources."""

    def __init__(self, urls: Mapping[str, str], rows: dict[str, list[dict[str, Any]]]) -> None:
        self.urls = dict(urls)
        self.rows = rows
        self._visible: dict[tuple[str, str, str | None], list[dict[str, Any]]] = {}
        self._index: dict[tuple[str, str, str], dict[str, list[dict[str, Any]]]] = {}
        self._engines: dict[str, AsyncEngine] = {}

    @classmethod
    async def load(cls, urls: Mapping[str, str]) -> SourceTruth:
        rows: dict[str, list[dict[str, Any]]] = {}
        for source, url in urls.items():
            engine = create_async_engine(url)
            try:
                for entity in (e for e, s in SOURCE_OF.items() if s == source):
                    table = await _reflect(engine, table_of(entity))
                    names = fields_of(entity)
                    async with engine.connect() as conn:
                        result = await conn.execute(
                            sa.select(*(table.c[column_of(entity, n)].label(n) for n in names)))
                        raw = [dict(m) for m in result.mappings()]
                    rows[entity] = [{n: canonical_of(entity, n, r[n]) for n in names}
                                    for r in raw]
            finally:
                await engine.dispose()
        return cls(urls, rows)

    def visible(self, role: str, entity: str, region: str | None = None) -> list[dict[str, Any]]:
        key = (role, entity, region)
        if key not in self._visible:
            self._visible[key] = [r for r in self.rows[entity]
                                  if row_visible(POLICY.roles[role], entity, r, region)]
        return self._visible[key]

    def visible_by(self, role: str, entity: str, field: str, value: Any) -> list[dict[str, Any]]:
        """The role's visible rows whose `field` equals `value` (compared as text)."""
        key = (role, entity, field)
        if key not in self._index:
            index: dict[str, list[dict[str, Any]]] = {}
            for row in self.visible(role, entity):
                index.setdefault(str(row[field]), []).append(row)
            self._index[key] = index
        return self._index[key].get(str(value), [])

    def visible_ids(self, role: str, entity: str, region: str | None = None) -> set[str]:
        return {str(r["id"]) for r in self.visible(role, entity, region)}

    def ids(self, entity: str) -> set[str]:
        return {str(r["id"]) for r in self.rows[entity]}

    async def scalar(self, source: str, sql: str, **params: Any) -> Any:
        rows = await self.fetch(source, sql, **params)
        return rows[0][0]

    async def fetch(self, source: str, sql: str, **params: Any) -> list[tuple[Any, ...]]:
        """Rows of a hand-written SQL statement against one source database."""
        engine = self._engines.get(source)
        if engine is None:
            engine = self._engines[source] = create_async_engine(self.urls[source])
        async with engine.connect() as conn:
            return [tuple(r) for r in (await conn.execute(sa.text(sql), params)).all()]

    async def close(self) -> None:
        """Release the connections `fetch` keeps (a later `fetch` opens them again)."""
        for engine in self._engines.values():
            await engine.dispose()
