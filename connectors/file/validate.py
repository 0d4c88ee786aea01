"""Checking one cell of a drop against its canonical field, with a reason when it fails.

Money is an exact decimal with at most two places (thousands separators and a ¥ sign are
tolerated, floats from XLSX cells are read by their shortest repr); dates and times come in
the forms Chinese exports use (2024-03-05, 2024/3/5, 20240305, 2024年3月5日, with a time);
region codes must be well-formed 12-digit 统计用区划代码; resident ID numbers must carry a
correct check character; enums go through the mapping's code table.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

from auth.model.catalog import ENUMS, FieldSpec, Kind
from auth.model.idnumbers import is_valid_id_number
from auth.model.regions import BadRegionCode, check_region_code
from auth.model.time import local_naive, parse_local
from connectors.mapping import FieldMapping

MAX_MONEY = Decimal("1e12")  # NUMERIC(14,2)
_CENT = Decimal("0.01")
_GROUPED = re.compile(r"^-?\d{1,3}(,\d{3})+(\.\d+)?$")
# 2024-03-05, 2024/3/5, 2024.3.5 (one separator throughout), 2024年3月5日, 20240305.
_DATE = re.compile(r"(\d{4})([-/.])(\d{1,2})\2(\d{1,2})|(\d{4})年(\d{1,2})月(\d{1,2})日"
                   r"|(\d{4})(\d{2})(\d{2})")
_TIME = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?")
_TRUE = {"1", "true", "t", "y", "yes", "是"}
_FALSE = {"0", "false", "f", "n", "no", "否"}


class BadValue(ValueError):
    """A cell that does not fit its field; the message is the reason shown to operators."""


def is_id_number_field(name: str) -> bool:
    return name == "idNumber" or name.endswith("IdNumber")


def cell_text(value: Any) -> str:
    """A cell as the operator typed it (XLSX numbers without a spurious `.0`)."""
    if value is None:
        return ""
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat(sep=" ") if isinstance(value, dt.datetime) else value.isoformat()
    return str(value).strip()


def convert(spec: FieldSpec, fm: FieldMapping, raw: Any) -> Any:
    """The canonical value of a cell, or BadValue with the reason."""
    text = cell_text(raw)
    if not text:
        if spec.nullable:
            return None
        raise BadValue("required value missing")
    if "\x00" in text:
        raise BadValue("contains a NUL character")
    if fm.values:
        return _coded(spec, fm, text)
    kind = spec.kind
    if kind is Kind.MONEY:
        return _money(raw, text, fm.unit)
    if kind is Kind.DATE:
        return _date(raw, text)
    if kind is Kind.DATETIME:
        return _datetime(raw, text)
    if kind is Kind.REGION_CODE:
        return _region(text)
    if kind is Kind.INT:
        if not re.fullmatch(r"-?\d+", text):
            raise BadValue(f"{text!r} is not a whole number")
        return int(text)
    if kind is Kind.BOOL:
        return _bool(text)
    if kind is Kind.ENUM:
        choices = ENUMS[spec.enum or ""]
        if text.upper() not in choices:
            raise BadValue(f"{text!r} is not one of {', '.join(choices)}")
        return text.upper()
    if is_id_number_field(spec.name):
        return _id_number(raw, text)
    return text


def _region(text: str) -> str:
    try:
        return check_region_code(text)
    except BadRegionCode as exc:
        raise BadValue(str(exc)) from None


def _coded(spec: FieldSpec, fm: FieldMapping, text: str) -> Any:
    value = fm.to_canonical(text)
    if value is None:
        codes = ", ".join(str(c) for c in fm.values.values())
        raise BadValue(f"unknown code {text!r} for {spec.name}; expected one of {codes}")
    return value


def _money(raw: Any, text: str, unit: str) -> Decimal:
    cleaned = text.replace("¥", "").replace("￥", "").removesuffix("元").strip()
    if _GROUPED.match(cleaned):
        cleaned = cleaned.replace(",", "")
    if not re.fullmatch(r"-?\d+(\.\d+)?", cleaned):
        raise BadValue(f"{text!r} is not an amount")
    amount = Decimal(cleaned)
    if unit == "fen":
        if amount != amount.to_integral_value():
            raise BadValue(f"{text!r} is not a whole number of fen")
        amount = amount / 100
    if amount != amount.quantize(_CENT):
        raise BadValue(f"{text!r} has more than 2 decimal places")
    if abs(amount) >= MAX_MONEY:
        raise BadValue(f"{text!r} is too large for an amount")
    return amount.quantize(_CENT)


def _date(raw: Any, text: str) -> dt.date:
    if isinstance(raw, dt.datetime):
        if raw.time() != dt.time():
            raise BadValue(f"{text!r} has a time of day; expected a date")
        return raw.date()
    if isinstance(raw, dt.date):
        return raw
    parsed = _parse_date(text)
    if parsed is None:
        raise BadValue(f"{text!r} is not a date (expected e.g. 2024-03-05, 2024/3/5 or "
                       "20240305)")
    return parsed


def _parse_date(text: str) -> dt.date | None:
    match = _DATE.fullmatch(text)
    if match is None:
        return None
    y, m, d = (int(g) for g in match.groups() if g is not None and g not in "-/.")
    try:
        return dt.date(y, m, d)
    except ValueError:
        return None


def _datetime(raw: Any, text: str) -> dt.datetime:
    if isinstance(raw, dt.datetime):
        return local_naive(raw)
    if isinstance(raw, dt.date):
        return dt.datetime.combine(raw, dt.time())
    date_part, _, time_part = text.replace("T", " ", 1).partition(" ")
    day = _parse_date(date_part)
    clock = _TIME.fullmatch(time_part.strip()) if time_part else None
    if day is not None and (not time_part or clock is not None):
        if clock is None:
            return dt.datetime.combine(day, dt.time())
        h, mi, sec, frac = clock.groups()
        try:
            return dt.datetime.combine(day, dt.time(int(h), int(mi), int(sec or 0),
                                                    int((frac or "0").ljust(6, "0"))))
        except ValueError:
            pass
    try:
        return parse_local(text)
    except ValueError:
        raise BadValue(f"{text!r} is not a date and time (expected e.g. 2024-03-05 14:30:00)") \
            from None


def _bool(text: str) -> bool:
    lowered = text.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise BadValue(f"{text!r} is not yes/no (是/否, true/false, 1/0)")


def _id_number(raw: Any, text: str) -> str:
    if isinstance(raw, int | float):
        raise BadValue("an ID number stored as a number in the sheet (digits may be lost); "
                       "format the column as text")
    normalised = text.upper()
    if not is_valid_id_number(normalised):
        raise BadValue(f"{_masked(normalised)} is not a valid ID number (length, birth date "
                       "or check character)")
    return normalised


def _masked(id_number: str) -> str:
    """Reasons end up in logs and terminals: keep an ID number recognisable, not readable."""
    if len(id_number) < 10:
        return "the value"
    return id_number[:6] + "*" * (len(id_number) - 10) + id_number[-4:]
