"""What a write may store, checked against the catalog (`auth.model.values`), whatever kind of
source will keep it: the canonical forms that come back, and the reasons a value is refused."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from auth.model.values import InvalidValue, check_values, quarter_bounds

SUBSIDY = {"regionCode": "330108001001", "batchNo": "BT-1", "subsidyType": "高龄津贴",
           "period": "2024-03", "recipientName": "王小明",
           "recipientIdNumber": "330108199001011234", "amount": Decimal("12.5"),
           "bankCard": "6230", "paidAt": dt.datetime(2024, 3, 5, 1, 0, tzinfo=dt.UTC),
           "result": "SUCCESS", "published": False}


def test_canonical_forms() -> None:
    checked = check_values("Subsidy", SUBSIDY, insert=True)
    assert checked["amount"] == Decimal("12.50") and str(checked["amount"]) == "12.50"
    assert checked["paidAt"] == dt.datetime(2024, 3, 5, 9, 0)  # China wall-clock time
    assert check_values("Subsidy", {"amount": "0.05"}, insert=False) == {
        "amount": Decimal("0.05")}
    assert check_values("CasePayment", {"caseId": 12}, insert=False) == {"caseId": "12"}
    for period in ("2024", "2024Q4", "2024-12"):
        assert check_values("Disclosure", {"period": period}, insert=False)


@pytest.mark.parametrize(("values", "field", "reason"), [
    ({"amount": Decimal("NaN")}, "amount", "NUMERIC(14,2)"),
    ({"amount": Decimal("Infinity")}, "amount", "NUMERIC(14,2)"),
    ({"amount": Decimal("-1000000000000")}, "amount", "NUMERIC(14,2)"),
    ({"amount": "1e3"}, "amount", None),
    ({"amount": "12.345"}, "amount", "at most two decimals"),
    ({"amount": 1.5}, "amount", "expected an amount"),
    ({"amount": True}, "amount", "expected an amount"),
    ({"amount": "abc"}, "amount", "expected an amount"),
    ({"period": "2024Q0"}, "period", "2024, 2024Q1 or 2024-03"),
    ({"period": "2024-3"}, "period", "2024, 2024Q1 or 2024-03"),
    ({"period": " 2024"}, "period", "2024, 2024Q1 or 2024-03"),
    ({"regionCode": "003301080010"}, "regionCode", "12-digit region code"),
    ({"regionCode": 330108001001}, "regionCode", "12-digit region code"),
    ({"result": "success"}, "result", "expected one of SUCCESS"),
    ({"published": 1}, "published", "true or false"),
    ({"paidAt": dt.date(2024, 3, 5)}, "paidAt", "date and time"),
    ({"batchNo": "x" * 20_001}, "batchNo", "at most 20000"),
    ({"batchNo": "a\x00b"}, "batchNo", "NUL"),
    ({"recipientName": None}, "recipientName", "may not be null"),
])
def test_refusals_name_the_field(values: dict[str, Any], field: str, reason: str | None) -> None:
    if reason is None:  # exponent notation is a decimal; it is its own value
        assert check_values("Subsidy", values, insert=False) == {"amount": Decimal("1000.00")}
        return
    with pytest.raises(InvalidValue) as caught:
        check_values("Subsidy", values, insert=False)
    assert caught.value.field == field and reason in caught.value.message


def test_an_insert_gives_every_required_field() -> None:
    with pytest.raises(InvalidValue, match=r"Subsidy\.bankCard: required for a new row"):
        check_values("Subsidy", {k: v for k, v in SUBSIDY.items() if k != "bankCard"},
                     insert=True)
    assert "closedAt" not in check_values("InspectionCase", {
        "regionCode": "330108001001", "subject": "s", "source": "ALERT", "summary": "",
        "status": "OPEN", "openedAt": dt.datetime(2024, 1, 1)}, insert=True)


def test_quarters() -> None:
    assert quarter_bounds("2024Q4") == (dt.datetime(2024, 10, 1), dt.datetime(2025, 1, 1))
    assert quarter_bounds("2024Q1") == (dt.datetime(2024, 1, 1), dt.datetime(2024, 4, 1))
    assert quarter_bounds("2024-03") is None and quarter_bounds("2024Q5") is None
