"""The finance source's books: the state a finance stage keeps while it writes payments.

Budget indicators (whose `used` is the sum of the paid payments charged to them), the
organisations, staff and workers of every unit, the payment row itself, and the facts the
disclosure and inspection stages need afterwards (quarterly totals, payments that tripped a
risk rule, a uniform sample of payments per unit).
"""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Final

import sqlalchemy as sa

from . import texts
from .common import (
    SNAPSHOT,
    YEARS,
    Context,
    Emitted,
    Row,
    Timeline,
    choose,
    code_table,
    fen,
    quarter,
)
from .people import Org, Person, bank_card, make_orgs
from .regions import DISTRICT_ABBREVIATIONS, RegionNode
from .tables import CW_YSZB, CW_ZFMX

PAYMENTS_PER_SCALE: Final = 2500
SPLIT_THRESHOLD_FEN: Final = 5_000_000  # 5万元: above it a purchase needs 集体决策/采购
CASH_LIMIT_FEN: Final = 100_000  # 1000元: 公务卡 rules allow cash below this
RANGES: Final = {  # economic code → low and high yuan, and the rounding in fen
    "30201": (150, 8000, 1), "30211": (200, 4000, 1), "30215": (1500, 30000, 100),
    "30216": (2000, 40000, 100), "30217": (200, 3000, 1), "30226": (500, 6000, 100),
    "30227": (8000, 200000, 100), "30231": (200, 9000, 1), "30299": (300, 20000, 1),
    "30305": (500, 5000, 10000), "31002": (3000, 80000, 100),
}
_DEFAULT_FUNCTION: Final = {econ: fn for econ, fn, _ in texts.INDICATOR_TEMPLATES}
_KEEP_FLAGGED: Final = 200
_KEEP_SAMPLE: Final = 100


@dataclass(frozen=True, slots=True)
class Payee:
    name: str
    kind: str
    id_number: str | None
    account: str


@dataclass(frozen=True, slots=True)
class Flagged:
    """A payment the inspection stage may name in a case."""

    payment_id: int
    rule: str
    payee: str
    amount: int
    paid: dt.datetime


@dataclass
class FinanceFacts:
    # (unit code, year, quarter) → [paid payments, total fen]
    quarters: dict[tuple[str, int, int], list[int]] = field(
        default_factory=lambda: defaultdict(lambda: [0, 0]))
    flagged: dict[str, list[Flagged]] = field(default_factory=lambda: defaultdict(list))
    sample: dict[str, list[Flagged]] = field(default_factory=lambda: defaultdict(list))
    seen: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    # (unit code, year) → total approved budget, fen
    budgets: dict[tuple[str, int], int] = field(default_factory=lambda: defaultdict(int))


