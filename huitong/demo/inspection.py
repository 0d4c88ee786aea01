"""The inspection source: cases (问题线索), their rectification orders and the payments they name.

Cases raised by an alert name the payments that tripped a risk rule in the finance data; cases
from petitions, patrols, audits and the public name a sample of the unit's payments, or none.
The link table stores the finance system's payment ids: two systems, one shared key.
"""

from __future__ import annotations

import datetime as dt
from typing import Final

from . import texts
from .common import SNAPSHOT, Context, Emitted, Row, Timeline, choose, code_table, pick, shift, yuan
from .ledger import FinanceFacts, Flagged
from .regions import RegionNode
from .tables import JW_WTXS, JW_XSZF, JW_ZGDB

CASES_PER_SCALE: Final = 100
_SOURCES: Final = {"ALERT": 0.35, "PETITION": 0.2, "PATROL": 0.2, "AUDIT": 0.15, "PUBLIC": 0.1}


class InspectionStage:
    def __init__(self, ctx: Context, finance: FinanceFacts) -> None:
        self.ctx = ctx
        self.rng = ctx.rng("inspection")
        self.count = CASES_PER_SCALE * ctx.scale
        self.finance = finance
        self.timeline = Timeline()
        self.sources = code_table("inspection", "InspectionCase", "source")
        self.statuses = code_table("inspection", "InspectionCase", "status")
        self.fix_statuses = code_table("inspection", "Rectification", "status")
        self._ids = {"fix": 0, "link": 0}

    def rows(self) -> Emitted:
        rng = self.rng
        for i in range(self.count):
            unit = pick(rng, i, self.ctx.units)
            source = choose(rng, _SOURCES)
            payments = self._payments(unit, source)
            case_id = i + 1
            if payments:
                opened = shift(rng, min(p.paid for p in payments), 3, 30)
            else:
                opened = self.timeline.at(rng, rng.uniform(0.1, 1.0))
            opened = min(opened, SNAPSHOT - dt.timedelta(days=2))
            subject, summary = self._texts(unit, source, payments, opened)
            status, closed = self._status(opened)
            yield JW_WTXS, {
                "xs_id": case_id, "qhdm": unit.code, "xsbt": subject,
                "xsly": self.sources[source], "zyqk": summary, "blzt": self.statuses[status],
                "slsj": opened, "bjsj": closed,
            }
            for payment in payments:
                self._ids["link"] += 1
                yield JW_XSZF, {"gl_id": self._ids["link"], "qhdm": unit.code, "xs_id": case_id,
                                "zfmx_id": payment.payment_id}
            yield from self._rectifications(unit, case_id, status, opened)

    def _payments(self, unit: RegionNode, source: str) -> list[Flagged]:
        rng = self.rng
        flagged = self.finance.flagged.get(unit.code, [])
        sample = self.finance.sample.get(unit.code, [])
        if source == "ALERT" and flagged:
            first = rng.choice(flagged)
            related = [f for f in flagged if f.rule == first.rule and f.payee == first.payee
                       and f is not first and abs((f.paid - first.paid).days) <= 30]
            return [first, *related[:2]]
        if sample and (source == "ALERT" or rng.random() < 0.5):
            return rng.sample(sample, min(len(sample), rng.randint(1, 2)))
        return []

    def _texts(
        self, unit: RegionNode, source: str, payments: list[Flagged], opened: dt.datetime
    ) -> tuple[str, str]:
        rng = self.rng
        name = self.ctx.by_code[unit.code[:9] + "000"].name + (
            unit.name if unit.level == "VILLAGE" else "")
        topic = rng.choice(texts.CASE_TOPICS)
        if source == "ALERT":
            first = payments[0] if payments else None
            rule = first.rule if first is not None and first.rule else ""
            subject = texts.CASE_SUBJECTS.get(rule, "{unit}支出异常预警").format(unit=name)
            if first is None:
                return subject, f"系统预警：{name}支出存在异常，需进一步核实。"
            template = texts.RULE_SUMMARIES.get(rule, texts.ALERT_GENERIC)
            day = f"{first.paid.year}年{first.paid.month}月{first.paid.day}日"
            return subject, template.format(date=day, payee=first.payee,
                                            amount=yuan(first.amount))
        subject = texts.CASE_SUBJECTS[source].format(unit=name, topic=topic)
        amount = sum(p.amount for p in payments) or rng.randrange(500_000, 50_000_000, 100)
        year = payments[0].paid.year if payments else opened.year
        return subject, texts.OTHER_SUMMARY.format(unit=name, y=year, topic=topic,
                                                   amount=yuan(amount))

    def _status(self, opened: dt.datetime) -> tuple[str, dt.datetime | None]:
        rng = self.rng
        if opened > dt.datetime(2024, 10, 15):
            status = choose(rng, {"OPEN": 0.6, "INVESTIGATING": 0.4})
        else:
            status = choose(rng, {"CLOSED": 0.55, "INVESTIGATING": 0.3, "OPEN": 0.15})
        if status != "CLOSED":
            return status, None
        closed = shift(rng, opened, 20, 150)
        return ("CLOSED", closed) if closed < SNAPSHOT else ("INVESTIGATING", None)

    def _rectifications(
        self, unit: RegionNode, case_id: int, status: str, opened: dt.datetime
    ) -> Emitted:
        rng = self.rng
        orders = {"CLOSED": rng.randint(1, 3), "INVESTIGATING": rng.randint(0, 2),
                  "OPEN": 1 if rng.random() < 0.2 else 0}[status]
        for _ in range(orders):
            deadline = (opened + dt.timedelta(days=rng.randint(30, 120))).date()
            if status == "CLOSED":
                fix = choose(rng, {"DONE": 0.85, "OVERDUE": 0.15})
            elif deadline < SNAPSHOT.date():
                fix = choose(rng, {"DONE": 0.6, "OVERDUE": 0.25, "IN_PROGRESS": 0.15})
            else:
                fix = choose(rng, {"PENDING": 0.45, "IN_PROGRESS": 0.55})
            yield JW_ZGDB, self._order(unit, case_id, deadline, fix)

    def _order(self, unit: RegionNode, case_id: int, deadline: dt.date, fix: str) -> Row:
        rng = self.rng
        amount = yuan(rng.randrange(50_000, 2_000_000, 100))
        feedback: str | None = None
        if fix == "DONE":
            feedback = rng.choice(texts.FEEDBACK_DONE).format(amount=amount)
        elif fix == "IN_PROGRESS" and rng.random() < 0.6:
            feedback = rng.choice(texts.FEEDBACK_PROGRESS).format(amount=amount)
        elif fix == "OVERDUE" and rng.random() < 0.5:
            feedback = rng.choice(texts.FEEDBACK_OVERDUE)
        self._ids["fix"] += 1
        return {
            "zg_id": self._ids["fix"], "qhdm": unit.code, "xs_id": case_id,
            "zgyq": rng.choice(texts.REQUIREMENTS), "zgqx": deadline,
            "zgzt": self.fix_statuses[fix], "zgfk": feedback,
        }
