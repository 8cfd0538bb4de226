"""A key the upstream rejects is stored as invalid (SPEC §8) and an admin brings it back."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select

from chatgate.db.tables import AuditEntry
from tests.gateway.conftest import USER_MESSAGE, add_model, add_provider
from tests.support.fake_upstream import FakeUpstream
from tests.support.helpers import Env

KEY = "sk-rejected-later-0123456789abcdef"


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
