"""Complementary suppression: a filtered group is held back when the rows its filter leaves
out of the same group are fewer than k (they would be recovered by differencing)."""

from __future__ import annotations

from decimal import Decimal

from auth.query import AggregateQuery, Condition, Dimension, Op, Transform
from resolvers.gateway import _without_small_complements

QUERY = AggregateQuery(
    "Payment", "amount", (Dimension("regionCode", "regionCode", Transform.PREFIX, 9),),
    (Condition("economicCode", Op.EQ, "30201"),),
)


def group(region: str, count: int) -> dict[str, object]:
    return {"regionCode": region, "count": count, "total": Decimal(count * 100)}


def test_groups_whose_complement_is_small_are_held_back() -> None:
    filtered = [group("330108001", 7), group("330108002", 6), group("330108003", 5)]
    whole = [group("330108001", 9), group("330108002", 6), group("330108003", 40)]
    kept = _without_small_complements(filtered, whole, QUERY, k=5)
    # 001: 2 rows left out (< 5) → held back; 002: nothing left out; 003: 35 left out.
    assert [g["regionCode"] for g in kept] == ["330108002", "330108003"]


def test_exactly_k_left_out_is_safe() -> None:
    kept = _without_small_complements([group("330108001", 5)], [group("330108001", 10)],
                                      QUERY, k=5)
    assert kept == [group("330108001", 5)]
