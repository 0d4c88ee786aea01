"""Civil affairs (source: the civil-affairs system): 三务公开 disclosures and the resident
register used for eligibility cross-checks."""

from __future__ import annotations

from typing import Final

from auth.model.specs import Kind, RelationSpec, entity, f, id_field, region_field

ENUMS: Final[dict[str, tuple[str, ...]]] = {
    "DisclosureDomain": ("PARTY", "AFFAIRS", "FINANCE"),
    "DisclosureStatus": ("DRAFT", "REVIEWED", "PUBLISHED", "WITHDRAWN"),
}

ENTITIES: Final = (
    entity(
        "Disclosure", "disclosures", "civil_affairs", "公开事项: a 三务公开 item.",
        [
            id_field("Global id."), region_field(),
            f("domain", Kind.ENUM, "党务, 村(居)务 or 财务.", enum="DisclosureDomain"),
            f("title", Kind.STRING, "Title."),
            f("period", Kind.STRING, "Period covered, e.g. 2024Q1.", format="period"),
            f("body", Kind.STRING, "Text of the item."),
            f("status", Kind.ENUM, "Review state.", enum="DisclosureStatus"),
            f("publishedAt", Kind.DATETIME, "When it was published.", nullable=True),
        ],
    ),
    entity(
        "Resident", "residents", "civil_affairs", "居民登记: for eligibility cross-checks.",
        [
            id_field("Global id."), region_field(),
            f("name", Kind.STRING, "Name."),
            f("idNumber", Kind.STRING, "18-character ID number."),
            f("deceasedOn", Kind.DATE, "Date of death, if recorded.", nullable=True),
            f("lowIncome", Kind.BOOL, "On the 低保 roll."),
        ],
        [
            RelationSpec("subsidies", "Subsidy", "idNumber", "recipientIdNumber", True,
                         "Subsidies paid to this resident's ID number."),
        ],
    ),
)
