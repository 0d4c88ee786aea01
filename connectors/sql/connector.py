"""The `sql` connector: any SQLAlchemy async URL, mapped onto the canonical entities.

Tables are reflected on first use (so a source that is down at start-up does not stop the
hub) and every query is pushed down whole: scope, filters, order, keyset page, per-parent
windows, counts and GROUP BY aggregates. Entities whose mapping declares `write` take inserts
and updates by id (`connectors.sql.write`), each in one transaction that also reads the row as
stored before and after; an update's WHERE holds the command's scope, so a row outside it is
never changed and answers like a missing one.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.exc import (
    DBAPIError,
    IntegrityError,
    InterfaceError,
    OperationalError,
    SQLAlchemyError,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from auth.model.catalog import Kind
from auth.model.query import (
    EntityQuery,
    ScopedAggregate,
    ScopedInsert,
    ScopedQuery,
    ScopedUpdate,
)
from connectors.base import (
    Connector,
    Health,
    SourceError,
    SourceMisconfigured,
    SourceReadOnly,
    SourceTimeout,
    SourceUnavailable,
    WriteRejected,
)
from connectors.mapping import EntityMapping, FieldMapping, to_canonical
from connectors.rows import WATERMARK, Row
from connectors.tree import NodeRows, ScopedNode, TreeUnsupported

from .compile import BoundTable
from .compiler import StatementCache, TreeStatement, compile_tree, read_answer, tree_key
from .write import (
    Unstorable,
    by_id,
    insert_id,
    insert_statement,
    stored_values,
    update_statement,
)

T = TypeVar("T")
NEXT_ID_ATTEMPTS = 20


class SqlConnector(Connector):
    kind = "sql"

    def __init__(
        self,
        name: str,
        url: str,
        mappings: Mapping[str, EntityMapping],
        *,
        timeout: float = 10.0,
        pool_size: int = 5,
        max_overflow: int = 5,
        pool_recycle: float = 1800.0,
    ) -> None:
        super().__init__(name, frozenset(mappings),
                         frozenset(e for e, m in mappings.items() if m.write is not None))
        self.url = url
        self.mappings = dict(mappings)
        self.insert_ids = {e: insert_id(m) for e, m in mappings.items()}
        self.timeout = timeout
        self.pool_size = pool_size
        self.max_overflow = max_overflow
        self.pool_recycle = pool_recycle
        self._engine: AsyncEngine | None = None
        self._tables: dict[str, BoundTable] = {}
        self._reflect_lock = asyncio.Lock()
        self._statements = StatementCache()
        self._refused: set[Hashable] = set()

    @property
    def engine(self) -> AsyncEngine:
        if self._engine is None:
            raise SourceUnavailable(self.name, "connector is not open")
        return self._engine

    async def open(self) -> None:
        if self._engine is not None:
            return
        # No ping before every checkout (a round trip per statement): connections are
        # recycled after a while, and a read that meets a dead one is tried once more.
        kwargs: dict[str, Any] = {"pool_pre_ping": False, "pool_recycle": self.pool_recycle}
        if not self.url.startswith("sqlite"):
            kwargs.update(pool_size=self.pool_size, max_overflow=self.max_overflow,
                          pool_timeout=self.timeout)
        self._engine = create_async_engine(self.url, **kwargs)

    async def close(self) -> None:
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = None

    def follows(self, entity: str) -> bool:
        mapping = self.mappings.get(entity)
        return mapping is not None and "watermark" in mapping.container

    # -- reading -----------------------------------------------------------------------------
    async def fetch(self, query: ScopedQuery) -> list[Row]:
        table = await self._table(query.entity)
        stmt = table.select_rows(query.query, query.conditions)

        async def run(conn: AsyncConnection) -> tuple[list[str], Sequence[Any]]:
            result = await conn.execute(stmt)
            return list(result.keys()), result.all()

        names, raw = await self._run(run)
        return _rows(table, query.query, names, raw)

    async def count(self, query: ScopedQuery) -> int:
        table = await self._table(query.entity)
        stmt = table.select_count(query.conditions)

        async def run(conn: AsyncConnection) -> int:
            return int((await conn.execute(stmt)).scalar_one())

        return await self._run(run)

    async def count_partitioned(self, query: ScopedQuery) -> Mapping[Any, int]:
        table = await self._table(query.entity)
        part = query.query.partition
        if part is None:
            raise ValueError("count_partitioned needs a partition")
        stmt = table.select_partition_counts(query.query, query.conditions)
        keyconv = _key_converter(table.field(part.field), part.prefix_length)

        async def run(conn: AsyncConnection) -> dict[Any, int]:
            return {keyconv(k): int(n) for k, n in (await conn.execute(stmt)).all()}

        return await self._run(run)

    async def aggregate(self, query: ScopedAggregate) -> list[Row]:
        table = await self._table(query.entity)
        agg = query.query
        stmt = table.select_aggregate(
            agg.group_by, agg.sum_field, query.conditions, query.min_group_size, agg.limit
        )
        sum_field = table.field(agg.sum_field)

        async def run(conn: AsyncConnection) -> list[Row]:
            return [dict(m) for m in (await conn.execute(stmt)).mappings()]

        groups = []
        for raw in await self._run(run):
            group: Row = {"count": int(raw["count"]),
                          "total": to_canonical(Kind.MONEY, raw["total"] or 0, sum_field.unit)}
            for dim in agg.group_by:
                value = raw[dim.key]
                fm = table.field(dim.field)
                group[dim.key] = fm.to_canonical(value) if dim.transform == "value" else value
            groups.append(group)
        return groups

    async def fetch_tree(self, roots: tuple[ScopedNode, ...]) -> list[NodeRows]:
        """The whole tree in one statement returning JSON (`connectors.sql.compiler`)."""
        key = tree_key(roots)
        if key in self._refused:
            raise TreeUnsupported("the source refused this statement before")
        compiled = self._statements.get(key)
        if compiled is None:
            for entity in _entities(roots):
                await self._table(entity)
            compiled = self._statements.put(key, compile_tree(
                TreeStatement(self._tables.__getitem__, self.engine.dialect), roots))

        async def run(conn: AsyncConnection) -> str:
            result = await conn.exec_driver_sql(compiled.sql, compiled.parameters)
            return str(result.scalar_one())

        try:
            return read_answer(await self._run(run), compiled.plans)
        except SourceError as exc:
            if isinstance(exc, SourceUnavailable | SourceTimeout) and \
                    not _refused_statement(exc):
                raise
            # The source cannot run what was compiled (SQLite's parser nests only so deep):
            # the loaders answer this tree from now on.
            if len(self._refused) > 1024:
                self._refused.clear()
            self._refused.add(key)
            raise TreeUnsupported("the source refused the statement") from exc

    # -- writing -----------------------------------------------------------------------------
    async def insert(self, command: ScopedInsert) -> Row:
        table = await self._writable(command.entity, command.command.values)
        columns = self._stored(table, command.command.values)
        strategy = self.insert_ids[command.entity]
        try:
            stmt, _ = insert_statement(table, columns, strategy)
        except Unstorable as exc:
            raise WriteRejected(self.name, str(exc)) from None
        id_field, every = table.field("id"), _whole(table)

        async def run(conn: AsyncConnection) -> Row:
            new_id = id_field.to_canonical((await conn.execute(stmt)).scalar_one())
            row = await _read(conn, table, every, by_id(table, new_id, ()))
            assert row is not None
            return row

        # Concurrent inserts may take the same max + 1; the unique id lets one of them in and
        # refuses the others, which try again (each round lets one more in).
        attempts = NEXT_ID_ATTEMPTS if strategy == "next" else 1
        for attempt in range(attempts):
            try:
                return await self._run(run, begin=True)
            except WriteRejected as exc:
                if not isinstance(exc.__cause__, IntegrityError) or attempt == attempts - 1:
                    raise
                await asyncio.sleep(random.uniform(0, 0.005 * (attempt + 1)))
        raise AssertionError("unreachable")

    async def update(self, command: ScopedUpdate) -> tuple[Row, Row] | None:
        update = command.command
        table = await self._writable(command.entity, update.values)
        columns = self._stored(table, update.values)
        every = _whole(table)

        async def run(conn: AsyncConnection) -> tuple[Row, Row] | None:
            before = await _read(conn, table, every, by_id(table, update.id, command.scope),
                                 lock=True)
            if before is None:
                return None
            await conn.execute(update_statement(table, update.id, command.scope, columns))
            after = await _read(conn, table, every, by_id(table, update.id, ()))
            assert after is not None
            return before, after

        return await self._run(run, begin=True)

    async def _writable(self, entity: str, values: Mapping[str, Any]) -> BoundTable:
        write = self.mappings[entity].write
        if write is None:
            raise SourceReadOnly(self.name, f"{entity} is read-only here")
        refused = [name for name in values if name not in write.fields]
        if refused:
            raise SourceReadOnly(self.name, f"{entity}.{refused[0]} is read-only here")
        return await self._table(entity)

    def _stored(self, table: BoundTable, values: Mapping[str, Any]) -> dict[str, Any]:
        try:
            return stored_values(table, values)
        except Unstorable as exc:
            raise WriteRejected(self.name, str(exc)) from None

    async def health(self) -> Health:
        """Its tables fit the mapping (checked once, when first reachable) and each mapped table
        answers a one-row read within the source's timeout: `SELECT 1` alone touches no table,
        and would call a source ready whose tables are locked."""
        started = time.perf_counter()
        try:
            await self._run(lambda conn: conn.execute(sa.text("SELECT 1")))
            if not self._tables:
                async with self._reflect_lock:
                    if not self._tables:
                        await self._reflect()
            probes = [sa.select(sa.literal(1)).select_from(bound.table).limit(1)
                      for bound in self._tables.values()]

            async def probe(conn: AsyncConnection) -> None:
                for statement in probes:
                    await conn.execute(statement)

            await self._run(probe)
        except SourceError as exc:
            return Health(self.name, self.kind, False, _ms(started), exc.code, exc.code)
        return Health(self.name, self.kind, True, _ms(started))

    # -- plumbing ----------------------------------------------------------------------------
    async def _run(self, work: Callable[[AsyncConnection], Awaitable[T]],
                   *, begin: bool = False) -> T:
        """Run on a pooled connection (in one transaction with `begin`), turning driver
        failures into stable source errors.

        Reads run in autocommit (one statement, one snapshot: no BEGIN and ROLLBACK round
        trips). A read that meets a dead connection (the server restarted, a proxy dropped
        it) is tried once more on a fresh one; a write is never repeated."""
        try:
            async with asyncio.timeout(self.timeout):
                for attempt in (1, 2):
                    conn = self.engine.connect()
                    try:
                        await conn.start()
                        if not begin:
                            await conn.execution_options(isolation_level="AUTOCOMMIT")
                    except SQLAlchemyError as exc:
                        # Whatever stops a connection (refused, database gone or closed to
                        # connections, too many clients) means the source is unavailable.
                        raise SourceUnavailable(self.name, type(exc).__name__) from exc
                    try:
                        if not begin:
                            return await work(conn)
                        async with conn.begin():
                            return await work(conn)
                    except DBAPIError as exc:
                        if begin or attempt == 2 or not exc.connection_invalidated:
                            raise
                    finally:
                        await conn.close()
                raise AssertionError("unreachable")
        except TimeoutError as exc:
            raise SourceTimeout(self.name, f"no answer within {self.timeout}s") from exc
        except (OperationalError, InterfaceError, OSError, ConnectionError) as exc:
            raise SourceUnavailable(self.name, type(exc).__name__) from exc
        except IntegrityError as exc:
            # A constraint of the source's own (a unique key, a NOT NULL column the mapping
            # does not fill): the driver's message names columns and values, so it stays here.
            raise WriteRejected(self.name, "the source refused the row (one of its own "
                                "constraints)", type(exc).__name__) from exc
        except DBAPIError as exc:
            if exc.connection_invalidated:
                raise SourceUnavailable(self.name, type(exc).__name__) from exc
            raise SourceError(self.name, type(exc).__name__) from exc
        except SQLAlchemyError as exc:
            raise SourceError(self.name, type(exc).__name__) from exc

    async def _table(self, entity: str) -> BoundTable:
        bound = self._tables.get(entity)
        if bound is not None:
            return bound
        async with self._reflect_lock:
            if entity not in self._tables:
                await self._reflect()
        return self._tables[entity]

    async def _reflect(self) -> None:
        """Read the source's column types once, and check the mapping against them."""
        specs = {e: (m.container.get("schema"), str(m.container["table"]))
                 for e, m in self.mappings.items()}

        def inspect(sync_conn: sa.Connection) -> dict[str, list[Any]]:
            inspector = sa.inspect(sync_conn)
            return {e: list(inspector.get_columns(t, schema=s)) for e, (s, t) in specs.items()}

        async def run(conn: AsyncConnection) -> dict[str, list[Any]]:
            return await conn.run_sync(inspect)

        try:
            reflected = await self._run(run)
        except SourceError as exc:
            if isinstance(exc.__cause__, sa.exc.NoSuchTableError):
                raise SourceMisconfigured(self.name, f"table {exc.__cause__} not found") \
                    from exc
            raise
        dialect = self.engine.dialect.name
        for entity, columns in reflected.items():
            mapping = self.mappings[entity]
            types = {c["name"]: c["type"] for c in columns}
            missing = [fm.source for fm in mapping.fields.values() if fm.source not in types]
            if missing:
                raise SourceMisconfigured(
                    self.name,
                    f"{entity} maps to columns missing from table "
                    f"{specs[entity][1]!r}: {', '.join(missing)}"
                )
            watermark = mapping.container.get("watermark")
            if watermark is not None and watermark not in types:
                raise SourceMisconfigured(self.name, f"{entity}'s watermark column "
                                          f"{watermark!r} is missing from {specs[entity][1]!r}")
            used = dict.fromkeys([*(fm.source for fm in mapping.fields.values()),
                                  *([watermark] if watermark else [])])
            table = sa.table(specs[entity][1], *(sa.column(c, types[c]) for c in used),
                             schema=specs[entity][0])
            self._tables[entity] = BoundTable(mapping, table, dialect)


