"""One-click reports: a few fixed documents computed through the road, for the caller's role.

- `finance-disclosure` (社区季度财务公开): one unit (`regionCode`) and quarter (`period`
  2024Q1): expenditure by economic class and by month (GROUP BY at the source), payments at
  or above `threshold` (default 10000.00), and the subsidies paid in the quarter; with the
  unit's budget indicators of the year where the role may read them (the income side the
  finance system keeps). Payees and recipients come masked as the role sees them.
- `subsidy-list` (补贴发放名单): one village (`regionCode`) and `period` (2024-03, 2024Q1 or
  2024): every payout, masked as the role sees it.
- `spending-by-category` (支出分类统计): one street (`regionCode`) and `period`: paid
  payments grouped by economic class and by community.

Each kind is an operation of its own (`auth.model.operations.REPORTS`), granted per role by
the policy's `operations`; every read goes through `connectors.gateway` (scoped, masked,
suppressed, noted). A section the role may not read is left out, never shown empty. Reports
are small (a unit, a quarter) and built whole, so their audit record is written before they
are sent.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Final

from auth.access.policy import RolePolicy
from auth.model.catalog import ENTITIES
from auth.model.query import AggregateQuery, Condition, Dimension, EntityQuery, Op, OrderKey
from auth.model.query import Transform as T
from auth.model.regions import is_region_code, jurisdiction_prefix
from connectors.gateway import Gateway

from .export_request import ExportRefused

KINDS: Final = ("finance-disclosure", "subsidy-list", "spending-by-category")
MAX_ROWS: Final = 50_000
_PERIOD = re.compile(r"^(\d{4})(?:Q([1-4])|-(0[1-9]|1[0-2]))?$")
_MONEY = re.compile(r"^(0|[1-9][0-9]{0,11})(\.[0-9]{1,2})?$")


@dataclass(frozen=True)
class Period:
    text: str
    start: dt.datetime
    end: dt.datetime  # exclusive
    months: tuple[str, ...]  # 2024-01 … as subsidy periods are written

    @classmethod
    def parse(cls, text: str) -> Period:
        match = _PERIOD.match(text)
        if match is None:
            raise ExportRefused("BAD_USER_INPUT", "period: expected 2024, 2024Q1 or 2024-03.")
        year = int(match.group(1))
        if match.group(2):
            first = 3 * int(match.group(2)) - 2
            months = range(first, first + 3)
        elif match.group(3):
            months = range(int(match.group(3)), int(match.group(3)) + 1)
        else:
            months = range(1, 13)
        start = dt.datetime(year, months[0], 1)
        last = months[-1]
        end = dt.datetime(year + (last == 12), last % 12 + 1, 1)
        return cls(text, start, end, tuple(f"{year}-{m:02d}" for m in months))


@dataclass
class Sheet:
    name: str
    columns: list[str]
    rows: list[list[Any]] = field(default_factory=list)


@dataclass
class Report:
    kind: str
    title: str
    sheets: list[Sheet]


def granted_kinds(role: RolePolicy) -> list[str]:
    return [kind for kind in KINDS if kind in role.operations]


def _single(params: Sequence[tuple[str, str]], allowed: set[str]) -> dict[str, str]:
    values: dict[str, str] = {}
    for name, value in params:
        if name not in allowed:
            shown = "".join(ch if ch.isprintable() else "?" for ch in name[:60])
            raise ExportRefused("UNKNOWN_PARAMETER", f"Unknown parameter {shown!r}: this "
                                f"report takes {', '.join(sorted(allowed))}.")
        if name in values:
            raise ExportRefused("BAD_PARAMETER", f"The parameter {name!r} is given twice.")
        values[name] = value
    return values


def _region(values: Mapping[str, str]) -> str:
    code = values.get("regionCode", "")
    if not is_region_code(code):
        raise ExportRefused("BAD_USER_INPUT", "regionCode: expected a 12-digit region code "
                            "such as 330108001001.")
    return code


def _within(code: str) -> Condition:
    return Condition("regionCode", Op.WITHIN, jurisdiction_prefix(code))


def _paid_in(period: Period) -> tuple[Condition, ...]:
    return (Condition("paidAt", Op.GTE, period.start),
            Condition("paidAt", Op.LT, period.end))


class ReportBuilder:
    """Builds one report for the principal whose road `gateway` is."""

    def __init__(self, gateway: Gateway, role: RolePolicy) -> None:
        self.gateway = gateway
        self.role = role

    def _can(self, entity: str, *, filters: Sequence[str] = (), aggregate: bool = False,
             group: Sequence[str] = ()) -> bool:
        grant = self.role.grant(entity)
        if grant is None or not (grant.read or aggregate):
            return False
        if aggregate and (not grant.aggregate or not set(group) <= grant.groupable):
            return False
        return set(filters) <= grant.filterable

    async def build(self, kind: str, params: Sequence[tuple[str, str]]) -> Report:
        if kind not in KINDS or kind not in self.role.operations:
            raise ExportRefused("NOT_FOUND", f"There is no report {kind[:60]!r}; reports are "
                                "/reports/<kind>.<xlsx|csv> of the kinds your role may run.")
        allowed = {"regionCode", "period"} | ({"threshold"} if kind == KINDS[0] else set())
        values = _single(params, allowed)
        region, period = _region(values), Period.parse(values.get("period", ""))
        if kind == "finance-disclosure":
            return await self._finance(region, period, _threshold(values.get("threshold")))
        if kind == "subsidy-list":
            return Report(kind, f"{region} {period.text} 惠民惠农补贴发放名单",
                          [await self._subsidies(region, period)])
        return await self._spending(region, period)

    async def _finance(self, region: str, period: Period, threshold: Decimal) -> Report:
        sheets = []
        if period.months[0][5:] not in ("01", "04", "07", "10") or len(period.months) != 3:
            raise ExportRefused("BAD_USER_INPUT", "period: a finance disclosure is for a "
                                "quarter, e.g. 2024Q1.")
        year = int(period.text[:4])
        if self._can("BudgetIndicator", filters=("regionCode", "fiscalYear")):
            rows = await self._rows("BudgetIndicator", (
                "indicatorNo", "name", "functionCode", "economicCode", "amount", "used",
                "available"), (_within(region), Condition("fiscalYear", Op.EQ, year)))
            sheets.append(Sheet("收入 income", ["指标文号", "指标名称", "功能分类", "经济分类",
                                               "指标金额", "已用", "可用"], rows))
        paid = (_within(region), *_paid_in(period), Condition("status", Op.EQ, "PAID"))
        filters = ("regionCode", "paidAt", "status")
        if self._can("Payment", filters=filters, aggregate=True,
                     group=("economicCode", "paidAt")):
            by_class = await self.gateway.aggregate(AggregateQuery(
                "Payment", "amount", (Dimension("economicCode", "economicCode"),), paid))
            by_month = await self.gateway.aggregate(AggregateQuery(
                "Payment", "amount", (Dimension("month", "paidAt", T.MONTH),), paid))
            sheet = Sheet("支出 expenditure", ["分组", "经济分类/月份", "笔数", "金额"])
            sheet.rows += [["经济分类", g["economicCode"], g["count"], g["total"]]
                           for g in by_class]
            sheet.rows += [["月份", g["month"], g["count"], g["total"]] for g in by_month]
            sheets.append(sheet)
        if self._can("Payment", filters=(*filters, "amount")):
            rows = await self._rows("Payment", (
                "paymentNo", "paidAt", "payeeName", "amount", "economicCode", "purpose"),
                (*paid, Condition("amount", Op.GTE, threshold)))
            sheets.append(Sheet("大额支付 major payments", ["支付单号", "支付时间", "收款人",
                                                           "金额", "经济分类", "用途"], rows))
        if self._can("Subsidy", filters=("regionCode", "period")):
            sheets.append(await self._subsidies(region, period))
        if not sheets:
            raise ExportRefused("NOT_FOUND", "There is no report 'finance-disclosure'; "
                                "reports are /reports/<kind>.<xlsx|csv> of the kinds your "
                                "role may run.")
        return Report("finance-disclosure", f"{region} {period.text} 财务收支公开", sheets)

    async def _subsidies(self, region: str, period: Period) -> Sheet:
        wanted = ("batchNo", "subsidyType", "period", "recipientName", "recipientIdNumber",
                  "amount", "paidAt")
        grant = self.role.grant("Subsidy")
        shown = tuple(f for f in wanted if grant is not None and f in grant.fields)
        rows = await self._rows("Subsidy", shown, (
            _within(region), Condition("period", Op.IN, period.months)))
        labels = {"batchNo": "批次号", "subsidyType": "补贴类型", "period": "所属期",
                  "recipientName": "姓名", "recipientIdNumber": "身份证号",
                  "amount": "发放金额", "paidAt": "发放时间"}
        return Sheet("补贴 subsidies", [labels[f] for f in shown], rows)

    async def _spending(self, region: str, period: Period) -> Report:
        paid = (_within(region), *_paid_in(period), Condition("status", Op.EQ, "PAID"))
        if not self._can("Payment", filters=("regionCode", "paidAt", "status"), aggregate=True,
                         group=("economicCode", "regionCode")):
            raise ExportRefused("NOT_FOUND", "There is no report 'spending-by-category'; "
                                "reports are /reports/<kind>.<xlsx|csv> of the kinds your "
                                "role may run.")
        groups = await self.gateway.aggregate(AggregateQuery(
            "Payment", "amount", (Dimension("category", "economicCode", T.PREFIX, 3),
                                  Dimension("regionCode", "regionCode", T.PREFIX, 12)), paid))
        sheet = Sheet("支出分类 spending", ["经济分类（类）", "单位", "笔数", "金额"],
                      [[g["category"], g["regionCode"], g["count"], g["total"]]
                       for g in groups])
        return Report("spending-by-category", f"{region} {period.text} 支出分类统计", [sheet])

    async def _rows(self, entity: str, fields: tuple[str, ...],
                    where: tuple[Condition, ...]) -> list[list[Any]]:
        rows = await self.gateway.fetch(EntityQuery(entity, fields, where, (OrderKey("id"),),
                                                    MAX_ROWS + 1))
        if len(rows) > MAX_ROWS:
            plural = ENTITIES[entity].plural
            raise ExportRefused("TOO_MANY_ROWS", f"More than {MAX_ROWS:,} {plural} for one "
                                "report; choose a smaller region or period.")
        return [[row.get(f) for f in fields] for row in rows]


def _threshold(raw: str | None) -> Decimal:
    if raw is None:
        return Decimal("10000.00")
    if not _MONEY.match(raw):
        raise ExportRefused("BAD_USER_INPUT", 'threshold: expected an amount such as '
                            '"50000.00".')
    return Decimal(raw)
