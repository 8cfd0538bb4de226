"""Usage rows for requests that never reached an upstream or lost their client (SPEC §10)."""

from __future__ import annotations

import asyncio

import aiohttp

from tests.gateway.conftest import USER_MESSAGE, add_model, add_provider
from tests.support.fake_upstream import FakeUpstream
from tests.support.gateway import ask_chat, usage_rows
from tests.support.helpers import Env

KEY = "sk-first-secret-0123456789abcdef"


async def test_an_unsupported_parameter_is_recorded_as_a_refusal(
    env: Env, fake: FakeUpstream
) -> None:
    provider = await add_provider(
        env, family="anthropic", name="claude", base_url=fake.url, api_key=KEY
    )
    await add_model(env, provider_config_id=provider["id"], model="claude-up", name="chat")
    response = await ask_chat(env, n=2)
    assert response.status_code == 400
    rows = await usage_rows(env)
    assert [(r.attempt, r.status, r.error_class) for r in rows] == [
        (0, 400, "unsupported_parameter")
    ]


async def test_a_client_leaving_mid_stream_is_recorded_as_a_disconnect(
    env: Env, fake: FakeUpstream, live: str
) -> None:
    provider = await add_provider(
        env, family="openai", name="acme", base_url=fake.url + "/v1", api_key=KEY
    )
    await add_model(env, provider_config_id=provider["id"], model="gpt-up", name="chat")
    script = fake.script(text="one two three four five six", stall_after=2)
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{live}/v1/chat/completions",
            json={"model": "chat", "messages": USER_MESSAGE, "stream": True},
            headers=env.auth(env.owner_token),
        ) as response,
    ):
        await response.content.readany()
        response.close()
    await asyncio.wait_for(fake.disconnected.wait(), timeout=10)
    script.release.set()
    rows = await usage_rows(env)
    assert [(r.attempt, r.error_class) for r in rows] == [(1, "client_disconnected")]
