"""Discipline inspection (source: the inspection system): cases, rectification orders and
the link between cases and the payments they name."""

from __future__ import annotations

from typing import Final

from auth.model.specs import (
    Kind,
    RelationSpec,
    entity,
    f,
    id_field,
    key,
    region_field,
    to_many,
    to_one,
)

ENUMS: Final[dict[str, tuple[str, ...]]] = {
    "CaseSource": ("ALERT", "PETITION", "PATROL", "AUDIT", "PUBLIC"),
    "CaseStatus": ("OPEN", "INVESTIGATING", "CLOSED"),
    "RectificationStatus": ("PENDING", "IN_PROGRESS", "DONE", "OVERDUE"),
}

ENTITIES: Final = (
    entity(
        "InspectionCase", "inspectionCases", "inspection", "问题线索/案件.",
        [
            id_field("Global id."), region_field(),
            f("subject", Kind.STRING, "Subject of the case."),
            f("source", Kind.ENUM, "Where the lead came from.", enum="CaseSource"),
            f("summary", Kind.STRING, "Summary."),
            f("status", Kind.ENUM, "Case state.", enum="CaseStatus"),
            f("openedAt", Kind.DATETIME, "When it was opened."),
            f("closedAt", Kind.DATETIME, "When it was closed.", nullable=True),
        ],
        [
            RelationSpec("payments", "Payment", "id", "id", True,
                         "Payments named in the case.",
                         via="CasePayment", via_local="caseId", via_remote="paymentId"),
            to_many("rectifications", "Rectification", "caseId",
                    "Rectifications ordered."),
        ],
    ),
    entity(
        "Rectification", "rectifications", "inspection", "整改: a rectification order.",
        [
            id_field("Global id."), region_field(),
            key("caseId", "InspectionCase", "The case that ordered it."),
            f("requirement", Kind.STRING, "What must be put right."),
            f("deadline", Kind.DATE, "Deadline."),
            f("status", Kind.ENUM, "Progress.", enum="RectificationStatus"),
            f("feedback", Kind.STRING, "The unit's feedback.", nullable=True),
        ],
        [to_one("case", "InspectionCase", "caseId", "The case that ordered it.")],
    ),
    entity(
        "CasePayment", "casePayments", "inspection", "Link: a payment named in a case.",
        [
            id_field("Link id."), region_field(),
            key("caseId", "InspectionCase", "The case."),
            key("paymentId", "Payment", "The payment (in the finance source)."),
        ],
        exposed=False,
    ),
)
