"""Every role's schema is built from the policy and matches its committed SDL file.

A change in what a role can see shows up as a diff of schema/sdl/<role>.graphql in review.
Regenerate with: HUITONG_UPDATE_SDL=1 pytest tests/schema/test_role_schemas.py
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from auth.access.policy import load_policy
from huitong.demo.config import POLICY_PATH
from schema.build import build_schemas

SDL_DIR = Path(__file__).resolve().parents[2] / "schema" / "sdl"
POLICY = load_policy(POLICY_PATH)
SCHEMAS = build_schemas(POLICY)


CALLER_ROLES = sorted(name for name, role in POLICY.roles.items() if not role.system)


@pytest.mark.parametrize("role", CALLER_ROLES)
def test_role_schema_matches_committed_sdl(role: str) -> None:
    sdl = str(SCHEMAS[role]) + "\n"
    path = SDL_DIR / f"{role}.graphql"
    if os.environ.get("HUITONG_UPDATE_SDL") == "1":
        path.write_text(sdl, encoding="utf-8")
    assert path.exists(), f"missing {path}; run with HUITONG_UPDATE_SDL=1"
    assert sdl == path.read_text(encoding="utf-8"), f"{role}'s schema changed; review and update"


def test_no_stray_sdl_files() -> None:
    assert {p.stem for p in SDL_DIR.glob("*.graphql")} == set(CALLER_ROLES)


def test_schemas_can_be_built_twice_without_sharing_state() -> None:
    again = build_schemas(POLICY)
    for role, schema in SCHEMAS.items():
        assert str(again[role]) == str(schema)


def test_public_sees_only_its_slice() -> None:
    public = SCHEMAS["public"]
    type_names = set(public._schema.type_map)
    for hidden in ("Payment", "Resident", "InspectionCase", "Invoice", "BudgetIndicator"):
        assert hidden not in type_names
    subsidy = public._schema.type_map["Subsidy"]
    assert "bankCard" not in subsidy.fields  # type: ignore[attr-defined]
    assert "PaymentFilter" in type_names  # spending summaries may filter payments
    payment_filter = public._schema.type_map["PaymentFilter"]
    assert "payeeName" not in payment_filter.fields  # type: ignore[attr-defined]
