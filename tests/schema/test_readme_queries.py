"""The README's sample queries are valid against the demo policy's schemas."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from graphql import parse, validate

from auth.access.policy import load_policy
from huitong.demo.config import POLICY_PATH
from schema.build import build_schemas

README = Path(__file__).resolve().parents[2] / "README.md"
BLOCKS = re.findall(r"```graphql\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
SCHEMAS = build_schemas(load_policy(POLICY_PATH))


def test_the_readme_has_sample_queries() -> None:
    assert len(BLOCKS) >= 5


@pytest.mark.parametrize("block", BLOCKS, ids=lambda b: b.split("\n")[1].strip()[:40])
def test_sample_query_is_valid_for_some_role(block: str) -> None:
    document = parse(block)
    problems = {role: validate(schema._schema, document) for role, schema in SCHEMAS.items()}
    assert any(not errors for errors in problems.values()), problems
