"""The demo region tree: real codes down to street/township, synthetic communities and villages.

Three districts, so that every role sees data outside its jurisdiction: 杭州市滨江区 (the
main demo district), 杭州市上城区 and 绍兴市柯桥区 (a township with villages, so that 2xx
village codes exist). Codes down to streets are the real 统计用区划代码; 笕桥社区 and 王坛村
are real too; the other communities and villages carry made-up names on plausible codes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from auth.model.regions import level_name, parent_code


@dataclass(frozen=True, slots=True)
class RegionNode:
    code: str
    name: str

    @property
    def level(self) -> str:
        return level_name(self.code)

    @property
    def parent(self) -> str | None:
        return parent_code(self.code)

    @property
    def county(self) -> str:
        return self.code[:6]

    @property
    def is_village(self) -> bool:
        """A 村委会 (200–399), as opposed to a 居委会/社区 (001–199)."""
        return self.level == "VILLAGE" and int(self.code[9:]) >= 200


# Street/township code → its communities and villages, in code order. Names are invented,
# except 笕桥社区 (330102016001) and 王坛村 (330603107200).
_UNITS: Final[dict[str, tuple[str, list[tuple[str, str]]]]] = {
    "330108001000": ("西兴街道", [
        ("001", "东冠社区"), ("002", "江晖社区"), ("003", "星民社区"), ("004", "湘滨社区"),
        ("005", "缤纷社区"), ("006", "铂金社区"), ("007", "钱潮社区"), ("008", "西兴社区"),
    ]),
    "330108002000": ("长河街道", [
        ("001", "长河社区"), ("002", "江一社区"), ("003", "秋溢社区"), ("004", "山一社区"),
        ("005", "塘子堰社区"), ("006", "白马湖社区"), ("007", "聚才社区"),
    ]),
    "330108003000": ("浦沿街道", [
        ("001", "浦沿社区"), ("002", "东信社区"), ("003", "冠山社区"), ("004", "杨家墩社区"),
        ("005", "新生社区"), ("006", "六和社区"), ("007", "山二社区"), ("008", "联庄社区"),
    ]),
    "330102001000": ("湖滨街道", [
        ("001", "东坡社区"), ("002", "青年社区"), ("003", "涌金社区"), ("004", "吴山社区"),
    ]),
    "330102016000": ("笕桥街道", [
        ("001", "笕桥社区"), ("002", "黄家社区"), ("003", "草庵社区"), ("004", "弄口社区"),
        ("005", "横塘社区"),
    ]),
    "330603107000": ("王坛镇", [
        ("001", "王坛社区"), ("200", "王坛村"), ("201", "青坛村"), ("202", "双溪村"),
        ("203", "舜皇村"), ("204", "东村村"), ("205", "丹家村"),
    ]),
}

_UPPER: Final[tuple[tuple[str, str], ...]] = (
    ("330000000000", "浙江省"),
    ("330100000000", "杭州市"),
    ("330108000000", "滨江区"),
    ("330102000000", "上城区"),
    ("330600000000", "绍兴市"),
    ("330603000000", "柯桥区"),
)

# The county part of ID numbers of people registered here before a code change: 笕桥 came
# from 江干区 (330104) in 2021, 柯桥区 was 绍兴县 (330621) until 2013.
FORMER_COUNTY_CODES: Final[dict[str, tuple[str, int]]] = {
    "330102016": ("330104", 2021),
    "330603": ("330621", 2013),
}

# Where people born elsewhere got their ID numbers (Zhejiang and the usual neighbours).
MIGRANT_COUNTY_CODES: Final = (
    "330106", "330105", "330109", "330282", "330381", "330683", "331081", "340104",
    "341222", "342401", "360121", "362330", "410526", "412726", "421182", "510623",
    "522121", "320582",
)

DISTRICT_ABBREVIATIONS: Final[dict[str, str]] = {"330108": "滨", "330102": "上", "330603": "柯"}


def build_tree() -> list[RegionNode]:
    """Every node, parents before children."""
    nodes = [RegionNode(code, name) for code, name in _UPPER]
    for street, (name, children) in _UNITS.items():
        nodes.append(RegionNode(street, name))
        nodes.extend(RegionNode(street[:9] + suffix, child) for suffix, child in children)
    return nodes


def units(tree: list[RegionNode]) -> list[RegionNode]:
    """The nodes that own records: streets/townships (their own offices) and communities."""
    return [n for n in tree if n.level in ("TOWNSHIP", "VILLAGE")]


def full_name(node: RegionNode, by_code: dict[str, RegionNode]) -> str:
    """The unit's name as it heads a notice: 西兴街道东冠社区, 王坛镇王坛村, 滨江区西兴街道."""
    parent = by_code.get(node.parent or "")
    return (parent.name if parent is not None else "") + node.name
