"""The civil-affairs source: the region table and the 三务公开 items of every unit.

Disclosures quote the finance and subsidy figures of the generated data (payments and totals
per quarter, budgets per year, published subsidy batches), so a notice and the records it
summarises agree. Older items are mostly published; the latest quarter is still in review.
"""

from __future__ import annotations

import datetime as dt
from typing import Final

import sqlalchemy as sa

from . import texts
from .common import SNAPSHOT, YEARS, Context, Emitted, Row, choose, code_table, shift, yuan
from .ledger import FinanceFacts
from .regions import RegionNode, full_name
from .residents import SUBSIDY_TYPES, SubsidyFacts
from .tables import MZ_SWGK, MZ_XZQH

_LATEST_FROM: Final = dt.date(2024, 10, 1)
_PHONE_PREFIX: Final = {"330108": "0571-8669", "330102": "0571-8715", "330603": "0575-8456"}


class CivilAffairsStage:
    def __init__(self, ctx: Context, finance: FinanceFacts, subsidies: SubsidyFacts) -> None:
        self.ctx = ctx
        self.rng = ctx.rng("civil_affairs")
        self.finance = finance
        self.subsidies = subsidies
        self.level_codes = code_table("civil_affairs", "Region", "level")
        self.domains = code_table("civil_affairs", "Disclosure", "domain")
        self.statuses = code_table("civil_affairs", "Disclosure", "status")
        self._id = 0
        self._branch_sizes: dict[str, int] = {}

    def region_rows(self) -> Emitted:
        for node in self.ctx.tree:
            yield MZ_XZQH, {"qhdm": node.code, "qhmc": node.name,
                            "qhjb": self.level_codes[node.level], "sjqhdm": node.parent}

    def rows(self) -> Emitted:
        for unit in self.ctx.units:
            for year in YEARS:
                for q in range(1, 5):
                    yield from self._quarter(unit, year, q)

    def _quarter(self, unit: RegionNode, year: int, q: int) -> Emitted:
        rng = self.rng
        qn = texts.QUARTER_NAMES[q]
        period = f"{year}Q{q}"
        end = dt.date(year, 3 * q, 28) + dt.timedelta(days=4)
        end = end.replace(day=1) - dt.timedelta(days=1)
        name = full_name(unit, self.ctx.by_code)
        tail = self._tail(unit)
        if q == 1:
            budget = self.finance.budgets.get((unit.code, year), 0)
            yield self._item(unit, "FINANCE", f"{year}年度预算安排公开", str(year),
                             f"{name}{year}年度预算经{self._meeting(unit)}审议通过，"
                             f"全年安排支出预算{yuan(budget)}元，按功能和经济分类明细附后。"
                             + tail, dt.date(year, 3, 15))
        count, total = self.finance.quarters.get((unit.code, year, q), [0, 0])
        yield self._item(unit, "FINANCE", f"{year}年第{qn}季度财务收支公开", period,
                         f"{name}{year}年第{qn}季度财务收支情况公开如下：本季度共发生支出{count}笔，"
                         f"支出合计{yuan(total)}元，支出明细附后。" + tail, end)
        batches = self.subsidies.published.get((unit.code, year, q), {})
        if batches:
            listed = [f"{batch}（{SUBSIDY_TYPES[batch.split('-')[2][:2]]}，{n}人次，"
                      f"合计{yuan(amount)}元）" for batch, (n, amount) in sorted(batches.items())]
            more = f"等{len(listed)}个批次" if len(listed) > 6 else ""
            yield self._item(unit, "AFFAIRS", f"{year}年第{qn}季度惠民惠农补贴发放公示", period,
                             f"{name}本季度惠民惠农补贴发放情况如下：" + "；".join(listed[:6])
                             + more + "。发放名单附后（姓名、身份证号已按规定脱敏）。" + tail,
                             end)
        members = self._members(unit)
        requests = rng.randint(12, 90)
        counts: dict[str, object] = {
            "meetings": rng.randint(1, 3), "committees": rng.randint(3, 6),
            "requests": requests, "resolved": requests - rng.randint(0, 5),
            "events": rng.randint(2, 10),
            "projects": rng.randint(1, 4), "households": rng.randint(1, 8),
            "members": members, "income": yuan(rng.randrange(5_000_000, 80_000_000, 100)),
            "amount": yuan(members * rng.randrange(1000, 6000)),
        }
        pool = texts.VILLAGE_AFFAIRS if unit.is_village else texts.COMMUNITY_AFFAIRS
        kind = "村务" if unit.is_village else "居务" if unit.level == "VILLAGE" else "政务"
        yield self._item(unit, "AFFAIRS", f"{year}年第{qn}季度{kind}公开", period,
                         name + rng.choice(pool).format(**counts) + tail, end)
        title, text = rng.choice(texts.PARTY_ITEMS)
        yield self._item(unit, "PARTY", title.format(y=year, qn=qn), period,
                         name + text.format(**counts), end)
        if q == 2 and rng.random() < 0.3:
            title, text = rng.choice(texts.PARTY_SPECIAL)
            candidate = self.ctx.ids.person(rng, unit.county, dt.date(1990, 5, 1)).name
            yield self._item(unit, "PARTY", title.format(y=year), str(year),
                             name + text.format(name=candidate, committee=rng.choice((3, 5))),
                             end)

    def _item(
        self, unit: RegionNode, domain: str, title: str, period: str, body: str,
        period_end: dt.date,
    ) -> tuple[sa.Table, Row]:
        rng = self.rng
        if period_end >= _LATEST_FROM:
            status = choose(rng, {"DRAFT": 0.4, "REVIEWED": 0.35, "PUBLISHED": 0.25})
        else:
            status = choose(rng, {"PUBLISHED": 0.88, "WITHDRAWN": 0.04, "REVIEWED": 0.04,
                                  "DRAFT": 0.04})
        published = None
        if status in ("PUBLISHED", "WITHDRAWN"):
            start = dt.datetime.combine(period_end, dt.time(9))
            published = min(shift(rng, start, 3, 15), SNAPSHOT - dt.timedelta(days=1))
        self._id += 1
        # When the item last changed (no draw from the generator, so the data stay as they
        # were): drafts at the end of their period, withdrawn items a week after publication.
        changed = published or dt.datetime.combine(period_end, dt.time(17))
        if status == "WITHDRAWN":
            changed += dt.timedelta(days=7)
        return MZ_SWGK, {
            "gk_id": self._id, "qhdm": unit.code, "gklb": self.domains[domain], "bt": title,
            "gkqj": period, "nr": body, "zt": self.statuses[status], "fbsj": published,
            "gxsj": min(changed, SNAPSHOT),
        }

    def _tail(self, unit: RegionNode) -> str:
        street = self.ctx.by_code[unit.code[:9] + "000"].name
        board = "村务监督委员会" if unit.is_village else "居务监督委员会" \
            if unit.level == "VILLAGE" else "财务审核小组"
        phone = _PHONE_PREFIX[unit.county] + f"{self.rng.randrange(10000):04d}"
        return texts.NOTICE_TAIL.format(board=board, street=street, unit=unit.name, phone=phone)

    def _members(self, unit: RegionNode) -> int:
        """Party members of the unit's branch: stable across quarters, give or take one."""
        base = self._branch_sizes.setdefault(unit.code, self.rng.randint(25, 160))
        return base + self.rng.randint(-1, 1)

    def _meeting(self, unit: RegionNode) -> str:
        return "村民代表会议" if unit.is_village else "居民代表会议" \
            if unit.level == "VILLAGE" else "街道（镇）党政联席会议"
