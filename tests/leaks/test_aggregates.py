"""Leak suite, aggregates: `spendingSummary` adds up exactly the role's own payments.

Every grouping a role may use (each dimension alone, every region level, and combinations)
must equal a GROUP BY written here by hand against the finance source with the role's row
rule, including the public's minimum group size (HAVING COUNT(*) >= 5). Dimensions a role
may not group on do not exist for it, and a role without the aggregate grant has no
`spendingSummary` at all.
"""

from __future__ import annotations

import copy
import tomllib
from decimal import Decimal
from typing import Any

import pytest

from auth.access.policy import parse_policy
from huitong.demo.config import POLICY_PATH
from schema.build import build_role_schema
from tests.leaks.canaries import IN_DIST, IN_FO, OOS, POLICY, prefix_of, principal_region
from tests.leaks.hub import LeakHub
from tests.leaks.sources import canonical_of, code_of, column_of, table_of

LEVELS = {"PROVINCE": 2, "CITY": 4, "COUNTY": 6, "TOWNSHIP": 9, "VILLAGE": 12}
DIMENSIONS = {  # dimension → (canonical field, key in SpendingGroup)
    "REGION": ("regionCode", "regionCode"), "CATEGORY": ("economicCode", "category"),
    "ECONOMIC_CODE": ("economicCode", "economicCode"),
    "FUNCTION_CODE": ("functionCode", "functionCode"), "MONTH": ("paidAt", "month"),
    "METHOD": ("method", "method"),
}
AGGREGATING = [r for r in sorted(POLICY.roles)
               if (g := POLICY.roles[r].grant("Payment")) is not None and g.aggregate]


def allowed_dimensions(role: str) -> list[str]:
    grant = POLICY.roles[role].grant("Payment")
    assert grant is not None
    return [d for d, (f, _) in DIMENSIONS.items() if f in grant.groupable]


async def by_sql(hub: LeakHub, role: str, dims: list[str], level: str = "TOWNSHIP",
                 region: str | None = None, min_size: int | None = None) -> list[dict[str, Any]]:
    """The groups, by a GROUP BY over the finance source with the role's row rule."""
    col = {f: column_of("Payment", f) for f in ("regionCode", "economicCode", "functionCode",
                                                "paidAt", "method", "amount", "status")}
    month = f"substr({col['paidAt']}, 1, 7)" if hub.backend == "sqlite" \
        else f"to_char({col['paidAt']}, 'YYYY-MM')"
    exprs = {"REGION": f"substr({col['regionCode']}, 1, {LEVELS[level]})",
             "CATEGORY": f"substr({col['economicCode']}, 1, 3)",
             "ECONOMIC_CODE": col["economicCode"], "FUNCTION_CODE": col["functionCode"],
             "MONTH": month, "METHOD": col["method"]}
    grant = POLICY.roles[role].grant("Payment")
    assert grant is not None
    where, params = ["1 = 1"], {}
    if grant.rows == "jurisdiction":
        where.append(f"{col['regionCode']} LIKE :scope")
        params["scope"] = prefix_of(principal_region(role) or "") + "%"
    for i, cond in enumerate(grant.where):
        codes = {f"w{i}_{j}": str(code_of("Payment", cond.field, v))
                 for j, v in enumerate(cond.value)}
        marks = ", ".join(f":{name}" for name in codes)
        where.append(f"{column_of('Payment', cond.field)} IN ({marks})")
        params.update(codes)
    if region is not None:
        where.append(f"{col['regionCode']} LIKE :region")
        params["region"] = prefix_of(region) + "%"
    keys = ", ".join(exprs[d] for d in dims)
    sql = (f"SELECT {keys}, count(*), sum({col['amount']}) FROM {table_of('Payment')} "
           f"WHERE {' AND '.join(where)} GROUP BY {keys} "
           f"HAVING count(*) >= {min_size or POLICY.roles[role].min_group_size}")
    groups = []
    for row in await hub.truth.fetch("finance", sql, **params):
        group: dict[str, Any] = {}
        for dim, value in zip(dims, row, strict=False):
            if dim == "REGION":
                value = str(value).ljust(12, "0")
            elif dim == "METHOD":
                value = canonical_of("Payment", "method", value)
            group[DIMENSIONS[dim][1]] = value
        group["count"] = int(row[len(dims)])
        group["totalAmount"] = f"{Decimal(int(row[len(dims) + 1])) / 100:.2f}"
        groups.append(group)
    return sorted(groups, key=lambda g: [str(v) for v in g.values()])


