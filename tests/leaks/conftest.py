"""The leak suite's hub: one per test module and backend, over demo sources with canaries
planted (each module gets its own audit trail). A module may override `hub` to set up
activity first (tests/leaks/test_audit_trail.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.conftest import BACKENDS, PostgresDatabases
from tests.leaks.hub import LeakHub, leak_hub_for


@pytest.fixture(scope="module", params=BACKENDS)
async def hub(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
    pg_databases: PostgresDatabases,
) -> AsyncIterator[LeakHub]:
    async with leak_hub_for(request.param, tmp_path_factory, pg_databases) as leak_hub:
        yield leak_hub
