"""The three demo source databases, each with its own legacy naming.

Each department's system names things its own way, in pinyin abbreviations, the way such
systems are found in the field: the finance system (`cw_…`, 财务), the civil-affairs system
(`mz_…`, 民政) and the inspection system (`jw_…`, 纪委). Money is integer fen (BIGINT), enums
are stored as the systems' own codes (see the mapping files for the code tables), region
codes are CHAR(12)-like strings. There are no foreign-key constraints, as in most legacy
systems, but every key column is indexed.
"""

from __future__ import annotations

from typing import Final

import sqlalchemy as sa

FINANCE: Final = sa.MetaData()
CIVIL_AFFAIRS: Final = sa.MetaData()
INSPECTION: Final = sa.MetaData()


def _id(name: str) -> sa.Column[int]:
    return sa.Column(name, sa.Integer, primary_key=True, autoincrement=False)


def _qhdm() -> sa.Column[str]:
    return sa.Column("qhdm", sa.String(12), nullable=False, index=True, comment="区划代码")


def _fen(name: str, comment: str) -> sa.Column[int]:
    return sa.Column(name, sa.BigInteger, nullable=False, comment=f"{comment}（分）")


def _gxsj() -> sa.Column[object]:
    # When the row last changed: what the hub follows the source's changes by (`watermark`).
    # Rows written by hand without it (tests planting rows) get the time of writing.
    return sa.Column("gxsj", sa.DateTime, nullable=False,
                     server_default=sa.text("CURRENT_TIMESTAMP"), comment="更新时间")


def _key(name: str, comment: str, nullable: bool = True) -> sa.Column[int]:
    return sa.Column(name, sa.Integer, nullable=nullable, index=True, comment=comment)


# -- finance (社区/村级财务系统) -----------------------------------------------------------------
CW_YSZB: Final = sa.Table(
    "cw_yszb", FINANCE,
    _id("zb_id"), _qhdm(),
    sa.Column("ysnd", sa.SmallInteger, nullable=False, comment="预算年度"),
    sa.Column("zbwh", sa.String(40), nullable=False, comment="指标文号"),
    sa.Column("zbmc", sa.String(100), nullable=False, comment="指标名称"),
    sa.Column("gnkm", sa.String(7), nullable=False, comment="功能科目"),
    sa.Column("jjkm", sa.String(5), nullable=False, comment="经济科目"),
    _fen("zbje_fen", "指标金额"), _fen("yyje_fen", "已用金额"), _fen("kyje_fen", "可用金额"),
    comment="预算指标",
)

CW_SQSP: Final = sa.Table(
    "cw_sqsp", FINANCE,
    _id("sp_id"), _qhdm(),
    _key("zb_id", "预算指标ID"),
    sa.Column("splb", sa.String(2), nullable=False, comment="审批类别"),
    sa.Column("spsx", sa.String(200), nullable=False, comment="审批事项"),
    sa.Column("sqr", sa.String(20), nullable=False, comment="申请人"),
    _fen("jhje_fen", "计划金额"),
    sa.Column("spzt", sa.String(2), nullable=False, comment="审批状态"),
    sa.Column("tjsj", sa.DateTime, nullable=False, index=True, comment="提交时间"),
    sa.Column("spsj", sa.DateTime, comment="审批时间"),
    comment="事前审批",
)

CW_BXD: Final = sa.Table(
    "cw_bxd", FINANCE,
    _id("bxd_id"), _qhdm(),
    sa.Column("bxdh", sa.String(30), nullable=False, index=True, comment="报销单号"),
    sa.Column("bxr", sa.String(20), nullable=False, comment="报销人"),
    _key("sp_id", "事前审批ID"), _key("zb_id", "预算指标ID"),
    _fen("bxje_fen", "报销金额"),
    sa.Column("bxzt", sa.String(2), nullable=False, comment="报销状态"),
    sa.Column("tjsj", sa.DateTime, nullable=False, index=True, comment="提交时间"),
    comment="报销单",
)

CW_ZFMX: Final = sa.Table(
    "cw_zfmx", FINANCE,
    _id("zfmx_id"), _qhdm(),
    sa.Column("zfdh", sa.String(30), nullable=False, index=True, comment="支付单号"),
    _key("zb_id", "预算指标ID"), _key("bxd_id", "报销单ID"),
    sa.Column("zffs", sa.String(1), nullable=False, comment="支付方式"),
    sa.Column("skrmc", sa.String(100), nullable=False, comment="收款人名称"),
    sa.Column("skrlx", sa.String(1), nullable=False, comment="收款人类型"),
    sa.Column("skrzjhm", sa.String(18), index=True, comment="收款人证件号码"),
    sa.Column("skrzh", sa.String(32), nullable=False, comment="收款人账号"),
    sa.Column("je_fen", sa.BigInteger, nullable=False, index=True, comment="金额（分）"),
    sa.Column("zfyt", sa.String(200), nullable=False, comment="支付用途"),
    sa.Column("gnkm", sa.String(7), nullable=False, comment="功能科目"),
    sa.Column("jjkm", sa.String(5), nullable=False, index=True, comment="经济科目"),
    sa.Column("zfsj", sa.DateTime, nullable=False, index=True, comment="支付时间"),
    sa.Column("zfzt", sa.String(1), nullable=False, comment="支付状态"),
    _gxsj(),
    sa.Index("ix_cw_zfmx_qhdm_zfsj", "qhdm", "zfsj"),
    sa.Index("ix_cw_zfmx_gxsj", "gxsj", "zfmx_id"),
    comment="支付明细",
)

