"""Principals: the public one, and named system principals for the hub's own background work."""

from __future__ import annotations

import pytest

from auth.identity.principal import PUBLIC, system_principal


def test_a_system_principal_is_named_and_acts_in_a_role() -> None:
    scanner = system_principal("risk-scanner", role="discipline_inspector",
                               region_code="330108000000", agency="滨江区纪委")
    assert scanner.subject == "system:risk-scanner" == scanner.credential
    assert scanner.role == "discipline_inspector" and scanner.region_code == "330108000000"
    assert scanner.is_system and not scanner.is_public
    assert not PUBLIC.is_system


@pytest.mark.parametrize(("name", "role"), [
    ("", "discipline_inspector"), ("Risk Scanner", "discipline_inspector"),
    ("scanner", "public"), ("scanner", " "), ("x" * 65, "discipline_inspector"),
])
def test_a_system_principal_needs_a_plain_name_and_a_named_role(name: str, role: str) -> None:
    with pytest.raises(ValueError):
        system_principal(name, role=role)
