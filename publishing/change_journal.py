"""The change journal: what changed in the followed entities, in order, kept in the hub store.

One entry per change of a row (`hub_changes`, numbered by `seq`, append-only): the row's id,
when it changed, and its *scope attributes* — its region code and the fields a role's row
predicate can test (enums, flags, and whatever a policy's `where` names) — as they were before
and after the change. Never the row's values: the journal is no second copy of the data; a
change's `node` is read from the source, through the caller's own scope. `hub_change_heads`
keeps each row's last digest (so re-reading an unchanged row journals nothing) and
`hub_change_marks` where following each entity has got to (its watermark position).

Appending is a compare-and-set on the mark: a follower writes a batch only if the mark is
still the one it read from, so two hub processes following at once never journal a change
twice.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from auth.access.policy import Policy
from auth.model.catalog import ENTITIES, Kind

metadata: Final = sa.MetaData()
_SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

changes_table: Final = sa.Table(
    "hub_changes", metadata,
    sa.Column("seq", _SEQ, primary_key=True, autoincrement=True),
    sa.Column("entity", sa.String(64), nullable=False),
    sa.Column("row_id", sa.String(200), nullable=False),
    sa.Column("at", sa.DateTime, nullable=False),
    sa.Column("region_code", sa.String(12)),
    sa.Column("attrs", sa.Text, nullable=False),
    sa.Column("prev_region_code", sa.String(12)),
    sa.Column("prev_attrs", sa.Text),
    sa.Index("ix_hub_changes_entity_seq", "entity", "seq"),
)

heads_table: Final = sa.Table(
    "hub_change_heads", metadata,
    sa.Column("entity", sa.String(64), primary_key=True),
    sa.Column("row_id", sa.String(200), primary_key=True),
    sa.Column("digest", sa.String(64), nullable=False),
    sa.Column("region_code", sa.String(12)),
    sa.Column("attrs", sa.Text, nullable=False),
)

marks_table: Final = sa.Table(
    "hub_change_marks", metadata,
    sa.Column("entity", sa.String(64), primary_key=True),
    sa.Column("position", sa.Text),
    sa.Column("followed_at", sa.DateTime(timezone=True), nullable=False),
)

_SCOPE_KINDS: Final = frozenset({Kind.ENUM, Kind.BOOL})


def scope_fields(entity: str, policy: Policy) -> tuple[str, ...]:
    """The fields a row predicate of any role can test: region, enums, flags, and every
    field a role's static `where` names. A role whose predicate names a field an entry
    lacks sees nothing of that entry (fail closed)."""
    spec = ENTITIES[entity]
    named = {c.field for role in policy.roles.values()
             if (grant := role.grant(entity)) is not None for c in grant.where}
    return tuple(f.name for f in spec.fields.values()
                 if f.name == "regionCode" or f.kind in _SCOPE_KINDS or f.name in named)


@dataclass(frozen=True, slots=True)
class Head:
    digest: str
    region_code: str | None
    attrs: str


@dataclass(frozen=True, slots=True)
class Version:
    """A row as the follower read it: its digest and scope attributes, when it changed."""

    row_id: str
    at: dt.datetime
    digest: str
    region_code: str | None
    attrs: str


@dataclass(frozen=True, slots=True)
class Entry:
    seq: int
    entity: str
    row_id: str
    at: dt.datetime
    region_code: str | None
    attrs: Mapping[str, Any]
    prev_region_code: str | None
    prev_attrs: Mapping[str, Any] | None


def encode_attrs(row: Mapping[str, Any], fields: Sequence[str]) -> str:
    return json.dumps({f: row.get(f) for f in fields if f != "regionCode"},
                      sort_keys=True, ensure_ascii=False, default=str)


def encode_position(position: tuple[Any, str] | None) -> str | None:
    """A watermark position as text: times keep their type, so they bind as times again."""
    if position is None:
        return None
    mark, row_id = position
    if isinstance(mark, dt.datetime):
        return json.dumps(["datetime", mark.isoformat(), row_id])
    if isinstance(mark, int) and not isinstance(mark, bool):
        return json.dumps(["int", mark, row_id])
    return json.dumps(["text", str(mark), row_id])


def decode_position(text: str | None) -> tuple[Any, str] | None:
    if text is None:
        return None
    kind, mark, row_id = json.loads(text)
    value: Any = dt.datetime.fromisoformat(mark) if kind == "datetime" else mark
    return value, row_id


class ChangeJournal:
    """The journal's tables in the hub store, and the few statements that use them."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def ensure_schema(self) -> None:
        async with self.engine.begin() as conn:
            await conn.run_sync(metadata.create_all)

    async def mark(self, entity: str) -> tuple[bool, tuple[Any, str] | None]:
        """(whether following has started, its position)."""
        async with self.engine.connect() as conn:
            row = (await conn.execute(sa.select(marks_table.c.position)
                                      .where(marks_table.c.entity == entity))).first()
        return (row is not None, decode_position(row[0]) if row is not None else None)

    async def heads(self, entity: str, ids: Iterable[str]) -> dict[str, Head]:
        wanted = list(dict.fromkeys(ids))
        found: dict[str, Head] = {}
        async with self.engine.connect() as conn:
            for start in range(0, len(wanted), 500):
                chunk = wanted[start:start + 500]
                result = await conn.execute(
                    sa.select(heads_table.c.row_id, heads_table.c.digest,
                              heads_table.c.region_code, heads_table.c.attrs)
                    .where(heads_table.c.entity == entity, heads_table.c.row_id.in_(chunk)))
                found.update({r.row_id: Head(r.digest, r.region_code, r.attrs)
                              for r in result})
        return found

    async def append(self, entity: str, started: bool, old: tuple[Any, str] | None,
                     new: tuple[Any, str] | None, versions: Sequence[Version],
                     heads: Mapping[str, Head]) -> bool:
        """Journal `versions` (rows whose digest changed) and move the mark from `old` to
        `new`; False, with nothing written, when another follower moved the mark first."""
        async with self.engine.begin() as conn:
            if not await self._move_mark(conn, entity, started, old, new):
                await conn.rollback()
                return False
            if versions:
                await conn.execute(changes_table.insert(), [
                    {"entity": entity, "row_id": v.row_id, "at": v.at,
                     "region_code": v.region_code, "attrs": v.attrs,
                     "prev_region_code": heads[v.row_id].region_code if v.row_id in heads
                     else None,
                     "prev_attrs": heads[v.row_id].attrs if v.row_id in heads else None}
                    for v in versions])
                await self._put_heads(conn, entity, versions)
        return True

    async def _move_mark(self, conn: AsyncConnection, entity: str, started: bool,
                         old: tuple[Any, str] | None, new: tuple[Any, str] | None) -> bool:
        now = dt.datetime.now(dt.UTC)
        if not started:
            exists = (await conn.execute(sa.select(marks_table.c.entity)
                                         .where(marks_table.c.entity == entity))).first()
            if exists is not None:
                return False
            await conn.execute(marks_table.insert().values(
                entity=entity, position=encode_position(new), followed_at=now))
            return True
        before = encode_position(old)
        same = marks_table.c.position.is_(None) if before is None \
            else marks_table.c.position == before
        moved = await conn.execute(sa.update(marks_table)
                                   .where(marks_table.c.entity == entity, same)
                                   .values(position=encode_position(new), followed_at=now))
        return bool(moved.rowcount)

    async def _put_heads(self, conn: AsyncConnection, entity: str,
                         versions: Sequence[Version]) -> None:
        insert: Any = postgresql.insert(heads_table) if conn.dialect.name == "postgresql" \
            else sqlite.insert(heads_table)
        await conn.execute(
            insert.on_conflict_do_update(
                index_elements=["entity", "row_id"],
                set_={k: insert.excluded[k] for k in ("digest", "region_code", "attrs")}),
            [{"entity": entity, "row_id": v.row_id, "digest": v.digest,
              "region_code": v.region_code, "attrs": v.attrs} for v in versions])

    async def entries(self, entity: str, after: int, limit: int,
                      region_prefix: str | None) -> list[Entry]:
        """Entries after `after` in order; with `region_prefix`, only those whose row was
        inside that subtree before or after the change."""
        c = changes_table.c
        criteria = [c.entity == entity, c.seq > after]
        if region_prefix is not None:
            low, high = region_prefix.ljust(12, "0"), region_prefix.ljust(12, "9")
            criteria.append(sa.or_(c.region_code.between(low, high),
                                   c.prev_region_code.between(low, high)))
        stmt = sa.select(changes_table).where(*criteria).order_by(c.seq).limit(limit)
        async with self.engine.connect() as conn:
            rows = (await conn.execute(stmt)).all()
        return [Entry(r.seq, r.entity, r.row_id, r.at, r.region_code, json.loads(r.attrs),
                      r.prev_region_code,
                      json.loads(r.prev_attrs) if r.prev_attrs is not None else None)
                for r in rows]
