"""Column values inside the statement's JSON, and back to what the driver would have returned.

Each selected column is written into the JSON in a form that loses nothing (exact decimals as
text, times as ISO text, SQLite reals with all 17 digits), and `decoder` turns the parsed JSON
value back into the very value the driver hands over for that column, so that the connector's
usual steps (SQLAlchemy's result processing for the reflected type, then the mapping's
converter) apply unchanged and rows come out as `SqlConnector.fetch` returns them. Masks are
applied inside the statement with the SQL twin of each named masker (`auth.access.masking`).
Column types without an exact round trip are refused (`TreeUnsupported`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from auth.model.catalog import Kind
from connectors.mapping import FieldMapping
from connectors.tree import TreeUnsupported

Decoder = Callable[[Any], Any]
_UTC = dt.UTC


def _utc_time(value: Any) -> dt.datetime:
    return dt.datetime.fromisoformat(value).astimezone(_UTC)


def _sqlite_value(value: Any) -> Any:
    # A real comes wrapped in a one-element array, as the text of all its digits.
    return float(value[0]) if value.__class__ is list else value


def emit(column: ColumnElement[Any], dialect: str) -> tuple[ColumnElement[Any], Decoder | None]:
    """The JSON-safe expression for `column`, and how to decode it (None: as parsed)."""
    type_ = column.type
    if dialect == "sqlite":
        real = sa.func.json_array(sa.func.printf(sa.literal_column("'%!.17g'"), column))
        return sa.case((sa.func.typeof(column) == sa.literal_column("'real'"), real),
                       else_=column), _sqlite_value
    if dialect != "postgresql":
        raise TreeUnsupported(f"no JSON statement for the {dialect} dialect")
    if isinstance(type_, sa.Float):
        raise TreeUnsupported("floating-point columns")
    if isinstance(type_, sa.Numeric):
        return sa.cast(column, sa.Text), Decimal
    if isinstance(type_, sa.DateTime):
        return column, (_utc_time if type_.timezone else dt.datetime.fromisoformat)
    if isinstance(type_, sa.Date):
        return column, dt.date.fromisoformat
    if isinstance(type_, sa.CHAR | sa.NCHAR):
        raise TreeUnsupported("blank-padded character columns")
    if isinstance(type_, sa.String | sa.Integer | sa.Boolean):
        return column, None
    raise TreeUnsupported(f"columns of type {type_!r}")


def _stars(count: ColumnElement[Any], dialect: str) -> ColumnElement[Any]:
    if dialect == "sqlite":  # no repeat(): n zero bytes, hex-encoded, each 00 made a star
        return sa.func.replace(sa.func.hex(sa.func.zeroblob(count)), sa.literal_column("'00'"),
                               sa.literal_column("'*'"))
    return sa.func.repeat(sa.literal_column("'*'"), count)


def _cat(*parts: ColumnElement[Any]) -> ColumnElement[Any]:
    joined = parts[0]
    for part in parts[1:]:
        joined = joined.op("||")(part)
    return joined


def _lit(n: int) -> ColumnElement[Any]:
    return sa.literal_column(str(int(n)))


def _keep_ends(v: ColumnElement[Any], n: ColumnElement[Any], head: int, tail: int,
               short: int, dialect: str) -> ColumnElement[Any]:
    """`v[:head] + "*" * (n - head - tail) + v[-tail:]`, all stars when n < `short`."""
    kept = _cat(sa.func.substr(v, _lit(1), _lit(head)), _stars(n - head - tail, dialect),
                sa.func.substr(v, n - (tail - 1), _lit(tail)))
    return sa.case((n < short, _stars(n, dialect)), else_=kept)


def masked(column: ColumnElement[Any], masker: str, fm: FieldMapping,
           dialect: str) -> ColumnElement[Any]:
    """The SQL twin of masker `masker` applied to `column` (NULL stays NULL)."""
    if fm.values or fm.kind not in (Kind.STRING, Kind.ID, Kind.REGION_CODE) \
            or not isinstance(column.type, sa.String) or isinstance(column.type, sa.CHAR):
        raise TreeUnsupported(f"masking {fm.name} in SQL")
    v = sa.type_coerce(column, sa.Text)
    n = sa.func.length(v)
    if masker == "name":
        first = sa.func.substr(v, _lit(1), _lit(1))
        return sa.case(
            (n <= 1, sa.literal_column("'*'")),
            (n == 2, _cat(first, sa.literal_column("'*'"))),
            else_=_cat(first, _stars(n - 2, dialect), sa.func.substr(v, n, _lit(1))),
        )
    if masker == "id_number":
        return _keep_ends(v, n, 6, 4, 12, dialect)
    if masker == "phone":
        return _keep_ends(v, n, 3, 4, 7, dialect)
    if masker == "account":
        digits = sa.func.replace(v, sa.literal_column("' '"), sa.literal_column("''"))
        return _keep_ends(digits, sa.func.length(digits), 6, 4, 11, dialect)
    raise TreeUnsupported(f"the masker {masker!r}")
