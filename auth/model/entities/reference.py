"""Reference data: the five-level region tree (省-市-区县-街道/乡镇-社区/村)."""

from __future__ import annotations

from typing import Final

from auth.model.specs import Kind, RelationSpec, entity, f, id_field

ENUMS: Final[dict[str, tuple[str, ...]]] = {
    "RegionLevel": ("PROVINCE", "CITY", "COUNTY", "TOWNSHIP", "VILLAGE"),
}

ENTITIES: Final = (
    entity(
        "Region", "regions", "reference", "A node of the five-level region tree.",
        [
            id_field("The region's 12-digit code, as a global id."),
            f("code", Kind.REGION_CODE, "12-digit 统计用区划代码."),
            f("name", Kind.STRING, "Official name, e.g. 西兴街道."),
            f("level", Kind.ENUM, "Level in the tree.", enum="RegionLevel"),
            f("parentCode", Kind.REGION_CODE, "Parent region code.", nullable=True,
              output=False, references="Region"),
        ],
        [
            RelationSpec("parent", "Region", "parentCode", "code", False,
                         "The enclosing region."),
            RelationSpec("children", "Region", "code", "parentCode", True,
                         "Regions directly below this one."),
        ],
    ),
)
