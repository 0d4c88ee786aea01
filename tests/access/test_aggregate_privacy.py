"""Small-group suppression: primary (groups under k), secondary (what a coarser summary
minus the shown groups would reveal) and complementary (what a filter leaves out)."""

from __future__ import annotations

from decimal import Decimal

from auth.access.suppression import suppress
from auth.model.query import AggregateQuery, Condition, Dimension, Op, Transform
from connectors.gateway import small_complement

TOWNSHIP = Dimension("regionCode", "regionCode", Transform.PREFIX, 9)
METHOD = Dimension("method", "method")
QUERY = AggregateQuery("Payment", "amount", (TOWNSHIP,),
                       (Condition("economicCode", Op.EQ, "30201"),))


def group(region: str, count: int, method: str | None = None) -> dict[str, object]:
    found: dict[str, object] = {"regionCode": region, "count": count,
                                "total": Decimal(count * 100)}
    if method is not None:
        found["method"] = method
    return found


def test_primary_suppression() -> None:
    large = [group("330108001", 7), group("330102001", 12)]
    assert suppress(large, [TOWNSHIP], 5) == large
    small = [group("330108001", 7), group("330102001", 4), group("330102002", 6)]
    # The 4 goes; then the grand total minus the 7 would give it away, so the 6 goes too.
    assert suppress(small, [TOWNSHIP], 5) == [group("330108001", 7)]
    assert suppress(small, [TOWNSHIP], 1) == small


def test_a_county_total_cannot_reveal_its_one_small_township() -> None:
    # 330108: 10 + 9 + 2 rows. Shown 10 and 9, the county total would give away the 2.
    groups = [group("330108001", 10), group("330108002", 9), group("330108003", 2)]
    kept = suppress(groups, [TOWNSHIP], 5)
    assert kept == [group("330108001", 10)]  # 9 goes too: hidden 2 + 9 = 11 ≥ 5


def test_hidden_rows_anywhere_add_up_before_a_total_can_reveal_them() -> None:
    # The grand total minus 330108001's 10 rows would give 330102's 3: hide 10 as well.
    groups = [group("330108001", 10), group("330102001", 2), group("330102002", 1)]
    assert suppress(groups, [TOWNSHIP], 5) == []
    # With a further group of 6 hidden instead, 9 rows stay hidden together: 10 may show.
    groups.append(group("330108002", 6))
    assert suppress(groups, [TOWNSHIP], 5) == [group("330108001", 10)]


def test_dropping_a_dimension_is_a_coarser_summary_too() -> None:
    groups = [group("330108001", 8, "CASH"), group("330108001", 6, "TRANSFER"),
              group("330108001", 1, "TREASURY"), group("330108002", 20, "CASH")]
    kept = suppress(groups, [TOWNSHIP, METHOD], 5)
    # Township 001 without METHOD is 15 rows; shown 8 + 6 would reveal the 1: hide the 6.
    assert kept == [group("330108001", 8, "CASH"), group("330108002", 20, "CASH")]


def test_filtered_groups_whose_left_out_rows_are_few_are_hidden() -> None:
    filtered = [group("330108001", 7), group("330108002", 6), group("330108003", 5)]
    whole = [group("330108001", 9), group("330108002", 6), group("330108003", 40)]
    hide = small_complement(whole, QUERY, 5)
    # 001: 2 rows left out (< 5) → hidden; 002: nothing left out; 003: 35 left out.
    assert [g["regionCode"] for g in filtered if not hide(g)] == ["330108002", "330108003"]
    exactly_k = small_complement([group("330108001", 10)], QUERY, 5)
    assert exactly_k(group("330108001", 5)) is False  # exactly k left out is safe
