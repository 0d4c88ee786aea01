"""People and organisations for the demo: Chinese names, ID numbers, bank cards, credit codes.

Everything is drawn from a caller's `random.Random`, so the same seed gives the same people.
ID numbers carry valid check characters (see `auth.model.idnumbers`); 统一社会信用代码 carry valid
GB 32100 and GB 11714 check characters; bank cards pass the Luhn check.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from typing import Final

from auth.model.idnumbers import id_check_char, is_valid_id_number

__all__ = [
    "IdIssuer", "Org", "Person", "bank_card", "corporate_account", "credit_code",
    "id_check_char", "is_valid_id_number", "make_orgs", "person_name",
]

def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# Common surnames in Zhejiang, the most frequent repeated so that they come up more often.
_SURNAMES: Final = (
    "王王王王陈陈陈陈张张张李李李吴吴吴徐徐徐周周金金沈沈朱朱胡胡杨杨黄黄钱钱俞俞孙何方蒋叶潘汪章"
    "施楼应赵刘郑林许姚丁邵毛冯袁傅陆马高范顾屠裘骆娄邱鲍盛董韩谢宋唐姜卢蔡余程戴严夏项"
)
_COMPOUND_SURNAMES: Final = ("欧阳", "司马", "诸葛", "上官")

# Given names by birth cohort and sex: names follow fashions, so a 1940s 秀英 and a 2010s 子涵.
_GIVEN: Final[dict[tuple[int, bool], tuple[str, ...]]] = {
    (1900, True): _words("建国 国华 志强 德明 福根 金根 水根 荣华 根土 关林 正国 文龙 阿大 "
                        "炳炎 善富 永福 长林 伟 强 明 华 林 忠 发 荣"),
    (1900, False): _words("秀英 桂英 凤英 秀珍 玉兰 桂花 金花 菊芬 月娥 美娟 宝娣 彩凤 阿娟 "
                         "杏仙 素珍 芳 英 兰 珍 梅 娥"),
    (1960, True): _words("伟 强 军 勇 斌 华 刚 平 建平 建华 卫东 海波 国平 志勇 永明 立新 "
                        "建军 利民 红兵 跃进 晓峰 明"),
    (1960, False): _words("丽 芳 红 燕 萍 霞 丽萍 美芳 红英 雪芬 丽娟 建英 小红 海燕 "
                         "彩霞 秀华 敏 琴 慧"),
    (1985, True): _words("磊 杰 涛 鹏 超 浩 俊 俊杰 晓东 志鹏 家豪 文斌 佳伟 建锋 宇 "
                        "嘉诚 凯 波"),
    (1985, False): _words("婷 静 敏 婷婷 佳 倩 晓燕 丹丹 琳 颖 莉 佳慧 雯 露 蓓蕾 "
                         "晶晶 洁 璐 瑶"),
    (2000, True): _words("宇轩 浩然 子豪 梓轩 一鸣 俊熙 皓 睿 博文 泽宇 子墨 宸 "
                        "天佑 铭 逸凡"),
    (2000, False): _words("子涵 欣怡 梓涵 诗涵 一诺 雨桐 可馨 思彤 语嫣 悦 "
                         "欣 佳琪 若汐 沐晴"),
}
_COHORTS: Final = (2000, 1985, 1960, 1900)


def person_name(rng: random.Random, male: bool, birth_year: int) -> str:
    """A plausible Chinese name (2 or 3 characters; rarely a compound surname)."""
    cohort = next(c for c in _COHORTS if birth_year >= c)
    surname = rng.choice(_COMPOUND_SURNAMES) if rng.random() < 0.01 else rng.choice(_SURNAMES)
    return surname + rng.choice(_GIVEN[cohort, male])


@dataclass(frozen=True, slots=True)
class Person:
    name: str
    id_number: str
    born: dt.date

    @property
    def male(self) -> bool:
        return int(self.id_number[16]) % 2 == 1


class IdIssuer:
    """Issues unique, valid ID numbers (address code + birth date + sequence + check)."""

    def __init__(self) -> None:
        self._issued: set[str] = set()

    def issue(self, rng: random.Random, county: str, born: dt.date, male: bool) -> str:
        stem = county + born.strftime("%Y%m%d")
        for _ in range(50):
            seq = rng.randrange(0, 500) * 2 + (1 if male else 0)
            first17 = f"{stem}{seq:03d}"
            number = first17 + id_check_char(first17)
            if number not in self._issued:
                self._issued.add(number)
                return number
        raise RuntimeError(f"no free ID number sequence left for {stem}")

    def person(
        self, rng: random.Random, county: str, born: dt.date, male: bool | None = None
    ) -> Person:
        male = rng.random() < 0.5 if male is None else male
        return Person(person_name(rng, male, born.year), self.issue(rng, county, born, male),
                      born)


def _luhn_digit(digits: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 0:  # every second digit from the right, counting the missing check digit
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return str((10 - total % 10) % 10)


# Card BINs of banks common in Zhejiang (农信丰收卡, 农行, 工行, 建行, 杭州银行).
_CARD_BINS: Final = ("623091", "622848", "622202", "621700", "622886")


def bank_card(rng: random.Random, bin_: str | None = None) -> str:
    """A 19-digit debit card number with a valid Luhn digit."""
    stem = (bin_ or rng.choice(_CARD_BINS)) + "".join(rng.choices("0123456789", k=12))
    return stem + _luhn_digit(stem)


# Corporate account shapes: (prefix, total length) for 工行, 建行, 农行, 杭州银行, 农商行.
_ACCOUNT_SHAPES: Final = (
    ("120202", 19), ("330501616227", 20), ("193201", 19), ("330104016", 19), ("201000", 19),
)


def corporate_account(rng: random.Random) -> str:
    prefix, length = rng.choice(_ACCOUNT_SHAPES)
    return prefix + "".join(rng.choices("0123456789", k=length - len(prefix)))


_USCC_CHARS: Final = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS: Final = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_ORG_WEIGHTS: Final = (3, 7, 9, 10, 5, 8, 4, 2)


def _org_code_check(body: str) -> str:
    """GB 11714 check character of an 8-character organisation code body."""
    total = sum(int(c, 36) * w for c, w in zip(body, _ORG_WEIGHTS, strict=True))
    check = 11 - total % 11
    return "X" if check == 10 else "0" if check == 11 else str(check)


def credit_code(rng: random.Random, kind: str, county: str) -> str:
    """An 18-character 统一社会信用代码: `kind` is the 2-character registry + category code
    (91 company, 92 sole trader, 12 public institution, 52 private non-profit)."""
    if kind == "91" and rng.random() < 0.6:
        # Companies registered since 2015 get an MA… subject code.
        body = "MA" + "".join(rng.choices("0123456789ABCDEFGHJKLMNPQRTUWXY", k=6))
    else:
        body = "".join(rng.choices("0123456789", k=8))
    stem = kind + county + body + _org_code_check(body)
    total = sum(_USCC_CHARS.index(c) * w for c, w in zip(stem, _USCC_WEIGHTS, strict=True))
    return stem + _USCC_CHARS[(31 - total % 31) % 31]


@dataclass(frozen=True, slots=True)
class Org:
    name: str
    tax_id: str
    account: str
    trade: str


_CITY_OF: Final = {"330108": "杭州", "330102": "杭州", "330603": "绍兴柯桥"}
_TRADE_NAMES: Final = _words(
    "鑫华 恒达 聚源 金诚 博远 天成 润丰 众合 宏图 新锐 瑞祥 嘉禾 立信 远航 同创 万隆 "
    "明辉 华泰 永盛 德顺 汇丰源 东方红 绿源 新时代 之江 钱塘 越州 兰亭"
)
# Trade → (registration kind, name pattern); {city}, {firm}, {district} are filled in.
TRADES: Final[dict[str, tuple[str, str]]] = {
    "office": ("91", "{city}{firm}办公用品有限公司"),
    "print": ("91", "{city}{firm}印务有限公司"),
    "hotel": ("91", "{city}{firm}酒店管理有限公司"),
    "meeting": ("91", "{city}{firm}会务服务有限公司"),
    "training": ("52", "{city}市{district}{firm}职业技能培训学校"),
    "catering": ("92", "{city}市{district}{firm}餐饮店"),
    "property": ("91", "{city}{firm}物业管理有限公司"),
    "cleaning": ("91", "{city}{firm}保洁服务有限公司"),
    "garden": ("91", "{city}{firm}园林绿化工程有限公司"),
    "construction": ("91", "浙江{firm}建设工程有限公司"),
    "it": ("91", "{city}{firm}信息技术有限公司"),
    "car": ("91", "{city}{firm}汽车维修服务有限公司"),
    "fuel": ("91", "{city}{firm}石油销售有限公司"),
    "culture": ("91", "{city}{firm}文化传播有限公司"),
    "electronics": ("91", "{city}{firm}电子科技有限公司"),
    "institute": ("12", "{city}市{district}社区学院"),
}
_DISTRICT_NAMES: Final = {"330108": "滨江区", "330102": "上城区", "330603": "柯桥区"}


def make_orgs(rng: random.Random, county: str, per_trade: int = 3) -> dict[str, list[Org]]:
    """Suppliers registered in `county`, a few per trade."""
    city, district = _CITY_OF.get(county, "杭州"), _DISTRICT_NAMES.get(county, "")
    orgs: dict[str, list[Org]] = {}
    for trade, (kind, pattern) in TRADES.items():
        count = 1 if trade == "institute" else per_trade
        firms = rng.sample(_TRADE_NAMES, count)
        orgs[trade] = [
            Org(pattern.format(city=city.removesuffix("柯桥") if "市" in pattern else city,
                               firm=firm, district=district),
                credit_code(rng, kind, county), corporate_account(rng), trade)
            for firm in firms
        ]
    return orgs
