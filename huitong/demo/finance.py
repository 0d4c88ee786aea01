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
from collections.abc import Generator
from typing import Final

import sqlalchemy as sa

from . import texts
from .common import YEARS, Emitted, Row, choose, fen, pick, shift
from .ledger import (
    CASH_LIMIT_FEN,
    PAYMENTS_PER_SCALE,
    RANGES,
    SPLIT_THRESHOLD_FEN,
    FinanceFacts,
    Flagged,
    Ledger,
    Payee,
    born,
)
from .people import Org, Person, bank_card
from .regions import RegionNode
from .tables import CW_BXD, CW_FP, CW_SQSP

__all__ = ["CASH_LIMIT_FEN", "PAYMENTS_PER_SCALE", "SPLIT_THRESHOLD_FEN", "FinanceFacts",
           "FinanceStage", "Flagged"]

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
_P8: Final = 99_999_989  # the largest primes below 10^8 and 10^15 with p ≡ 2 (mod 3)
_P15: Final = 999_999_999_999_989

Gen = Generator[tuple[sa.Table, Row], None, int]


class FinanceStage(Ledger):
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
        low, high, _ = RANGES[econ]
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
        low, high, step = RANGES[econ]
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
        low, high, step = RANGES[econ]
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
        person = self.ctx.ids.person(rng, unit.county, born(rng, 1940, 1990))
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
        limit_yuan = CASH_LIMIT_FEN // 100
        if rng.random() < 0.15:
            amount, rule = fen(rng, limit_yuan, 8 * limit_yuan, 100), "R13"
        else:
            amount = fen(rng, 50, limit_yuan - 1, 1)
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
        # Keep the run inside the demo period (and its fiscal year).
        when = min(paid, dt.datetime(paid.year, 12, 31) - dt.timedelta(days=12 * parts))
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
        low, high, step = RANGES[econ]
        yield self._payment(unit, paid, econ, None, None, "TRANSFER",
                            Payee(org.name, "ORG", None, org.account),
                            fen(rng, low, high, step), self._purpose(org.trade, paid), rule="R01")
        return 1


def _scramble(n: int, prime: int) -> int:
    """A permutation of 0..prime-1 that looks random: cubing is a bijection modulo a prime p
    with 3 ∤ p-1, so invoice numbers never collide by accident (only R08 duplicates do)."""
    return pow(n + 7919, 3, prime)


def _invoice_row(invoice: Row, claim_id: int) -> Row:
    """The invoice as stored: without the generator's private `_…` notes."""
    row = {k: v for k, v in invoice.items() if not k.startswith("_")}
    row["bxd_id"] = claim_id
    return row
