"""A key the upstream rejects is stored as invalid (SPEC §8) and an admin brings it back."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select

from chatgate.app import create_app
from chatgate.db.tables import AuditEntry
from chatgate.ids import utcnow
from chatgate.startup import build_runtime
from tests.gateway.conftest import USER_MESSAGE, add_model, add_provider
from tests.support.fake_upstream import FakeUpstream
from tests.support.helpers import Env

KEY = "sk-rejected-later-0123456789abcdef"
BURST = 4  # requests in flight together


async def _ask(env: Env) -> httpx.Response:
    return await env.client.post(
        "/v1/chat/completions",
        json={"model": "chat", "messages": USER_MESSAGE},
        headers=env.auth(env.owner_token),
    )


async def _keys(env: Env, provider_id: str) -> list[dict[str, Any]]:
    response = await env.client.get(
        f"/api/v1/providers/{provider_id}/keys", headers=env.auth(env.owner_token)
    )
    assert response.status_code == 200, response.text
    return list(response.json())


async def test_a_401_stores_the_key_as_invalid_with_an_audit_row_and_no_secret(
    env: Env, fake: FakeUpstream
) -> None:
    provider = await add_provider(
        env, family="openai", name="acme", base_url=fake.url + "/v1", api_key=KEY
    )
    await add_model(env, provider_config_id=provider["id"], model="gpt-up", name="chat")
    fake.script(status=401, error_message=f"Incorrect API key provided: {KEY}")
    assert (await _ask(env)).status_code == 502
    await env.app.state.gateway.gateway.key_states.drain()
    [key] = await _keys(env, provider["id"])
    assert key["state"] == "invalid"
    assert "Incorrect API key" in key["last_error"]
    assert KEY not in key["last_error"]

    async def audit_rows(session: Any) -> list[AuditEntry]:
        query = select(AuditEntry).where(AuditEntry.action == "provider_key.invalidate")
        return list((await session.execute(query)).scalars().all())

    [entry] = await env.runtime.db.read(audit_rows)
    assert (entry.source, entry.target_id) == ("system", key["id"])
    assert KEY not in str(entry.after)


async def test_an_admin_re_enabling_an_invalid_key_brings_it_back_into_service(
    env: Env, fake: FakeUpstream
) -> None:
    provider = await add_provider(
        env, family="openai", name="acme", base_url=fake.url + "/v1", api_key=KEY
    )
    await add_model(env, provider_config_id=provider["id"], model="gpt-up", name="chat")
    fake.script(status=401, error_message="invalid key")
    assert (await _ask(env)).status_code == 502
    await env.app.state.gateway.gateway.key_states.drain()
    assert (await _ask(env)).status_code == 502  # skipped without an attempt
    assert len(fake.requests) == 1
    [key] = await _keys(env, provider["id"])
    reset = await env.client.patch(
        f"/api/v1/providers/{provider['id']}/keys/{key['id']}",
        json={"enabled": True},
        headers=env.auth(env.owner_token),
    )
    assert reset.status_code == 200, reset.text
    assert reset.json()["state"] == "active"
    answered = await _ask(env)
    assert answered.status_code == 200
    assert fake.requests[-1].api_key == KEY


KEY_B = "sk-second-in-pool-0123456789abcdef"


async def test_a_cooldown_is_stored_shown_and_honoured_by_another_process(
    env: Env, fake: FakeUpstream
) -> None:
    provider = await add_provider(
        env, family="openai", name="acme", base_url=fake.url + "/v1", api_key=KEY
    )
    added = await env.client.post(
        f"/api/v1/providers/{provider['id']}/keys",
        json={"label": "second", "api_key": KEY_B},
        headers=env.auth(env.owner_token),
    )
    assert added.status_code == 201, added.text
    await add_model(env, provider_config_id=provider["id"], model="gpt-up", name="chat")
    fake.script(status=429, retry_after="300")
    before = utcnow()
    assert (await _ask(env)).status_code == 200  # the first key cooled down, the second answered
    assert [r.api_key for r in fake.requests] == [KEY, KEY_B]
    await env.app.state.gateway.gateway.key_states.drain()

    first, second = await _keys(env, provider["id"])
    assert (first["state"], first["cooldown_model"]) == ("cooling_down", "gpt-up")
    ready_at = datetime.fromisoformat(first["cooldown_until"])
    assert before + timedelta(seconds=295) < ready_at < utcnow() + timedelta(seconds=305)
    assert (second["state"], second["cooldown_until"], second["cooldown_model"]) == (
        "active",
        None,
        None,
    )

    # Another process on the same database: its first pick skips the cooling key.
    other = await build_runtime(env.runtime.settings, run_migrations=False)
    other_app = create_app(other[0])
    try:
        async with (
            other_app.router.lifespan_context(other_app),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=other_app), base_url="http://other.test"
            ) as client,
        ):
            for _ in range(2):
                answer = await client.post(
                    "/v1/chat/completions",
                    json={"model": "chat", "messages": USER_MESSAGE},
                    headers=env.auth(env.owner_token),
                )
                assert answer.status_code == 200
    finally:
        await other[0].db.dispose()
    assert [r.api_key for r in fake.requests[2:]] == [KEY_B, KEY_B]

    # An admin who replaces the secret starts the key afresh, cooldown included.
    replaced = await env.client.patch(
        f"/api/v1/providers/{provider['id']}/keys/{first['id']}",
        json={"api_key": "sk-replaced-0123456789abcdef"},
        headers=env.auth(env.owner_token),
    )
    assert (replaced.json()["state"], replaced.json()["cooldown_until"]) == ("active", None)


async def test_disabled_keys_are_listed_as_disabled(env: Env, fake: FakeUpstream) -> None:
    provider = await add_provider(
        env, family="openai", name="acme", base_url=fake.url + "/v1", api_key=KEY
    )
    added = await env.client.post(
        f"/api/v1/providers/{provider['id']}/keys",
        json={"label": "spare", "api_key": KEY_B, "enabled": False},
        headers=env.auth(env.owner_token),
    )
    assert added.status_code == 201, added.text
    assert [k["state"] for k in await _keys(env, provider["id"])] == ["active", "disabled"]


async def test_a_longer_cooldown_within_the_same_second_is_still_stored(
    env: Env, fake: FakeUpstream
) -> None:
    provider = await add_provider(
        env, family="openai", name="acme", base_url=fake.url + "/v1", api_key=KEY
    )
    await add_model(env, provider_config_id=provider["id"], model="gpt-up", name="chat")
    fake.script(status=429, retry_after="1")
    assert (await _ask(env)).status_code == 429
    fake.script(status=429, retry_after="3600")
    health = env.app.state.gateway.gateway.health
    health.replace_stored({})  # as if the first cooldown were over: the key is tried again
    health._cooldown_until.clear()
    before = utcnow()
    assert (await _ask(env)).status_code == 429
    await env.app.state.gateway.gateway.key_states.drain()  # the deferred write included
    [key] = await _keys(env, provider["id"])
    ready_at = datetime.fromisoformat(key["cooldown_until"])
    assert ready_at > before + timedelta(seconds=3500)


async def test_a_burst_of_429s_in_flight_together_cools_the_key_once(
    env: Env, fake: FakeUpstream
) -> None:
    """Four requests sent before the upstream said 429 each get a 429, but they are one
    rate limit: the back-off is its first step (1 s), not doubled per answer (8 s)."""
    provider = await add_provider(
        env, family="openai", name="acme", base_url=fake.url + "/v1", api_key=KEY
    )
    await add_model(env, provider_config_id=provider["id"], model="gpt-up", name="chat")
    held = asyncio.Event()
    fake.script(status=429, hold=held, times=BURST)
    asking = [asyncio.create_task(_ask(env)) for _ in range(BURST)]
    await fake.wait_for_requests(BURST)
    before = utcnow()
    held.set()
    assert [(await answer).status_code for answer in asking] == [429] * BURST
    await env.app.state.gateway.gateway.key_states.drain()
    [key] = await _keys(env, provider["id"])
    assert key["state"] == "cooling_down"
    assert datetime.fromisoformat(key["cooldown_until"]) < before + timedelta(seconds=2)
