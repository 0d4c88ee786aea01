"""`GET /graphql/schema.graphql`: the caller's own role's schema as SDL, through the front
door, the same text as the committed SDL files and `huitong schema print`."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.hub_harness import DemoHub

SDL_DIR = Path(__file__).resolve().parents[2] / "schema" / "sdl"
ROLES = ("discipline_inspector", "civil_affairs", "finance_officer", "public")


@pytest.mark.parametrize("role", ROLES)
async def test_each_role_gets_its_own_schema(demo_hub: DemoHub, role: str) -> None:
    headers = {} if role == "public" else {"Authorization": f"Bearer {demo_hub.token(role)}"}
    response = await demo_hub.client.get("/graphql/schema.graphql", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.text == (SDL_DIR / f"{role}.graphql").read_text(encoding="utf-8")
    assert response.text == str(demo_hub.app.state.hub.schemas[role]) + "\n"


async def test_only_what_the_role_may_see(demo_hub: DemoHub) -> None:
    public = (await demo_hub.client.get("/graphql/schema.graphql")).text
    assert "type Subsidy implements Node" in public
    for hidden in ("type Payment ", "type Resident ", "bankCard", "payeeAccount",
                   "auditRecords"):
        assert hidden not in public


async def test_refusals(demo_hub: DemoHub) -> None:
    bad = await demo_hub.client.get("/graphql/schema.graphql",
                                    headers={"Authorization": "Bearer not-a-token"})
    assert bad.status_code == 401 and "type Query" not in bad.text
    assert bad.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    unknown = await demo_hub.client.get(
        "/graphql/schema.graphql",
        headers={"Authorization": f"Bearer {demo_hub.token('auditor')}"})
    assert unknown.status_code == 403
    posted = await demo_hub.client.post("/graphql/schema.graphql", json={})
    assert posted.status_code == 405 and posted.headers["allow"] == "GET"
