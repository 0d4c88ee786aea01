"""Canary rows for the leak suite: what is planted in the source databases, and who may see it.

Every text cell of every planted row holds a unique canary token (`CNRY0001X` …). Rows sit
in three places: inside 西兴街道 (every role's scope), inside 滨江区 but outside 西兴 (not the
finance officer's), and in 上城区 (nobody's jurisdiction; the public sees published items
anywhere). Some rows are unpublished, drafts or pending, and some link across scopes (an
in-scope claim paid by an out-of-scope payment …), so relations are tested too.

Which role may see which token is derived from the demo policy (fields, masks, row rules),
not hand-listed: a token is visible to a role when some cell holding it is on a row the role's
row rule admits, in a field the role is granted in clear. Masked fields never show the token
(the maskers hide its middle); absent fields never show anything.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from auth.access.policy import Policy, RolePolicy, load_policy
from auth.model.catalog import ENTITIES, Kind
from huitong.demo.config import DEMO_PRINCIPALS, POLICY_PATH

_LOADED: Policy = load_policy(POLICY_PATH)
# The roles callers can act in (a system role has no schema: tests/leaks/test_changes.py
# checks that it cannot be reached).
POLICY: Policy = replace(_LOADED, roles={n: r for n, r in _LOADED.roles.items()
                                         if not r.system})
ROLES: tuple[str, ...] = tuple(sorted(POLICY.roles))

IN_FO = "330108001009"  # a community of 西兴街道: inside every role's jurisdiction
IN_DIST = "330108002009"  # 长河街道: 滨江区, but outside the finance officer's street
OOS = "330102001009"  # 上城区湖滨街道: outside every jurisdiction
MISSING_ID = 999_999  # a raw id no table holds
ID_FIELDS = frozenset({"payeeIdNumber", "recipientIdNumber", "idNumber"})
WHEN = dt.datetime(2024, 11, 18, 10, 30)


def prefix_of(code: str) -> str:
    """The jurisdiction prefix of a 12-digit code: cut after its last non-zero segment."""
    for end in (12, 9, 6, 4, 2):
        start = {12: 9, 9: 6, 6: 4, 4: 2, 2: 0}[end]
        if code[start:end].strip("0"):
            return code[:end]
    return code[:2]


def principal_region(role: str) -> str | None:
    entry = DEMO_PRINCIPALS.get(role)
    return entry[2] if entry else None


@dataclass(frozen=True)
class Ref:
    """The value of another plant's field (a join key: a resident's ID number)."""

    plant: str
    field: str


@dataclass(frozen=True)
class Plant:
    key: str
    entity: str
    raw_id: int
    region: str
    values: Mapping[str, Any] = field(default_factory=dict)


def _p(key: str, entity: str, raw_id: int, region: str, **values: Any) -> Plant:
    return Plant(key, entity, raw_id, region, values)


_M = Decimal
PLANTS: tuple[Plant, ...] = (
    # The planted rows' own communities, so that region subtrees can reach them alone.
    _p("G_FO", "Region", int(IN_FO), IN_FO, parentCode=IN_FO[:9] + "000"),
    _p("G_DIST", "Region", int(IN_DIST), IN_DIST, parentCode=IN_DIST[:9] + "000"),
    _p("G_OOS", "Region", int(OOS), OOS, parentCode=OOS[:9] + "000"),
    _p("B_FO", "BudgetIndicator", 900001, IN_FO),
    _p("B_DIST", "BudgetIndicator", 900002, IN_DIST),
    _p("B_OOS", "BudgetIndicator", 900003, OOS),
    _p("PA_FO", "PreApproval", 900001, IN_FO, budgetIndicatorId=900003),
    _p("PA_DIST", "PreApproval", 900002, IN_DIST, budgetIndicatorId=900001),
    _p("PA_OOS", "PreApproval", 900003, OOS, budgetIndicatorId=900001),
    _p("RB_FO", "Reimbursement", 900001, IN_FO, preApprovalId=900003, budgetIndicatorId=900002),
    _p("RB_DIST", "Reimbursement", 900002, IN_DIST, preApprovalId=900001,
       budgetIndicatorId=900001),
    _p("RB_OOS", "Reimbursement", 900003, OOS, preApprovalId=900001, budgetIndicatorId=900001),
    _p("P_FO", "Payment", 900001, IN_FO, budgetIndicatorId=900002, reimbursementId=900003,
       amount=_M("1234.56")),
    _p("P_DIST", "Payment", 900002, IN_DIST, budgetIndicatorId=900001, reimbursementId=900001,
       amount=_M("2345.67")),
    _p("P_OOS", "Payment", 900003, OOS, budgetIndicatorId=900001, reimbursementId=900002,
       amount=_M("3456.78")),
    _p("P_LOOSE", "Payment", 900004, IN_FO, budgetIndicatorId=MISSING_ID,
       reimbursementId=MISSING_ID, status="PENDING", amount=_M("4567.89")),
    _p("I_FO", "Invoice", 900001, IN_FO, reimbursementId=900001),
    _p("I_DIST", "Invoice", 900002, IN_DIST, reimbursementId=900001),
    _p("I_OOS", "Invoice", 900003, OOS, reimbursementId=900001),
    _p("R_IN", "Resident", 900001, IN_FO),
    _p("R_OOS", "Resident", 900002, OOS),
    _p("S_FO_PUB", "Subsidy", 900001, IN_FO, published=True,
       recipientIdNumber=Ref("R_OOS", "idNumber")),
    _p("S_FO_UNPUB", "Subsidy", 900002, IN_FO, published=False,
       recipientIdNumber=Ref("R_IN", "idNumber")),
    _p("S_DIST_PUB", "Subsidy", 900003, IN_DIST, published=True),
    _p("S_OOS_PUB", "Subsidy", 900004, OOS, published=True,
       recipientIdNumber=Ref("R_IN", "idNumber")),
    _p("S_OOS_UNPUB", "Subsidy", 900005, OOS, published=False),
    _p("D_FO_PUB", "Disclosure", 900001, IN_FO, status="PUBLISHED", publishedAt=WHEN),
    _p("D_FO_DRAFT", "Disclosure", 900002, IN_FO, status="DRAFT"),
    _p("D_FO_REV", "Disclosure", 900003, IN_FO, status="REVIEWED"),
    _p("D_FO_WD", "Disclosure", 900004, IN_FO, status="WITHDRAWN", publishedAt=WHEN),
    _p("D_OOS_PUB", "Disclosure", 900005, OOS, status="PUBLISHED", publishedAt=WHEN),
    _p("D_OOS_DRAFT", "Disclosure", 900006, OOS, status="DRAFT"),
    _p("C_IN", "InspectionCase", 900001, IN_FO),
    _p("C_OOS", "InspectionCase", 900002, OOS),
    _p("RF_FO", "Rectification", 900001, IN_FO, caseId=900002),
    _p("RF_DIST", "Rectification", 900002, IN_DIST, caseId=900001),
    _p("RF_OOS", "Rectification", 900003, OOS, caseId=900001),
    _p("L_SEEN", "CasePayment", 900001, IN_FO, caseId=900001, paymentId=900001),
    _p("L_OOS_PAYMENT", "CasePayment", 900002, IN_FO, caseId=900001, paymentId=900003),
    _p("L_OOS_CASE", "CasePayment", 900003, IN_FO, caseId=900002, paymentId=900001),
)
PLANT = {p.key: p for p in PLANTS}

# Values of the fields that carry no canary (enums, codes too short for a token, dates).
DEFAULTS: dict[str, dict[str, Any]] = {
    "BudgetIndicator": {"fiscalYear": 2024, "functionCode": "2010301", "economicCode": "30201",
                        "amount": _M("10000.00"), "used": _M("0.00"),
                        "available": _M("10000.00")},
    "PreApproval": {"category": "OTHER", "plannedAmount": _M("100.00"), "status": "APPROVED",
                    "submittedAt": WHEN, "approvedAt": WHEN},
    "Reimbursement": {"total": _M("100.00"), "status": "PAID", "submittedAt": WHEN},
    "Payment": {"method": "TRANSFER", "payeeKind": "PERSON", "functionCode": "2010301",
                "economicCode": "30201", "paidAt": WHEN, "status": "PAID"},
    "Invoice": {"total": _M("100.00"), "issuedAt": WHEN},
    "Subsidy": {"period": "2024-11", "amount": _M("150.00"), "paidAt": WHEN,
                "result": "SUCCESS"},
    "Disclosure": {"domain": "FINANCE", "publishedAt": None},
    "Resident": {"deceasedOn": None, "lowIncome": True},
    "InspectionCase": {"source": "PATROL", "status": "OPEN", "openedAt": WHEN,
                       "closedAt": None},
    "Rectification": {"deadline": dt.date(2025, 3, 31), "status": "PENDING"},
    "CasePayment": {},
    "Region": {"level": "VILLAGE"},
}


@dataclass(frozen=True)
class Cell:
    plant: Plant
    field: str


class CanaryBook:
    """Planted rows as canonical values, each token's cells, and who may see each token."""

    def __init__(self, policy: Policy, plants: tuple[Plant, ...]) -> None:
        self.policy = policy
        self.rows: dict[str, dict[str, Any]] = {}
        self.cells: dict[str, list[Cell]] = {}
        serial = 0
        for plant in plants:
            spec = ENTITIES[plant.entity]
            row: dict[str, Any] = {"id": plant.raw_id, "regionCode": plant.region,
                                   **DEFAULTS[plant.entity]}
            if plant.entity == "Region":  # keyed by its code, a string
                row.update(id=plant.region, code=plant.region)
            for name, value in plant.values.items():
                row[name] = self.rows[value.plant][value.field] if isinstance(value, Ref) \
                    else value
            for f in spec.fields.values():
                if f.kind is not Kind.STRING:
                    continue
                if f.name not in row:
                    serial += 1
                    new = f"CNRY{serial:04d}X"
                    row[f.name] = f"3301{new}12345" if f.name in ID_FIELDS else new
                held = self.token_in(row[f.name])
                if held is not None:
                    self.cells.setdefault(held, []).append(Cell(plant, f.name))
            self.rows[plant.key] = row
        self._allowed_in: dict[tuple[str, str], frozenset[str]] = {}
        self.allowed = {token: frozenset(r for r in policy.roles
                                         if any(self.cell_visible(r, c) for c in cells))
                        for token, cells in self.cells.items()}

    @staticmethod
    def token_in(value: Any) -> str | None:
        text = str(value or "")
        at = text.find("CNRY")
        return text[at:at + 9] if at >= 0 else None

    def row_visible(self, role: str, entity: str, row: Mapping[str, Any],
                    region: str | None = None) -> bool:
        """The role's row rule, evaluated here independently of the hub."""
        return row_visible(self.policy.roles[role], entity, row, region)

    def cell_visible(self, role: str, cell: Cell, region: str | None = None) -> bool:
        grant = self.policy.roles[role].grant(cell.plant.entity)
        if grant is None or not grant.read or not ENTITIES[cell.plant.entity].exposed:
            return False
        if cell.field not in grant.fields or cell.field in grant.masked:
            return False
        return self.row_visible(role, cell.plant.entity, self.rows[cell.plant.key], region)

    def may_see(self, role: str, token: str, region: str | None = None) -> bool:
        """Whether `role` (acting over `region`, default its demo principal's) may see it."""
        if region is None:
            return role in self.allowed.get(token, frozenset())
        key = (role, region)
        if key not in self._allowed_in:
            self._allowed_in[key] = frozenset(
                t for t, cells in self.cells.items()
                if any(self.cell_visible(role, c, region) for c in cells))
        return token in self._allowed_in[key]

    def tokens(self, key: str) -> dict[str, str]:
        """field → token of one plant's canary cells."""
        row = self.rows[key]
        return {f: t for f, v in row.items() if (t := self.token_in(v)) is not None}

    def visible_plants(self, role: str, entity: str) -> set[str]:
        return {p.key for p in PLANTS if p.entity == entity
                and self.row_visible(role, entity, self.rows[p.key])}


def row_visible(role: RolePolicy, entity: str, row: Mapping[str, Any],
                region: str | None = None) -> bool:
    """The row rule for the role's demo principal, or for one acting over `region`."""
    grant = role.grant(entity)
    if grant is None:
        return False
    if grant.rows == "jurisdiction":
        region = region or principal_region(role.name)
        if region is None or not str(row["regionCode"]).startswith(prefix_of(region)):
            return False
    return all(row.get(c.field) in c.value for c in grant.where)


def tokens_in_text(text: str) -> Iterator[str]:
    at = text.find("CNRY")
    while at >= 0:
        yield text[at:at + 9]
        at = text.find("CNRY", at + 4)


BOOK = CanaryBook(POLICY, PLANTS)
