"""The demo's civil-affairs disclosure service (民政三务公开接口): a small JSON API, and the
`rest` source that reads it.

`huitong demo` serves the generated 三务公开 items through this API, on a loopback port of
its own, and the hub reads them with the `rest` connector instead of from the civil-affairs
database. The API speaks its own dialect — pinyin keys with the title and text nested under
`nr`, Chinese category names, status codes 10/20/30/90, times with a `+08:00` offset, pages
(`pageNo`, `pageSize`) — and filters on a few parameters, which the mapping declares as
pushdown; the hub checks everything else itself. It takes writes too (`POST /gkxx`,
`PUT /gkxx/{id}`, declared in the mapping's `write` table), which the hub's disclosure
workflow sends, and keeps them in the civil-affairs database it was loaded from, so that they
outlive a restart of the demo.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from .exports import demo_mapping, read_rows
from .json_api import ApiThread, Resource, Row, Saved, build_app
from .tables import MZ_SWGK

SOURCE: Final = "civil_affairs_api"
PREFIX: Final = "/api/v1"
CHINA: Final = dt.timezone(dt.timedelta(hours=8))

DISCLOSURE: Final[dict[str, Any]] = {
    "path": "/gkxx",                                # 公开信息
    "items": "data.rows",
    "total": "data.total",
    "pushdown": {
        "regionCode_within": "xzqh",
        "status_eq": "zt",
        "status_in": "zt",                          # e.g. zt=20,30
        "domain_eq": "gklx",
        "period_eq": "gkqj",
        "id_in": "ids",
        "id_eq": "gkbh",
        "publishedAt_gte": {"param": "fbsj_start", "format": "%Y-%m-%d %H:%M:%S"},
        "publishedAt_lte": {"param": "fbsj_end", "format": "%Y-%m-%d %H:%M:%S"},
    },
    "sort": {"param": "sort", "fields": {"id": "gkbh", "period": "gkqj"}},
    "write": {
        "fields": ["regionCode", "domain", "title", "period", "body", "status", "publishedAt"],
        "create": {"method": "POST", "path": "/gkxx"},
        "update": {"method": "PUT", "path": "/gkxx/{id}"},
        "item": "data",
    },
    # 更新时间 of each item, and the parameter for "changed at or after": the hub follows
    # the service's changes by them.
    "watermark": {"field": "gxsj", "param": "gxsj_start", "format": "%Y-%m-%d %H:%M:%S"},
    "fields": {
        "id": "gkbh",
        "regionCode": "xzqh",
        "domain": {"column": "gklx",
                   "values": {"PARTY": "党务", "AFFAIRS": "村（居）务", "FINANCE": "财务"}},
        "title": "nr.bt",
        "period": "gkqj",
        "body": "nr.zw",
        "status": {"column": "zt", "values": {"DRAFT": "10", "REVIEWED": "20",
                                              "PUBLISHED": "30", "WITHDRAWN": "90"}},
        "publishedAt": "fbsj",
    },
}


def offset_time(value: dt.datetime) -> str:
    """The API's times: ISO 8601 with the +08:00 offset (the hub stores local wall time)."""
    return value.replace(tzinfo=CHINA).isoformat()


def rest_source(base_url: str, **options: Any) -> dict[str, dict[str, Any]]:
    """The `[sources.civil_affairs_api]` table for huitong.toml (serves Disclosure)."""
    return {SOURCE: {
        "kind": "rest",
        "base_url": base_url.rstrip("/") + PREFIX,
        "pagination": {"style": "page", "size": 200, "page_param": "pageNo",
                       "size_param": "pageSize"},
        "health_path": "/health",
        "timeout_seconds": 5,
        "deadline_seconds": 20,
        **options,
        "entities": {"Disclosure": DISCLOSURE},
    }}


async def load_disclosures(civil_affairs_url: str) -> list[dict[str, Any]]:
    """Canonical Disclosure rows of a generated civil-affairs database, by id."""
    return [row async for row in read_rows(civil_affairs_url, "civil_affairs", "Disclosure")]


def saved_to(civil_affairs_url: str) -> Saved:
    """Keep what the service is sent in the civil-affairs database (`mz_swgk`), as the
    department's own system would. Writes are rare (a person's edit), so each opens and
    closes its own engine, in the service's own event loop."""
    mapping = demo_mapping("civil_affairs", "Disclosure")
    key = MZ_SWGK.c[mapping.fields["id"].source]

    async def save(row: Row, created: bool) -> None:
        values = {fm.source: fm.to_source(row.get(name)) for name, fm in mapping.fields.items()}
        engine = create_async_engine(civil_affairs_url)
        try:
            async with engine.begin() as conn:
                if created:
                    await conn.execute(sa.insert(MZ_SWGK).values(values))
                else:
                    values.pop(key.name)
                    await conn.execute(sa.update(MZ_SWGK).where(key == int(row["id"]))
                                       .values(values))
        finally:
            await engine.dispose()

    return save


def disclosure_app(rows: list[dict[str, Any]], saved: Saved | None = None) -> Any:
    resource = Resource.from_mapping("Disclosure", DISCLOSURE, rows, offset_time, saved)
    return build_app([resource], PREFIX)


def start(rows: list[dict[str, Any]], host: str = "127.0.0.1", port: int = 0,
          civil_affairs_url: str | None = None) -> ApiThread:
    """Serve `rows` on `host:port` (0: any free port) until `stop()`; with
    `civil_affairs_url`, writes are kept in that database too."""
    saved = saved_to(civil_affairs_url) if civil_affairs_url else None
    server = ApiThread(disclosure_app(rows, saved), host, port)
    server.start()
    return server


def sample_url(server: ApiThread) -> str:
    return f"{server.url}{PREFIX}{DISCLOSURE['path']}?pageNo=1&pageSize=2&zt=30"