CW_FP: Final = sa.Table(
    "cw_fp", FINANCE,
    _id("fp_id"), _qhdm(),
    sa.Column("fpdm", sa.String(12), comment="发票代码（数电票为空）"),
    sa.Column("fphm", sa.String(20), nullable=False, comment="发票号码"),
    sa.Column("xfmc", sa.String(100), nullable=False, comment="销方名称"),
    sa.Column("xfsh", sa.String(18), nullable=False, comment="销方纳税人识别号"),
    _fen("jshj_fen", "价税合计"),
    sa.Column("kpsj", sa.DateTime, nullable=False, index=True, comment="开票时间"),
    _key("bxd_id", "报销单ID"),
    sa.Index("ix_cw_fp_fphm_fpdm", "fphm", "fpdm"),
    comment="发票",
)

CW_BTFF: Final = sa.Table(
    "cw_btff", FINANCE,
    _id("ff_id"), _qhdm(),
    sa.Column("pch", sa.String(40), nullable=False, index=True, comment="批次号"),
    sa.Column("btlx", sa.String(40), nullable=False, comment="补贴类型"),
    sa.Column("ssq", sa.String(7), nullable=False, comment="所属期"),
    sa.Column("lqrxm", sa.String(20), nullable=False, comment="领取人姓名"),
    sa.Column("lqrsfzh", sa.String(18), nullable=False, index=True, comment="领取人身份证号"),
    _fen("ffje_fen", "发放金额"),
    sa.Column("yktkh", sa.String(19), nullable=False, comment="一卡通卡号"),
    sa.Column("ffsj", sa.DateTime, nullable=False, index=True, comment="发放时间"),
    sa.Column("ffjg", sa.String(1), nullable=False, comment="发放结果"),
    sa.Column("sfgs", sa.SmallInteger, nullable=False, comment="是否公示 1是 0否"),
    _gxsj(),
    sa.Index("ix_cw_btff_gxsj", "gxsj", "ff_id"),
    comment="惠民惠农补贴发放",
)

# -- civil affairs (民政三务公开系统) ---------------------------------------------------------
MZ_XZQH: Final = sa.Table(
    "mz_xzqh", CIVIL_AFFAIRS,
    sa.Column("qhdm", sa.String(12), primary_key=True, comment="区划代码"),
    sa.Column("qhmc", sa.String(50), nullable=False, comment="区划名称"),
    sa.Column("qhjb", sa.String(1), nullable=False, comment="区划级别"),
    sa.Column("sjqhdm", sa.String(12), index=True, comment="上级区划代码"),
    comment="行政区划",
)

MZ_SWGK: Final = sa.Table(
    "mz_swgk", CIVIL_AFFAIRS,
    _id("gk_id"), _qhdm(),
    sa.Column("gklb", sa.String(1), nullable=False, comment="公开类别"),
    sa.Column("bt", sa.String(200), nullable=False, comment="标题"),
    sa.Column("gkqj", sa.String(10), nullable=False, comment="公开期间"),
    sa.Column("nr", sa.Text, nullable=False, comment="内容"),
    sa.Column("zt", sa.String(1), nullable=False, comment="状态"),
    sa.Column("fbsj", sa.DateTime, index=True, comment="发布时间"),
    _gxsj(),
    sa.Index("ix_mz_swgk_gxsj", "gxsj", "gk_id"),
    comment="三务公开事项",
)

MZ_JMDJ: Final = sa.Table(
    "mz_jmdj", CIVIL_AFFAIRS,
    _id("jm_id"), _qhdm(),
    sa.Column("xm", sa.String(20), nullable=False, comment="姓名"),
    sa.Column("sfzh", sa.String(18), nullable=False, unique=True, comment="身份证号"),
    sa.Column("swrq", sa.Date, comment="死亡日期"),
    sa.Column("dbbz", sa.Boolean, nullable=False, comment="低保标志"),
    comment="居民登记",
)

# -- discipline inspection (纪检监察系统) ------------------------------------------------------
JW_WTXS: Final = sa.Table(
    "jw_wtxs", INSPECTION,
    _id("xs_id"), _qhdm(),
    sa.Column("xsbt", sa.String(200), nullable=False, comment="线索标题"),
    sa.Column("xsly", sa.String(1), nullable=False, comment="线索来源"),
    sa.Column("zyqk", sa.Text, nullable=False, comment="主要情况"),
    sa.Column("blzt", sa.String(1), nullable=False, comment="办理状态"),
    sa.Column("slsj", sa.DateTime, nullable=False, index=True, comment="受理时间"),
    sa.Column("bjsj", sa.DateTime, comment="办结时间"),
    comment="问题线索",
)

JW_ZGDB: Final = sa.Table(
    "jw_zgdb", INSPECTION,
    _id("zg_id"), _qhdm(),
    _key("xs_id", "问题线索ID", nullable=False),
    sa.Column("zgyq", sa.String(500), nullable=False, comment="整改要求"),
    sa.Column("zgqx", sa.Date, nullable=False, index=True, comment="整改期限"),
    sa.Column("zgzt", sa.String(1), nullable=False, comment="整改状态"),
    sa.Column("zgfk", sa.String(500), comment="整改反馈"),
    comment="整改督办",
)

JW_XSZF: Final = sa.Table(
    "jw_xszf", INSPECTION,
    _id("gl_id"), _qhdm(),
    _key("xs_id", "问题线索ID", nullable=False),
    _key("zfmx_id", "支付明细ID（财务系统）", nullable=False),
    comment="线索关联支付",
)
