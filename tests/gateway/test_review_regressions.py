"""Edge cases of the attempt loop: key recovery, hostile upstream headers, redirects,
headers on errors, and usage rows for refusals and disconnects."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import httpx
from sqlalchemy import select

from chatgate.db.tables import UsageEvent
from tests.fakes.upstream import FakeUpstream
from tests.gateway.conftest import USER_MESSAGE, add_model, add_provider, two_openai_configs
from tests.helpers import Env

KEY = "sk-first-secret-0123456789abcdef"


async def _ask(env: Env, **body: Any) -> httpx.Response:
    return await env.client.post(
        "/v1/chat/completions",
        json={"model": "chat", "messages": USER_MESSAGE} | body,
        headers=env.auth(env.owner_token),
    )


async def _usage(env: Env) -> list[UsageEvent]:
    await env.app.state.gateway.usage.flush()

    async def read(session: Any) -> list[UsageEvent]:
        query = select(UsageEvent).order_by(UsageEvent.created_at, UsageEvent.id)
        return list((await session.execute(query)).scalars().all())

    return await env.runtime.db.read(read)


async def test_a_key_rejected_with_401_serves_again_once_the_admin_replaces_its_secret(
    env: Env, fake: FakeUpstream
) -> None:
    provider = await add_provider(
        env, family="openai", name="acme", base_url=fake.url + "/v1", api_key=KEY
    )
    await add_model(env, provider_config_id=provider["id"], model="gpt-up", name="chat")
    fake.script(status=401, error_message="invalid api key")
    rejected = await _ask(env)
    assert rejected.status_code == 502
    assert rejected.json()["error"]["code"] == "upstream_auth_failed"
    still_invalid = await _ask(env)
    assert still_invalid.status_code == 502
    assert len(fake.requests) == 1  # the invalid key is not tried again
    replaced = await env.client.patch(
        f"/api/v1/providers/{provider['id']}",
        json={"api_key": "sk-second-secret-0123456789abcdef"},
        headers=env.auth(env.owner_token),
    )
    assert replaced.status_code == 200, replaced.text
    recovered = await _ask(env)
    assert recovered.status_code == 200
    assert fake.requests[-1].api_key == "sk-second-secret-0123456789abcdef"


async def test_an_absurd_retry_after_from_upstream_is_capped_not_a_crash(
    env: Env, fake: FakeUpstream
) -> None:
    provider = await add_provider(
        env, family="openai", name="acme", base_url=fake.url + "/v1", api_key=KEY
    )
    for index, value in enumerate(("inf", "1e300", "99999999999999999")):
        # One upstream model each: a cooldown belongs to the (key, upstream model) pair.
        await add_model(
            env, provider_config_id=provider["id"], model=f"gpt-{index}", name=f"chat{index}"
        )
        fake.script(status=429, retry_after=value)
        response = await _ask(env, model=f"chat{index}")
        assert response.status_code == 429
        assert int(response.headers["retry-after"]) in range(1, 24 * 3600 + 1)
    assert len(fake.requests) == 3


async def test_an_error_after_an_attempt_names_the_config_and_key_source(
    env: Env, fake: FakeUpstream
) -> None:
    provider = await add_provider(
        env, family="openai", name="acme", base_url=fake.url + "/v1", api_key=KEY
    )
    await add_model(env, provider_config_id=provider["id"], model="gpt-up", name="chat")
    fake.script(status=400, error_message="bad temperature")
    response = await _ask(env)
    assert response.status_code == 400
    assert response.headers["x-chatgate-provider-config"] == "acme"
    assert response.headers["x-chatgate-key-source"] == "central"


async def test_an_upstream_redirect_is_not_followed_nor_relayed(
    env: Env, fake: FakeUpstream, fake2: FakeUpstream
) -> None:
    await two_openai_configs(env, fake.url + "/v1", fake2.url + "/v1", key_a=KEY, key_b=KEY + "b")
    fake.script(status=302, redirect_to="http://169.254.169.254/steal")
    response = await _ask(env)
    assert response.status_code == 200
    assert response.headers["x-chatgate-provider-config"] == "b"


async def test_a_stream_that_stalls_before_its_first_byte_ends_in_504(
    env: Env, fake: FakeUpstream
) -> None:
    provider = await add_provider(
        env,
        family="openai",
        name="acme",
        base_url=fake.url + "/v1",
        api_key=KEY,
        idle_timeout_s=0.2,
    )
    await add_model(env, provider_config_id=provider["id"], model="gpt-up", name="chat")
    script = fake.script(text="one two", stall_after=0)
    response = await _ask(env, stream=True)
    script.release.set()
    assert response.status_code == 504
    assert response.json()["error"]["code"] == "upstream_timeout"


async def test_an_unsupported_parameter_is_recorded_as_a_refusal(
    env: Env, fake: FakeUpstream
) -> None:
    provider = await add_provider(
        env, family="anthropic", name="claude", base_url=fake.url, api_key=KEY
    )
    await add_model(env, provider_config_id=provider["id"], model="claude-up", name="chat")
    response = await _ask(env, n=2)
    assert response.status_code == 400
    rows = await _usage(env)
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
    rows = await _usage(env)
    assert [(r.attempt, r.error_class) for r in rows] == [(1, "client_disconnected")]


async def test_an_invented_http_method_does_not_become_a_metric_label(env: Env) -> None:
    await env.client.request("XMETHOD", "/api/v1/users/me")
    metrics = await env.client.get("/metrics", headers=env.auth(env.owner_token))
    assert "XMETHOD" not in metrics.text
    assert 'method="other"' in metrics.text
