"""Timeouts, size limits, outbound safety and metrics of the gateway (SPEC §9, §15)."""

from __future__ import annotations

import asyncio

import httpx

from tests.gateway.conftest import USER_MESSAGE, add_model, add_provider, two_openai_configs
from tests.support.fake_upstream import FakeUpstream
from tests.support.helpers import Env

KEY = "sk-central-0123456789abcdef"


async def _ask(env: Env, **body: object) -> httpx.Response:
    return await env.client.post(
        "/v1/chat/completions",
        json={"model": "chat", "messages": USER_MESSAGE, **body},
        headers=env.auth(env.owner_token),
    )


async def test_a_non_streaming_first_byte_timeout_is_504_and_not_retried(
    env: Env, fake: FakeUpstream, fake2: FakeUpstream
) -> None:
    await two_openai_configs(
        env,
        fake.url + "/v1",
        fake2.url + "/v1",
        key_a=KEY,
        key_b=KEY + "b",
        first_byte_timeout_s=0.2,
    )
    held = asyncio.Event()
    fake.script(hold=held)
    response = await _ask(env)
    held.set()
    assert response.status_code == 504
    assert response.json()["error"]["code"] == "upstream_timeout"
    assert "provider config a" in response.text
    assert fake2.requests == []  # the upstream may have billed it: no second attempt


async def test_a_streaming_first_byte_timeout_fails_over_to_the_sibling(
    env: Env, fake: FakeUpstream, fake2: FakeUpstream
) -> None:
    await two_openai_configs(
        env,
        fake.url + "/v1",
        fake2.url + "/v1",
        key_a=KEY,
        key_b=KEY + "b",
        first_byte_timeout_s=0.2,
    )
    held = asyncio.Event()
    fake.script(hold=held)
    response = await _ask(env, stream=True)
    held.set()
    assert response.status_code == 200
    assert response.headers["x-chatgate-provider-config"] == "b"
    assert response.text.rstrip().endswith("data: [DONE]")


async def test_an_idle_stream_ends_with_a_timeout_error_event(env: Env, fake: FakeUpstream) -> None:
    provider = await add_provider(
        env, family="openai", name="a", base_url=fake.url + "/v1", api_key=KEY, idle_timeout_s=1.0
    )
    await add_model(env, provider_config_id=provider["id"], model="gpt-up", name="chat")
    script = fake.script(text="one two three four", stall_after=2)
    response = await _ask(env, stream=True)
    script.release.set()
    assert response.status_code == 200
    events = [e for e in response.text.split("\n\n") if e.strip()]
    assert '"upstream_timeout"' in events[-1]
    assert "[DONE]" not in response.text


async def test_a_body_over_the_limit_is_413_before_parsing(env: Env, fake: FakeUpstream) -> None:
    env.app.state.gateway.gateway.settings = env.runtime.settings.model_copy(
        update={"max_request_bytes": 1000}
    )
    provider = await add_provider(
        env, family="openai", name="a", base_url=fake.url + "/v1", api_key=KEY
    )
    await add_model(env, provider_config_id=provider["id"], model="gpt-up", name="chat")
    response = await _ask(env, padding="x" * 2000)
    assert response.status_code == 413
    assert fake.requests == []


async def test_metadata_addresses_are_refused_without_connecting(env: Env) -> None:
    provider = await add_provider(
        env, family="openai", name="meta", base_url="http://169.254.169.254/v1", api_key=KEY
    )
    await add_model(env, provider_config_id=provider["id"], model="gpt-up", name="chat")
    response = await _ask(env)
    assert response.status_code == 502
    assert "169.254" not in response.text
    assert KEY not in response.text


async def test_metrics_count_attempts_by_family_and_config_without_ids(
    env: Env, fake: FakeUpstream
) -> None:
    provider = await add_provider(
        env, family="openai", name="acme", base_url=fake.url + "/v1", api_key=KEY
    )
    await add_model(env, provider_config_id=provider["id"], model="gpt-up", name="chat")
    assert (await _ask(env)).status_code == 200
    metrics = await env.client.get("/metrics", headers=env.auth(env.owner_token))
    text = metrics.text
    assert (
        'chatgate_upstream_attempts_total{family="openai",outcome="ok",provider_config="acme"} 1.0'
        in text
    )
    assert "chatgate_upstream_first_byte_seconds_count" in text
    assert 'route="/v1/chat/completions"' in text
    assert str(provider["id"]) not in text
    assert KEY not in text