def _refused_statement(exc: SourceError) -> bool:
    """A statement the database would not run (not a connection that failed)."""
    cause = exc.__cause__
    return isinstance(cause, OperationalError) and "parser stack overflow" in str(cause)


def _entities(nodes: tuple[ScopedNode, ...]) -> set[str]:
    found = set()
    for node in nodes:
        found.add(node.entity)
        found |= _entities(node.children)
    return found

def _rows(table: BoundTable, query: EntityQuery, names: list[str], raw: Sequence[Any]
          ) -> list[Row]:
    fields = table.mapping.fields
    part = query.partition
    converters = [
        fields[k].converter if k in fields else _as_is if k == WATERMARK else
        _key_converter(table.field(part.field), part.prefix_length) if part else str
        for k in names
    ]
    return [{k: conv(v) for k, conv, v in zip(names, converters, r, strict=True)} for r in raw]


def _whole(table: BoundTable) -> EntityQuery:
    """Every mapped field of one row: what a write's digests are taken over."""
    return EntityQuery(table.mapping.entity, tuple(table.mapping.fields), limit=1)


async def _read(conn: AsyncConnection, table: BoundTable, query: EntityQuery,
                conditions: Sequence[Any], *, lock: bool = False) -> Row | None:
    stmt = table.select_rows(query, conditions)
    if lock:
        stmt = stmt.with_for_update()
    result = await conn.execute(stmt)
    rows = _rows(table, query, list(result.keys()), result.all())
    return rows[0] if rows else None


def _as_is(value: Any) -> Any:
    return value


def _key_converter(fm: FieldMapping, prefix_length: int | None) -> Callable[[Any], Any]:
    if prefix_length:
        return str
    return fm.to_canonical


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)