async def by_hub(hub: LeakHub, role: str, dims: list[str], level: str = "TOWNSHIP",
                 region: str | None = None) -> list[dict[str, Any]]:
    keys = " ".join(DIMENSIONS[d][1] for d in dims)
    args = f"groupBy: [{', '.join(dims)}]"
    if "REGION" in dims:
        args += f", regionLevel: {level}"
    if region is not None:
        args += f', filter: {{ regionCode: "{region}" }}'
    data = await hub.data(f"{{ spendingSummary({args}) {{ {keys} count totalAmount }} }}",
                          role=role)
    groups = data["spendingSummary"]
    return sorted(groups, key=lambda g: [str(v) for v in g.values()])


def groupings(role: str) -> list[tuple[list[str], str]]:
    dims = allowed_dimensions(role)
    result = [([d], "TOWNSHIP") for d in dims]
    result += [(["REGION"], level) for level in LEVELS if "REGION" in dims]
    result += [(dims, "VILLAGE"), (["REGION", "MONTH"], "VILLAGE")]
    return result


def _coarser(dims: list[str], level: str) -> list[Any]:
    """Ways to ask the same summary more coarsely: a dimension fewer, a region level up,
    an economic class instead of its codes (each maps a group to its coarser cell)."""
    keys = [DIMENSIONS[d][1] for d in dims]
    ways: list[Any] = [lambda g, drop=k: tuple(g[x] for x in keys if x != drop) for k in keys]
    if "REGION" in dims:
        ways += [lambda g, n=n: tuple(g[x][:n] if x == "regionCode" else g[x] for x in keys)
                 for n in LEVELS.values() if n < LEVELS[level]]
    if "ECONOMIC_CODE" in dims:
        ways.append(lambda g: tuple(g[x][:3] if x == "economicCode" else g[x] for x in keys))
    return ways


async def check_suppressed(hub: LeakHub, role: str, dims: list[str], level: str,
                           shown: list[dict[str, Any]], region: str | None = None) -> None:
    """Every group shown is exact and of at least k rows, and no coarser summary minus the
    groups shown leaves between 1 and k-1 rows (that remainder would be disclosed)."""
    k = POLICY.roles[role].min_group_size
    primary = await by_sql(hub, role, dims, level, region)
    assert all(g in primary for g in shown), (dims, level)
    every = await by_sql(hub, role, dims, level, region, min_size=1)
    for coarsen in _coarser(dims, level):
        rows: dict[Any, int] = {}
        for g in every:
            rows[coarsen(g)] = rows.get(coarsen(g), 0) + g["count"]
        totals = dict(rows)
        for g in shown:
            rows[coarsen(g)] -= g["count"]
        # A cell of fewer than k rows is itself suppressed when asked for: nothing to subtract.
        leaked = {cell: n for cell, n in rows.items() if 0 < n < k <= totals[cell]}
        assert not leaked, (dims, level, leaked)


@pytest.mark.parametrize("role", AGGREGATING)
async def test_spending_summary_equals_a_group_by_at_the_source(hub: LeakHub, role: str) -> None:
    for dims, level in groupings(role):
        hub_groups = await by_hub(hub, role, dims, level)
        if POLICY.roles[role].min_group_size > 1:
            await check_suppressed(hub, role, dims, level, hub_groups)
        else:
            assert hub_groups == await by_sql(hub, role, dims, level), (dims, level)
        assert hub_groups or role == "public"


@pytest.mark.parametrize("role", AGGREGATING)
async def test_spending_summary_filtered_to_hidden_regions_is_empty(
    hub: LeakHub, role: str
) -> None:
    for region in (IN_FO, IN_DIST, OOS, "330102000000", "330108002000", "330108000000"):
        got = await by_hub(hub, role, ["REGION", "MONTH"], "VILLAGE", region)
        if POLICY.roles[role].min_group_size > 1:
            await check_suppressed(hub, role, ["REGION", "MONTH"], "VILLAGE", got, region)
        else:
            assert got == await by_sql(hub, role, ["REGION", "MONTH"], "VILLAGE", region), region
        own, asked = prefix_of(principal_region(role) or "33"), prefix_of(region)
        if not (asked.startswith(own) or own.startswith(asked)):
            assert got == [], region  # disjoint from the role's jurisdiction


