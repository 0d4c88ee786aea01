"""API keys in the hub store, on SQLite and PostgreSQL: create, verify, list, revoke."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import create_async_engine

from auth.identity.apikeys import INVALID_KEY, ApiKeyStore, api_keys_table
from auth.identity.authenticate import AuthenticationUnavailable, Authenticator, InvalidCredentials
from auth.model.regions import BadRegionCode

REGION = "330108002000"


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[ApiKeyStore]:
    engine = create_async_engine(database_url)
    keys = ApiKeyStore(engine)
    await keys.ensure_schema()
    await keys.ensure_schema()  # idempotent: every start-up calls it
    yield keys
    await engine.dispose()


async def invalid(keys: ApiKeyStore, plaintext: str) -> None:
    with pytest.raises(InvalidCredentials) as info:
        await keys.verify(plaintext)
    assert info.value.message == INVALID_KEY and info.value.status == 401


async def test_create_then_verify(store: ApiKeyStore) -> None:
    record, plaintext = await store.create(
        "civil-affairs-sync", "civil_affairs", REGION, agency="滨江区民政局"
    )
    assert re.fullmatch(r"ht_[0-9a-f]{16}_[A-Za-z0-9_-]{43}", plaintext)
    assert plaintext.startswith(f"ht_{record.id}_") and plaintext.startswith(record.prefix)
    assert not record.revoked and record.created_at.tzinfo is not None
    principal = await store.verify(plaintext)
    assert principal.subject == "civil-affairs-sync" and principal.role == "civil_affairs"
    assert principal.region_code == REGION and principal.agency == "滨江区民政局"
    assert principal.credential == f"apikey:{record.id}" and principal.purpose is None
    [listed] = await store.list()
    assert listed.id == record.id and listed.last_used_at is not None


async def test_only_a_hash_is_stored(store: ApiKeyStore, database_url: str) -> None:
    _, plaintext = await store.create("sync", "civil_affairs", REGION)
    secret = plaintext.split("_", 2)[2]
    engine = create_async_engine(database_url)
    async with engine.connect() as conn:
        row = (await conn.execute(select(api_keys_table))).one()
    await engine.dispose()
    assert all(secret not in str(value) for value in row)
    assert not hasattr((await store.list())[0], "hash")


async def test_list_and_revoke(store: ApiKeyStore) -> None:
    first, first_key = await store.create("one", "civil_affairs", REGION)
    second, second_key = await store.create("two", "finance_officer", "330108002001")
    assert [r.name for r in await store.list()] == ["one", "two"]
    assert await store.revoke(first.id) is True
    assert await store.revoke(first.id) is False
    assert await store.revoke("0000000000000000") is False
    await invalid(store, first_key)
    assert (await store.verify(second_key)).role == "finance_officer"
    listed = {r.id: r for r in await store.list()}
    assert listed[first.id].revoked and listed[first.id].revoked_at is not None
    assert not listed[second.id].revoked


async def test_tampered_and_malformed_keys_rejected(store: ApiKeyStore) -> None:
    one, one_key = await store.create("one", "civil_affairs", REGION)
    _, two_key = await store.create("two", "civil_affairs", REGION)
    last = one_key[-1]
    await invalid(store, one_key[:-1] + ("A" if last != "A" else "B"))
    # Another key's secret under this key's id: the hash binds the id.
    await invalid(store, f"ht_{one.id}_{two_key.split('_', 2)[2]}")
    for bad in ["", "ht_", "nonsense", one_key + "x", one_key.upper(), " " + one_key,
                f"ht_{'f' * 16}_{'a' * 43}"]:
        await invalid(store, bad)


async def test_create_validates(store: ApiKeyStore) -> None:
    with pytest.raises(BadRegionCode):
        await store.create("x", "civil_affairs", "33010800200")
    with pytest.raises(ValueError, match="name"):
        await store.create("  ", "civil_affairs", REGION)
    with pytest.raises(ValueError, match="role"):
        await store.create("x", "", REGION)
    assert await store.list() == []


async def test_authenticator_apikey_scheme(store: ApiKeyStore) -> None:
    record, plaintext = await store.create("sync", "civil_affairs", REGION)
    auth = Authenticator(api_keys=store)
    principal = await auth.authenticate(f"ApiKey {plaintext}", "月度核对")
    assert principal.credential == f"apikey:{record.id}" and principal.purpose == "月度核对"
    assert (await auth.authenticate(f"apikey {plaintext}", None)).role == "civil_affairs"
    await store.revoke(record.id)
    with pytest.raises(InvalidCredentials, match="revoked"):
        await auth.authenticate(f"ApiKey {plaintext}", None)
    with pytest.raises(InvalidCredentials, match="Bearer tokens are not accepted"):
        await auth.authenticate("Bearer x.y.z", None)


async def test_store_without_schema_is_unavailable_not_public(tmp_path: Path) -> None:
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}")
    try:
        with pytest.raises(AuthenticationUnavailable) as info:
            await ApiKeyStore(engine).verify(f"ht_{'a' * 16}_{'b' * 43}")
        assert info.value.status == 503
    finally:
        await engine.dispose()
