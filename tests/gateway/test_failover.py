"""Failover before the first byte only, within the key-source class (SPEC §5, §9)."""

from __future__ import annotations

import socket

import openai
import pytest
from sqlalchemy import select

from chatgate.db.tables import UsageEvent
from tests.gateway.conftest import (
    USER_MESSAGE,
    add_model,
    add_provider,
    put_user_key,
    sdk,
    two_openai_configs,
)
from tests.support.fake_upstream import FakeUpstream
from tests.support.helpers import Env

KEY_A = "sk-config-a-0123456789abcdef"
KEY_B = "sk-config-b-0123456789abcdef"


async def _two_configs(env: Env, first_url: str, second_url: str) -> None:
    await two_openai_configs(env, first_url, second_url, key_a=KEY_A, key_b=KEY_B)


async def _usage_rows(env: Env) -> list[UsageEvent]:
    gateway = env.app.state.gateway
    await gateway.usage.flush()

    async def read(session: object) -> list[UsageEvent]:
        rows = await session.execute(
            select(UsageEvent).order_by(UsageEvent.created_at, UsageEvent.id)
        )  # type: ignore[attr-defined]
        return list(rows.scalars().all())

    return await env.runtime.db.read(read)  # type: ignore[arg-type]


@pytest.mark.parametrize("status", [500, 503, 429, 401, 403])
async def test_an_error_before_the_first_byte_fails_over_to_the_sibling(
    env: Env, fake: FakeUpstream, fake2: FakeUpstream, status: int
) -> None:
    await _two_configs(env, fake.url + "/v1", fake2.url + "/v1")
    fake.script(status=status, error_message="broken")
    fake2.script(text="from b")
    response = await env.client.post(
        "/v1/chat/completions",
        json={"model": "chat", "messages": USER_MESSAGE},
        headers=env.auth(env.owner_token),
    )
    assert response.status_code == 200
    assert response.json()["choices"][0]["message"]["content"] == "from b"
    assert response.headers["x-chatgate-provider-config"] == "b"
    assert fake.requests[0].api_key == KEY_A
    assert fake2.requests[0].api_key == KEY_B
    rows = await _usage_rows(env)
    assert [(r.attempt, r.status) for r in rows] == [(1, status), (2, 200)]
    assert len({r.request_id for r in rows}) == 1


async def test_connection_refused_fails_over_to_the_sibling(env: Env, fake2: FakeUpstream) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}/v1"
    await _two_configs(env, dead, fake2.url + "/v1")
    answer = await sdk(env).chat.completions.create(model="chat", messages=USER_MESSAGE)
    assert answer.choices[0].message.content
    assert len(fake2.requests) == 1


async def test_a_stream_cut_after_the_first_byte_ends_with_an_error_event_and_no_failover(
    env: Env, fake: FakeUpstream, fake2: FakeUpstream
) -> None:
    await _two_configs(env, fake.url + "/v1", fake2.url + "/v1")
    fake.script(text="one two three four five six", drop_after=2)
    response = await env.client.post(
        "/v1/chat/completions",
        json={"model": "chat", "messages": USER_MESSAGE, "stream": True},
        headers=env.auth(env.owner_token),
    )
    assert response.status_code == 200
    events = [line for line in response.text.split("\n\n") if line.strip()]
    assert events[-1].startswith('data: {"error"')
    assert "upstream_error" in events[-1]
    assert "[DONE]" not in response.text
    assert fake2.requests == []  # no failover once bytes reached the client


async def test_all_configs_failing_is_502_naming_the_config_never_the_key(
    env: Env, fake: FakeUpstream, fake2: FakeUpstream
) -> None:
    await _two_configs(env, fake.url + "/v1", fake2.url + "/v1")
    fake.script(status=500)
    fake2.script(status=502)
    with pytest.raises(openai.APIStatusError) as raised:
        await sdk(env).chat.completions.create(model="chat", messages=USER_MESSAGE)
    error = raised.value
    assert error.status_code == 502
    assert error.response.headers["x-should-retry"] == "false"
    assert KEY_A not in error.response.text
    assert KEY_B not in error.response.text
    assert "provider config b" in error.response.text


