"""The finance source: budget indicators, pre-approvals, reimbursements, invoices and payments.

Payments are generated in time order; each one is a claim settled (approval → invoices →
reimbursement → payment), a direct payment to a supplier or a person, a cash payment, a run
of split payments just under the approval threshold, or a payment with no budget line — so
that the risk rules (R01, R04, R06, R07, R08, R12, R13, R16) have something to find.
Indicators are written last: their `used` amount is the sum of the paid payments charged
to them.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict, deque
from collections.abc import Generator
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
    pick,
    quarter,
    shift,
)
from .people import Org, Person, bank_card, make_orgs
from .regions import DISTRICT_ABBREVIATIONS, RegionNode
from .tables import CW_BXD, CW_FP, CW_SQSP, CW_YSZB, CW_ZFMX

PAYMENTS_PER_SCALE: Final = 2500
SPLIT_THRESHOLD_FEN: Final = 5_000_000  # 5万元: above it a purchase needs 集体决策/采购
CASH_LIMIT_FEN: Final = 100_000  # 1000元: 公务卡 rules allow cash below this

_KINDS: Final = {"claim": 0.58, "org": 0.20, "labour": 0.09, "relief": 0.04, "cash": 0.04,
                 "split": 0.04, "unbudgeted": 0.01}
_CATEGORIES: Final = {"MEETING": 0.12, "TRAINING": 0.10, "TRAVEL": 0.25, "RECEPTION": 0.12,
                      "PROCUREMENT": 0.23, "PROJECT": 0.08, "OTHER": 0.10}
_CATEGORY_ECON: Final = {
    "MEETING": ("30215",), "TRAINING": ("30216",), "TRAVEL": ("30211",),
    "RECEPTION": ("30217",), "PROCUREMENT": ("30201", "30201", "30201", "31002"),
    "PROJECT": ("30227",), "OTHER": ("30299", "30231"),
}
_NEEDS_APPROVAL: Final = frozenset({"MEETING", "TRAINING", "RECEPTION", "PROCUREMENT", "PROJECT"})
_RANGES: Final = {  # yuan, and the rounding in fen
    "30201": (150, 8000, 1), "30211": (200, 4000, 1), "30215": (1500, 30000, 100),
    "30216": (2000, 40000, 100), "30217": (200, 3000, 1), "30226": (500, 6000, 100),
    "30227": (8000, 200000, 100), "30231": (200, 9000, 1), "30299": (300, 20000, 1),
    "30305": (500, 5000, 10000), "31002": (3000, 80000, 100),
}
_DEFAULT_FUNCTION: Final = {econ: fn for econ, fn, _ in texts.INDICATOR_TEMPLATES}
_P8: Final = 99_999_989  # the largest primes below 10^8 and 10^15 with p ≡ 2 (mod 3)
_P15: Final = 999_999_999_999_989
_KEEP_FLAGGED: Final = 200
_KEEP_SAMPLE: Final = 100

Gen = Generator[tuple[sa.Table, Row], None, int]


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


class FinanceStage:
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
        self.staff = {u.code: [ctx.ids.person(rng, u.county, _born(rng)) for _ in range(4)]
                      for u in ctx.units}
        self.workers = {u.code: [ctx.ids.person(rng, u.county, _born(rng)) for _ in range(10)]
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

    # -- payments ----------------------------------------------------------------------------
    def rows(self) -> Emitted:
        rng, i = self.rng, 0
        while i < self.count:
            unit = pick(rng, i, self.ctx.units)
            paid = self.timeline.at(rng, (i + 0.5) / self.count)
            kind = choose(rng, _KINDS)
            if kind == "split" and self.count - i < 2:
                kind = "org"
            i += yield from getattr(self, f"_{kind}")(unit, paid, self.count - i)

    def _claim(self, unit: RegionNode, paid: dt.datetime, room: int) -> Gen:
        rng = self.rng
        category = choose(rng, _CATEGORIES)
        econ = rng.choice(_CATEGORY_ECON[category])
        indicator = self._indicator(unit, paid.year, econ)
        rule = None
        if paid.year > YEARS[0] and rng.random() < 0.01:  # charged to last year's line (R01)
            indicator, rule = self._indicator(unit, paid.year - 1, econ), "R01"
        claimant = rng.choice(self.staff[unit.code])
        submitted = shift(rng, paid, -10, -1)
        invoices = [self._invoice(unit, econ, submitted, paid)
                    for _ in range(rng.choices((1, 2, 3), (0.55, 0.3, 0.15))[0])]
        if any(inv.get("_dup") for inv in invoices):
            rule = "R08"
        total = sum(inv["jshj_fen"] for inv in invoices)
        title = self._title(unit, category, paid)
        approval_id = None
        if category in _NEEDS_APPROVAL or rng.random() < 0.3:
            if rng.random() < 0.04:
                rule = "R06"  # claimed without the approval it needed
            else:
                issued = min(inv["kpsj"] for inv in invoices)
                row, rule = self._approval(unit, category, title, claimant, indicator, total,
                                           issued, submitted, rule)
                approval_id = row["sp_id"]
                yield CW_SQSP, row
        status = self._payment_status(paid)
        claim_id = self._next("claim")
        yield CW_BXD, {
            "bxd_id": claim_id, "qhdm": unit.code, "bxdh": f"BX{paid.year}{claim_id:07d}",
            "bxr": claimant.name, "sp_id": approval_id, "zb_id": indicator, "bxje_fen": total,
            "bxzt": self.claim_status["APPROVED" if status == "PENDING" else "PAID"],
            "tjsj": submitted,
        }
        for inv in invoices:
            self.recent_invoices.append(inv)
            yield CW_FP, _invoice_row(inv, claim_id)
        if len(invoices) == 1 and rng.random() < 0.45:
            seller = invoices[0]
            payee = Payee(seller["xfmc"], "ORG", None, seller["_account"])
            method = "TREASURY" if rng.random() < 0.5 else "TRANSFER"
        else:
            payee, method = self._person_payee(claimant, card=rng.random() < 0.6)
        yield self._payment(unit, paid, econ, indicator, claim_id, method, payee, total,
                            f"支付{claimant.name}报销款：{title}", status, rule)
        if rng.random() < 0.12:
            yield from self._unpaid_claim(unit, paid)
        if rng.random() < 0.10:
            yield self._loose_approval(unit, paid)
        return 1

    def _approval(
        self, unit: RegionNode, category: str, title: str, applicant: Person, indicator: int,
        total: int, issued: dt.datetime, claimed: dt.datetime, rule: str | None,
    ) -> tuple[Row, str | None]:
        rng = self.rng
        planned = (int(total * rng.uniform(1.0, 1.3)) // 10000 + 1) * 10000
        if rng.random() < 0.04:
            planned, rule = int(total / rng.uniform(1.15, 1.5)) // 100 * 100, "R07"
        if rng.random() < 0.03:  # back-dated: approved after the invoice was issued (R06)
            approved = min(shift(rng, issued, 1, 8), claimed)
            rule = "R06"
        else:
            approved = shift(rng, issued, -15, -1)
        slow = rng.random() < 0.03  # an approval step far over its time limit (R15)
        submitted = shift(rng, approved, -40, -15) if slow else shift(rng, approved, -4, -0.2)
        submitted = min(submitted, approved)
        return {
            "sp_id": self._next("approval"), "qhdm": unit.code, "zb_id": indicator,
            "splb": self.approval_codes["category"][category], "spsx": title,
            "sqr": applicant.name, "jhje_fen": planned,
            "spzt": self.approval_codes["status"]["APPROVED"], "tjsj": submitted,
            "spsj": approved,
        }, rule

    def _loose_approval(self, unit: RegionNode, when: dt.datetime) -> tuple[sa.Table, Row]:
        """An approval not (yet) claimed against: drafts, pending, approved and rejected."""
        rng = self.rng
        category = choose(rng, _CATEGORIES)
        econ = rng.choice(_CATEGORY_ECON[category])
        status = choose(rng, {"DRAFT": 0.2, "SUBMITTED": 0.3, "APPROVED": 0.3, "REJECTED": 0.2})
        low, high, _ = _RANGES[econ]
        indicator = None if status == "DRAFT" and rng.random() < 0.3 else \
            self._indicator(unit, when.year, econ)
        return CW_SQSP, {
            "sp_id": self._next("approval"), "qhdm": unit.code, "zb_id": indicator,
            "splb": self.approval_codes["category"][category],
            "spsx": self._title(unit, category, when),
            "sqr": rng.choice(self.staff[unit.code]).name,
            "jhje_fen": fen(rng, low, high, 10000),
            "spzt": self.approval_codes["status"][status], "tjsj": when,
            "spsj": shift(rng, when, 0.2, 5) if status == "APPROVED" else None,
        }

    def _unpaid_claim(self, unit: RegionNode, when: dt.datetime) -> Emitted:
        rng = self.rng
        econ = rng.choice(("30201", "30211", "30217", "30299"))
        status = choose(rng, {"SUBMITTED": 0.4, "APPROVED": 0.25, "REJECTED": 0.35})
        invoices = [self._invoice(unit, econ, when, when) for _ in range(rng.randint(1, 2))]
        claim_id = self._next("claim")
        yield CW_BXD, {
            "bxd_id": claim_id, "qhdm": unit.code, "bxdh": f"BX{when.year}{claim_id:07d}",
            "bxr": rng.choice(self.staff[unit.code]).name, "sp_id": None,
            "zb_id": self._indicator(unit, when.year, econ),
            "bxje_fen": sum(inv["jshj_fen"] for inv in invoices),
            "bxzt": self.claim_status[status], "tjsj": when,
        }
        for inv in invoices:
            yield CW_FP, _invoice_row(inv, claim_id)

    def _invoice(
        self, unit: RegionNode, econ: str, before: dt.datetime, paid: dt.datetime
    ) -> Row:
        rng = self.rng
        invoice_id = self._next("invoice")
        if self.recent_invoices and rng.random() < 0.005:  # the same invoice claimed twice
            original = rng.choice(self.recent_invoices)
            return {**original, "fp_id": invoice_id, "qhdm": unit.code, "_dup": True}
        county = unit.county if rng.random() < 0.85 else rng.choice(sorted(self.orgs))
        seller: Org = rng.choice(self.orgs[county][rng.choice(texts.SELLER_TRADES[econ])])
        issued = shift(rng, before, -20, -0.5)
        low, high, step = _RANGES[econ]
        amount = self._amount(unit, paid, fen(rng, low, high, step))
        if issued < dt.datetime(2023, 12, 1) or rng.random() < 0.2:
            code = f"0{unit.code[:4]}{issued:%y}{rng.randrange(1000):03d}11"
            number = f"{_scramble(invoice_id, _P8):08d}"
        else:  # 数电票: one 20-digit number, no code
            code = None
            number = f"{issued:%y}332{_scramble(invoice_id, _P15):015d}"
        return {
            "fp_id": invoice_id, "qhdm": unit.code, "fpdm": code, "fphm": number,
            "xfmc": seller.name, "xfsh": seller.tax_id, "jshj_fen": amount, "kpsj": issued,
            "_account": seller.account,
        }

    def _org(self, unit: RegionNode, paid: dt.datetime, room: int) -> Gen:
        rng = self.rng
        econ = choose(rng, {"30227": 0.35, "31002": 0.12, "30231": 0.2, "30201": 0.23,
                            "30299": 0.1})
        org = self._supplier(unit, econ)
        low, high, step = _RANGES[econ]
        yield self._payment(
            unit, paid, econ, self._indicator(unit, paid.year, econ), None,
            "TREASURY" if rng.random() < 0.6 else "TRANSFER",
            Payee(org.name, "ORG", None, org.account),
            self._amount(unit, paid, fen(rng, low, high, step)), self._purpose(org.trade, paid))
        return 1

    def _labour(self, unit: RegionNode, paid: dt.datetime, room: int) -> Gen:
        rng = self.rng
        worker = rng.choice(self.workers[unit.code])
        payee, _ = self._person_payee(worker, card=False)
        if rng.random() < 0.05:  # ID number not recorded
            payee = Payee(payee.name, "PERSON", None, payee.account)
        rule = None
        if rng.random() < 0.04:
            amount, rule = fen(rng, 50000, 150000, 100), "R12"
        else:
            amount = self._amount(unit, paid, fen(rng, 500, 6000, 100))
        yield self._payment(unit, paid, "30226", self._indicator(unit, paid.year, "30226"),
                            None, "TRANSFER", payee, amount, self._purpose("30226", paid),
                            rule=rule)
        return 1

    def _relief(self, unit: RegionNode, paid: dt.datetime, room: int) -> Gen:
        rng = self.rng
        person = self.ctx.ids.person(rng, unit.county, _born(rng, 1940, 1990))
        payee = Payee(person.name, "PERSON", person.id_number, bank_card(rng, "623091"))
        yield self._payment(unit, paid, "30305", self._indicator(unit, paid.year, "30305"),
                            None, "TRANSFER", payee, fen(rng, 500, 5000, 10000),
                            self._purpose("30305", paid))
        return 1

    def _cash(self, unit: RegionNode, paid: dt.datetime, room: int) -> Gen:
        rng = self.rng
        econ = rng.choice(("30201", "30217", "30299"))
        # Cash leaves no account behind: the source system stores an empty one.
        if rng.random() < 0.6:
            org = self._supplier(unit, econ)
            payee, purpose = Payee(org.name, "ORG", None, ""), self._purpose(org.trade, paid)
        else:
            payee = Payee(rng.choice(self.staff[unit.code]).name, "PERSON", None, "")
            purpose = self._purpose(econ, paid)
        rule = None
        if rng.random() < 0.15:
            amount, rule = fen(rng, 1000, 8000, 100), "R13"
        else:
            amount = fen(rng, 50, 999, 1)
        yield self._payment(unit, paid, econ, self._indicator(unit, paid.year, econ), None,
                            "CASH", payee, amount, purpose, rule=rule)
        return 1

    def _split(self, unit: RegionNode, paid: dt.datetime, room: int) -> Gen:
        """Several payments to one supplier within 30 days, each just under the threshold."""
        rng = self.rng
        econ = rng.choice(("30227", "30227", "31002"))
        org = self._supplier(unit, econ)
        parts = min(room, rng.choice((2, 3)))
        purpose = self._purpose(org.trade, paid)
        when = paid
        for _ in range(parts):
            amount = rng.randrange(int(SPLIT_THRESHOLD_FEN * 0.9), SPLIT_THRESHOLD_FEN, 1000)
            yield self._payment(unit, when, econ, self._indicator(unit, paid.year, econ), None,
                                "TRANSFER", Payee(org.name, "ORG", None, org.account), amount,
                                purpose, rule="R04")
            when = shift(rng, when, 2, 12)
        return parts

    def _unbudgeted(self, unit: RegionNode, paid: dt.datetime, room: int) -> Gen:
        rng = self.rng
        econ = rng.choice(("30299", "30227", "30201"))
        org = self._supplier(unit, econ)
        low, high, step = _RANGES[econ]
        yield self._payment(unit, paid, econ, None, None, "TRANSFER",
                            Payee(org.name, "ORG", None, org.account),
                            fen(rng, low, high, step), self._purpose(org.trade, paid), rule="R01")
        return 1

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
            return int(amount * self.rng.uniform(2, 3))
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


def _scramble(n: int, prime: int) -> int:
    """A permutation of 0..prime-1 that looks random: cubing is a bijection modulo a prime p
    with 3 ∤ p-1, so invoice numbers never collide by accident (only R08 duplicates do)."""
    return pow(n + 7919, 3, prime)


def _invoice_row(invoice: Row, claim_id: int) -> Row:
    """The invoice as stored: without the generator's private `_…` notes."""
    row = {k: v for k, v in invoice.items() if not k.startswith("_")}
    row["bxd_id"] = claim_id
    return row


def _born(rng: random.Random, first: int = 1965, last: int = 1998) -> dt.date:
    return dt.date(rng.randint(first, last), rng.randint(1, 12), rng.randint(1, 28))
