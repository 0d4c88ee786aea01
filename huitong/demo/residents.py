"""Residents (civil affairs) and the subsidies paid to them (finance, 惠民惠农补贴 via 一卡通).

Subsidies are generated resident by resident, so their recipients are always registered
residents: 低保 monthly for low-income residents, 高龄津贴 for those aged 80 and over,
耕地地力保护补贴 yearly for village households, and so on. Some payouts continue after the
recipient's recorded death (risk rule R18) and a few are paid twice (R20).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Final

import sqlalchemy as sa

from .common import (
    YEARS,
    Context,
    Emitted,
    Row,
    choose,
    code_table,
    fen,
    office_time,
    pick,
    quarter,
    workday,
)
from .people import Person, bank_card
from .regions import FORMER_COUNTY_CODES, MIGRANT_COUNTY_CODES, RegionNode
from .tables import CW_BTFF, MZ_JMDJ

RESIDENTS_PER_SCALE: Final = 360

# Type code (in batch numbers) → name.
SUBSIDY_TYPES: Final = {
    "01": "城乡居民最低生活保障金",
    "02": "高龄津贴",
    "03": "耕地地力保护补贴",
    "04": "困难残疾人生活补贴",
    "05": "临时救助金",
}
_MONTHS: Final = [f"{y}-{m:02d}" for y in YEARS for m in range(1, 13)]
_REFERENCE: Final = dt.date(2024, 12, 31)


@dataclass
class SubsidyFacts:
    """What the disclosure stage needs to know about subsidy batches."""

    # (unit code, year, quarter) → batch number → [rows, total fen], published batches only.
    published: dict[tuple[str, int, int], dict[str, list[int]]] = field(
        default_factory=lambda: defaultdict(dict)
    )
    after_death: int = 0


class ResidentStage:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.rng = ctx.rng("residents")
        self.count = RESIDENTS_PER_SCALE * ctx.scale
        self.facts = SubsidyFacts()
        self._result = code_table("finance", "Subsidy", "result")
        self._published_code = code_table("finance", "Subsidy", "published")
        self._batches: dict[str, bool] = {}
        self._subsidy_id = 0
        self._deaths = 0

    def rows(self) -> Emitted:
        rng = self.rng
        for i in range(self.count):
            unit = pick(rng, i, self.ctx.communities)
            person = self._person(unit)
            deceased = self._deceased_on(person)
            low_income = rng.random() < (0.08 if unit.is_village else 0.05)
            yield MZ_JMDJ, {
                "jm_id": i + 1, "qhdm": unit.code, "xm": person.name, "sfzh": person.id_number,
                "swrq": deceased, "dbbz": low_income,
            }
            yield from self._subsidies(unit, person, deceased, low_income)

    # -- residents ---------------------------------------------------------------------------
    def _person(self, unit: RegionNode) -> Person:
        rng = self.rng
        age_band = choose(rng, {"child": 0.15, "adult": 0.55, "senior": 0.22, "aged": 0.08})
        low, high = {"child": (0, 17), "adult": (18, 59), "senior": (60, 79),
                     "aged": (80, 101)}[age_band]
        born = _REFERENCE - dt.timedelta(days=rng.randrange(low * 365 + 1, high * 365 + 364))
        return self.ctx.ids.person(rng, self._county_of_birth(unit, born), born)

    def _county_of_birth(self, unit: RegionNode, born: dt.date) -> str:
        rng = self.rng
        if rng.random() < 0.2:
            return rng.choice(MIGRANT_COUNTY_CODES)
        for prefix, (former, changed) in FORMER_COUNTY_CODES.items():
            if unit.code.startswith(prefix) and born.year < changed:
                return former
        return unit.county

    def _deceased_on(self, person: Person) -> dt.date | None:
        age = _REFERENCE.year - person.born.year
        # Two years of deaths at roughly real mortality; the first resident aged 80 or more
        # always dies early in the period, so that payouts after death (R18) exist at any scale.
        chance = 0.18 if age >= 80 else 0.04 if age >= 60 else 0.002
        forced = age >= 80 and self._deaths == 0
        if not forced and self.rng.random() >= chance:
            return None
        self._deaths += 1
        days = self.rng.randrange(0, 480 if forced else 690)
        return dt.date(2023, 2, 1) + dt.timedelta(days=days)

    # -- subsidies ---------------------------------------------------------------------------
    def _subsidies(
        self, unit: RegionNode, person: Person, deceased: dt.date | None, low_income: bool
    ) -> Emitted:
        rng = self.rng
        card = bank_card(rng, "623091")
        # Payouts that go on after a death: the first case always (so that the demo shows
        # one), then two in five.
        overrun = 0
        if deceased is not None and (self.facts.after_death == 0 or rng.random() < 0.4):
            overrun = rng.randint(1, 3)
        plan: list[tuple[str, str, int]] = []  # (type code, period, amount fen)
        if low_income:
            monthly = fen(rng, 400, 1314, 100)
            plan += [("01", p, monthly) for p in _MONTHS]
        age_2023 = 2023 - person.born.year
        if age_2023 >= 79:
            for p in _MONTHS:
                age = int(p[:4]) - person.born.year
                if age >= 80:
                    plan.append(("02", p, 60000 if age >= 100 else 30000 if age >= 90 else 10000))
        if unit.is_village and age_2023 >= 25 and rng.random() < 0.4:
            acres = rng.uniform(1.2, 6.5)
            plan += [("03", f"{y}-06", int(acres * 10200)) for y in YEARS]
        if rng.random() < 0.02:
            monthly = fen(rng, 350, 700, 100)
            plan += [("04", p, monthly) for p in _MONTHS]
        if rng.random() < 0.012:
            plan.append(("05", rng.choice(_MONTHS), fen(rng, 1000, 5000, 10000)))
        plan.sort(key=lambda item: item[1])

        stopped = 0
        for type_code, period, amount in plan:
            if deceased is not None and period > deceased.strftime("%Y-%m"):
                if stopped >= overrun or type_code not in ("01", "02", "04"):
                    continue
                stopped += 1
                if stopped == 1:
                    self.facts.after_death += 1
            yield self._payout(unit, person, card, type_code, period, amount, "")
            if rng.random() < 0.003:  # paid twice: a supplementary batch repeats the row
                yield self._payout(unit, person, card, type_code, period, amount, "-B")

    def _payout(
        self, unit: RegionNode, person: Person, card: str, type_code: str, period: str,
        amount: int, batch_suffix: str,
    ) -> tuple[sa.Table, Row]:
        rng = self.rng
        batch = f"PC{period.replace('-', '')}-{unit.code}-{type_code}{batch_suffix}"
        published = self._batches.get(batch)
        if published is None:
            published = rng.random() < (0.88 if period < "2024-10" else 0.5)
            self._batches[batch] = published
        year, month = int(period[:4]), int(period[5:])
        paid = office_time(rng, workday(dt.date(year, month, rng.randint(10, 20))))
        result = choose(rng, {"SUCCESS": 0.96, "FAILED": 0.03, "RETURNED": 0.01})
        if published:
            stats = self.facts.published[(unit.code, *quarter(paid))].setdefault(batch, [0, 0])
            stats[0] += 1
            stats[1] += amount
        self._subsidy_id += 1
        return CW_BTFF, {
            "ff_id": self._subsidy_id, "qhdm": unit.code, "pch": batch,
            "btlx": SUBSIDY_TYPES[type_code], "ssq": period, "lqrxm": person.name,
            "lqrsfzh": person.id_number, "ffje_fen": amount, "yktkh": card, "ffsj": paid,
            "ffjg": self._result[result], "sfgs": self._published_code[published],
            "gxsj": paid + dt.timedelta(minutes=10),
        }