async def test_rate_limited_everywhere_is_429_with_retry_after(
    env: Env, fake: FakeUpstream, fake2: FakeUpstream
) -> None:
    await _two_configs(env, fake.url + "/v1", fake2.url + "/v1")
    fake.script(status=429, retry_after="30")
    fake2.script(status=429, retry_after="7")
    response = await env.client.post(
        "/v1/chat/completions",
        json={"model": "chat", "messages": USER_MESSAGE},
        headers=env.auth(env.owner_token),
    )
    assert response.status_code == 429
    assert int(response.headers["retry-after"]) in range(1, 31)
    # Both keys now cool down: the next request is answered at once, without an attempt.
    again = await env.client.post(
        "/v1/chat/completions",
        json={"model": "chat", "messages": USER_MESSAGE},
        headers=env.auth(env.owner_token),
    )
    assert again.status_code == 429
    assert len(fake.requests) == 1
    assert len(fake2.requests) == 1


async def test_other_upstream_4xx_is_relayed_without_failover_and_redacted(
    env: Env, fake: FakeUpstream, fake2: FakeUpstream
) -> None:
    await _two_configs(env, fake.url + "/v1", fake2.url + "/v1")
    fake.script(status=400, error_message=f"bad parameter, your key {KEY_A} is fine")
    response = await env.client.post(
        "/v1/chat/completions",
        json={"model": "chat", "messages": USER_MESSAGE},
        headers=env.auth(env.owner_token),
    )
    assert response.status_code == 400
    message = response.json()["error"]["message"]
    assert "bad parameter" in message
    assert KEY_A not in message
    assert "<redacted>" in message
    assert fake2.requests == []


async def test_a_user_key_gets_exactly_one_attempt_and_never_falls_over_to_central(
    env: Env, fake: FakeUpstream, fake2: FakeUpstream
) -> None:
    a = await add_provider(
        env,
        family="openai",
        name="a",
        base_url=fake.url + "/v1",
        central_api_key_enabled=False,
        allow_user_api_key=True,
    )
    await add_provider(env, family="openai", name="b", base_url=fake2.url + "/v1", api_key=KEY_B)
    await add_model(env, family="openai", provider_config_id=None, model="gpt-up", name="chat")
    _, token = await env.new_user("dora")
    await put_user_key(env, token, str(a["id"]), "sk-dora-own-key-0123456789")
    fake.script(status=500)
    response = await env.client.post(
        "/v1/chat/completions",
        json={"model": "chat", "messages": USER_MESSAGE},
        headers=env.auth(token),
    )
    assert response.status_code == 502
    assert len(fake.requests) == 1
    assert fake.requests[0].api_key == "sk-dora-own-key-0123456789"
    assert fake2.requests == []  # the organisation's key was never used for dora's request


async def test_a_rejected_user_key_is_403_user_api_key_invalid(
    env: Env, fake: FakeUpstream
) -> None:
    a = await add_provider(
        env,
        family="openai",
        name="a",
        base_url=fake.url + "/v1",
        central_api_key_enabled=False,
        allow_user_api_key=True,
    )
    await add_model(env, provider_config_id=a["id"], model="gpt-up", name="chat")
    _, token = await env.new_user("erin")
    await put_user_key(env, token, str(a["id"]), "sk-erin-own-key-0123456789")
    fake.script(status=401, error_message="invalid key sk-erin-own-key-0123456789")
    response = await env.client.post(
        "/v1/chat/completions",
        json={"model": "chat", "messages": USER_MESSAGE},
        headers=env.auth(token),
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "user_api_key_invalid"
    assert "sk-erin-own-key" not in response.text
