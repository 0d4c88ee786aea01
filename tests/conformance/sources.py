"""The same canonical rows behind each connector kind, for the conformance suite.

Disclosure, Subsidy and Payment are read back from generated demo sources and served again
(a) by the SQL mappings themselves, (b) by a local JSON API with its own names, codes, units
and time formats — the demo's disclosure service plus a payments and a subsidies endpoint —
and (c) as CSV exports with Chinese headers in GB18030, imported by the `file` connector.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from huitong.demo.disclosure_api import DISCLOSURE, offset_time
from huitong.demo.exports import SUBSIDY_COLUMNS, export_csv, read_rows
from huitong.demo.json_api import ApiThread, Resource, build_app

ENTITIES = {"Payment": "finance", "Subsidy": "finance", "Disclosure": "civil_affairs"}

PAYMENT_API: dict[str, Any] = {
    "path": "/zfmx",
    "items": "data.rows",
    "total": "data.total",
    "pushdown": {
        "regionCode_within": "qhdm", "status_eq": "zfzt", "status_in": "zfzt",
        "method_eq": "zffs", "id_in": "ids",
        "id_eq": "zfid",
        "economicCode_eq": "jjkm", "budgetIndicatorId_in": "zbids",
        "reimbursementId_in": "bxdids",
        "paidAt_gte": {"param": "zfsj_ks", "format": "%Y-%m-%d %H:%M:%S"},
        "paidAt_lte": {"param": "zfsj_js", "format": "%Y-%m-%d %H:%M:%S"},
    },
    "sort": {"param": "sort", "fields": {"id": "zfid", "paidAt": "zfsj", "amount": "je"}},
    "fields": {
        "id": "zfid", "regionCode": "qhdm", "paymentNo": "zfdh", "budgetIndicatorId": "zbid",
        "reimbursementId": "bxdid",
        "method": {"column": "zffs", "values": {"TREASURY": "GK", "TRANSFER": "ZZ",
                                                "OFFICIAL_CARD": "GWK", "CASH": "XJ"}},
        "payeeName": "skr.mc",
        "payeeKind": {"column": "skr.lx", "values": {"ORG": "DW", "PERSON": "GR"}},
        "payeeIdNumber": "skr.zjhm", "payeeAccount": "skr.zh",
        "amount": {"column": "je", "unit": "fen"},
        "purpose": "yt", "functionCode": "gnkm", "economicCode": "jjkm", "paidAt": "zfsj",
        "status": {"column": "zfzt", "values": {"PENDING": "0", "PAID": "1", "RETURNED": "9"}},
    },
}

SUBSIDY_API: dict[str, Any] = {
    "path": "/btff",
    "items": "data.rows",
    "total": "data.total",
    "pushdown": {"regionCode_within": "qhdm", "published_eq": "gs", "published_in": "gs",
                 "period_eq": "ssq",
                 "result_eq": "jg", "id_in": "ids", "id_eq": "ffid",
                 "recipientIdNumber_in": "sfzhs"},
    "fields": {
        "id": "ffid", "regionCode": "qhdm", "batchNo": "pch", "subsidyType": "btlx",
        "period": "ssq", "recipientName": "lqr.xm", "recipientIdNumber": "lqr.sfzh",
        "amount": "ffje", "bankCard": "lqr.kh", "paidAt": "ffsj",
        "result": {"column": "jg", "values": {"SUCCESS": "S", "FAILED": "F", "RETURNED": "R"}},
        "published": {"column": "gs", "values": {"true": "Y", "false": "N"}},
    },
}

PAYMENT_COLUMNS: dict[str, Any] = {
    "id": "支付ID", "regionCode": "区划代码", "paymentNo": "支付单号",
    "budgetIndicatorId": "指标ID", "reimbursementId": "报销单ID",
    "method": {"column": "支付方式", "values": {"TREASURY": "国库集中支付", "TRANSFER": "转账",
                                            "OFFICIAL_CARD": "公务卡", "CASH": "现金"}},
    "payeeName": "收款人",
    "payeeKind": {"column": "收款人类型", "values": {"ORG": "单位", "PERSON": "个人"}},
    "payeeIdNumber": "证件号码", "payeeAccount": "收款账号", "amount": "金额", "purpose": "用途",
    "functionCode": "功能科目", "economicCode": "经济科目", "paidAt": "支付时间",
    "status": {"column": "状态", "values": {"PENDING": "待支付", "PAID": "已支付",
                                          "RETURNED": "已退回"}},
}

DISCLOSURE_COLUMNS: dict[str, Any] = {
    "id": "编号", "regionCode": "区划代码",
    "domain": {"column": "类别", "values": {"PARTY": "党务", "AFFAIRS": "村（居）务",
                                          "FINANCE": "财务"}},
    "title": "标题", "period": "期间", "body": "内容",
    "status": {"column": "状态", "values": {"DRAFT": "草稿", "REVIEWED": "已审核",
                                          "PUBLISHED": "已发布", "WITHDRAWN": "已撤回"}},
    "publishedAt": "发布时间",
}

FILES = {"Payment": ("支付明细.csv", PAYMENT_COLUMNS), "Subsidy": ("补贴发放.csv", SUBSIDY_COLUMNS),
         "Disclosure": ("三务公开.csv", DISCLOSURE_COLUMNS)}


async def make_representable(urls: dict[str, str]) -> None:
    """Give the demo's cash payments a payee account text instead of "" (a required field).

    A CSV cell cannot tell an empty string from a missing value, and the file connector
    rejects a required field left empty (with its line and reason, see test_connector_file):
    the canonical rows all three kinds serve must be ones each format can carry.
    """
    engine = create_async_engine(urls["finance"])
    try:
        async with engine.begin() as conn:
            await conn.execute(sa.text("UPDATE cw_zfmx SET skrzh = '-' WHERE skrzh = ''"))
    finally:
        await engine.dispose()


def _plain_time(value: dt.datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S")


async def start_api(urls: dict[str, str], port: int = 0) -> ApiThread:
    """One JSON API serving the three entities, read from the generated sources."""
    specs = {"Payment": (PAYMENT_API, _plain_time), "Subsidy": (SUBSIDY_API, _plain_time),
             "Disclosure": (DISCLOSURE, offset_time)}
    resources = []
    for entity, (spec, when) in specs.items():
        rows = [r async for r in read_rows(urls[ENTITIES[entity]], ENTITIES[entity], entity)]
        resources.append(Resource.from_mapping(entity, spec, rows, when))
    server = ApiThread(build_app(resources, "/api"), port=port)
    server.start()
    return server


def rest_sources(base_url: str, **options: Any) -> dict[str, dict[str, Any]]:
    return {"department_api": {
        "kind": "rest",
        "base_url": f"{base_url}/api",
        "pagination": {"style": "page", "size": 100, "page_param": "pageNo",
                       "size_param": "pageSize"},
        "health_path": "/health",
        **options,
        "entities": {"Payment": PAYMENT_API, "Subsidy": SUBSIDY_API, "Disclosure": DISCLOSURE},
    }}


async def export_files(urls: dict[str, str], directory: Path) -> Path:
    """Each entity's rows as a GB18030 CSV export in `directory`."""
    for entity, (name, columns) in FILES.items():
        await export_csv(urls[ENTITIES[entity]], ENTITIES[entity], entity, columns,
                         directory / name)
    return directory


def file_sources(directory: Path) -> dict[str, dict[str, Any]]:
    return {"department_exports": {
        "kind": "file",
        "path": str(directory),
        "encoding": "gb18030",
        "delimiter": ",",
        "entities": {entity: {"file": name, "fields": columns}
                     for entity, (name, columns) in FILES.items()},
    }}
