"""Named maskers: they keep a value's type and shape while hiding what identifies a person.

Conventions follow common 三务公开 practice: names 张* / 张*明, ID numbers
330106********1234, bank accounts first 6 + last 4, phones 138****1234.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final


def mask_name(value: str) -> str:
    if len(value) <= 1:
        return "*"
    if len(value) == 2:
        return value[0] + "*"
    return value[0] + "*" * (len(value) - 2) + value[-1]


def mask_id_number(value: str) -> str:
    if len(value) < 12:
        return "*" * len(value)
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


def mask_account(value: str) -> str:
    digits = value.replace(" ", "")
    if len(digits) <= 10:
        return "*" * len(digits)
    return digits[:6] + "*" * (len(digits) - 10) + digits[-4:]


def mask_phone(value: str) -> str:
    if len(value) < 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


MASKERS: Final[Mapping[str, Callable[[str], str]]] = {
    "name": mask_name,
    "id_number": mask_id_number,
    "account": mask_account,
    "phone": mask_phone,
}


def apply_masks(rows: Iterable[dict[str, Any]], masks: Mapping[str, str]) -> None:
    """Mask `rows` in place: each masked field goes through its named masker."""
    if not masks:
        return
    plan = [(name, MASKERS[masker]) for name, masker in masks.items()]
    for row in rows:
        for name, masker in plan:
            value = row.get(name)
            if value is not None:
                row[name] = masker(str(value))