async def test_public_groups_below_the_minimum_size_are_left_out(hub: LeakHub) -> None:
    k = POLICY.roles["public"].min_group_size
    assert k > 1
    for dims, level in groupings("public"):
        groups = await by_hub(hub, "public", dims, level)
        assert all(g["count"] >= k for g in groups)
    # The planted payments sit alone in their villages: the public never sees them as groups.
    villages = {g["regionCode"] for g in await by_hub(hub, "public", ["REGION"], "VILLAGE")}
    assert not villages & {IN_FO, IN_DIST, OOS}
    inspector = {g["regionCode"]: g["count"] for g in await by_hub(
        hub, "discipline_inspector", ["REGION"], "VILLAGE")}
    assert 0 < inspector[IN_FO] < k  # …while a role with min_group_size 1 sees the small one
    small = [g for g in await by_hub(hub, "discipline_inspector", ["REGION", "MONTH"], "VILLAGE")
             if g["count"] < k]
    assert small, "the suppression needs small groups to be tested at all"


@pytest.mark.parametrize("role", AGGREGATING)
async def test_dimensions_a_role_may_not_group_on_do_not_exist(hub: LeakHub, role: str) -> None:
    allowed = set(allowed_dimensions(role))
    data = await hub.data('{ __type(name: "SpendingDimension") { enumValues { name } } }',
                          role=role)
    assert {v["name"] for v in data["__type"]["enumValues"]} == allowed
    for dim in set(DIMENSIONS) - allowed:
        await hub.refused(f"{{ spendingSummary(groupBy: [{dim}]) {{ count }} }}", role=role)
    fields = (await hub.data('{ __type(name: "SpendingGroup") { fields { name } } }',
                             role=role))["__type"]["fields"]
    assert {f["name"] for f in fields} == {DIMENSIONS[d][1] for d in allowed} | {
        "count", "totalAmount"}


def test_a_role_without_the_aggregate_grant_has_no_spending_summary() -> None:
    raw = tomllib.loads(POLICY_PATH.read_text(encoding="utf-8"))
    for role in AGGREGATING:
        changed = copy.deepcopy(raw)
        grant = changed["roles"][role]["entities"]["Payment"]
        grant["aggregate"] = False
        policy = parse_policy(changed, "<test>")
        schema = build_role_schema(policy.roles[role])._schema
        assert "spendingSummary" not in schema.query_type.fields  # type: ignore[union-attr]
        assert "SpendingGroup" not in schema.type_map
        assert "SpendingDimension" not in schema.type_map


async def test_public_cannot_difference_summaries_by_time(hub: LeakHub) -> None:
    """Ranges would let two allowed summaries (paidTo just after / before one payment) differ
    by one payment; a suppressed role has no range filters, only whole-month groups."""
    result = await hub.query(
        """{ spendingSummary(groupBy: [REGION], filter: {paidTo: "2024-06-01T00:00:00"})
             { count totalAmount } }""", role="public")
    assert result["data"] is None
    assert result["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert "Did you mean" not in result["errors"][0]["message"]


async def test_public_cannot_difference_summaries_by_category(hub: LeakHub) -> None:
    """Unfiltered minus filtered would reveal the rows a filter leaves out: where those are
    fewer than k, the filtered group is suppressed too (complementary suppression)."""
    k = POLICY.roles["public"].min_group_size
    query = """query($f: PaymentFilter, $level: RegionLevel) { spendingSummary(
      groupBy: [REGION], regionLevel: $level, filter: $f) { regionCode count totalAmount } }"""
    rows = hub.truth.visible("public", "Payment")
    leaks, checked = [], 0
    for level in ("VILLAGE", "TOWNSHIP"):
        width = LEVELS[level]
        whole = {g["regionCode"]: g for g in (await hub.data(
            query, {"f": None, "level": level}, role="public"))["spendingSummary"]}
        for field in ("economicCode", "functionCode"):
            for value in sorted({r[field] for r in rows}):
                filtered = {g["regionCode"]: g for g in (await hub.data(
                    query, {"f": {field: value}, "level": level}, role="public"))[
                    "spendingSummary"]}
                truth: dict[str, int] = {}
                for r in rows:
                    if r[field] == value:
                        key = r["regionCode"][:width].ljust(12, "0")
                        truth[key] = truth.get(key, 0) + 1
                for key, group in filtered.items():
                    assert group["count"] == truth[key] >= k
                    if key in whole:
                        checked += 1
                        left_out = whole[key]["count"] - group["count"]
                        if 0 < left_out < k:
                            leaks.append((level, field, value, key, left_out))
    assert checked > 0
    # The suppression itself is exercised in tests/access/test_aggregate_privacy.py.
    assert not leaks, f"differencing isolates fewer than {k} payments: {leaks[:5]}"
