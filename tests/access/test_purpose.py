"""Purpose rules: which roles or clear reads need a stated purpose, and how bad tables are
named; they are read from the policy file with the roles."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from auth.access.policy import PolicyError, parse_policy
from auth.access.purpose import PurposeRequired, PurposeRuleError, purpose_rules
from auth.identity.principal import Principal

INSPECTOR = Principal("wang.jw", "discipline_inspector", "滨江区纪委", "330108000000",
                      credential="jwt:t-1")
DEMO_POLICY = Path(__file__).resolve().parents[2] / "huitong" / "demo" / "policy.toml"

RULES = """
[roles.discipline_inspector]
[roles.civil_affairs]
[roles.public]

[purpose.discipline_inspector]
required = true
pattern = "^(案|JW)[-0-9A-Z]+$"
hint = "give the case number, e.g. 案-2024-017"

[purpose.civil_affairs]
fields = ["Resident.idNumber", "Subsidy.*"]
"""


def test_purpose_rules_require_and_check_a_purpose() -> None:
    rules = purpose_rules(tomllib.loads(RULES), "policy.toml")
    refusal = rules.check(INSPECTOR)
    assert refusal is not None and "X-Huitong-Purpose" in refusal and "案-2024-017" in refusal
    with_case = Principal("wang.jw", "discipline_inspector", purpose="案-2024-017")
    assert rules.check(with_case) is None
    vague = Principal("wang.jw", "discipline_inspector", purpose="just looking")
    assert "not of the required form" in (rules.check(vague) or "")

    clerk = Principal("li", "civil_affairs")
    assert rules.check(clerk, [("Resident", "name"), ("Payment", "idNumber")]) is None
    assert "Resident.idNumber" in (rules.check(clerk, [("Resident", "idNumber")]) or "")
    assert "Subsidy.amount" in (rules.check(clerk, [("Subsidy", "amount")]) or "")
    stated = Principal("li", "civil_affairs", purpose="低保复核 2025-03")
    assert rules.check(stated, [("Resident", "idNumber")]) is None
    assert rules.check(Principal("anonymous", "public")) is None
    too_long = Principal("li", "civil_affairs", purpose="x" * 201)
    assert "printable" in (rules.check(too_long) or "")


@pytest.mark.parametrize(("table", "message"), [
    ("[purpose.nobody]\nrequired = true", "purpose.nobody: no such role"),
    ("[purpose.public]\nrequired = 1", "purpose.public.required"),
    ("[purpose.public]\nmust = true", "purpose.public.must: unknown key"),
    ("[purpose.public]\nfields = [\"Resident.salary\"]", "Resident has no field 'salary'"),
    ("[purpose.public]\nfields = [\"Person.name\"]", "unknown entity 'Person'"),
    ("[purpose.public]\nrequired = true\npattern = \"(\"", "not a valid regular expression"),
    ("[purpose.public]\nhint = \"x\"", "expected required = true or a list of fields"),
])
def test_bad_purpose_tables_are_named(table: str, message: str) -> None:
    raw = tomllib.loads("[roles.public]\n" + table)
    with pytest.raises(PurposeRuleError, match=message):
        purpose_rules(raw, "policy.toml")


def test_purpose_tables_live_beside_a_real_policy() -> None:
    raw = tomllib.loads(DEMO_POLICY.read_text(encoding="utf-8") + RULES.split("[roles.public]")[1])
    assert parse_policy(raw, "policy.toml").role("discipline_inspector") is not None
    assert purpose_rules(raw).rules["civil_affairs"].fields


def test_require_raises_the_refusal() -> None:
    rules = purpose_rules(tomllib.loads(RULES), "policy.toml")
    with pytest.raises(PurposeRequired, match="X-Huitong-Purpose") as info:
        rules.require(INSPECTOR)
    assert info.value.message == rules.check(INSPECTOR)
    rules.require(Principal("wang.jw", "discipline_inspector", purpose="案-2024-017"))


def test_the_policy_carries_its_purpose_rules_and_names_bad_ones() -> None:
    raw = tomllib.loads(DEMO_POLICY.read_text(encoding="utf-8") + RULES.split("[roles.public]")[1])
    policy = parse_policy(raw, "policy.toml")
    assert policy.purpose.rules["discipline_inspector"].required
    bad = tomllib.loads("[roles.public]\n[purpose.nobody]\nrequired = true")
    with pytest.raises(PolicyError, match=r"purpose\.nobody: no such role"):
        parse_policy(bad, "policy.toml")