class Ledger:
    """State and row builders shared by the finance stage's kinds of payment."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        rng = self.rng = ctx.rng("finance")
        self.count = PAYMENTS_PER_SCALE * ctx.scale
        self.facts = FinanceFacts()
        self.timeline = Timeline()
        self.codes = {f: code_table("finance", "Payment", f)
                      for f in ("method", "payeeKind", "status")}
        self.approval_codes = {f: code_table("finance", "PreApproval", f)
                               for f in ("category", "status")}
        self.claim_status = code_table("finance", "Reimbursement", "status")
        counties = sorted({u.county for u in ctx.units})
        self.orgs = {c: make_orgs(rng, c) for c in counties}
        self.staff = {u.code: [ctx.ids.person(rng, u.county, born(rng)) for _ in range(4)]
                      for u in ctx.units}
        self.workers = {u.code: [ctx.ids.person(rng, u.county, born(rng)) for _ in range(10)]
                        for u in ctx.units}
        self.cards = {p.id_number: (bank_card(rng), bank_card(rng, "628288"))
                      for people in (*self.staff.values(), *self.workers.values())
                      for p in people}
        self.rush = {u.code for u in ctx.units if rng.random() < 0.2}
        self.used: dict[int, int] = defaultdict(int)
        self.recent_invoices: deque[Row] = deque(maxlen=64)
        self.ids = {"payment": 0, "claim": 0, "approval": 0, "invoice": 0}
        self._indicators()

    # -- budget indicators -------------------------------------------------------------------
    def _indicators(self) -> None:
        self.indicators: list[Row] = []
        self.lookup: dict[tuple[str, int, str], int] = {}
        seq: dict[tuple[str, int], int] = defaultdict(int)
        for unit in self.ctx.units:
            for year in YEARS:
                for econ, function, name in texts.INDICATOR_TEMPLATES:
                    if unit.is_village:
                        function = texts.VILLAGE_FUNCTION_CODES.get(econ, function)
                    seq[unit.county, year] += 1
                    abbr = DISTRICT_ABBREVIATIONS[unit.county]
                    self.indicators.append({
                        "zb_id": len(self.indicators) + 1, "qhdm": unit.code, "ysnd": year,
                        "zbwh": f"{abbr}财预〔{year}〕{seq[unit.county, year]}号",
                        "zbmc": f"{year}年{unit.name}{name}", "gnkm": function, "jjkm": econ,
                    })
                    self.lookup.setdefault((unit.code, year, econ), len(self.indicators))

    def indicator_rows(self) -> Emitted:
        rng = self.rng
        for row in self.indicators:
            used = self.used.get(row["zb_id"], 0)
            if used == 0:
                amount = fen(rng, 5000, 200000, 100000)
            elif rng.random() < 0.04:  # over budget (R02)
                amount = max(100000, int(used * rng.uniform(0.8, 0.97)) // 100000 * 100000)
            else:
                amount = (int(used * rng.uniform(1.05, 1.6)) // 100000 + 1) * 100000
            self.facts.budgets[row["qhdm"], row["ysnd"]] += amount
            yield CW_YSZB, {**row, "zbje_fen": amount, "yyje_fen": used,
                            "kyje_fen": amount - used}

    def _indicator(self, unit: RegionNode, year: int, econ: str) -> int:
        return self.lookup[unit.code, year, econ]

    # -- helpers -----------------------------------------------------------------------------
    def _payment(
        self, unit: RegionNode, paid: dt.datetime, econ: str, indicator: int | None,
        claim_id: int | None, method: str, payee: Payee, amount: int, purpose: str,
        status: str | None = None, rule: str | None = None,
    ) -> tuple[sa.Table, Row]:
        status = status or self._payment_status(paid)
        payment_id = self._next("payment")
        function = self.indicators[indicator - 1]["gnkm"] if indicator else \
            _DEFAULT_FUNCTION[econ]
        if status == "PAID":
            if indicator:
                self.used[indicator] += amount
            stats = self.facts.quarters[(unit.code, *quarter(paid))]
            stats[0] += 1
            stats[1] += amount
        self._remember(unit, Flagged(payment_id, rule or "", payee.name, amount, paid))
        return CW_ZFMX, {
            "zfmx_id": payment_id, "qhdm": unit.code,
            "zfdh": f"ZF{paid:%Y%m%d}{payment_id:08d}", "zb_id": indicator,
            "bxd_id": claim_id, "zffs": self.codes["method"][method], "skrmc": payee.name,
            "skrlx": self.codes["payeeKind"][payee.kind], "skrzjhm": payee.id_number,
            "skrzh": payee.account, "je_fen": amount, "zfyt": purpose, "gnkm": function,
            "jjkm": econ, "zfsj": paid, "zfzt": self.codes["status"][status],
            "gxsj": paid + dt.timedelta(minutes=30),
        }

    def _remember(self, unit: RegionNode, item: Flagged) -> None:
        flagged = self.facts.flagged[unit.code]
        if item.rule and len(flagged) < _KEEP_FLAGGED:
            flagged.append(item)
        seen = self.facts.seen[unit.code] = self.facts.seen[unit.code] + 1
        sample = self.facts.sample[unit.code]
        if len(sample) < _KEEP_SAMPLE:
            sample.append(item)
        else:  # reservoir sampling keeps a uniform sample in constant memory
            slot = self.rng.randrange(seen)
            if slot < _KEEP_SAMPLE:
                sample[slot] = item

    def _payment_status(self, paid: dt.datetime) -> str:
        if paid > SNAPSHOT - dt.timedelta(days=25) and self.rng.random() < 0.6:
            return "PENDING"
        return choose(self.rng, {"PAID": 0.975, "RETURNED": 0.015, "PENDING": 0.01})

    def _person_payee(self, person: Person, card: bool) -> tuple[Payee, str]:
        debit, official = self.cards[person.id_number]
        return Payee(person.name, "PERSON", person.id_number, official if card else debit), \
            "OFFICIAL_CARD" if card else "TRANSFER"

    def _supplier(self, unit: RegionNode, econ: str) -> Org:
        trades = texts.SELLER_TRADES[econ]
        return self.rng.choice(self.orgs[unit.county][self.rng.choice(trades)])

    def _amount(self, unit: RegionNode, paid: dt.datetime, amount: int) -> int:
        if paid.month == 12 and unit.code in self.rush:  # year-end rush (R16)
            return int(amount * self.rng.uniform(1.5, 2.5))
        return amount

    def _title(self, unit: RegionNode, category: str, when: dt.datetime) -> str:
        template = self.rng.choice(texts.APPROVAL_TITLES[category])
        return template.format(unit=unit.name, y=when.year, q=quarter(when)[1],
                               city=self.rng.choice(texts.TRAVEL_CITIES))

    def _purpose(self, key: str, when: dt.datetime) -> str:
        """A payment purpose for a supplier's trade or, for people, an economic code."""
        table = texts.TRADE_PURPOSES if key in texts.TRADE_PURPOSES else texts.PERSON_PURPOSES
        template = self.rng.choice(table[key])
        return template.format(y=when.year, m=when.month, q=quarter(when)[1])

    def _next(self, name: str) -> int:
        self.ids[name] += 1
        return self.ids[name]


def born(rng: random.Random, first: int = 1965, last: int = 1998) -> dt.date:
    """A birth date for staff and payees (working age by default)."""
    return dt.date(rng.randint(first, last), rng.randint(1, 12), rng.randint(1, 28))
