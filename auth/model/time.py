"""The canonical time convention: canonical rows carry naive China wall-clock time.

Grass-roots sources keep local wall-clock time, and China has had one offset, without daylight
saving, since 1991. A time that arrives with an offset (a caller's filter, a JSON API's
`+08:00`, a cursor) means that instant, and is compared and stored as the China wall-clock time
of that instant; a naive time already is one. Every package converts through here, so a file
drop, a REST source, an SQL source and a filter all agree on what 14:30 means.
"""

from __future__ import annotations

import datetime as dt
from typing import Final

CHINA: Final = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")


def local_naive(value: dt.datetime, tz: dt.tzinfo = CHINA) -> dt.datetime:
    """A datetime as naive local wall-clock time, the form canonical rows carry."""
    return value if value.tzinfo is None else value.astimezone(tz).replace(tzinfo=None)


def parse_local(text: str, tz: dt.tzinfo = CHINA) -> dt.datetime:
    """ISO 8601 text, with or without an offset, as naive local wall-clock time.

    ValueError when the text is not an ISO date-time.
    """
    return local_naive(dt.datetime.fromisoformat(text), tz)
