"""The canonical entities: every entity, field and relation the hub can expose.

This is the one description that the schema builder, the policy checker, the connectors'
mappings and the scoping step all agree on. It is plain data: nothing here knows about
GraphQL, SQL or HTTP.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum
from types import MappingProxyType
from typing import Final


class Kind(StrEnum):
    """The value kind of a canonical field; decides its GraphQL scalar and its coercion."""

    ID = "id"
    STRING = "string"
    INT = "int"
    BOOL = "bool"
    MONEY = "money"
    DATE = "date"
    DATETIME = "datetime"
    REGION_CODE = "region_code"
    ENUM = "enum"


@dataclass(frozen=True)
class FieldSpec:
    name: str
    kind: Kind
    description: str
    nullable: bool = False
    enum: str | None = None
    # Foreign keys are filterable inputs and join keys, but not output fields: callers follow
    # the relation instead, so a key never bypasses the target entity's own policy.
    output: bool = True
    references: str | None = None


@dataclass(frozen=True)
class RelationSpec:
    """A link from one entity to another: rows of `target` whose `remote` equals our `local`.

    With `via`, the link goes through a link entity: rows of `via` whose `via_local` equals our
    `local`, then rows of `target` whose `remote` equals the link's `via_remote`.
    """

    name: str
    target: str
    local: str
    remote: str
    many: bool
    description: str
    via: str | None = None
    via_local: str | None = None
    via_remote: str | None = None
    # A region's rows: every `target` row whose regionCode lies in this region's subtree,
    # served as a paged connection.
    subtree: bool = False


@dataclass(frozen=True)
class EntitySpec:
    name: str
    plural: str
    domain: str
    description: str
    fields: MappingProxyType[str, FieldSpec]
    relations: MappingProxyType[str, RelationSpec] = field(
        default_factory=lambda: MappingProxyType({})
    )
    # Internal entities (link tables) exist for policies and connectors, never as GraphQL types.
    exposed: bool = True


ENUMS: Final[MappingProxyType[str, tuple[str, ...]]] = MappingProxyType(
    {
        "RegionLevel": ("PROVINCE", "CITY", "COUNTY", "TOWNSHIP", "VILLAGE"),
        "ApprovalCategory": (
            "MEETING", "TRAINING", "TRAVEL", "RECEPTION", "PROCUREMENT", "PROJECT", "OTHER",
        ),
        "PreApprovalStatus": ("DRAFT", "SUBMITTED", "APPROVED", "REJECTED"),
        "ReimbursementStatus": ("SUBMITTED", "APPROVED", "REJECTED", "PAID"),
        "PaymentMethod": ("TREASURY", "TRANSFER", "OFFICIAL_CARD", "CASH"),
        "PayeeKind": ("ORG", "PERSON"),
        "PaymentStatus": ("PENDING", "PAID", "RETURNED"),
        "SubsidyResult": ("SUCCESS", "FAILED", "RETURNED"),
        "DisclosureDomain": ("PARTY", "AFFAIRS", "FINANCE"),
        "DisclosureStatus": ("DRAFT", "REVIEWED", "PUBLISHED", "WITHDRAWN"),
        "CaseSource": ("ALERT", "PETITION", "PATROL", "AUDIT", "PUBLIC"),
        "CaseStatus": ("OPEN", "INVESTIGATING", "CLOSED"),
        "RectificationStatus": ("PENDING", "IN_PROGRESS", "DONE", "OVERDUE"),
    }
)


def _f(name: str, kind: Kind, description: str, **kw: object) -> FieldSpec:
    return FieldSpec(name, kind, description, **kw)  # type: ignore[arg-type]


def _entity(
    name: str,
    plural: str,
    domain: str,
    description: str,
    fields: list[FieldSpec],
    relations: list[RelationSpec] = (),  # type: ignore[assignment]
    exposed: bool = True,
) -> EntitySpec:
    return EntitySpec(
        name=name,
        plural=plural,
        domain=domain,
        description=description,
        fields=MappingProxyType({f.name: f for f in fields}),
        relations=MappingProxyType({r.name: r for r in relations}),
        exposed=exposed,
    )


def _id(description: str) -> FieldSpec:
    return _f("id", Kind.ID, description)


def _region() -> FieldSpec:
    return _f("regionCode", Kind.REGION_CODE, "12-digit 统计用区划代码 of the owning unit.")


def _ref(name: str, target: str, description: str, nullable: bool = False) -> FieldSpec:
    return _f(name, Kind.ID, description, output=False, references=target, nullable=nullable)


def _to_one(name: str, target: str, local: str, description: str) -> RelationSpec:
    return RelationSpec(name, target, local, "id", False, description)


def _to_many(name: str, target: str, remote: str, description: str) -> RelationSpec:
    return RelationSpec(name, target, "id", remote, True, description)


_BASE_ENTITIES: Final[dict[str, EntitySpec]] = (
    {
        e.name: e
        for e in [
            _entity(
                "Region", "regions", "reference", "A node of the five-level region tree.",
                [
                    _id("The region's 12-digit code, as a global id."),
                    _f("code", Kind.REGION_CODE, "12-digit 统计用区划代码."),
                    _f("name", Kind.STRING, "Official name, e.g. 西兴街道."),
                    _f("level", Kind.ENUM, "Level in the tree.", enum="RegionLevel"),
                    _f("parentCode", Kind.REGION_CODE, "Parent region code.", nullable=True,
                       output=False, references="Region"),
                ],
                [
                    RelationSpec("parent", "Region", "parentCode", "code", False,
                                 "The enclosing region."),
                    RelationSpec("children", "Region", "code", "parentCode", True,
                                 "Regions directly below this one."),
                ],
            ),
            _entity(
                "BudgetIndicator", "budgetIndicators", "finance",
                "预算指标: an approved budget line.",
                [
                    _id("Global id."), _region(),
                    _f("fiscalYear", Kind.INT, "Budget year."),
                    _f("indicatorNo", Kind.STRING, "Indicator number (指标文号)."),
                    _f("name", Kind.STRING, "Indicator name."),
                    _f("functionCode", Kind.STRING, "7-digit 支出功能分类 code."),
                    _f("economicCode", Kind.STRING, "5-digit 经济分类 code."),
                    _f("amount", Kind.MONEY, "Approved amount."),
                    _f("used", Kind.MONEY, "Amount already paid."),
                    _f("available", Kind.MONEY, "Amount still available."),
                ],
                [
                    _to_many("preApprovals", "PreApproval", "budgetIndicatorId",
                             "Pre-approvals charged to this indicator."),
                    _to_many("payments", "Payment", "budgetIndicatorId",
                             "Payments charged to this indicator."),
                ],
            ),
            _entity(
                "PreApproval", "preApprovals", "finance", "事前审批: approval before spending.",
                [
                    _id("Global id."), _region(),
                    _ref("budgetIndicatorId", "BudgetIndicator", "Indicator charged.",
                         nullable=True),
                    _f("category", Kind.ENUM, "Kind of spending.", enum="ApprovalCategory"),
                    _f("title", Kind.STRING, "What is to be spent on."),
                    _f("applicantName", Kind.STRING, "Applicant."),
                    _f("plannedAmount", Kind.MONEY, "Planned amount."),
                    _f("status", Kind.ENUM, "Approval state.", enum="PreApprovalStatus"),
                    _f("submittedAt", Kind.DATETIME, "When it was submitted."),
                    _f("approvedAt", Kind.DATETIME, "When it was approved.", nullable=True),
                ],
                [
                    _to_one("budgetIndicator", "BudgetIndicator", "budgetIndicatorId",
                            "Indicator charged."),
                    _to_many("reimbursements", "Reimbursement", "preApprovalId",
                             "Claims made under this approval."),
                ],
            ),
            _entity(
                "Reimbursement", "reimbursements", "finance", "报销: an expense claim.",
                [
                    _id("Global id."), _region(),
                    _f("claimNo", Kind.STRING, "Claim number."),
                    _f("claimantName", Kind.STRING, "Claimant."),
                    _ref("preApprovalId", "PreApproval", "Approval claimed under.",
                         nullable=True),
                    _ref("budgetIndicatorId", "BudgetIndicator", "Indicator charged.",
                         nullable=True),
                    _f("total", Kind.MONEY, "Claimed total."),
                    _f("status", Kind.ENUM, "Claim state.", enum="ReimbursementStatus"),
                    _f("submittedAt", Kind.DATETIME, "When it was submitted."),
                ],
                [
                    _to_one("preApproval", "PreApproval", "preApprovalId", "The approval."),
                    _to_one("budgetIndicator", "BudgetIndicator", "budgetIndicatorId",
                            "Indicator charged."),
                    _to_many("invoices", "Invoice", "reimbursementId", "Invoices attached."),
                    RelationSpec("payment", "Payment", "id", "reimbursementId", False,
                                 "The payment that settled this claim."),
                ],
            ),
            _entity(
                "Payment", "payments", "finance", "支付: money leaving the unit's accounts.",
                [
                    _id("Global id."), _region(),
                    _f("paymentNo", Kind.STRING, "Payment voucher number."),
                    _ref("budgetIndicatorId", "BudgetIndicator", "Indicator charged.",
                         nullable=True),
                    _ref("reimbursementId", "Reimbursement", "Claim settled.", nullable=True),
                    _f("method", Kind.ENUM, "How it was paid.", enum="PaymentMethod"),
                    _f("payeeName", Kind.STRING, "Payee."),
                    _f("payeeKind", Kind.ENUM, "Organisation or person.", enum="PayeeKind"),
                    _f("payeeIdNumber", Kind.STRING, "Personal payee's ID number.",
                       nullable=True),
                    _f("payeeAccount", Kind.STRING, "Payee bank account."),
                    _f("amount", Kind.MONEY, "Amount paid."),
                    _f("purpose", Kind.STRING, "Stated purpose."),
                    _f("functionCode", Kind.STRING, "7-digit 支出功能分类 code."),
                    _f("economicCode", Kind.STRING, "5-digit 经济分类 code."),
                    _f("paidAt", Kind.DATETIME, "When it was paid."),
                    _f("status", Kind.ENUM, "Payment state.", enum="PaymentStatus"),
                ],
                [
                    _to_one("budgetIndicator", "BudgetIndicator", "budgetIndicatorId",
                            "Indicator charged."),
                    _to_one("reimbursement", "Reimbursement", "reimbursementId",
                            "The claim this payment settled."),
                    RelationSpec("inspectionCases", "InspectionCase", "id", "id", True,
                                 "Inspection cases that name this payment.",
                                 via="CasePayment", via_local="paymentId", via_remote="caseId"),
                ],
            ),
            _entity(
                "Invoice", "invoices", "finance", "发票: an invoice attached to a claim.",
                [
                    _id("Global id."), _region(),
                    _f("invoiceCode", Kind.STRING, "12-digit 发票代码 (empty for 数电票).",
                       nullable=True),
                    _f("invoiceNumber", Kind.STRING, "发票号码 (20 digits for 数电票)."),
                    _f("sellerName", Kind.STRING, "Seller."),
                    _f("sellerTaxId", Kind.STRING, "Seller's 统一社会信用代码."),
                    _f("total", Kind.MONEY, "Invoice total."),
                    _f("issuedAt", Kind.DATETIME, "Issue time."),
                    _ref("reimbursementId", "Reimbursement", "Claim it is attached to.",
                         nullable=True),
                ],
                [_to_one("reimbursement", "Reimbursement", "reimbursementId", "The claim.")],
            ),
            _entity(
                "Subsidy", "subsidies", "finance", "惠民惠农补贴发放: one subsidy payout.",
                [
                    _id("Global id."), _region(),
                    _f("batchNo", Kind.STRING, "Payout batch."),
                    _f("subsidyType", Kind.STRING, "Kind of subsidy."),
                    _f("period", Kind.STRING, "Period paid for, e.g. 2024-03."),
                    _f("recipientName", Kind.STRING, "Recipient."),
                    _f("recipientIdNumber", Kind.STRING, "Recipient's ID number."),
                    _f("amount", Kind.MONEY, "Amount paid."),
                    _f("bankCard", Kind.STRING, "Card paid into (一卡通)."),
                    _f("paidAt", Kind.DATETIME, "When it was paid."),
                    _f("result", Kind.ENUM, "Payout result.", enum="SubsidyResult"),
                    _f("published", Kind.BOOL, "Whether the batch list has been 公示."),
                ],
                [
                    RelationSpec("recipient", "Resident", "recipientIdNumber", "idNumber", False,
                                 "The resident with the recipient's ID number."),
                ],
            ),
            _entity(
                "Disclosure", "disclosures", "civil_affairs", "公开事项: a 三务公开 item.",
                [
                    _id("Global id."), _region(),
                    _f("domain", Kind.ENUM, "党务, 村(居)务 or 财务.", enum="DisclosureDomain"),
                    _f("title", Kind.STRING, "Title."),
                    _f("period", Kind.STRING, "Period covered, e.g. 2024Q1."),
                    _f("body", Kind.STRING, "Text of the item."),
                    _f("status", Kind.ENUM, "Review state.", enum="DisclosureStatus"),
                    _f("publishedAt", Kind.DATETIME, "When it was published.", nullable=True),
                ],
            ),
            _entity(
                "Resident", "residents", "civil_affairs", "居民登记: for eligibility cross-checks.",
                [
                    _id("Global id."), _region(),
                    _f("name", Kind.STRING, "Name."),
                    _f("idNumber", Kind.STRING, "18-character ID number."),
                    _f("deceasedOn", Kind.DATE, "Date of death, if recorded.", nullable=True),
                    _f("lowIncome", Kind.BOOL, "On the 低保 roll."),
                ],
                [
                    RelationSpec("subsidies", "Subsidy", "idNumber", "recipientIdNumber", True,
                                 "Subsidies paid to this resident's ID number."),
                ],
            ),
            _entity(
                "InspectionCase", "inspectionCases", "inspection", "问题线索/案件.",
                [
                    _id("Global id."), _region(),
                    _f("subject", Kind.STRING, "Subject of the case."),
                    _f("source", Kind.ENUM, "Where the lead came from.", enum="CaseSource"),
                    _f("summary", Kind.STRING, "Summary."),
                    _f("status", Kind.ENUM, "Case state.", enum="CaseStatus"),
                    _f("openedAt", Kind.DATETIME, "When it was opened."),
                    _f("closedAt", Kind.DATETIME, "When it was closed.", nullable=True),
                ],
                [
                    RelationSpec("payments", "Payment", "id", "id", True,
                                 "Payments named in the case.",
                                 via="CasePayment", via_local="caseId", via_remote="paymentId"),
                    _to_many("rectifications", "Rectification", "caseId",
                             "Rectifications ordered."),
                ],
            ),
            _entity(
                "Rectification", "rectifications", "inspection", "整改: a rectification order.",
                [
                    _id("Global id."), _region(),
                    _ref("caseId", "InspectionCase", "The case that ordered it."),
                    _f("requirement", Kind.STRING, "What must be put right."),
                    _f("deadline", Kind.DATE, "Deadline."),
                    _f("status", Kind.ENUM, "Progress.", enum="RectificationStatus"),
                    _f("feedback", Kind.STRING, "The unit's feedback.", nullable=True),
                ],
                [_to_one("case", "InspectionCase", "caseId", "The case that ordered it.")],
            ),
            _entity(
                "CasePayment", "casePayments", "inspection", "Link: a payment named in a case.",
                [
                    _id("Link id."), _region(),
                    _ref("caseId", "InspectionCase", "The case."),
                    _ref("paymentId", "Payment", "The payment (in the finance source)."),
                ],
                exposed=False,
            ),
        ]
    }
)


def _with_region_subtrees(entities: dict[str, EntitySpec]) -> dict[str, EntitySpec]:
    """Give Region one subtree connection per exposed entity that carries a regionCode."""
    region = entities["Region"]
    subtrees = {
        spec.plural: RelationSpec(
            spec.plural, spec.name, "code", "regionCode", True,
            f"{spec.name} rows anywhere in this region's subtree.", subtree=True,
        )
        for spec in entities.values()
        if spec.exposed and "regionCode" in spec.fields
    }
    relations = MappingProxyType({**region.relations, **subtrees})
    return {**entities, "Region": replace(region, relations=relations)}


ENTITIES: Final = MappingProxyType(_with_region_subtrees(_BASE_ENTITIES))

